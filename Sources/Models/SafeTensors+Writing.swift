import Foundation
import TensorCore

extension SafeTensors {
    /// Encodes named Float32 tensors (in the given order) and string metadata as safetensors bytes,
    /// each element stored as `dtype` (F32, or BF16/F16 rounded to nearest even, as torch's
    /// `.to(torch.bfloat16)` does; NaN stays NaN, values beyond the range become infinities).
    ///
    /// The header is compact JSON with sorted keys, padded with spaces so the data section starts
    /// at an 8-byte boundary (as the reference writer does). Names must be unique and must not be
    /// `__metadata__` (programmer errors).
    public static func encode(
        _ tensors: [(name: String, tensor: Tensor)], dtype: DType = .f32,
        metadata: [String: String] = [:]
    ) -> Data {
        precondition(dtype.isFloatConvertible, "SafeTensors.encode: cannot write \(dtype.rawValue)")
        precondition(
            Set(tensors.map(\.name)).count == tensors.count, "SafeTensors.encode: duplicate tensor names")
        precondition(
            !tensors.contains { $0.name == "__metadata__" }, "SafeTensors.encode: reserved name __metadata__")
        var header: [String: Any] = [:]
        var offset = 0
        for (name, tensor) in tensors {
            let size = tensor.count * dtype.byteCount
            header[name] =
                ["dtype": dtype.rawValue, "shape": tensor.shape, "data_offsets": [offset, offset + size]]
                as [String: Any]
            offset += size
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        // Sorted keys: identical inputs give identical bytes (reproducible checkpoints).
        var json = try! JSONSerialization.data(
            withJSONObject: header, options: [.sortedKeys, .withoutEscapingSlashes])
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))

        var out = Data(capacity: 8 + json.count + offset)
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
        out.append(json)
        for (_, tensor) in tensors where dtype != .f32 {
            let halves: [UInt16] = tensor.withUnsafeBufferPointer { buffer in
                dtype == .bf16 ? buffer.map(Self.bfloat16) : buffer.map(Self.halfFromFloat)
            }
            for h in halves { withUnsafeBytes(of: h.littleEndian) { out.append(contentsOf: $0) } }
        }
        for (_, tensor) in tensors where dtype == .f32 {
            tensor.withUnsafeBufferPointer { buffer in
                #if _endian(little)
                    out.append(
                        UnsafeBufferPointer(
                            start: UnsafeRawPointer(buffer.baseAddress!)
                                .assumingMemoryBound(to: UInt8.self), count: buffer.count * 4))
                #else
                    for x in buffer {
                        withUnsafeBytes(of: x.bitPattern.littleEndian) { out.append(contentsOf: $0) }
                    }
                #endif
            }
        }
        return out
    }

    /// Encodes and atomically writes (temp file, fsync, rename, fsync directory).
    public static func write(
        _ tensors: [(name: String, tensor: Tensor)], dtype: DType = .f32,
        metadata: [String: String] = [:], to url: URL
    ) throws(AtomicFileError) {
        try AtomicFileWriter.write(encode(tensors, dtype: dtype, metadata: metadata), to: url)
    }

    /// binary32 → bfloat16, round to nearest even (NaN kept quiet).
    static func bfloat16(_ f: Float) -> UInt16 {
        let bits = f.bitPattern
        if f.isNaN { return UInt16(bits >> 16) | 0x0040 }
        let rounding = 0x7FFF + ((bits >> 16) & 1)
        return UInt16((bits &+ rounding) >> 16)
    }

    /// binary32 → IEEE binary16, round to nearest even, with subnormals, overflow to infinity
    /// and NaN.
    static func halfFromFloat(_ f: Float) -> UInt16 {
        let bits = f.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xFF)
        let mantissa = bits & 0x7F_FFFF
        if exponent == 0xFF { return sign | 0x7C00 | (mantissa != 0 ? 0x200 : 0) }
        let e = exponent - 127 + 15
        if e >= 0x1F { return sign | 0x7C00 }
        if e <= 0 {
            // Half subnormal k · 2^-24 with k = m · 2^(e - 14), m the 24-bit significand.
            if e < -10 { return sign }
            let m = mantissa | 0x80_0000
            let shift = UInt32(14 - e)
            var k = m >> shift
            let rest = m & ((1 << shift) - 1), halfway = UInt32(1) << (shift - 1)
            if rest > halfway || (rest == halfway && k & 1 == 1) { k += 1 }
            return sign | UInt16(k)
        }
        var h = UInt32(e) << 10 | (mantissa >> 13)
        let rest = mantissa & 0x1FFF
        // A carry may run into the exponent (up to infinity): that is the correct rounding.
        if rest > 0x1000 || (rest == 0x1000 && h & 1 == 1) { h += 1 }
        return sign | UInt16(h)
    }
}
