import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A token stream on disk, read through a memory map.
///
/// Format (little-endian), a 32-byte header then the tokens:
///
///     magic "RLHFTOKS" (8) · version u32 = 1 · bytes per token u32 (2 or 4)
///     vocabSize u32 · reserved u32 = 0 · token count u64 · tokens (u16 or u32 each)
///
/// uint16 when the vocabulary fits (≤ 65 536 ids), otherwise uint32.
public final class TokenShard: @unchecked Sendable {
    // @unchecked Sendable: the mapping is read-only (PROT_READ) and never changes after init;
    // it is unmapped only in deinit, when no other reference exists.
    public let url: URL
    public let count: Int
    public let vocabSize: Int
    /// 2 (uint16) or 4 (uint32).
    public let bytesPerToken: Int
    private let mapping: UnsafeMutableRawPointer?
    private let mappedLength: Int

    static let magic = Array("RLHFTOKS".utf8)
    static let headerSize = 32

    /// Maps a shard file, checking its header and that its size matches its token count.
    public init(contentsOf url: URL) throws {
        let path = url.path
        func bad(_ reason: String) -> DatasetError { DatasetError(file: path, reason: reason) }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw bad("cannot open token shard: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw bad("cannot stat: \(String(cString: strerror(errno)))") }
        let size = Int(info.st_size)
        guard size >= Self.headerSize else {
            throw bad("token shard is \(size) bytes, smaller than its \(Self.headerSize)-byte header")
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw bad("mmap failed: \(String(cString: strerror(errno)))")
        }
        func fail(_ reason: String) -> DatasetError { munmap(base, size); return bad(reason) }
        let header = UnsafeRawBufferPointer(start: base, count: Self.headerSize)
        guard Array(header[0..<8]) == Self.magic else {
            throw fail("not a token shard (missing magic \"RLHFTOKS\")")
        }
        func u32(_ at: Int) -> UInt32 {
            UInt32(littleEndian: header.loadUnaligned(fromByteOffset: at, as: UInt32.self))
        }
        let version = u32(8)
        guard version == 1 else {
            throw fail("unsupported token shard version \(version) (this build reads 1)")
        }
        let width = Int(u32(12))
        guard width == 2 || width == 4 else { throw fail("bytes per token is \(width), expected 2 or 4") }
        let vocab = Int(u32(16))
        let tokens = UInt64(littleEndian: header.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
        let expected = UInt64(Self.headerSize) + tokens &* UInt64(width)
        guard tokens <= UInt64(Int.max / 4), expected == UInt64(size) else {
            throw fail(
                "header says \(tokens) tokens (\(expected) bytes) but the file is \(size) bytes (truncated?)")
        }
        self.url = url
        self.count = Int(tokens)
        self.vocabSize = vocab
        self.bytesPerToken = width
        self.mapping = base
        self.mappedLength = size
    }

    deinit {
        if let mapping { munmap(mapping, mappedLength) }
    }

    public subscript(index: Int) -> Int32 {
        precondition(index >= 0 && index < count, "token index \(index) outside 0..<\(count)")
        let at = Self.headerSize + index * bytesPerToken
        if bytesPerToken == 2 {
            return Int32(UInt16(littleEndian: mapping!.loadUnaligned(fromByteOffset: at, as: UInt16.self)))
        }
        return Int32(
            bitPattern: UInt32(littleEndian: mapping!.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
    }

    /// Copies tokens `range` into `buffer` (appending).
    public func append(_ range: Range<Int>, to buffer: inout [Int32]) {
        precondition(
            range.lowerBound >= 0 && range.upperBound <= count, "range \(range) outside 0..<\(count)")
        buffer.reserveCapacity(buffer.count + range.count)
        for i in range { buffer.append(self[i]) }
    }

    public func tokens(_ range: Range<Int>) -> [Int32] {
        var result: [Int32] = []
        append(range, to: &result)
        return result
    }

    /// Writes `tokens` as a shard (atomically: temporary file, fsync, rename).
    /// Throws if a token is outside 0..<vocabSize.
    public static func write(_ tokens: [Int32], vocabSize: Int, to url: URL) throws {
        guard vocabSize >= 1, vocabSize <= Int(UInt32.max) else {
            throw DatasetError(
                file: url.path, reason: "vocabulary size \(vocabSize) outside 1...\(UInt32.max)")
        }
        if let bad = tokens.firstIndex(where: { $0 < 0 || Int($0) >= vocabSize }) {
            throw DatasetError(
                file: url.path,
                reason: "token \(tokens[bad]) at position \(bad) outside the vocabulary 0..<\(vocabSize)")
        }
        let width = vocabSize <= 65_536 ? 2 : 4
        var bytes: [UInt8] = []
        bytes.reserveCapacity(headerSize + tokens.count * width)
        func put<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        bytes += magic
        put(UInt32(1)); put(UInt32(width)); put(UInt32(vocabSize)); put(UInt32(0)); put(UInt64(tokens.count))
        if width == 2 { for t in tokens { put(UInt16(t)) } } else { for t in tokens { put(UInt32(t)) } }
        try DatasetFile.writeAtomically(bytes, to: url)
    }
}

/// Atomic replacement of a file: temporary file beside it, fsync, rename.
enum DatasetFile {
    static func writeAtomically(_ bytes: [UInt8], to url: URL) throws {
        let path = url.path
        let temporary = path + ".tmp-\(getpid())"
        func fail(_ what: String) -> DatasetError {
            let error = DatasetError(file: path, reason: "\(what): \(String(cString: strerror(errno)))")
            unlink(temporary)
            return error
        }
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else {
            throw DatasetError(
                file: path, reason: "cannot create \(temporary): \(String(cString: strerror(errno)))")
        }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes {
                systemWrite(fd, $0.baseAddress! + written, bytes.count - written)
            }
            if n < 0 { close(fd); throw fail("write failed") }
            written += n
        }
        guard fsync(fd) == 0 else { close(fd); throw fail("fsync failed") }
        guard close(fd) == 0 else { throw fail("close failed") }
        guard rename(temporary, path) == 0 else { throw fail("rename failed") }
    }
}

private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
