import Datasets
import Foundation
import Models
import Tokenizers

extension Pretraining {
    /// What the token shards of a run were built from: a hash of the documents' text, a hash of
    /// the tokenizer, and the validation split. Stored beside the shards (`data/source.json`);
    /// shards whose key differs from the current inputs are never reused.
    public struct DataKey: Codable, Sendable, Equatable {
        /// FNV-1a 64 of every document's UTF-8 bytes, each followed by 0xFF (never in UTF-8).
        public var documentsHash: String
        public var documentCount: Int
        public var byteCount: Int
        /// FNV-1a 64 of the tokenizer's `tokenizer.json`.
        public var tokenizerHash: String
        public var vocabularySize: Int
        public var validationFraction: Double

        enum CodingKeys: String, CodingKey {
            case documentsHash = "documents_hash"
            case documentCount = "document_count"
            case byteCount = "byte_count"
            case tokenizerHash = "tokenizer_hash"
            case vocabularySize = "vocabulary_size"
            case validationFraction = "validation_fraction"
        }

        public init(documents: [String], tokenizer: Tokenizer, validationFraction: Double) {
            var hash = FNV1a()
            var bytes = 0
            for d in documents {
                hash.add(d.utf8)
                hash.add(CollectionOfOne(0xFF))
                bytes += d.utf8.count
            }
            var tokenizerHash = FNV1a()
            tokenizerHash.add(tokenizer.huggingFaceJSON().utf8)
            documentsHash = hash.hex
            documentCount = documents.count
            byteCount = bytes
            self.tokenizerHash = tokenizerHash.hex
            vocabularySize = tokenizer.vocabularySize
            self.validationFraction = validationFraction
        }

        /// What differs from `other`, in words ("the training data", "the tokenizer", …).
        func differences(from other: DataKey) -> [String] {
            var out: [String] = []
            if documentsHash != other.documentsHash || documentCount != other.documentCount
                || byteCount != other.byteCount
            {
                out.append(
                    "the training data (\(other.documentCount) documents, \(other.byteCount) bytes then; "
                        + "\(documentCount) documents, \(byteCount) bytes now)")
            }
            if tokenizerHash != other.tokenizerHash {
                out.append("the tokenizer (\(other.vocabularySize) tokens then, \(vocabularySize) now)")
            }
            if validationFraction != other.validationFraction {
                out.append(
                    "the validation fraction (\(other.validationFraction) then, \(validationFraction) now)")
            }
            return out
        }
    }

    /// Tokenizes `documents` (separated by `<|endoftext|>`) into the run's shards, or opens the
    /// shards already there when they were built from the same documents, tokenizer and split
    /// (see `DataKey`). Shards built from other inputs are rebuilt, except with `resume`: a
    /// resumed run must see the data it started with, so a difference is an error naming it.
    /// The validation part is the last documents. With several ranks, rank 0 writes the shards
    /// and the others open them after it.
    public static func prepare(
        documents: [String], tokenizer: Tokenizer, run: RunDirectory,
        validationFraction: Double, resume: Bool = false,
        communicator: any Communicator = SingleProcess()
    ) throws -> Data {
        guard communicator.size > 1 else {
            return try prepareShards(
                documents: documents, tokenizer: tokenizer, run: run,
                validationFraction: validationFraction, resume: resume)
        }
        if communicator.isRoot {
            let data = try prepareShards(
                documents: documents, tokenizer: tokenizer, run: run,
                validationFraction: validationFraction, resume: resume)
            communicator.barrier()
            return data
        }
        communicator.barrier()
        return try openShards(run: run)
    }

    static let dataKeyName = "source.json"

    private static func openShards(run: RunDirectory) throws -> Data {
        let dir = run.file("data")
        let bytesURL = dir.appendingPathComponent("validation.bytes")
        guard let text = try? String(contentsOf: bytesURL, encoding: .utf8), let bytes = Int(text) else {
            throw DatasetError(
                file: bytesURL.path, reason: "missing or unreadable (the token shards are incomplete)")
        }
        return Data(
            train: try TokenShard(contentsOf: dir.appendingPathComponent("train.bin")),
            validation: try TokenShard(contentsOf: dir.appendingPathComponent("validation.bin")),
            validationBytes: bytes)
    }

    private static func prepareShards(
        documents: [String], tokenizer: Tokenizer, run: RunDirectory,
        validationFraction: Double, resume: Bool
    ) throws -> Data {
        let dir = run.file("data")
        let keyURL = dir.appendingPathComponent(dataKeyName)
        let key = DataKey(documents: documents, tokenizer: tokenizer, validationFraction: validationFraction)
        if let stored = try? JSONDecoder().decode(DataKey.self, from: Foundation.Data(contentsOf: keyURL)) {
            let changed = key.differences(from: stored)
            if changed.isEmpty, let data = try? openShards(run: run) { return data }
            if resume && !changed.isEmpty {
                throw CheckpointError(
                    path: run.url.path,
                    reason: "cannot resume: the run was started with other inputs; "
                        + "changed: \(changed.joined(separator: "; ")). Resume with the original --data and "
                        + "--tokenizer, or start a new run (or pass --overwrite to replace this one)")
            }
        }
        guard !documents.isEmpty else {
            throw DatasetError(file: run.url.path, reason: "no training documents")
        }
        // Rebuild: the key goes last, so shards without a matching key are never trusted.
        try? FileManager.default.removeItem(at: keyURL)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        // Temporaries of a build killed half-way (`train.bin.tmp-<pid>`, `.tmp-…`) are garbage.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        where name.contains(".tmp-") {
            try? FileManager.default.removeItem(at: dir.appendingPathComponent(name))
        }
        let separator = try tokenizer.requireSpecialTokenID(SpecialTokens.endOfText)
        let held = documents.count > 1 ? max(1, Int(Double(documents.count) * validationFraction)) : 0
        func tokens(_ docs: ArraySlice<String>) -> [Int32] {
            var out: [Int32] = []
            for d in docs { out += tokenizer.encode(d); out.append(separator) }
            return out
        }
        var trainTokens = tokens(documents.dropLast(held))
        var validationTokens = tokens(documents.suffix(held))
        var validationBytes = documents.suffix(held).reduce(0) { $0 + $1.utf8.count }
        if held == 0 {
            // One document: its last 5% is the validation text.
            let cut = Int(Double(trainTokens.count) * (1 - validationFraction))
            validationTokens = Array(trainTokens[cut...])
            trainTokens = Array(trainTokens[..<cut])
            validationBytes = (try? tokenizer.decode(validationTokens).count) ?? validationTokens.count
        }
        try TokenShard.write(
            trainTokens, vocabSize: tokenizer.vocabularySize, to: dir.appendingPathComponent("train.bin"))
        try TokenShard.write(
            validationTokens, vocabSize: tokenizer.vocabularySize,
            to: dir.appendingPathComponent("validation.bin"))
        try AtomicFileWriter.write(
            Foundation.Data(String(validationBytes).utf8),
            to: dir.appendingPathComponent("validation.bytes"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFileWriter.write(try encoder.encode(key), to: keyURL)
        return try openShards(run: run)
    }

    /// Throws unless every token of the shards is an id of the model's vocabulary (a shard built
    /// with a larger tokenizer would otherwise index past the embedding table).
    static func requireFits(_ data: Data, vocabularySize: Int) throws {
        for shard in [data.train, data.validation] where shard.vocabSize > vocabularySize {
            // The header's vocabulary is an upper bound; only a token past the model's is an error.
            for i in 0..<shard.count where Int(shard[i]) >= vocabularySize {
                throw DatasetError(
                    file: shard.url.path,
                    reason: "token \(shard[i]) at position \(i) is outside the model's "
                        + "vocabulary of \(vocabularySize) (the shard was built with a \(shard.vocabSize)-token tokenizer)"
                )
            }
        }
    }
}

/// FNV-1a, 64 bits: identifies inputs (not a defence against tampering).
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
    mutating func add(_ bytes: some Sequence<UInt8>) {
        for b in bytes { value = (value ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
    }
    var hex: String { String(value, radix: 16) }
}
