// Finite differences and comparisons shared by the objective tests. Everything runs in Float64, so
// a central difference with h = 1e-5 is accurate to ~1e-10 on these smooth (away from kinks)
// functions and gradients can be compared to 1e-7.

import Testing

enum ObjectiveCheck {
    /// Central-difference gradient of f at x.
    static func numericalGradient(_ x: [Double], step h: Double = 1e-5, _ f: ([Double]) -> Double) -> [Double]
    {
        var g = [Double](repeating: 0, count: x.count)
        var probe = x
        for i in x.indices {
            probe[i] = x[i] + h
            let up = f(probe)
            probe[i] = x[i] - h
            let down = f(probe)
            probe[i] = x[i]
            g[i] = (up - down) / (2 * h)
        }
        return g
    }

    /// |a − b| ≤ tolerance·max(1, |b|) elementwise, reporting the first mismatch.
    static func expectClose(
        _ a: [Double], _ b: [Double], tolerance: Double = 1e-7,
        _ what: String = "", sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(
            a.count == b.count, "\(what): \(a.count) vs \(b.count) elements", sourceLocation: sourceLocation)
        for i in 0..<min(a.count, b.count) where !(abs(a[i] - b[i]) <= tolerance * max(1, abs(b[i]))) {
            Issue.record(
                "\(what)[\(i)]: \(a[i]) vs expected \(b[i]) (all: \(a) vs \(b))",
                sourceLocation: sourceLocation)
            return
        }
    }

    static func expectClose(
        _ a: Double, _ b: Double, tolerance: Double = 1e-9,
        _ what: String = "", sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(
            abs(a - b) <= tolerance * max(1, abs(b)), "\(what): \(a) vs expected \(b)",
            sourceLocation: sourceLocation)
    }
}
