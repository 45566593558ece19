import Datasets
import Training
/// A stand-in for human labelers: ranks K responses to a prompt best → worst by the verifier
/// (correct first, then quality), then disagrees the way people do: walking down the ranking,
/// each adjacent pair is swapped with probability `noise`.
///
/// It keeps count of how often its noisy rankings agree with the noiseless ones over the pairs
/// the noiseless ranking orders strictly; a reward model cannot be expected to agree with the
/// labeler more than the labeler agrees with itself.
public struct SimulatedLabeler: Sendable {
    public let noise: Double
    private var rng: SplitMix64
    public private(set) var agreeingPairs = 0
    public private(set) var comparedPairs = 0

    public init(noise: Double, seed: UInt64) {
        precondition(noise >= 0 && noise <= 1, "noise is a probability")
        self.noise = noise
        rng = SplitMix64(seed: seed ^ 0x1ABE1)
    }

    /// Pairwise agreement of the noisy rankings with the noiseless ones so far (1 before any).
    public var agreementRate: Double {
        comparedPairs == 0 ? 1 : Double(agreeingPairs) / Double(comparedPairs)
    }

    /// The noiseless ranking: indices best → worst, ties kept in index order.
    public static func idealRanking(task: DemoTask, prompt: String, responses: [String]) -> [Int] {
        let scores = responses.map { DemoVerifier.score(task: task, prompt: prompt, response: $0) }
        return Array(responses.indices).sorted { a, b in
            let (x, y) = (scores[a], scores[b])
            if x.correct != y.correct { return x.correct }
            if x.quality != y.quality { return x.quality > y.quality }
            return a < b
        }
    }

    /// A noisy ranking of `responses` (indices best → worst).
    public mutating func rank(task: DemoTask, prompt: String, responses: [String]) -> [Int] {
        let scores = responses.map { DemoVerifier.score(task: task, prompt: prompt, response: $0) }
        let ideal = Self.idealRanking(task: task, prompt: prompt, responses: responses)
        var ranking = ideal
        if ranking.count >= 2 {
            for i in 0..<(ranking.count - 1) where rng.uniform() < noise { ranking.swapAt(i, i + 1) }
        }
        // Agreement over strictly ordered pairs.
        var position = Array(repeating: 0, count: ranking.count)
        for (p, index) in ranking.enumerated() { position[index] = p }
        for i in ideal.indices {
            for j in (i + 1)..<ideal.count {
                let (a, b) = (ideal[i], ideal[j])
                guard scores[a] != scores[b] else { continue }  // a tie: either order is right
                comparedPairs += 1
                if position[a] < position[b] { agreeingPairs += 1 }
            }
        }
        return ranking
    }
}
