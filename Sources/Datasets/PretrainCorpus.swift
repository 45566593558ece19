import Foundation

/// One pretraining document: a whole `.txt` file, or one `{"text": …}` record of a JSONL file.
public struct PretrainDocument: Sendable, Equatable {
    public var text: String
    /// The file it came from, for messages.
    public var source: String

    public init(text: String, source: String) {
        self.text = text
        self.source = source
    }

    private struct Raw: Decodable { var text: String }

    /// Reads pretraining text: `.jsonl`/`.json` files as `{"text"}` records, anything else as
    /// plain UTF-8 text (one document per file). An empty file (no text, or no JSONL record) is
    /// an error naming it; lenient loading skips it and lists it.
    public static func load(from url: URL, options: LoadOptions = .strict) throws -> LoadedRecords<
        PretrainDocument
    > {
        let path = url.path
        if ["jsonl", "json"].contains(url.pathExtension.lowercased()) {
            let loaded = try JSONLReader.load(url, as: Raw.self, options: options) {
                (raw: Raw) throws(RecordProblem) in
                try RecordProblem.requireText(raw.text, "text")
                return PretrainDocument(text: raw.text, source: path)
            }
            guard loaded.records.isEmpty && loaded.skipped.isEmpty else { return loaded }
            let error = DatasetError(file: path, reason: "empty file: no {\"text\"} records")
            guard options.lenient else { throw error }
            return LoadedRecords(skipped: [error])
        }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw DatasetError(file: path, reason: "cannot read file: \(error.localizedDescription)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw DatasetError(file: path, reason: "file is not valid UTF-8 text")
        }
        guard text.contains(where: { !$0.isWhitespace }) else {
            let error = DatasetError(file: path, reason: "empty text file")
            guard options.lenient else { throw error }
            return LoadedRecords(skipped: [error])
        }
        return LoadedRecords(records: [PretrainDocument(text: text, source: path)])
    }
}
