import NN
import TensorCore

/// Whether weights are fit to be trained on, saved or loaded.
///
/// The rule (one place, used by every stage through `OptimizerStepper`, by `Checkpoint` when
/// writing and by `Checkpoint.loadModel` when reading):
/// - **non-finite**: any NaN or ±inf in any tensor is always refused, by name;
/// - **exploded** (training only): the largest |w| exceeds
///   `max(absoluteLimit, growthFactor × the largest |w| when training started)`, i.e. 10⁴, or
///   100× the initial or loaded maximum when that is larger. Healthy runs move weights by a small
///   fraction of their size (a tiny model's largest weight is its norm gains, 1.0); a diverging
///   one reaches 10⁹–10¹⁰ within a few steps, so the bound separates them by orders of
///   magnitude. A loaded model is not judged by the bound (published models may hold large
///   outliers), only by finiteness.
public enum WeightHealth {
    public static let absoluteLimit: Float = 1e4
    public static let growthFactor: Float = 100

    public struct Report: Sendable, Equatable {
        /// Largest |w| over the finite values.
        public var maxMagnitude: Float = 0
        /// Name of the tensor holding it.
        public var maxTensor: String?
        /// (tensor, count of NaN/inf values), in tensor order.
        public var nonFinite: [(name: String, count: Int)] = []

        public static func == (a: Report, b: Report) -> Bool {
            a.maxMagnitude == b.maxMagnitude && a.maxTensor == b.maxTensor
                && a.nonFinite.map(\.name) == b.nonFinite.map(\.name)
                && a.nonFinite.map(\.count) == b.nonFinite.map(\.count)
        }

        /// "model.norm.weight (3 non-finite), …", at most `limit` tensors named.
        public func nonFiniteSummary(limit: Int = 5) -> String {
            let named = nonFinite.prefix(limit).map { "\($0.name) (\($0.count) non-finite)" }
            let more = nonFinite.count > limit ? ", and \(nonFinite.count - limit) more" : ""
            return "\(nonFinite.count) tensor(s) hold NaN or inf: " + named.joined(separator: ", ") + more
        }
    }

    public static func scan(_ tensors: [(name: String, tensor: Tensor)]) -> Report {
        var report = Report()
        for (name, tensor) in tensors {
            var (largest, finite) = tensor.withUnsafeBufferPointer(largestMagnitude)
            var bad = 0
            if !finite {
                // Rare: count the NaN/inf values and take the largest of the finite ones.
                largest = 0
                tensor.withUnsafeBufferPointer { values in
                    for v in values {
                        if v.isFinite { largest = Swift.max(largest, v.magnitude) } else { bad += 1 }
                    }
                }
            }
            if bad > 0 { report.nonFinite.append((name, bad)) }
            if largest > report.maxMagnitude || report.maxTensor == nil {
                report.maxMagnitude = largest
                report.maxTensor = name
            }
        }
        return report
    }

    /// Largest |x| and whether every value is finite, in eight Float lanes (this runs after every
    /// optimizer step, like the gradient norm). `x * 0` is 0 for finite x and NaN for NaN or ±inf,
    /// so one sum of them tells whether the tensor is finite.
    private static func largestMagnitude(_ values: UnsafeBufferPointer<Float>) -> (Float, Bool) {
        guard let base = values.baseAddress else { return (0, true) }
        var lanes = SIMD8<Float>(), probe = SIMD8<Float>()
        var i = 0
        while i + 8 <= values.count {
            let x = UnsafeRawPointer(base + i).loadUnaligned(as: SIMD8<Float>.self)
            lanes = pointwiseMax(lanes, x.replacing(with: -x, where: x .< 0))
            probe += x * 0
            i += 8
        }
        var largest = lanes.max(), check = probe.sum()
        while i < values.count {
            largest = Swift.max(largest, base[i].magnitude)
            check += base[i] * 0
            i += 1
        }
        return (largest, check == 0)
    }

    public static func scan(_ parameters: [Parameter]) -> Report {
        scan(parameters.map { (name: $0.name, tensor: $0.value) })
    }

    /// The explosion bound for a run whose weights started with largest magnitude `initialMax`.
    public static func limit(initialMax: Float) -> Float {
        Swift.max(absoluteLimit, growthFactor * initialMax)
    }

    /// Throws `NonFiniteWeightsError` naming the tensors when any value is NaN or inf.
    public static func requireFinite(_ tensors: [(name: String, tensor: Tensor)], in source: String)
        throws(NonFiniteWeightsError)
    {
        let report = scan(tensors)
        guard report.nonFinite.isEmpty else { throw NonFiniteWeightsError(source: source, report: report) }
    }
}

/// Weights with NaN or inf where they are written or read.
public struct NonFiniteWeightsError: Error, CustomStringConvertible, Sendable {
    public var source: String
    public var report: WeightHealth.Report
    public var description: String {
        "\(source): refusing weights with NaN or inf values: \(report.nonFiniteSummary())"
    }
}

/// A run stopped because its weights became non-finite or exploded after an optimizer step.
/// Nothing is saved after such a step; the last checkpoint (if any) is the last good state.
public struct WeightsDivergedError: Error, CustomStringConvertible, Sendable {
    /// 1-based step whose update broke the weights.
    public var step: Int
    public var report: WeightHealth.Report
    public var limit: Float

    public init(step: Int, report: WeightHealth.Report, limit: Float) {
        self.step = step
        self.report = report
        self.limit = limit
    }

    public var description: String {
        let what =
            report.nonFinite.isEmpty
            ? "largest |weight| is \(report.maxMagnitude) in \(report.maxTensor ?? "?"), beyond the limit \(limit) "
                + "(max(\(WeightHealth.absoluteLimit), \(WeightHealth.growthFactor)× the largest weight at the start))"
            : report.nonFiniteSummary()
        return "training diverged: after step \(step) \(what); nothing was saved from this step on; "
            + "lower the learning rate, raise warmup or enable gradient clipping, and resume from the last checkpoint"
    }
}
