import Datasets
import Demo
import Testing
import Training

@Test func demoTaskVerifierJudgesBuiltInTasksOnly() {
    let verifier = DemoTaskVerifier()
    #expect(
        StageData.verifierReward(PromptRecord(prompt: "What is 3 plus 4?"), response: "7", verifier: verifier)
            == 1)
    #expect(
        StageData.verifierReward(PromptRecord(prompt: "What is 3 plus 4?"), response: "8", verifier: verifier)
            == 0)
    #expect(
        StageData.verifierReward(
            PromptRecord(prompt: "Tell me a story"), response: "once", verifier: verifier) == nil)
    // It judges the task, not the record's answer.
    #expect(verifier.reward(PromptRecord(prompt: "What is 3 plus 4?", answer: "8"), response: "7") == 1)
}
