import Foundation
import TensorCore

extension SafeTensors {
    /// Encodes named Float32 tensors (in the given order) and string metadata as safetensors bytes.
    ///
    /// The header is compact JSON with sorted keys, padded with spaces so the data section starts
    /// at an 8-byte boundary (as the reference writer does). Names must be unique and must not be
    /// `__metadata__` (programmer errors).
    public static func encode(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:]) -> Data {
        precondition(Set(tensors.map(\.name)).count == tensors.count, "SafeTensors.encode: duplicate tensor names")
        precondition(!tensors.contains { $0.name == "__metadata__" }, "SafeTensors.encode: reserved name __metadata__")
        var header: [String: Any] = [:]
        var offset = 0
        for (name, tensor) in tensors {
            let size = tensor.count * 4
            header[name] = ["dtype": "F32", "shape": tensor.shape, "data_offsets": [offset, offset + size]] as [String: Any]
            offset += size
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        // Sorted keys: identical inputs give identical bytes (reproducible checkpoints).
        var json = try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys, .withoutEscapingSlashes])
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))

        var out = Data(capacity: 8 + json.count + offset)
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
        out.append(json)
        for (_, tensor) in tensors {
            tensor.withUnsafeBufferPointer { buffer in
                #if _endian(little)
                out.append(UnsafeBufferPointer(start: UnsafeRawPointer(buffer.baseAddress!)
                    .assumingMemoryBound(to: UInt8.self), count: buffer.count * 4))
                #else
                for x in buffer { withUnsafeBytes(of: x.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
                #endif
            }
        }
        return out
    }

    /// Encodes and atomically writes (temp file, fsync, rename, fsync directory).
    public static func write(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:],
                             to url: URL) throws(AtomicFileError) {
        try AtomicFileWriter.write(encode(tensors, metadata: metadata), to: url)
    }
}
