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
    /// What the labelers judge.
    public enum Grading: String, Sendable, Codable {
        /// Right before wrong, then the verifier's partial credit (wrong answers ranked by how
        /// nearly right they are).
        case partialCredit
        /// Right before wrong, nothing else: two wrong answers are equally bad.
        case correctness
    }

    public let noise: Double
    public let grading: Grading
    private var rng: SplitMix64
    public private(set) var agreeingPairs = 0
    public private(set) var comparedPairs = 0

    public init(noise: Double, seed: UInt64, grading: Grading = .partialCredit) {
        precondition(noise >= 0 && noise <= 1, "noise is a probability")
        self.noise = noise
        self.grading = grading
        rng = SplitMix64(seed: seed ^ 0x1ABE1)
    }

    /// Pairwise agreement of the noisy rankings with the noiseless ones so far (1 before any).
    public var agreementRate: Double {
        comparedPairs == 0 ? 1 : Double(agreeingPairs) / Double(comparedPairs)
    }

    /// The labelers' grade of a verifier score; answers of equal grade are equally good to them.
    public static func grade(_ score: DemoScore, _ grading: Grading) -> Double {
        switch grading {
        case .partialCredit: return (score.correct ? 2 : 0) + score.quality
        case .correctness: return score.correct ? 1 : 0
        }
    }

    /// The noiseless ranking: indices best → worst, ties kept in index order.
    public static func idealRanking(
        task: DemoTask, prompt: String, responses: [String], grading: Grading = .partialCredit
    ) -> [Int] {
        let grades = responses.map {
            grade(DemoVerifier.score(task: task, prompt: prompt, response: $0), grading)
        }
        return Array(responses.indices).sorted { a, b in
            grades[a] != grades[b] ? grades[a] > grades[b] : a < b
        }
    }

    /// A noisy ranking of `responses` (indices best → worst).
    public mutating func rank(task: DemoTask, prompt: String, responses: [String]) -> [Int] {
        let grades = responses.map {
            Self.grade(DemoVerifier.score(task: task, prompt: prompt, response: $0), grading)
        }
        let ideal = Self.idealRanking(task: task, prompt: prompt, responses: responses, grading: grading)
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
                guard grades[a] != grades[b] else { continue }  // a tie: either order is right
                comparedPairs += 1
                if position[a] < position[b] { agreeingPairs += 1 }
            }
        }
        return ranking
    }
}
