import Testing
import Tokenizers
import Datasets
@testable import Demo

@Suite struct DemoTokenLengthTests {
    /// The demo's sizes hold with a small BPE trained on the demo corpus: short responses,
    /// prompts short enough to leave most of a 128-token context for the chat template.
    /// (vocabulary size, most tokens allowed in a response): at 512 (252 merges) words split more.
    @Test(arguments: [(512, 16), (1024, 12)])
    func responsesFitTheTinyModel(vocabularySize: Int, limit: Int) throws {
        let corpus = DemoTasks.pretrainingDocuments(seed: 1, byteCount: 300_000)
        let tokenizer = try BPETrainer.train(texts: corpus, parameters: .init(vocabularySize: vocabularySize))
        let examples =
            DemoTasks.sftExamples(seed: 2, count: 600)
            + DemoTasks.evaluationExamples(seed: 2, countPerTask: 10)
        var longestAnswer = 0, longestPrompt = 0, worst = ""
        for example in examples {
            let count = tokenizer.encode(example.answer).count
            if count > longestAnswer { (longestAnswer, worst) = (count, example.answer) }
            longestPrompt = max(longestPrompt, tokenizer.encode(example.prompt).count)
            #expect(try tokenizer.decodeText(tokenizer.encode(example.answer)) == example.answer)
        }
        #expect(longestAnswer <= limit, "longest answer: \(longestAnswer) tokens (\(worst))")
        #expect(longestPrompt <= 32, "longest prompt: \(longestPrompt) tokens")
    }
}
