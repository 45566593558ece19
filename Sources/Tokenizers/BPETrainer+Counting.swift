import Dispatch
import Foundation

/// Streams a corpus into a table of distinct pre-tokenized words and their counts. Memory is
/// the word table plus one chunk: a file is read `chunkSize` bytes at a time and cut where the
/// pre-tokenizer certainly has a piece boundary, so chunked counting equals counting the whole.
final class WordCounter {
    let parameters: BPETrainer.Parameters
    let threads: Int
    /// One table per counting thread, merged at the end.
    var tables: [ByteStringTable]
    let specials: [[UInt8]]
    var bytesRead = 0

    init(parameters: BPETrainer.Parameters) {
        self.parameters = parameters
        threads = max(
            1, parameters.threads > 0 ? parameters.threads : ProcessInfo.processInfo.activeProcessorCount)
        tables = (0..<threads).map { _ in ByteStringTable(capacity: 1 << 16) }
        specials = parameters.specialTokens.map { Array($0.utf8) }.sorted { $0.count > $1.count }
    }

    func countFile(_ url: URL, progress: ((BPETrainer.Progress) -> Void)?) throws {
        let path = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue
        else {
            throw TokenizerError.fileNotFound(path: path)
        }
        let handle: FileHandle
        do { handle = try FileHandle(forReadingFrom: url) } catch {
            throw TokenizerError.unreadableFile(path: path, reason: error.localizedDescription)
        }
        defer { try? handle.close() }
        let jsonl = url.pathExtension.lowercased() == "jsonl"
        var carry: [UInt8] = []
        var line = 0
        while true {
            let chunk: Data
            do { chunk = try handle.read(upToCount: parameters.chunkSize) ?? Data() } catch {
                throw TokenizerError.unreadableFile(path: path, reason: error.localizedDescription)
            }
            let atEnd = chunk.isEmpty
            bytesRead += chunk.count
            var buffer = carry
            buffer.append(contentsOf: chunk)
            carry = []
            if jsonl {
                var documents: [[UInt8]] = []
                var start = 0
                for i in buffer.indices where buffer[i] == UInt8(ascii: "\n") {
                    line += 1
                    if let text = try Self.jsonlText(buffer[start..<i], path: path, line: line) {
                        documents.append(text)
                    }
                    start = i + 1
                }
                if atEnd {
                    if start < buffer.count,
                        let text = try Self.jsonlText(buffer[start...], path: path, line: line + 1)
                    {
                        documents.append(text)
                    }
                } else {
                    carry = Array(buffer[start...])
                }
                countDocuments(documents)
            } else if atEnd {
                countText(buffer)
            } else {
                let cut = buffer.withUnsafeBufferPointer { b in lastSafeCut(b.baseAddress!, b.count) }
                if let cut {
                    countText(Array(buffer[..<cut]))
                    carry = Array(buffer[cut...])
                } else if buffer.count > 4 * parameters.chunkSize {
                    // No boundary in 4 chunks (one enormous line of, say, CJK text): count it
                    // as is. Only the pieces at this cut can differ from a whole-file count.
                    countText(buffer)
                } else {
                    carry = buffer
                }
            }
            progress?(
                .init(
                    phase: .counting, bytesRead: bytesRead, distinctWords: tables[0].count, merges: 0,
                    mergesWanted: 0))
            if atEnd { break }
        }
    }

    /// The `"text"` of one JSONL record as UTF-8, nil for a blank line.
    static func jsonlText(_ line: ArraySlice<UInt8>, path: String, line number: Int) throws -> [UInt8]? {
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return nil }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: Data(line)) } catch {
            throw TokenizerError.invalidRecord(path: path, line: number, reason: "not valid JSON")
        }
        guard let record = object as? [String: Any], let text = record["text"] as? String else {
            throw TokenizerError.invalidRecord(
                path: path, line: number, reason: "expected an object with a \"text\" string")
        }
        return Array(text.utf8)
    }

    /// The last position where the text may be cut without changing its pieces, away from any
    /// special token.
    func lastSafeCut(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int? {
        var from = n - 2
        while let cut = PreTokenizer.safeBoundary(before: from, p, n) {
            if !specials.contains(where: { Tokenizer.occurrence(of: $0, straddles: cut, p, n) }) {
                return cut
            }
            from = cut - 1
        }
        return nil
    }

    /// Counts one block of text, split across the threads at safe cuts.
    func countText(_ text: [UInt8]) {
        guard !text.isEmpty else { return }
        text.withUnsafeBufferPointer { b in
            let p = b.baseAddress!
            let n = b.count
            var cuts = [0]
            if n >= 1 << 16 {
                for k in 1..<threads {
                    var from = max(k * n / threads, cuts.last! + 1)
                    while let cut = PreTokenizer.safeBoundary(after: from, p, n) {
                        if !specials.contains(where: { Tokenizer.occurrence(of: $0, straddles: cut, p, n) }) {
                            cuts.append(cut)
                            break
                        }
                        from = cut + 1
                    }
                }
            }
            cuts.append(n)
            let specials = self.specials
            tables.withUnsafeMutableBufferPointer { tables in
                let shared = UncheckedSendable(value: (p, cuts, tables, specials))
                DispatchQueue.concurrentPerform(iterations: cuts.count - 1) { s in
                    let (p, cuts, tables, specials) = shared.value
                    Self.count(p + cuts[s], cuts[s + 1] - cuts[s], specials: specials, into: &tables[s])
                }
            }
        }
    }

    /// Counts whole documents, spread over the threads.
    func countDocuments(_ documents: [[UInt8]]) {
        guard !documents.isEmpty else { return }
        let workers = min(threads, documents.count)
        let specials = self.specials
        tables.withUnsafeMutableBufferPointer { tables in
            let shared = UncheckedSendable(value: (documents, tables, specials))
            DispatchQueue.concurrentPerform(iterations: workers) { s in
                let (documents, tables, specials) = shared.value
                var d = s
                while d < documents.count {
                    documents[d].withUnsafeBufferPointer { b in
                        if let base = b.baseAddress {
                            Self.count(base, b.count, specials: specials, into: &tables[s])
                        }
                    }
                    d += workers
                }
            }
        }
    }

    /// Pre-tokenizes `p[0..<n]` with the special tokens cut out and counts its pieces.
    static func count(
        _ p: UnsafePointer<UInt8>, _ n: Int, specials: [[UInt8]], into table: inout ByteStringTable
    ) {
        var start = 0
        var i = 0
        if !specials.isEmpty {
            var first = [Bool](repeating: false, count: 256)
            for s in specials { first[Int(s[0])] = true }
            while i < n {
                var matched = 0
                if first[Int(p[i])] {
                    for s in specials where i + s.count <= n && memcmp(p + i, s, s.count) == 0 {
                        matched = s.count
                        break
                    }
                }
                if matched > 0 {
                    countPieces(p + start, i - start, into: &table)
                    i += matched
                    start = i
                } else {
                    i += 1
                }
            }
        }
        countPieces(p + start, n - start, into: &table)
    }

    static func countPieces(_ p: UnsafePointer<UInt8>, _ n: Int, into table: inout ByteStringTable) {
        var i = 0
        while i < n {
            let end = PreTokenizer.pieceEnd(p, start: i, count: n)
            table.add(p + i, end - i, amount: 1)
            i = end
        }
    }

    /// All threads' counts in one table.
    func merged() -> ByteStringTable {
        var total = tables[0]
        for table in tables.dropFirst() {
            table.forEach { key, value in total.add(key.baseAddress!, key.count, amount: value) }
        }
        return total
    }
}
