import Foundation

extension Tokenizer {
    /// Reads a tiktoken ranks file: one `base64(token bytes) rank` per line, ranks 0..<n.
    ///
    /// The file has no merges: a token of rank r is the merge of the two parts that BPE with
    /// the lower-ranked merges leaves when it encodes the token's own bytes, and its merge rank
    /// is r. So merges are derived in rank order, and each token must come out as exactly two
    /// parts (true of every BPE-trained vocabulary, GPT-2's included).
    ///
    /// - Parameter specialTokens: appended after the ranks with ids n, n+1, …; the default
    ///   `<|endoftext|>` gets 50256 for GPT-2's `gpt2.tiktoken`, as in GPT-2.
    public static func loadTiktoken(from url: URL, specialTokens: [String] = [SpecialTokens.endOfText]) throws
        -> Tokenizer
    {
        let path = url.path
        guard FileManager.default.fileExists(atPath: path) else {
            throw TokenizerError.fileNotFound(path: path)
        }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TokenizerError.unreadableFile(path: path, reason: error.localizedDescription)
        }
        var byRank: [[UInt8]?] = []
        var lineNumber = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            let fields = line.split(separator: UInt8(ascii: " "))
            if fields.isEmpty { continue }
            guard fields.count == 2 else {
                throw TokenizerError.invalidRanksLine(
                    path: path, line: lineNumber,
                    reason: "expected \"base64 rank\", found \(fields.count) fields")
            }
            guard let token = Data(base64Encoded: Data(fields[0])), !token.isEmpty else {
                throw TokenizerError.invalidRanksLine(
                    path: path, line: lineNumber, reason: "invalid base64 token")
            }
            guard
                let rank = Int(
                    String(decoding: fields[1], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                ),
                rank >= 0, rank < 1 << 24
            else {
                throw TokenizerError.invalidRanksLine(
                    path: path, line: lineNumber,
                    reason: "invalid rank \(String(decoding: fields[1], as: UTF8.self))")
            }
            if rank >= byRank.count { byRank += [[UInt8]?](repeating: nil, count: rank + 1 - byRank.count) }
            guard byRank[rank] == nil else {
                throw TokenizerError.invalidRanksLine(
                    path: path, line: lineNumber, reason: "rank \(rank) appears twice")
            }
            byRank[rank] = [UInt8](token)
        }
        guard !byRank.isEmpty else {
            throw TokenizerError.corruptFile(path: path, field: "ranks", reason: "the file has no ranks")
        }
        if let gap = byRank.firstIndex(where: { $0 == nil }) {
            throw TokenizerError.corruptFile(
                path: path, field: "ranks",
                reason: "rank \(gap) is missing; ranks must be 0..<\(byRank.count)")
        }
        let tokens = byRank.map { $0! }
        var byteToID = [TokenID](repeating: -1, count: 256)
        for (rank, bytes) in tokens.enumerated() where bytes.count == 1 {
            byteToID[Int(bytes[0])] = TokenID(rank)
        }
        if let missing = byteToID.firstIndex(of: -1) {
            throw TokenizerError.corruptFile(
                path: path, field: "ranks", reason: "no token for byte 0x\(String(missing, radix: 16))")
        }
        var pairs: [(TokenID, TokenID)] = []
        var table: PairTable = [:]
        table.reserveCapacity(tokens.count)
        var parts: [TokenID] = []
        for (rank, bytes) in tokens.enumerated() where bytes.count > 1 {
            parts.removeAll(keepingCapacity: true)
            for b in bytes { parts.append(byteToID[Int(b)]) }
            bytePairMerge(&parts, mergeTable: table)
            guard parts.count == 2 else {
                throw TokenizerError.corruptFile(
                    path: path, field: "ranks",
                    reason:
                        "rank \(rank) is not the merge of two lower-ranked tokens (BPE gives \(parts.count) parts)"
                )
            }
            table[UInt64(UInt32(parts[0])) << 32 | UInt64(UInt32(parts[1]))] =
                UInt64(pairs.count) << 32 | UInt64(rank)
            pairs.append((parts[0], parts[1]))
        }
        var allTokens = tokens
        var specials: [SpecialToken] = []
        for content in specialTokens {
            specials.append(SpecialToken(content: content, id: TokenID(allTokens.count)))
            allTokens.append(Array(content.utf8))
        }
        return try Tokenizer(tokenBytes: allTokens, merges: pairs, specialTokens: specials, source: path)
    }

    /// Loads a tokenizer from a directory holding `tokenizer.json`, a `tokenizer.json` file, or a
    /// `.tiktoken` ranks file.
    public static func load(from url: URL) throws -> Tokenizer {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw TokenizerError.fileNotFound(path: url.path)
        }
        if isDirectory.boolValue {
            return try loadHuggingFace(from: url.appendingPathComponent("tokenizer.json"))
        }
        if url.pathExtension == "tiktoken" { return try loadTiktoken(from: url) }
        return try loadHuggingFace(from: url)
    }
}
