import Foundation
import Testing
import Training
@testable import Demo

@Suite struct DemoResultsTests {
    @Test func pairedDifferenceCountsPromptsAndItsInterval() {
        // 10 prompts: 3 gained, 1 lost, 6 unchanged → d̄ = 0.2.
        let a = [false, false, false, true, true, true, false, true, false, true]
        let b = [true, true, true, false, true, true, false, true, false, true]
        let d = PairedDifference(from: a, to: b)
        #expect(d.gained == 3 && d.lost == 1 && d.prompts == 10)
        #expect(abs(d.difference - 0.2) < 1e-12)
        // Sample variance of d: (Σd² − n·d̄²)/(n−1) = (4 − 0.4)/9 = 0.4; half-width 1.96·√(0.4/10).
        let half = 1.96 * (0.4 / 10).squareRoot()
        #expect(abs(d.lower - (0.2 - half)) < 1e-12 && abs(d.upper - (0.2 + half)) < 1e-12)
        // Identical answers: no difference and no width.
        let same = PairedDifference(from: a, to: a)
        #expect(same.difference == 0 && same.lower == 0 && same.upper == 0)
    }

    @Test func correctnessLabelersRankRightBeforeWrongAndTieWrongAnswers() {
        let prompt = "What is 2 plus 2?"
        let responses = ["5", "4", "cat", "3"]
        var labeler = SimulatedLabeler(noise: 0, seed: 1, grading: .correctness)
        #expect(labeler.rank(task: .add, prompt: prompt, responses: responses) == [1, 0, 2, 3])
        // Only the 3 pairs (right, wrong) are strictly ordered; wrong answers tie.
        #expect(labeler.comparedPairs == 3 && labeler.agreementRate == 1)
        let score = DemoVerifier.score(task: .add, prompt: prompt, response: "5")
        #expect(
            SimulatedLabeler.grade(score, .correctness)
                == SimulatedLabeler.grade(
                    DemoVerifier.score(task: .add, prompt: prompt, response: "cat"), .correctness))
        #expect(
            SimulatedLabeler.grade(score, .partialCredit)
                > SimulatedLabeler.grade(
                    DemoVerifier.score(task: .add, prompt: prompt, response: "cat"), .partialCredit))
    }

    @Test func resultsJSONHasTheDocumentedKeys() throws {
        var report = DemoReport(parameters: .quick)
        func result(_ correct: [Bool], reward: Double) -> DemoEvaluator.Result {
            DemoEvaluator.Result(
                accuracy: Double(correct.filter { $0 }.count) / Double(correct.count), quality: 0,
                accuracyByTask: [:], reward: reward, samples: [], promptCount: correct.count, correct: correct
            )
        }
        report.base = result([false, false, false, false], reward: -1)
        report.sft = result([true, false, false, false], reward: 0)
        report.ppo = result([true, true, false, false], reward: 1)
        report.ppoKL = 0.5
        report.reward.heldOutAccuracy = 0.85
        report.reward.labelerAgreement = 0.95
        report.seconds["total"] = 12
        let object = try #require(
            try JSONSerialization.jsonObject(with: report.resultsJSON()) as? [String: Any])
        #expect(object["seconds"] as? Double == 12)
        #expect(object["heldout_prompts"] as? Int == 4)
        #expect(object["labeler_agreement"] as? Double == 0.95)
        let rm = try #require(object["reward_model"] as? [String: Any])
        #expect(rm["heldout_pair_accuracy"] as? Double == 0.85)
        let models = try #require(object["models"] as? [String: [String: Any]])
        #expect(Set(models.keys) == ["base", "sft", "ppo"])
        #expect(models["ppo"]?["accuracy"] as? Double == 0.5)
        #expect(models["ppo"]?["reward_model_score"] as? Double == 1)
        #expect(models["ppo"]?["kl_to_sft"] as? Double == 0.5)
        #expect(models["sft"]?["kl_to_sft"] as? Double == 0)
        #expect(models["base"]?["kl_to_sft"] is NSNull)
        #expect(models["ppo"]?["correct"] as? [Int] == [1, 1, 0, 0])
        let differences = try #require(object["differences_to_sft"] as? [String: [String: Any]])
        #expect(differences["ppo"]?["difference"] as? Double == 0.25)
        // The checks judge the verifier: PPO's +25 points pass the 3-point goal.
        #expect(report.heldOutChecks.contains { $0.claim.hasPrefix("PPO") && $0.passed })
    }

    @Test func parameterOverridesApplyOrFailWithTheKey() throws {
        var p = DemoPipeline.Parameters()
        try p.apply("rewardSteps=900")
        try p.apply("correctnessGrading=1")
        #expect(p.reward.optimization.steps == 900 && p.labelerGrading == .correctness)
        #expect(throws: DemoParameterError.self) { try p.apply("noSuchKey=1") }
        #expect(throws: DemoParameterError.self) { try p.apply("rewardSteps") }
    }
}
