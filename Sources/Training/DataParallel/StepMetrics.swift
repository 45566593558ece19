/// One step's metrics by name, each saying how it combines over the ranks of a data-parallel
/// run, so a stage reduces them in one named collective instead of numbered slots.
public struct StepMetrics: Sendable {
    enum Combination: Sendable {
        /// A mean over `weight` local items (pairs, rows, tokens).
        case mean(weight: Double)
        /// Summed over the ranks (a loss already divided by the global count, a count).
        case total
        /// The same on every rank (a reference point, a coefficient): kept as it is.
        case shared
    }

    private(set) var entries: [String: (value: Double, combination: Combination)] = [:]

    public init() {}

    /// A mean over this rank's `weight` items; over the ranks Σ value·weight / Σ weight (0 when
    /// no rank has any).
    public mutating func mean(_ name: String, _ value: Double, weight: Double) {
        entries[name] = (value, .mean(weight: weight))
    }

    /// A quantity whose ranks' values add up to the step's (already globally normalised).
    public mutating func total(_ name: String, _ value: Double) { entries[name] = (value, .total) }

    /// A value every rank computed identically.
    public mutating func shared(_ name: String, _ value: Double) { entries[name] = (value, .shared) }

    /// This rank's value of `name`.
    public subscript(name: String) -> Double? { entries[name]?.value }

    /// This rank's values (what a single process reports).
    public var local: [String: Double] { entries.mapValues(\.value) }
}

extension Communicator {
    /// The step's metrics over all ranks, in one collective; alone, the values as they are.
    public func reduce(_ metrics: StepMetrics) -> [String: Double] {
        guard size > 1 else { return metrics.local }
        // Sorted names: every rank lays the buffer out in the same order.
        let names = metrics.entries.keys.sorted()
        var buffer: [Double] = []
        for name in names {
            let (value, combination) = metrics.entries[name]!
            switch combination {
            case .mean(let weight): buffer += [value * weight, weight]
            case .total: buffer.append(value)
            case .shared: break
            }
        }
        let sums = allReduceSum(buffer)
        var out: [String: Double] = [:], i = 0
        for name in names {
            let (value, combination) = metrics.entries[name]!
            switch combination {
            case .mean:
                out[name] = sums[i + 1] > 0 ? sums[i] / sums[i + 1] : 0
                i += 2
            case .total:
                out[name] = sums[i]
                i += 1
            case .shared: out[name] = value
            }
        }
        return out
    }
}
