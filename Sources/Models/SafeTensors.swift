import Foundation
import TensorCore

/// A parsed `.safetensors` file: named tensors plus string metadata.
///
/// Format (https://github.com/huggingface/safetensors): 8-byte little-endian header length N,
/// N bytes of JSON `{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, …,
/// "__metadata__": {"key": "value"}}` padded with spaces, then the raw little-endian data;
/// offsets are relative to the start of the data. The file is memory-mapped once; a tensor is
/// converted to `Float32` only when asked for.
public struct SafeTensors: Sendable {
    public enum DType: String, Sendable, CaseIterable {
        case f32 = "F32", f16 = "F16", bf16 = "BF16", f64 = "F64"
        case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", bool = "BOOL"

        public var byteCount: Int {
            switch self {
            case .f64, .i64: 8
            case .f32, .i32: 4
            case .f16, .bf16, .i16: 2
            case .i8, .u8, .bool: 1
            }
        }

        /// Whether `tensor(named:)` can convert this dtype to Float32.
        public var isFloatConvertible: Bool { self == .f32 || self == .f16 || self == .bf16 }
    }

    public struct Entry: Sendable, Equatable {
        public var name: String
        public var dtype: DType
        public var shape: [Int]
        /// Byte range inside the data section.
        public var dataOffsets: Range<Int>
    }

    /// Where the bytes came from (named in errors).
    public let source: String
    public let metadata: [String: String]
    /// Entries in file (data offset) order.
    public let entries: [Entry]
    private let index: [String: Int]
    private let data: Data
    private let dataStart: Int

    public var names: [String] { entries.map(\.name) }

    public func entry(named name: String) -> Entry? { index[name].map { entries[$0] } }

    /// Reads (memory-maps) a file.
    public init(contentsOf url: URL) throws(SafeTensorsError) {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw SafeTensorsError(
                source: url.path, reason: "cannot read file: \(error.localizedDescription)")
        }
        try self.init(data: data, source: url.path)
    }

    /// Longest header accepted (the reference implementation's limit).
    public static let maximumHeaderLength = 100_000_000

    /// Parses bytes already in memory. Every header number is checked before it is used: the
    /// header length against the file, each shape's element and byte counts with
    /// overflow-checked arithmetic, each `data_offsets` pair against the data section and the
    /// shape × dtype size, so a hostile file is an error, never a crash or a huge allocation.
    public init(data: Data, source: String = "<memory>") throws(SafeTensorsError) {
        func fail(_ reason: String) -> SafeTensorsError { SafeTensorsError(source: source, reason: reason) }
        guard data.count >= 8 else {
            throw fail("file is \(data.count) bytes, shorter than the 8-byte header length")
        }
        var headerLength: UInt64 = 0
        for i in 0..<8 { headerLength |= UInt64(data[data.startIndex + i]) << (8 * UInt64(i)) }
        guard headerLength <= UInt64(data.count - 8) else {
            throw fail(
                "header length \(headerLength) exceeds the \(data.count - 8) bytes after the length field (corrupt or truncated file)"
            )
        }
        guard headerLength <= UInt64(Self.maximumHeaderLength) else {
            throw fail("header length \(headerLength) exceeds the limit of \(Self.maximumHeaderLength) bytes")
        }
        let headerBytes = data.subdata(in: data.startIndex + 8..<data.startIndex + 8 + Int(headerLength))
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: headerBytes)
        } catch {
            throw fail("header is not valid JSON (corrupt file?)")
        }
        guard let header = json as? [String: Any] else { throw fail("header is not a JSON object") }

        let dataStart = 8 + Int(headerLength)
        let dataSize = data.count - dataStart
        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let dict = value as? [String: Any] else { throw fail("__metadata__ is not an object") }
                for (k, v) in dict {
                    guard let s = v as? String else { throw fail("__metadata__.\(k) is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let info = value as? [String: Any] else {
                throw fail("tensor \(name): entry is not an object")
            }
            guard let dtypeName = info["dtype"] as? String else {
                throw fail("tensor \(name): missing dtype")
            }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw fail("tensor \(name): unsupported dtype \(dtypeName)")
            }
            guard let shapeAny = info["shape"] as? [Any], let shape = Self.integers(shapeAny),
                shape.allSatisfy({ $0 >= 0 })
            else {
                throw fail("tensor \(name): shape is not a list of non-negative integers")
            }
            guard shape.count <= 8 else {
                throw fail("tensor \(name): shape \(shape) has more than 8 dimensions")
            }
            guard let offsetsAny = info["data_offsets"] as? [Any], let offsets = Self.integers(offsetsAny),
                offsets.count == 2,
                offsets[0] >= 0, offsets[0] <= offsets[1]
            else {
                throw fail("tensor \(name): data_offsets is not [begin, end]")
            }
            guard offsets[1] <= dataSize else {
                throw fail(
                    "tensor \(name): data_offsets \(offsets) run past the \(dataSize) data bytes (truncated file?)"
                )
            }
            guard let expected = Self.byteCount(shape: shape, dtype: dtype) else {
                throw fail(
                    "tensor \(name): shape \(shape) of \(dtypeName) is too large (its byte count overflows)")
            }
            guard offsets[1] - offsets[0] == expected else {
                throw fail(
                    "tensor \(name): shape \(shape) of \(dtypeName) needs \(expected) bytes, data_offsets span \(offsets[1] - offsets[0])"
                )
            }
            entries.append(
                Entry(name: name, dtype: dtype, shape: shape, dataOffsets: offsets[0]..<offsets[1]))
        }
        entries.sort { ($0.dataOffsets.lowerBound, $0.name) < ($1.dataOffsets.lowerBound, $1.name) }
        for (a, b) in zip(entries, entries.dropFirst())
        where a.dataOffsets.upperBound > b.dataOffsets.lowerBound {
            throw fail("tensors \(a.name) and \(b.name) overlap in the data section")
        }
        self.source = source
        self.metadata = metadata
        self.entries = entries
        self.index = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.name, $0) })
        self.data = data
        self.dataStart = dataStart
    }

    /// Bytes of a tensor of `shape` and `dtype`, or nil when the product overflows.
    static func byteCount(shape: [Int], dtype: DType) -> Int? {
        var count = dtype.byteCount
        for dimension in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            if overflow { return nil }
            count = product
        }
        return count
    }

    /// The tensor `name` as Float32 (F16 and BF16 are widened).
    public func tensor(named name: String) throws(SafeTensorsError) -> Tensor {
        guard let entry = entry(named: name) else {
            throw SafeTensorsError(source: source, reason: "no tensor named \(name)")
        }
        guard entry.dtype.isFloatConvertible else {
            throw SafeTensorsError(
                source: source,
                reason:
                    "tensor \(name) has dtype \(entry.dtype.rawValue); only F32, F16 and BF16 can be loaded as Float32"
            )
        }
        var tensor = Tensor(shape: entry.shape)
        let begin = data.startIndex + dataStart + entry.dataOffsets.lowerBound
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let bytes = UnsafeRawBufferPointer(
                rebasing: raw[(begin - data.startIndex)..<(begin - data.startIndex + entry.dataOffsets.count)]
            )
            tensor.withUnsafeMutableBufferPointer { out in
                switch entry.dtype {
                case .f32:
                    // Unaligned load: the data section is only 8-byte aligned relative to the file.
                    for i in 0..<out.count {
                        out[i] = Float(
                            bitPattern: UInt32(
                                littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                    }
                case .f16:
                    for i in 0..<out.count {
                        out[i] = Self.floatFromHalf(
                            UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                    }
                case .bf16:
                    for i in 0..<out.count {
                        let bits = UInt16(
                            littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                        out[i] = Float(bitPattern: UInt32(bits) << 16)
                    }
                default:
                    break
                }
            }
        }
        return tensor
    }

    /// IEEE binary16 → binary32 (exact; handles subnormals, infinities and NaN).
    static func floatFromHalf(_ h: UInt16) -> Float {
        let sign = UInt32(h >> 15) << 31
        let exponent = Int((h >> 10) & 0x1F)
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
        if exponent == 0 {
            // Subnormal (or zero): value = mantissa · 2^-24.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign != 0 ? -magnitude : magnitude
        }
        return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
    }

    private static func integers(_ values: [Any]) -> [Int]? {
        var result: [Int] = []
        for v in values {
            // JSONSerialization yields NSNumber; reject fractional values and booleans.
            // Beyond 2^53 a double no longer holds every integer: the integer value must agree.
            guard let n = v as? NSNumber, isNotBoolean(n), let i = Int(exactly: n.doubleValue),
                n.int64Value == Int64(i)
            else { return nil }
            result.append(i)
        }
        return result
    }

    private static func isNotBoolean(_ n: NSNumber) -> Bool {
        // `true`/`false` also bridge to NSNumber; their objCType is "c" (char).
        String(cString: n.objCType) != "c"
    }
}

public struct SafeTensorsError: Error, CustomStringConvertible, Sendable {
    public var source: String
    public var reason: String
    public init(source: String, reason: String) {
        self.source = source
        self.reason = reason
    }
    public var description: String { "\(source): \(reason)" }
}
