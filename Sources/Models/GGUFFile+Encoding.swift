import Foundation

extension GGUFFile {
    /// Encodes Float32 values as `type`: F32 as is; F16 and BF16 rounded to nearest even (as numpy
    /// and gguf-py do); Q8_0 in blocks of 32 consecutive values, each block an F16 scale
    /// d = max|x| / 127 followed by 32 int8 q = round(x / d) (half away from zero, as ggml's
    /// `quantize_row_q8_0_ref`), so that x ≈ q · d. Q8_0 needs a multiple of 32 values
    /// (programmer error otherwise; `GGUFExporter` falls back to F16 for such tensors, as
    /// convert_hf_to_gguf.py does).
    public static func encode(_ values: UnsafeBufferPointer<Float>, as type: TensorType) -> [UInt8] {
        var out: [UInt8] = []
        switch type {
        case .f32:
            out.reserveCapacity(values.count * 4)
            for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
        case .f16, .bf16:
            out.reserveCapacity(values.count * 2)
            for v in values {
                let h = type == .f16 ? SafeTensors.halfFromFloat(v) : SafeTensors.bfloat16(v)
                withUnsafeBytes(of: h.littleEndian) { out.append(contentsOf: $0) }
            }
        case .q8_0:
            precondition(
                values.count % 32 == 0,
                "GGUFFile.encode: Q8_0 needs a multiple of 32 values, got \(values.count)")
            out.reserveCapacity(values.count / 32 * 34)
            for start in stride(from: 0, to: values.count, by: 32) {
                var amax: Float = 0
                for i in start..<start + 32 { amax = max(amax, abs(values[i])) }
                let d = amax / 127
                let inverse: Float = d == 0 ? 0 : 1 / d
                withUnsafeBytes(of: SafeTensors.halfFromFloat(d).littleEndian) { out.append(contentsOf: $0) }
                for i in start..<start + 32 {
                    // roundf: half away from zero, like ggml (not Swift's default banker's rounding).
                    let q = (values[i] * inverse).rounded(.toNearestOrAwayFromZero)
                    out.append(UInt8(bitPattern: Int8(max(-128, min(127, q)))))
                }
            }
        }
        return out
    }

    /// Decodes `bytes` of `type` back to Float32 (for tests and checks).
    public static func decode(_ bytes: [UInt8], as type: TensorType) -> [Float] {
        func u16(_ i: Int) -> UInt16 { UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8 }
        switch type {
        case .f32:
            return stride(from: 0, to: bytes.count, by: 4).map { i in
                Float(
                    bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16
                        | UInt32(bytes[i + 3]) << 24)
            }
        case .f16:
            return stride(from: 0, to: bytes.count, by: 2).map { floatFromHalf(u16($0)) }
        case .bf16:
            return stride(from: 0, to: bytes.count, by: 2).map { Float(bitPattern: UInt32(u16($0)) << 16) }
        case .q8_0:
            var out: [Float] = []
            out.reserveCapacity(bytes.count / 34 * 32)
            for start in stride(from: 0, to: bytes.count, by: 34) {
                let d = floatFromHalf(u16(start))
                for i in 0..<32 { out.append(Float(Int8(bitPattern: bytes[start + 2 + i])) * d) }
            }
            return out
        }
    }

    /// IEEE binary16 → binary32 (exact).
    static func floatFromHalf(_ h: UInt16) -> Float {
        let sign: Float = h & 0x8000 != 0 ? -1 : 1
        let exponent = Int((h >> 10) & 0x1F), mantissa = Float(h & 0x3FF)
        switch exponent {
        case 0: return sign * mantissa * Float(sign: .plus, exponent: -24, significand: 1)
        case 0x1F: return mantissa == 0 ? sign * .infinity : .nan
        default:
            return sign * (1 + mantissa / 1024) * Float(sign: .plus, exponent: exponent - 15, significand: 1)
        }
    }
}
