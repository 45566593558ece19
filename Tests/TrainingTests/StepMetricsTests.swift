import TensorCore
import Testing
@testable import Training

/// Named metrics reduce over the ranks by how each one combines, in one collective.
@Suite struct StepMetricsTests {
    @Test func aloneTheValuesAreKeptExactly() {
        var m = StepMetrics()
        m.mean("accuracy", 0.1 + 0.2, weight: 3)
        m.total("loss", 1.25)
        m.shared("kl", -0.5)
        #expect(SingleProcess().reduce(m) == ["accuracy": 0.1 + 0.2, "loss": 1.25, "kl": -0.5])
    }

    @Test func ranksCombineMeansByWeightTotalsBySumSharedAsIs() throws {
        let reduced = try DataParallelTests.onRanks(3) { communicator in
            let r = Double(communicator.rank)
            var m = StepMetrics()
            m.mean("accuracy", r, weight: r + 1)  // 0·1 + 1·2 + 2·3 over 6
            m.mean("empty", 5, weight: 0)  // no rank has any: 0
            m.total("loss", 0.5 * (r + 1))  // 0.5 + 1 + 1.5
            m.shared("kl", 7)
            return communicator.reduce(m)
        }
        for metrics in reduced {
            #expect(abs(metrics["accuracy"]! - 8.0 / 6.0) < 1e-12)
            #expect(metrics["empty"] == 0)
            #expect(abs(metrics["loss"]! - 3) < 1e-12)
            #expect(metrics["kl"] == 7)
            #expect(metrics.count == 4)
        }
    }

    @Test func epochSamplerSeesEveryItemOncePerEpoch() {
        var sampler = EpochSampler(count: 5, seed: 9)
        let draws = sampler.next(3) + sampler.next(3) + sampler.next(4)
        #expect(draws.count == 10)
        #expect(Set(draws[0..<5]) == Set(0..<5))
        #expect(Set(draws[5..<10]) == Set(0..<5))
        // The same seed draws the same indices (every rank of a run agrees).
        var again = EpochSampler(count: 5, seed: 9)
        #expect(again.next(10) == draws)
        // It is the shuffle-and-cursor the stages used before: a shuffle of 0..<count per epoch.
        var rng = RandomGenerator(seed: 9)
        let first = Array(0..<5).shuffled(using: &rng), second = Array(0..<5).shuffled(using: &rng)
        #expect(draws == first + second)
    }
}
