import Foundation

/// The difference of two models' accuracies on the same prompts, with its 95% interval.
///
/// Paired: per prompt, d = (B correct) − (A correct) ∈ {−1, 0, 1}; the interval is the normal one
/// on the mean of d, d̄ ± 1.96·sd(d)/√n (McNemar's test in interval form). Prompts both models
/// get right or both get wrong contribute 0 and shrink the interval, which is why pairing tells
/// a 3-point gain from noise on 1000 prompts where two independent accuracies would not.
public struct PairedDifference: Sendable, Codable, Equatable {
    /// Mean of d: B's accuracy minus A's.
    public var difference: Double
    public var lower: Double
    public var upper: Double
    /// Prompts only B answers correctly, and only A.
    public var gained: Int
    public var lost: Int
    public var prompts: Int

    /// `a` and `b` are per-prompt correctness over the same prompts in the same order.
    public init(from a: [Bool], to b: [Bool]) {
        precondition(a.count == b.count, "paired difference of \(a.count) and \(b.count) prompts")
        let n = a.count
        gained = zip(a, b).filter { !$0 && $1 }.count
        lost = zip(a, b).filter { $0 && !$1 }.count
        prompts = n
        guard n > 0 else {
            (difference, lower, upper) = (.nan, .nan, .nan)
            return
        }
        let mean = Double(gained - lost) / Double(n)
        // Σ d² = gained + lost (each ±1), so the sample variance needs no second pass.
        let variance = n > 1 ? (Double(gained + lost) - Double(n) * mean * mean) / Double(n - 1) : 0
        let half = 1.96 * (max(variance, 0) / Double(n)).squareRoot()
        difference = mean
        lower = mean - half
        upper = mean + half
    }
}
