import Foundation

/// How a model rescales its rotary frequencies for longer contexts (`rope_parameters.rope_type`
/// in `transformers`). Only the types whose formulas are implemented here exist as cases.
public enum RotaryScaling: Sendable, Equatable {
    /// Position interpolation: every inverse frequency divided by `factor`.
    case linear(factor: Float)
    /// Llama 3.1: low frequencies divided by `factor`, high ones kept, the band between smoothly
    /// interpolated (`_compute_llama3_parameters`).
    case llama3(
        factor: Float, lowFrequencyFactor: Float, highFrequencyFactor: Float, originalContextLength: Int)

    /// Applies the scaling to the default inverse frequencies, in Float32 as `transformers` does
    /// (torch evaluates `a / tensor` as `reciprocal(tensor) * a`).
    public func apply(to inverseFrequencies: [Float]) -> [Float] {
        switch self {
        case .linear(let factor):
            return inverseFrequencies.map { $0 / factor }
        case let .llama3(factor, low, high, original):
            let lowWavelength = Float(Double(original) / Double(low))
            let highWavelength = Float(Double(original) / Double(high))
            let band = Float(Double(high) - Double(low))
            let twoPi = Float(2 * Double.pi)
            return inverseFrequencies.map { invFreq in
                let wavelength = (1 / invFreq) * twoPi
                let scaled = wavelength > lowWavelength ? invFreq / factor : invFreq
                let isMedium = !(wavelength < highWavelength) && !(wavelength > lowWavelength)
                guard isMedium else { return scaled }
                let smooth = ((1 / wavelength) * Float(original) - low) / band
                return (1 - smooth) * scaled / factor + smooth * scaled
            }
        }
    }
}

/// Rotary position tables in Hugging Face's rotate-half layout: dimension i of a head is paired
/// with dimension i + D/2, rotated by angle position · θ^(-2i/D) (rescaled by `scaling`).
public struct RotaryTable: Sendable {
    public let headDimension: Int
    public let maxPosition: Int
    /// (maxPosition, D/2) each.
    public let cos: [Float]
    public let sin: [Float]

    public init(headDimension: Int, maxPosition: Int, theta: Float, scaling: RotaryScaling? = nil) {
        precondition(headDimension % 2 == 0, "RotaryTable: head dimension \(headDimension) must be even")
        self.headDimension = headDimension
        self.maxPosition = maxPosition
        let half = headDimension / 2
        var invFreqs = (0..<half).map { i in
            // Like HF: inv_freq computed in float32, angle = position · inv_freq.
            Float(1.0 / Foundation.pow(Double(theta), Double(2 * i) / Double(headDimension)))
        }
        if let scaling { invFreqs = scaling.apply(to: invFreqs) }
        var c = [Float](repeating: 0, count: maxPosition * half)
        var s = c
        for i in 0..<half {
            let invFreq = invFreqs[i]
            for p in 0..<maxPosition {
                let angle = Double(Float(p) * invFreq)
                c[p * half + i] = Float(Foundation.cos(angle))
                s[p * half + i] = Float(Foundation.sin(angle))
            }
        }
        cos = c
        sin = s
    }
}

extension Kernels {
    /// Rotates `heads` heads of each of `rows` rows in place (row stride `stride`, head h at
    /// columns h·D ..< (h+1)·D), row r at position `positions[r]`. `inverse` applies the
    /// transposed rotation (the backward pass).
    public static func rope(
        _ x: UnsafeMutablePointer<Float>, rows: Int, stride: Int, heads: Int,
        positions: UnsafePointer<Int32>, table: RotaryTable, inverse: Bool = false
    ) {
        let d = table.headDimension, half = d / 2
        table.cos.withUnsafeBufferPointer { cosb in
            table.sin.withUnsafeBufferPointer { sinb in
                let cp = cosb.baseAddress!, sp = sinb.baseAddress!
                Parallel.forRanges(rows, costPerItem: heads * d * 3) { range in
                    for r in range {
                        let pos = Int(positions[r])
                        precondition(
                            pos >= 0 && pos < table.maxPosition,
                            "rope: position \(pos) outside the table (0..<\(table.maxPosition))")
                        let cr = cp + pos * half, sr = sp + pos * half
                        for h in 0..<heads {
                            let q = x + r * stride + h * d
                            if inverse {
                                for i in 0..<half {
                                    let a = q[i], b = q[i + half]
                                    q[i] = a * cr[i] + b * sr[i]
                                    q[i + half] = b * cr[i] - a * sr[i]
                                }
                            } else {
                                for i in 0..<half {
                                    let a = q[i], b = q[i + half]
                                    q[i] = a * cr[i] - b * sr[i]
                                    q[i + half] = b * cr[i] + a * sr[i]
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
