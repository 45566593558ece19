import Foundation
@testable import Models

/// A minimal GGUF v3 reader written from the format description (not from the writer), so the
/// tests check the bytes rather than the writer against itself.
struct GGUFTestReader {
    enum Value: Equatable {
        case uint(UInt64), int(Int64), float(Double), bool(Bool), string(String), array([Value])
    }
    struct TensorInfo {
        var name: String
        /// GGML order, as stored.
        var dims: [Int]
        var type: UInt32
        var offset: Int
    }
    struct Failure: Error, CustomStringConvertible { var description: String }

    let bytes: [UInt8]
    var version: UInt32 = 0
    var keys: [String] = []
    var kv: [String: Value] = [:]
    var valueTypes: [String: UInt32] = [:]
    var tensors: [TensorInfo] = []
    var alignment = 32
    var dataStart = 0
    private var position = 0

    init(_ bytes: [UInt8]) throws {
        self.bytes = bytes
        guard Array(bytes.prefix(4)) == Array("GGUF".utf8) else { throw Failure(description: "bad magic") }
        position = 4
        version = UInt32(try uint(4))
        let tensorCount = try uint(8), kvCount = try uint(8)
        for _ in 0..<kvCount {
            let key = try string()
            let type = UInt32(try uint(4))
            keys.append(key)
            valueTypes[key] = type
            kv[key] = try value(type)
        }
        if case .uint(let a)? = kv["general.alignment"] { alignment = Int(a) }
        for _ in 0..<tensorCount {
            let name = try string()
            let nDims = Int(try uint(4))
            var dims: [Int] = []
            for _ in 0..<nDims { dims.append(Int(try uint(8))) }
            tensors.append(
                TensorInfo(name: name, dims: dims, type: UInt32(try uint(4)), offset: Int(try uint(8))))
        }
        dataStart = (position + alignment - 1) / alignment * alignment
    }

    private mutating func uint(_ n: Int) throws -> UInt64 {
        guard position + n <= bytes.count else { throw Failure(description: "truncated at \(position)") }
        var v: UInt64 = 0
        for i in 0..<n { v |= UInt64(bytes[position + i]) << (8 * UInt64(i)) }
        position += n
        return v
    }

    private mutating func string() throws -> String {
        let n = Int(try uint(8))
        guard position + n <= bytes.count else { throw Failure(description: "string past the end") }
        defer { position += n }
        return String(decoding: bytes[position..<position + n], as: UTF8.self)
    }

    private mutating func value(_ type: UInt32) throws -> Value {
        switch type {
        case 0, 2, 4, 10: return .uint(try uint([0: 1, 2: 2, 4: 4, 10: 8][type]!))
        case 1: return .int(Int64(Int8(truncatingIfNeeded: try uint(1))))
        case 3: return .int(Int64(Int16(truncatingIfNeeded: try uint(2))))
        case 5: return .int(Int64(Int32(truncatingIfNeeded: try uint(4))))
        case 11: return .int(Int64(bitPattern: try uint(8)))
        case 6: return .float(Double(Float(bitPattern: UInt32(try uint(4)))))
        case 12: return .float(Double(bitPattern: try uint(8)))
        case 7: return .bool(try uint(1) != 0)
        case 8: return .string(try string())
        case 9:
            let elementType = UInt32(try uint(4))
            let count = Int(try uint(8))
            return .array(try (0..<count).map { _ in try value(elementType) })
        default: throw Failure(description: "unknown value type \(type)")
        }
    }

    func tensor(_ name: String) -> TensorInfo? { tensors.first { $0.name == name } }

    /// The tensor's bytes (size from its type and dims).
    func data(_ info: TensorInfo) -> [UInt8] {
        let count = info.dims.reduce(1, *)
        let size: Int =
            switch info.type {
            case 0: count * 4
            case 1, 30: count * 2
            case 8: count / 32 * 34
            default: 0
            }
        return Array(bytes[dataStart + info.offset..<dataStart + info.offset + size])
    }

    /// The tensor as Float32 in PyTorch (row-major, reversed dims) order.
    func floats(_ name: String) -> [Float] {
        let info = tensor(name)!
        return GGUFFile.decode(data(info), as: GGUFFile.TensorType(rawValue: info.type)!)
    }

    func string(_ key: String) -> String? { if case .string(let s)? = kv[key] { s } else { nil } }
    func uint(_ key: String) -> UInt64? { if case .uint(let v)? = kv[key] { v } else { nil } }
    func float(_ key: String) -> Double? { if case .float(let v)? = kv[key] { v } else { nil } }
    func strings(_ key: String) -> [String]? {
        guard case .array(let a)? = kv[key] else { return nil }
        return a.compactMap { if case .string(let s) = $0 { s } else { nil } }
    }
}
