import Models
import TensorCore
import Testing
@testable import Training

/// Answer diversity, the stock-phrase detector and explained variance on inputs whose values are
/// known by hand; the PPO and GRPO loops log them.
@Suite struct RolloutDiagnosticsTests {
    @Test func distinctNCountsDistinctNGramsOverAllNGrams() {
        let answers: [[Int32]] = [[1, 2, 3], [1, 2, 4]]
        // Unigrams 1 2 3 1 2 4: four of six distinct; bigrams (1 2)(2 3)(1 2)(2 4): three of four.
        #expect(RolloutDiagnostics.distinctNGrams(answers, n: 1) == 4.0 / 6)
        #expect(RolloutDiagnostics.distinctNGrams(answers, n: 2) == 3.0 / 4)
        #expect(RolloutDiagnostics.distinctNGrams([[5], []], n: 2) == 0)
        #expect(RolloutDiagnostics.distinctNGrams([[5, 5, 5, 5]], n: 1) == 0.25)
    }

    @Test func answersDropOnlyTheStopTokenThatEndedThem() {
        let answers = RolloutDiagnostics.answers([
            Generation(tokens: [4, 5, 9], finished: true), Generation(tokens: [4, 5, 9], finished: false),
            Generation(tokens: [9], finished: true),
        ])
        #expect(answers == [[4, 5], [4, 5, 9], []])
    }

    @Test func theStockPhraseIsTheAnswerGivenToTheMostPrompts() {
        let s = RolloutDiagnostics.AnswerStatistics(
            answers: [[9, 9], [1], [9, 9], [2, 3, 4], [9, 9]], prompts: [0, 1, 2, 3, 4])
        #expect(s.mostRepeated == [9, 9])
        #expect(s.mostRepeatedShare == 3.0 / 5)
        #expect(s.distinctShare == 3.0 / 5)
        #expect(s.meanLength == 10.0 / 5)
        // One prompt drawn twice and answered alike is one prompt, not two.
        let again = RolloutDiagnostics.AnswerStatistics(answers: [[9], [9], [1]], prompts: [7, 7, 8])
        #expect(again.mostRepeatedShare == 0.5)
    }

    @Test func differentAnswersWithOneEndingShareAStockEnding() {
        // "…, my lord." as tokens 7 8 9 ends three different answers to three prompts of four.
        let s = RolloutDiagnostics.AnswerStatistics(
            answers: [[1, 7, 8, 9], [2, 3, 7, 8, 9], [4, 7, 8, 9], [5, 6], [1, 7, 8, 9]],
            prompts: [0, 1, 2, 3, 0])
        #expect(s.mostRepeatedEnding == [7, 8, 9])
        #expect(s.mostRepeatedEndingShare == 3.0 / 4)
        #expect(s.mostRepeatedShare == 1.0 / 4)  // the one repeated answer is one prompt's
        var metrics = StepMetrics()
        s.record(into: &metrics)
        #expect(metrics["repeated_ending_share"] == 0.75)
        // Answers shorter than an ending have none.
        #expect(RolloutDiagnostics.AnswerStatistics(answers: [[1], [1, 2]]).mostRepeatedEndingShare == 0)
    }

    @Test func aGroupAnsweringItsPromptAlikeIsNoStockPhrase() {
        // GRPO: 2 prompts × 3 answers; each group agrees on its own answer.
        let s = RolloutDiagnostics.AnswerStatistics(
            answers: [[7], [7], [7], [8], [8], [8]], prompts: [0, 0, 0, 1, 1, 1])
        #expect(s.distinctShare == 2.0 / 6)
        #expect(s.mostRepeatedShare == 0.5)
        var metrics = StepMetrics()
        s.record(into: &metrics)
        #expect(metrics["distinct_answers"] == 2.0 / 6)
        #expect(metrics["repeated_answer_share"] == 0.5)
        #expect(metrics["answer_length"] == 1)
        #expect(metrics["distinct_1"] == 2.0 / 6)
        #expect(metrics["distinct_2"] == 0)
    }

    @Test func explainedVarianceOnKnownValues() {
        let returns: [Float] = [1, 2, 3, 4, 100], mask: [Float] = [1, 1, 1, 1, 0]
        func ev(_ values: [Float]) -> Double {
            RolloutDiagnostics.explainedVariance(values: values, returns: returns, mask: mask)
        }
        #expect(ev([1, 2, 3, 4, -7]) == 1)  // exact (the masked position is ignored)
        #expect(abs(ev([2.5, 2.5, 2.5, 2.5, 0])) < 1e-12)  // the mean explains nothing
        // Residuals 0 0 0 −1: variance 0.1875 of the returns' 1.25.
        #expect(abs(ev([1, 2, 3, 5, 0]) - 0.85) < 1e-9)
        #expect(ev([4, 3, 2, 1, 0]) < 0)  // worse than the mean
        #expect(RolloutDiagnostics.explainedVariance(values: [0, 1], returns: [2, 2], mask: [1, 1]).isNaN)
    }

    @Test func explainedVarianceOverRanksIsThatOfTheWholeBatch() throws {
        let returns: [Float] = [1, 2, 3, 4, 6, 9], values: [Float] = [1.5, 2, 2, 4, 7, 8]
        let whole = RolloutDiagnostics.explainedVariance(
            values: values, returns: returns, mask: [Float](repeating: 1, count: 6))
        let perRank = try DataParallelTests.onRanks(2) { c in
            let part = c.rank == 0 ? 0..<2 : 2..<6
            return RolloutDiagnostics.explainedVariance(
                values: Array(values[part]), returns: Array(returns[part]),
                mask: [Float](repeating: 1, count: part.count), reducing: c.allReduceSum)
        }
        for value in perRank { #expect(abs(value - whole) < 1e-9) }
    }

    @Test func ppoAndGRPOLogTheDiagnostics() throws {
        let config = StageDirectionTests.config
        let policy = try Transformer(config: config, seed: 4)
        let scorer = ScalarModel(trunk: try policy.copy(), seed: 5)
        let models = PPO.Models(
            policy: policy, reference: try policy.copy(), reward: scorer, value: try scorer.copy())
        var p = PPO.Parameters()
        p.steps = 2
        p.promptsPerStep = 4
        p.miniBatchSize = 4
        p.epochs = 1
        p.maxNewTokens = 4
        var repeated: [[Int32]] = []
        let history = try PPO.train(
            models, prompts: StageDirectionTests.prompts, endOfTurn: StageDirectionTests.eot,
            padToken: StageDirectionTests.pad, parameters: p,
            progress: { repeated.append($0.sequences["most_repeated_answer"] ?? [-1]) })
        for m in history {
            for key in ["distinct_answers", "repeated_answer_share", "distinct_1", "distinct_2"] {
                #expect((0...1).contains(m[key]!), "\(key) \(m[key]!)")
            }
            #expect((0...4).contains(m["answer_length"]!))
            #expect(m["explained_variance"]! <= 1)
            #expect(m["clip_fraction"] != nil && m["entropy"]! > 0)
        }
        #expect(repeated.count == 2 && repeated.allSatisfy { $0.count <= 4 && !$0.contains(-1) })

        var g = GRPO.Parameters()
        g.steps = 2
        g.promptsPerStep = 2
        g.groupSize = 2
        g.maxNewTokens = 4
        let grpo = try GRPO.train(
            policy: policy, reference: try policy.copy(), prompts: StageDirectionTests.prompts,
            endOfTurn: StageDirectionTests.eot, padToken: StageDirectionTests.pad, parameters: g,
            reward: { _, generation in Double(generation.tokens.count) })
        for m in grpo {
            #expect(m["entropy"]! > 0)
            #expect(m["kl_per_answer"] != nil && m["distinct_answers"] != nil)
            #expect(m["repeated_answer_share"]! >= 0.5)  // two prompts: one of them at least
        }
    }
}

extension RolloutDiagnosticsTests {
    @Test func greedySamplesTakeTheFirstDistinctPromptsAndAreDeterministic() throws {
        let policy = try Transformer(config: StageDirectionTests.config, seed: 7)
        var greedy = RolloutDiagnostics.GreedySample(every: 3, stopTokens: [StageDirectionTests.eot])
        greedy.promptCount = 2
        #expect(greedy.prompts(from: [[1], [1], [2], [3]]) == [[1], [2]])
        #expect((0..<7).filter(greedy.isDue(step:)) == [0, 2, 5])
        let a = greedy.statistics(of: policy, prompts: StageDirectionTests.prompts)
        let b = greedy.statistics(of: policy, prompts: StageDirectionTests.prompts)
        #expect(a == b && a.count == StageDirectionTests.prompts.count)
        #expect(
            Set(a.values(prefix: "greedy_").keys) == [
                "greedy_answer_length", "greedy_distinct_answers", "greedy_distinct_1", "greedy_distinct_2",
                "greedy_repeated_answer_share", "greedy_repeated_ending_share",
            ])
    }

    @Test func dpoLogsGreedyAnswerDiversityWhenAsked() throws {
        let policy = try Transformer(config: StageDirectionTests.config, seed: 6)
        let eot = StageDirectionTests.eot
        let pairs = StageDirectionTests.prompts.map {
            PreferenceTraining.Pair(prompt: $0, chosen: [3, eot], rejected: [5, 6, eot])
        }
        var p = PreferenceTraining.Parameters()
        p.optimization.steps = 5
        p.optimization.warmupSteps = 0
        p.pairsPerStep = 2
        p.sampling = RolloutDiagnostics.GreedySample(every: 2, stopTokens: [eot])
        p.sampling?.maxNewTokens = 3
        var sequences: [[Int32]?] = []
        let history = try PreferenceTraining.train(
            policy: policy, reference: try policy.copy(), pairs: pairs, padToken: StageDirectionTests.pad,
            parameters: p, progress: { sequences.append($0.sequences["greedy_most_repeated_answer"]) })
        // After the first step, then every second one (steps 2 and 4).
        #expect(history.map { $0["greedy_distinct_answers"] != nil } == [true, true, false, true, false])
        #expect(sequences.map { $0 != nil } == [true, true, false, true, false])
        for m in history where m["greedy_distinct_answers"] != nil {
            #expect((0...3).contains(m["greedy_answer_length"]!))
            // Four distinct prompts, one greedy answer each.
            #expect([0.25, 0.5, 0.75, 1].contains(m["greedy_distinct_answers"]!))
            #expect(m["greedy_distinct_2"] != nil && m["greedy_repeated_answer_share"] != nil)
            #expect(m["distinct_answers"] == nil)  // no sampled answers in DPO
        }
    }
}
