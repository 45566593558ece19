import Foundation
import Models

/// What an RL run's sampled answers and value estimates say beyond the reward: answer length,
/// how many answers differ, distinct-n, the answer repeated across the most prompts (a stock
/// phrase the reward model likes), and how much of the returns' variance the value model
/// explains. A reward that rises while these collapse is the reward model being gamed.
///
/// Metric names (the same in every stage's `metrics.jsonl`):
/// `answer_length` (mean tokens, stop token excluded), `distinct_answers` (distinct answers /
/// answers), `distinct_1`, `distinct_2` (distinct n-grams / n-grams over the batch, Li et al.
/// 2016), `repeated_answer_share` (share of the batch's distinct prompts answered with its most
/// repeated answer), `repeated_ending_share` (the same for the answers' last 3 tokens),
/// `explained_variance` (PPO).
public enum RolloutDiagnostics {
    /// The answer tokens of each generation: its new tokens without the stop token that ended it.
    public static func answers(_ generations: [Generation]) -> [[Int32]] {
        generations.map { $0.finished && !$0.tokens.isEmpty ? Array($0.tokens.dropLast()) : $0.tokens }
    }

    /// Distinct n-grams over all n-grams of `answers` (answers shorter than n contribute none);
    /// 0 when there is no n-gram at all.
    public static func distinctNGrams(_ answers: [[Int32]], n: Int) -> Double {
        precondition(n >= 1, "RolloutDiagnostics.distinctNGrams: n must be positive")
        var seen = Set<ArraySlice<Int32>>(), total = 0
        for answer in answers where answer.count >= n {
            for start in 0...(answer.count - n) {
                seen.insert(answer[start..<(start + n)])
                total += 1
            }
        }
        return total == 0 ? 0 : Double(seen.count) / Double(total)
    }

    /// Length, diversity and the most repeated answer of one batch.
    public struct AnswerStatistics: Sendable, Equatable {
        public var count: Int
        /// Mean answer length in tokens.
        public var meanLength: Double
        /// Distinct answers / answers (1: all differ).
        public var distinctShare: Double
        public var distinct1: Double
        public var distinct2: Double
        /// The answer given to the most distinct prompts (the first seen among ties).
        public var mostRepeated: [Int32]
        /// Distinct prompts answered with `mostRepeated` / distinct prompts in the batch. Counting
        /// prompts, not answers, keeps GRPO's groups (several answers to one prompt, often the same
        /// correct one) from looking like a stock phrase.
        public var mostRepeatedShare: Double
        /// The same for answers' endings (their last `endingLength` tokens; shorter answers have
        /// none): different answers that all end in one stock phrase ("…, my lord.").
        public var mostRepeatedEnding: [Int32]
        public var mostRepeatedEndingShare: Double
        public static let endingLength = 3

        /// - Parameters:
        ///   - answers: answer tokens (see `answers(_:)`), at least one.
        ///   - prompts: the prompt of each answer (any identifier); nil: every answer has its own.
        public init(answers: [[Int32]], prompts: [Int]? = nil) {
            precondition(!answers.isEmpty, "AnswerStatistics: no answers")
            precondition(
                prompts == nil || prompts!.count == answers.count,
                "AnswerStatistics: \(prompts?.count ?? 0) prompt ids for \(answers.count) answers")
            let promptIDs = prompts ?? Array(answers.indices)
            count = answers.count
            meanLength = Double(answers.reduce(0) { $0 + $1.count }) / Double(answers.count)
            distinct1 = RolloutDiagnostics.distinctNGrams(answers, n: 1)
            distinct2 = RolloutDiagnostics.distinctNGrams(answers, n: 2)
            distinctShare = Double(Set(answers).count) / Double(answers.count)
            let promptCount = Double(Set(promptIDs).count)
            (mostRepeated, mostRepeatedShare) = Self.mostShared(answers, promptIDs, promptCount: promptCount)
            let n = Self.endingLength
            (mostRepeatedEnding, mostRepeatedEndingShare) = Self.mostShared(
                answers.map { $0.count >= n ? Array($0.suffix(n)) : nil }, promptIDs, promptCount: promptCount
            )
        }

        /// The statistics as metrics, each a mean weighted by the answer count. With several ranks
        /// that is the mean of each rank's value: answers repeated across ranks are not seen as
        /// repeats (the shares are upper bounds of the whole batch's distinctness).
        public func record(into metrics: inout StepMetrics) {
            let weight = Double(count)
            metrics.mean("answer_length", meanLength, weight: weight)
            metrics.mean("distinct_answers", distinctShare, weight: weight)
            metrics.mean("distinct_1", distinct1, weight: weight)
            metrics.mean("distinct_2", distinct2, weight: weight)
            metrics.mean("repeated_answer_share", mostRepeatedShare, weight: weight)
            metrics.mean("repeated_ending_share", mostRepeatedEndingShare, weight: weight)
        }

        /// The key (answer or ending) shared by the most distinct prompts, the first seen among
        /// ties, and that count / `promptCount`; ([], 0) when no answer has a key.
        static func mostShared(_ keys: [[Int32]?], _ prompts: [Int], promptCount: Double) -> ([Int32], Double)
        {
            var promptsOf: [[Int32]: Set<Int>] = [:], order: [[Int32]] = []
            for (key, prompt) in zip(keys, prompts) {
                guard let key else { continue }
                if promptsOf[key] == nil { order.append(key) }
                promptsOf[key, default: []].insert(prompt)
            }
            guard var best = order.first else { return ([], 0) }
            for key in order.dropFirst() where promptsOf[key]!.count > promptsOf[best]!.count { best = key }
            return (best, Double(promptsOf[best]!.count) / promptCount)
        }
    }

    /// 1 − Var(returns − values) / Var(returns) over the masked positions (1: the value model
    /// predicts the returns exactly; 0: no better than their mean; negative: worse). NaN when the
    /// returns do not vary. `reducing` sums partial sums over the ranks (see `Whitening.moments`).
    ///
    /// - Parameters:
    ///   - values: (B,T) value estimates at rollout time.
    ///   - returns: (B,T) the GAE returns they were trained toward.
    ///   - mask: (B,T) 1 on completion tokens.
    public static func explainedVariance<Scalar: BinaryFloatingPoint>(
        values: [Scalar], returns: [Scalar], mask: [Scalar],
        reducing: ([Double]) -> [Double] = { $0 }
    ) -> Double {
        precondition(
            values.count == returns.count && mask.count == returns.count,
            "RolloutDiagnostics.explainedVariance: \(values.count) values, \(returns.count) returns, "
                + "\(mask.count) mask entries")
        let residuals = zip(returns, values).map { $0 - $1 }
        let returnsVariance = Whitening.moments(returns, mask: mask, unbiased: false, reducing: reducing)
            .variance
        let residualVariance = Whitening.moments(residuals, mask: mask, unbiased: false, reducing: reducing)
            .variance
        return returnsVariance > 0 ? 1 - residualVariance / returnsVariance : .nan
    }
}
