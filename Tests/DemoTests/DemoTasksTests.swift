import Foundation
import Testing
import Datasets
@testable import Demo

@Suite struct DemoTasksTests {
    @Test func generationIsDeterministicBySeed() {
        #expect(DemoTasks.sftExamples(seed: 1, count: 60) == DemoTasks.sftExamples(seed: 1, count: 60))
        #expect(DemoTasks.sftExamples(seed: 1, count: 60) != DemoTasks.sftExamples(seed: 2, count: 60))
        #expect(
            DemoTasks.evaluationExamples(seed: 1, countPerTask: 5)
                == DemoTasks.evaluationExamples(seed: 1, countPerTask: 5))
        #expect(DemoTasks.rlPrompts(seed: 4, count: 30) == DemoTasks.rlPrompts(seed: 4, count: 30))
        let a = DemoTasks.pretrainingText(seed: 3, byteCount: 20_000)
        #expect(a == DemoTasks.pretrainingText(seed: 3, byteCount: 20_000))
        #expect(a != DemoTasks.pretrainingText(seed: 4, byteCount: 20_000))
    }

    @Test func everyGeneratedAnswerIsVerifiedCorrectAndShort() {
        let examples =
            DemoTasks.sftExamples(seed: 11, count: 600)
            + DemoTasks.evaluationExamples(seed: 11, countPerTask: 20)
        #expect(Set(examples.map(\.task)) == Set(DemoTask.allCases))
        for example in examples {
            #expect(DemoTasks.task(of: example.prompt) == example.task, "\(example.prompt)")
            let score = DemoVerifier.score(
                task: example.task, prompt: example.prompt, response: example.answer)
            #expect(score.correct, "\(example)")
            // Sentiment references with one positive word score 0.7 (two or more: 1), leaving room above SFT.
            #expect(score.quality >= (example.task == .sentiment ? 0.7 : 1), "\(example) → \(score)")
            #expect(example.answer.split(separator: " ").count <= 8)
            #expect(example.messages.map(\.role) == [.user, .assistant])
        }
    }

    @Test func heldOutPromptsAreDisjointFromTraining() {
        let train = DemoTasks.sftExamples(seed: 5, count: 3000)
        let heldOut = DemoTasks.evaluationExamples(seed: 5, countPerTask: 30)
        #expect(train.allSatisfy { !DemoTasks.isHeldOut($0.prompt) })
        #expect(heldOut.allSatisfy { DemoTasks.isHeldOut($0.prompt) })
        #expect(Set(train.map(\.prompt)).isDisjoint(with: heldOut.map(\.prompt)))
        #expect(Set(heldOut.map(\.prompt)).count == heldOut.count)  // distinct
        // Every task has held-out prompts (the sentiment space is the smallest: 90 prompts).
        for task in DemoTask.allCases { #expect(heldOut.filter { $0.task == task }.count >= 5, "\(task)") }
        let corpus = DemoTasks.pretrainingText(seed: 5, byteCount: 300_000)
        for example in heldOut where example.task != .sentiment {
            #expect(
                !corpus.contains("Question: \(example.prompt)\n"), "\(example.prompt) leaked into the corpus")
        }
    }

    @Test func corpusLooksLikeTheDesign() {
        let documents = DemoTasks.pretrainingDocuments(seed: 1, byteCount: 200_000)
        let bytes = documents.reduce(0) { $0 + $1.utf8.count + 2 }
        #expect(bytes >= 200_000 && bytes < 201_000)
        let passages = documents.filter { $0.hasPrefix("Question: ") }
        let fraction = Double(passages.count) / Double(documents.count)
        #expect(fraction > 0.15 && fraction < 0.25)
        // Passages are plain text (no chat-template markers) and their answers are right.
        for passage in passages.prefix(200) {
            let lines = passage.split(separator: "\n")
            for i in stride(from: 0, to: lines.count, by: 2) {
                let prompt = String(lines[i].dropFirst("Question: ".count)),
                    answer = String(lines[i + 1].dropFirst("Answer: ".count))
                #expect(DemoVerifier.score(prompt: prompt, response: answer)?.correct == true, "\(passage)")
            }
        }
        #expect(!documents.joined().contains("<|"))
        // Stories use both sentiments.
        let words = Set(documents.joined(separator: " ").lowercased().split { !$0.isLetter }.map(String.init))
        #expect(
            !words.isDisjoint(with: DemoTasks.positiveWords)
                && !words.isDisjoint(with: DemoTasks.negativeWords))
    }

    @Test func verifierHandCases() {
        func score(_ prompt: String, _ response: String) -> DemoScore {
            DemoVerifier.score(prompt: prompt, response: response)!
        }
        let reverse = "Reverse the words: cat dog fox"
        #expect(score(reverse, "fox dog cat") == DemoScore(correct: true, quality: 1))
        #expect(score(reverse, " fox dog cat.\n").correct)
        // Right words, only "dog" in place: 0.5·1/3 + 0.5·3/3.
        #expect(score(reverse, "cat dog fox") == DemoScore(correct: false, quality: 0.5 / 3 + 0.5))
        #expect(score(reverse, "fox dog") == DemoScore(correct: false, quality: 0.5 * 2 / 3 + 0.5 * 2 / 3))
        #expect(score(reverse, "") == DemoScore(correct: false, quality: 0))
        #expect(score("Sort the words: pig ant cow", "ant cow pig").correct)
        #expect(!score("Sort the words: pig ant cow", "pig ant cow").correct)
        #expect(score("Count the words: a b c", "3") == DemoScore(correct: true, quality: 1))
        #expect(score("Count the words: a b c", "5") == DemoScore(correct: false, quality: 1.0 / 3))
        #expect(score("Count the words: a b c", "It is 3") == DemoScore(correct: false, quality: 0.5))
        #expect(score("What is 12 plus 9?", "21") == DemoScore(correct: true, quality: 1))
        #expect(score("What is 12 plus 9?", "20") == DemoScore(correct: false, quality: 0.5))
        #expect(score("What is 12 plus 9?", "many") == DemoScore(correct: false, quality: 0))
        #expect(score("Write in capital letters: fox owl", "FOX OWL") == DemoScore(correct: true, quality: 1))
        #expect(
            score("Write in capital letters: fox owl", "fox owl")
                == DemoScore(correct: false, quality: 1.0 / 7))  // only the space
        let nice = "Say something nice about the park."
        #expect(score(nice, "The park is lovely and fun.") == DemoScore(correct: true, quality: 1))
        #expect(score(nice, "The park is nice.") == DemoScore(correct: true, quality: 0.7))
        #expect(score(nice, "The park is nice but cold.") == DemoScore(correct: false, quality: 0.4))
        #expect(score(nice, "It is lovely and fun.") == DemoScore(correct: false, quality: 0.6))
        #expect(score(nice, "The park is big.") == DemoScore(correct: false, quality: 0.4))
        #expect(DemoVerifier.score(prompt: "Tell me a joke", response: "no") == nil)
    }

    @Test func labelerRanksByCorrectnessThenQuality() {
        let prompt = "What is 2 plus 2?"
        let responses = ["5", "4", "cat", "It is 4", "3"]
        // "4" correct; "5" and "3" quality 1/2 (tie, index order); "It is 4" 0.5 too; "cat" 0.
        #expect(
            SimulatedLabeler.idealRanking(task: .add, prompt: prompt, responses: responses) == [
                1, 0, 3, 4, 2,
            ])
        var exact = SimulatedLabeler(noise: 0, seed: 1)
        #expect(exact.rank(task: .add, prompt: prompt, responses: responses) == [1, 0, 3, 4, 2])
        #expect(exact.agreementRate == 1)
        // Strictly ordered pairs only: 1 beats all 4; 0, 3, 4 tie among themselves and beat 2 → 4 + 3 = 7.
        #expect(exact.comparedPairs == 7)
    }

    @Test(arguments: [0.1, 0.3])
    func labelerNoiseMatchesItsSetting(noise: Double) {
        var labeler = SimulatedLabeler(noise: noise, seed: 42)
        var flipped = 0
        let trials = 4000
        for i in 0..<trials {
            let a = i % 20, b = (i * 7) % 20 + 21
            let ranking = labeler.rank(
                task: .add, prompt: "What is \(a) plus \(b)?", responses: ["\(a + b)", "\(a + b + 1)"])
            if ranking == [1, 0] { flipped += 1 }
        }
        let rate = Double(flipped) / Double(trials)
        #expect(abs(rate - noise) < 0.025, "flip rate \(rate) for noise \(noise)")
        #expect(abs(labeler.agreementRate - (1 - rate)) < 1e-12)
        // Seeded: the same labeler makes the same mistakes.
        var x = SimulatedLabeler(noise: noise, seed: 7), y = SimulatedLabeler(noise: noise, seed: 7)
        let responses = ["fox dog cat", "cat dog fox", "fox", "dog cat fox"]
        for _ in 0..<50 {
            #expect(
                x.rank(task: .reverse, prompt: "Reverse the words: cat dog fox", responses: responses)
                    == y.rank(task: .reverse, prompt: "Reverse the words: cat dog fox", responses: responses))
        }
    }

    @Test func labelerRankingsExpandToPairs() throws {
        var labeler = SimulatedLabeler(noise: 0, seed: 1)
        let prompt = "Reverse the words: cat dog fox"
        let responses = ["cat dog fox", "fox dog cat", "fox"]
        let ranking = labeler.rank(task: .reverse, prompt: prompt, responses: responses)
        let record = try RankingRecord(prompt: prompt, responses: responses, ranking: ranking)
        #expect(record.pairs.count == 3)
        #expect(
            record.pairs[0] == PreferencePair(prompt: prompt, chosen: "fox dog cat", rejected: "cat dog fox"))
        #expect(
            record.pairs.allSatisfy { pair in
                let c = DemoVerifier.score(prompt: prompt, response: pair.chosen)!,
                    r = DemoVerifier.score(prompt: prompt, response: pair.rejected)!
                return (c.correct ? 1 : 0) + c.quality > (r.correct ? 1 : 0) + r.quality
            })
    }
}
