import Testing
@testable import Training

/// The live warnings on synthetic metric sequences: each sign warns once, when it appears, and
/// only with the reward rising where the sign needs it.
@Suite struct OveroptimizationMonitorTests {
    /// Feeds `steps` metrics, returning every warning with its step.
    static func replay(
        _ steps: [[String: Double]], _ monitor: OveroptimizationMonitor = .forStage("ppo")
    ) -> [OveroptimizationMonitor.Warning] {
        var monitor = monitor
        return steps.flatMap { monitor.observe($0) }
    }

    static func run(
        reward: (Int) -> Double, distinct: (Int) -> Double = { _ in 0.9 },
        repeated: (Int) -> Double = { _ in 0.05 }, kl: (Int) -> Double = { _ in 0.2 }, steps: Int = 20
    ) -> [[String: Double]] {
        (0..<steps).map {
            [
                "reward": reward($0), "distinct_answers": distinct($0), "repeated_answer_share": repeated($0),
                "kl": kl($0),
            ]
        }
    }

    @Test func diversityCollapsingWhileTheRewardRisesWarnsOnce() {
        // Distinct share 0.8 → 0.1 over 20 steps, reward 0 → 1.9.
        let steps = Self.run(reward: { 0.1 * Double($0) }, distinct: { 0.8 - 0.035 * Double($0) })
        let warnings = Self.replay(steps)
        #expect(warnings.map(\.kind) == [.diversityCollapse])
        // The mean of the last three (0.8 − 0.035·(step − 2)) first falls below 0.3825, half the
        // start's 0.765, at step 14 (0.38).
        #expect(warnings.first?.step == 14)
        #expect(warnings.first?.message.contains("distinct") == true)
    }

    @Test func greedyAnswersCollapsingWarnToo() {
        // Sampled answers stay distinct; greedy ones (logged every 5th step) collapse.
        let steps = (0..<40).map { i -> [String: Double] in
            var m = ["reward": 0.05 * Double(i), "distinct_answers": 1.0, "kl": 0.2]
            if i % 5 == 0 { m["greedy_distinct_answers"] = 0.8 - 0.1 * Double(i / 5) }
            return m
        }
        let warnings = Self.replay(steps)
        #expect(warnings.map(\.kind) == [.diversityCollapse])
        #expect(warnings.first?.message.contains("distinct greedy answers") == true)
    }

    @Test func diversityFallingWithoutRewardGainIsNotOveroptimisation() {
        let steps = Self.run(reward: { -0.1 * Double($0) }, distinct: { 0.8 - 0.035 * Double($0) })
        #expect(Self.replay(steps).isEmpty)
    }

    @Test func aStockPhraseWarnsOnlyAboveItsShareAtTheStart() {
        let rising = Self.run(reward: { 0.05 * Double($0) }, repeated: { 0.05 + 0.03 * Double($0) })
        #expect(Self.replay(rising).map(\.kind) == [.stockPhrase])
        // A task whose answers repeat by nature (a third of prompts share one), steady: nothing.
        let steady = Self.run(reward: { 0.05 * Double($0) }, repeated: { $0 % 2 == 0 ? 0.3 : 0.36 })
        #expect(Self.replay(steady).isEmpty)
    }

    @Test func aStockEndingWarnsLikeAStockAnswer() {
        let steps = (0..<20).map { i in
            [
                "reward": 0.05 * Double(i), "repeated_answer_share": 0.05,
                "repeated_ending_share": 0.1 + 0.03 * Double(i),
            ]
        }
        let warnings = Self.replay(steps)
        #expect(warnings.map(\.kind) == [.stockPhrase])
        #expect(warnings.first?.message.contains("one ending (last 3 tokens) of the answers") == true)
    }

    @Test func klAboveTheLimitOrGrowingFastWarns() {
        var p = OveroptimizationMonitor.Parameters()
        p.klLimit = 5
        let monitor = OveroptimizationMonitor(parameters: p)
        let high = Self.run(reward: { _ in 0 }, kl: { $0 < 10 ? 1 : 6 })
        let warned = Self.replay(high, monitor)
        #expect(warned.map(\.kind) == [.klRunaway])
        #expect(
            warned.first?.message.contains("above 5.000") == true
                || warned.first?.message.contains("grew") == true)
        // Fast growth below the limit: 1 nat for ten steps, then +0.3 per step.
        let growing = Self.run(reward: { _ in 0 }, kl: { $0 < 10 ? 1 : 1 + 0.3 * Double($0 - 9) })
        let grew = Self.replay(growing)
        #expect(grew.map(\.kind) == [.klRunaway])
        #expect(grew.first?.message.contains("grew") == true)
        // Small KLs that double are harmless.
        let small = Self.run(reward: { _ in 0 }, kl: { 0.05 + 0.02 * Double($0) })
        #expect(Self.replay(small).isEmpty)
    }

    @Test func aSignWarnsAgainOnlyAfterItHasBeenAbsentLongEnough() {
        var p = OveroptimizationMonitor.Parameters()
        p.window = 1
        p.klLimit = 3
        let kl: [Double] = [1, 1, 4, 4, 1, 1, 5, 1, 5]
        let steps = kl.map { ["reward": 0.0, "kl": $0] }
        // Absent two steps before step 7, one before step 9.
        p.rearmSteps = 2
        #expect(Self.replay(steps, OveroptimizationMonitor(parameters: p)).map(\.step) == [3, 7])
        // By default a flickering sign warns once.
        p.rearmSteps = OveroptimizationMonitor.Parameters().rearmSteps
        #expect(Self.replay(steps, OveroptimizationMonitor(parameters: p)).map(\.step) == [3])
    }

    @Test func eachStageWatchesItsOwnMetrics() {
        #expect(OveroptimizationMonitor.forStage("grpo").klKey == "kl_per_answer")
        #expect(OveroptimizationMonitor.forStage("dpo").rewardKey == "reward_margin")
        // No diversity or KL metrics (a direct method that samples nothing): never a warning.
        let dpo = (0..<30).map { ["reward_margin": Double($0)] }
        #expect(Self.replay(dpo, .forStage("dpo")).isEmpty)
    }
}
