import Foundation

/// A GGUF (version 3) file as llama.cpp reads it: metadata key/values, then tensor infos, then the
/// tensor data, each tensor starting at a multiple of `alignment` from the start of the data.
///
/// Layout (all little-endian): magic `GGUF`, version u32, tensor count u64, key/value count u64;
/// each key/value is a string key, a value type u32 and the value; each tensor info is a name,
/// n_dims u32, the dimensions u64 in GGML order (fastest-varying first, i.e. the reverse of the
/// PyTorch shape), the GGML type u32 and the data offset u64; padding to `alignment`; the data.
/// A string is a u64 byte count and UTF-8 bytes (no terminator). `general.alignment` (u32) is
/// written only when it differs from the default 32, as gguf-py does.
public struct GGUFFile: Sendable {
    public static let magic: [UInt8] = Array("GGUF".utf8)
    public static let version: UInt32 = 3
    public static let defaultAlignment = 32

    /// GGUF metadata value types (`gguf_type`).
    public enum ValueType: UInt32, Sendable {
        case uint8 = 0, int8, uint16, int16, uint32, int32, float32, bool, string, array, uint64, int64,
            float64
    }

    /// A metadata value. Arrays are homogeneous; only the element types GGUF models use are here.
    public enum Value: Sendable, Equatable {
        case uint32(UInt32)
        case int32(Int32)
        case uint64(UInt64)
        case float32(Float)
        case bool(Bool)
        case string(String)
        case strings([String])
        case int32s([Int32])
        case float32s([Float])
    }

    /// GGML tensor types (`ggml_type`) this writer produces.
    public enum TensorType: UInt32, Sendable, CaseIterable {
        case f32 = 0
        case f16 = 1
        case q8_0 = 8
        case bf16 = 30

        /// (elements per block, bytes per block).
        public var blockLayout: (elements: Int, bytes: Int) {
            switch self {
            case .f32: (1, 4)
            case .f16, .bf16: (1, 2)
            case .q8_0: (32, 34)
            }
        }
    }

    public struct TensorData: Sendable {
        public var name: String
        /// PyTorch order (slowest-varying first); written reversed.
        public var shape: [Int]
        public var type: TensorType
        /// Encoded bytes (`GGUFFile.encode(_:as:)`).
        public var bytes: [UInt8]
    }

    public var alignment: Int
    public private(set) var metadata: [(key: String, value: Value)] = []
    public private(set) var tensors: [TensorData] = []

    public init(alignment: Int = GGUFFile.defaultAlignment) {
        precondition(
            alignment > 0 && alignment % 8 == 0,
            "GGUFFile: alignment \(alignment) must be a positive multiple of 8")
        self.alignment = alignment
    }

    /// Sets `key` (replacing an earlier value: keys are unique in a GGUF file).
    public mutating func set(_ key: String, _ value: Value) {
        if let i = metadata.firstIndex(where: { $0.key == key }) {
            metadata[i].value = value
        } else {
            metadata.append((key, value))
        }
    }

    public func value(_ key: String) -> Value? { metadata.first { $0.key == key }?.value }

    /// Appends a tensor already encoded as `type`.
    public mutating func add(name: String, shape: [Int], type: TensorType, bytes: [UInt8]) {
        precondition(!tensors.contains { $0.name == name }, "GGUFFile: duplicate tensor \(name)")
        let count = shape.reduce(1, *)
        let (perBlock, blockBytes) = type.blockLayout
        precondition(
            count % perBlock == 0 && bytes.count == count / perBlock * blockBytes,
            "GGUFFile: \(name) has \(bytes.count) bytes for \(shape) as \(type)")
        tensors.append(TensorData(name: name, shape: shape, type: type, bytes: bytes))
    }

    /// The whole file.
    public func encoded() -> [UInt8] {
        var out = GGUFByteWriter()
        out.bytes.append(contentsOf: Self.magic)
        out.u32(Self.version)
        out.u64(UInt64(tensors.count))
        var entries = metadata
        if alignment != Self.defaultAlignment, !entries.contains(where: { $0.key == "general.alignment" }) {
            entries.append(("general.alignment", .uint32(UInt32(alignment))))
        }
        out.u64(UInt64(entries.count))
        for (key, value) in entries {
            out.string(key)
            out.value(value)
        }
        var offset = 0
        for tensor in tensors {
            out.string(tensor.name)
            out.u32(UInt32(tensor.shape.count))
            for d in tensor.shape.reversed() { out.u64(UInt64(d)) }
            out.u32(tensor.type.rawValue)
            out.u64(UInt64(offset))
            offset += Self.padded(tensor.bytes.count, to: alignment)
        }
        out.pad(to: alignment)
        for tensor in tensors {
            out.bytes.append(contentsOf: tensor.bytes)
            out.pad(to: alignment)
        }
        return out.bytes
    }

    static func padded(_ n: Int, to alignment: Int) -> Int { (n + alignment - 1) / alignment * alignment }
}

/// Little-endian serialisation of GGUF's primitive values.
struct GGUFByteWriter {
    var bytes: [UInt8] = []

    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func f32(_ v: Float) { u32(v.bitPattern) }
    mutating func string(_ s: String) {
        u64(UInt64(s.utf8.count))
        bytes.append(contentsOf: s.utf8)
    }
    mutating func pad(to alignment: Int) {
        bytes.append(
            contentsOf: [UInt8](
                repeating: 0, count: GGUFFile.padded(bytes.count, to: alignment) - bytes.count))
    }

    mutating func value(_ value: GGUFFile.Value) {
        typealias T = GGUFFile.ValueType
        switch value {
        case .uint32(let v): u32(T.uint32.rawValue); u32(v)
        case .int32(let v): u32(T.int32.rawValue); u32(UInt32(bitPattern: v))
        case .uint64(let v): u32(T.uint64.rawValue); u64(v)
        case .float32(let v): u32(T.float32.rawValue); f32(v)
        case .bool(let v): u32(T.bool.rawValue); bytes.append(v ? 1 : 0)
        case .string(let v): u32(T.string.rawValue); string(v)
        case .strings(let vs):
            u32(T.array.rawValue); u32(T.string.rawValue); u64(UInt64(vs.count))
            for v in vs { string(v) }
        case .int32s(let vs):
            u32(T.array.rawValue); u32(T.int32.rawValue); u64(UInt64(vs.count))
            for v in vs { u32(UInt32(bitPattern: v)) }
        case .float32s(let vs):
            u32(T.array.rawValue); u32(T.float32.rawValue); u64(UInt64(vs.count))
            for v in vs { f32(v) }
        }
    }
}
