import Datasets
import Foundation
import Training

/// Where the reward model's held-out errors are: its pair accuracy broken down by task, by what
/// the verifier says about the pair, and by the length difference of the two answers.
public struct RewardDiagnostics: Sendable, Codable {
    /// One slice of the held-out pairs.
    public struct Slice: Sendable, Codable {
        public var name: String
        public var pairs: Int
        /// Pairs the reward model orders like the labelers (ties of score count half).
        public var accuracy: Double
    }

    /// Agreement with the labelers' (noisy) order.
    public var slices: [Slice] = []
    /// Pairs the verifier's grade orders strictly, judged against that order (the truth).
    public var verifierAccuracy = Double.nan
    public var verifierPairs = 0
}

/// What the labelers and the verifier said about one held-out comparison.
public struct LabelledDetail: Sendable {
    public var task: DemoTask
    /// The verifier's score of each response (same order as the comparison's responses).
    public var scores: [DemoScore]
}

extension DemoPipeline {
    /// Scores every held-out response with `model` and slices the held-out pairs.
    public static func rewardDiagnostics(
        model: ScalarModel, data: LabelledData, padToken: Int32, grading: SimulatedLabeler.Grading,
        chunk: Int = 16
    ) -> RewardDiagnostics {
        var tallies: [String: (right: Double, count: Int)] = [:]
        var order: [String] = []
        func add(_ name: String, _ right: Double) {
            if tallies[name] == nil { order.append(name) }
            tallies[name, default: (0, 0)].right += right
            tallies[name, default: (0, 0)].count += 1
        }
        var truthRight = 0.0, truthCount = 0
        let comparisons = data.heldOutComparisons
        for start in stride(from: 0, to: comparisons.count, by: chunk) {
            let end = min(start + chunk, comparisons.count)
            var rows: [[Int32]] = []
            for c in comparisons[start..<end] { rows += c.responses.map { c.prompt + $0 } }
            let scores = model.sequenceScores(SequenceBatch(rows: rows, padToken: padToken))
            var offset = 0
            for k in start..<end {
                let c = comparisons[k], detail = data.heldOutDetails[k]
                let reward = Array(scores[offset..<(offset + c.responses.count)])
                offset += c.responses.count
                for (x, i) in c.ranking.enumerated() {
                    for j in c.ranking[(x + 1)...] {
                        // The labelers prefer i over j.
                        let right: Double = reward[i] > reward[j] ? 1 : (reward[i] == reward[j] ? 0.5 : 0)
                        add("all pairs", right)
                        add("task: \(detail.task.rawValue)", right)
                        let (si, sj) = (detail.scores[i], detail.scores[j])
                        let verifierOrder = compare(si, sj, grading)
                        if verifierOrder == 0 {
                            add("verifier: tie (labelers' order arbitrary)", right)
                        } else {
                            add(
                                verifierOrder > 0
                                    ? "verifier: agrees with labelers"
                                    : "verifier: labelers' noise flipped it",
                                right)
                            add(
                                si.correct != sj.correct
                                    ? "verifier: correct vs wrong"
                                    : "verifier: both \(si.correct ? "right" : "wrong"), partial credit",
                                right)
                            truthCount += 1
                            let truth = verifierOrder > 0 ? right : 1 - right
                            truthRight += truth
                        }
                        let d = c.responses[i].count - c.responses[j].count
                        add(
                            d == 0
                                ? "length: equal"
                                : d < 0 ? "length: preferred shorter" : "length: preferred longer",
                            right)
                    }
                }
            }
        }
        var result = RewardDiagnostics()
        // Grouped: "all pairs", then the length, task and verifier slices.
        result.slices = order.sorted().map {
            let t = tallies[$0]!
            return .init(name: $0, pairs: t.count, accuracy: t.right / Double(max(t.count, 1)))
        }
        result.verifierAccuracy = truthCount > 0 ? truthRight / Double(truthCount) : .nan
        result.verifierPairs = truthCount
        return result
    }

    /// 1 when the verifier's grade prefers `a`, −1 when it prefers `b`, 0 for a tie (whose
    /// order the labelers pick arbitrarily).
    static func compare(_ a: DemoScore, _ b: DemoScore, _ grading: SimulatedLabeler.Grading) -> Int {
        let (x, y) = (SimulatedLabeler.grade(a, grading), SimulatedLabeler.grade(b, grading))
        return x == y ? 0 : x > y ? 1 : -1
    }
}
