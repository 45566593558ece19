import Foundation

/// The n-gram file format (little-endian), version 1:
///
///     magic "RLHFNGRM" (8 bytes) · version u32 · order u32 · vocabSize u32
///     smoothing u32 (0 add-k, 1 Kneser–Ney, 2 modified Kneser–Ney) · k f64 (add-k only, else 0)
///     metadata: byteLength u32 · JSON object of strings (UTF-8)
///     for m in 1...order: entryCount u64 · entries of (m tokens i32: context then token, count u64)
///     startPrefixes: entryCount u64 · entries of (length u32 · tokens i32 · count u64)
///     checksum u64 (FNV-1a of every byte before it)
///
/// Entries are sorted, so the same model always writes the same bytes. Continuation counts and
/// discounts are recomputed on load.
extension NGramModel {
    static let fileMagic = Array("RLHFNGRM".utf8)
    static let fileVersion: UInt32 = 1

    /// Writes the model atomically (temporary file, fsync, rename).
    public func save(to url: URL) throws {
        var w = ByteWriter()
        w.bytes += Self.fileMagic
        w.u32(Self.fileVersion)
        w.u32(UInt32(order))
        w.u32(UInt32(vocabSize))
        switch smoothing {
        case .addK(let k): w.u32(0); w.f64(k)
        case .kneserNey(let modified): w.u32(modified ? 2 : 1); w.f64(0)
        }
        let json = try JSONSerialization.data(withJSONObject: metadata, options: [.sortedKeys])
        w.u32(UInt32(json.count))
        w.bytes += json
        for m in 1...order {
            var entries: [([Int32], Int)] = []
            for (context, row) in raw[m - 1] {
                for (token, c) in row.counts { entries.append((context + [token], c)) }
            }
            entries.sort { $0.0.lexicographicallyPrecedes($1.0) }
            w.u64(UInt64(entries.count))
            for (gram, c) in entries {
                for t in gram { w.i32(t) }
                w.u64(UInt64(c))
            }
        }
        let prefixes = startPrefixes.sorted { $0.key.lexicographicallyPrecedes($1.key) }
        w.u64(UInt64(prefixes.count))
        for (prefix, c) in prefixes {
            w.u32(UInt32(prefix.count))
            for t in prefix { w.i32(t) }
            w.u64(UInt64(c))
        }
        w.u64(fnv1a(w.bytes))
        do { try AtomicFileWriter.write(Data(w.bytes), to: url) } catch {
            throw NGramError.io(path: url.path, reason: error.description)
        }
    }

    /// Reads a model written by `save(to:)`; says what is wrong with a damaged file.
    public static func load(from url: URL) throws -> NGramModel {
        let path = url.path
        let data: [UInt8]
        do { data = Array(try Data(contentsOf: url)) } catch {
            throw NGramError.io(path: path, reason: "cannot read: \(error.localizedDescription)")
        }
        func corrupt(_ reason: String) -> NGramError { .corruptFile(path: path, reason: reason) }
        guard data.count >= 8, Array(data[0..<8]) == fileMagic else {
            throw corrupt("missing magic \"RLHFNGRM\" at the start (is this an n-gram model file?)")
        }
        guard data.count >= 16 else { throw corrupt("file is \(data.count) bytes, too short for the header") }
        let stored = data[(data.count - 8)...].enumerated().reduce(UInt64(0)) {
            $0 | UInt64($1.element) << (8 * UInt64($1.offset))
        }
        var r = ByteReader(bytes: data, end: data.count - 8, path: path, offset: 8)
        let version = try r.u32("version")
        guard version == fileVersion else {
            throw corrupt("unsupported version \(version) (this build reads \(fileVersion))")
        }
        guard stored == fnv1a(data[..<(data.count - 8)]) else {
            throw corrupt("checksum mismatch (the file is truncated or damaged)")
        }
        let order = Int(try r.u32("order"))
        let vocabSize = Int(try r.u32("vocabSize"))
        guard order >= 1, order <= 64 else { throw corrupt("order \(order) outside 1...64") }
        let kind = try r.u32("smoothing")
        let k = try r.f64("k")
        let smoothing: Smoothing
        switch kind {
        case 0: smoothing = .addK(k)
        case 1: smoothing = .kneserNey(modified: false)
        case 2: smoothing = .kneserNey(modified: true)
        default: throw corrupt("unknown smoothing code \(kind) (expected 0, 1 or 2)")
        }
        let jsonLength = Int(try r.u32("metadata length"))
        let json = try r.take(jsonLength, "metadata")
        guard let metadata = (try? JSONSerialization.jsonObject(with: Data(json))) as? [String: String] else {
            throw corrupt("metadata is not a JSON object of strings")
        }
        var model: NGramModel
        do {
            model = try NGramModel(
                order: order, vocabSize: vocabSize, smoothing: smoothing, metadata: metadata)
        } catch {
            throw corrupt("\(error)")
        }
        func token(_ field: String) throws -> Int32 {
            let t = try r.i32(field)
            guard t >= 0, Int(t) < vocabSize else {
                throw corrupt("\(field): token \(t) outside vocabulary 0..<\(vocabSize)")
            }
            return t
        }
        for m in 1...order {
            let count = try r.u64("level \(m) entry count")
            guard count <= UInt64(r.remaining / (4 * m + 8)) else {
                throw corrupt("level \(m) claims \(count) entries, more than the file holds")
            }
            for _ in 0..<count {
                var gram: [Int32] = []
                for _ in 0..<m { gram.append(try token("level \(m) n-gram")) }
                let c = try r.u64("level \(m) count")
                guard c > 0, c <= UInt64(Int.max / 2) else {
                    throw corrupt("level \(m) count \(c) is not a positive count")
                }
                model.raw[m - 1][Array(gram.dropLast()), default: Row()].add(gram[m - 1], Int(c))
            }
        }
        let prefixCount = try r.u64("start prefix count")
        guard prefixCount <= UInt64(r.remaining / 12) else {
            throw corrupt("\(prefixCount) start prefixes claimed, more than the file holds")
        }
        for _ in 0..<prefixCount {
            let length = Int(try r.u32("start prefix length"))
            guard length >= 1, length < order else {
                throw corrupt("start prefix length \(length) outside 1..<\(order)")
            }
            var prefix: [Int32] = []
            for _ in 0..<length { prefix.append(try token("start prefix")) }
            model.startPrefixes[prefix, default: 0] += Int(try r.u64("start prefix count"))
        }
        guard r.remaining == 0 else { throw corrupt("\(r.remaining) unexpected bytes before the checksum") }
        model.rebuildDerived()
        return model
    }
}

private func fnv1a(_ bytes: some Sequence<UInt8>) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    return h
}

private struct ByteWriter {
    var bytes: [UInt8] = []
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func i32(_ v: Int32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func f64(_ v: Double) { u64(v.bitPattern) }
}

private struct ByteReader {
    let bytes: [UInt8]
    let end: Int
    let path: String
    var offset = 0
    var remaining: Int { end - offset }

    mutating func take(_ n: Int, _ field: String) throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= remaining else {
            throw NGramError.corruptFile(
                path: path,
                reason: "truncated: \(field) needs \(n) bytes at offset \(offset), \(remaining) left")
        }
        defer { offset += n }
        return bytes[offset..<(offset + n)]
    }
    mutating func u64(_ field: String) throws -> UInt64 {
        try take(8, field).enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    }
    mutating func u32(_ field: String) throws -> UInt32 {
        try take(4, field).enumerated().reduce(0) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
    }
    mutating func i32(_ field: String) throws -> Int32 { Int32(bitPattern: try u32(field)) }
    mutating func f64(_ field: String) throws -> Double { Double(bitPattern: try u64(field)) }
}
