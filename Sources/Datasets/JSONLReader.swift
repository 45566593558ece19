import Foundation

/// Reads JSON Lines files: one JSON object per line; blank lines are allowed and ignored.
///
/// Records are decoded with `JSONDecoder` into a `Decodable` shape, so a missing key, a wrong
/// type or malformed JSON becomes a `DatasetError` naming the file, the 1-based line and the
/// field path (`messages[1].content`); `validate` adds the checks a type cannot express
/// (non-empty strings, permutations).
public enum JSONLReader {
    /// The non-blank lines of a file with their 1-based line numbers. Each line is decoded on
    /// its own: a line that is not valid UTF-8 has `text == nil` (the loader reports it with its
    /// line number, and lenient loading skips just that line).
    public static func lines(of url: URL) throws -> [(number: Int, text: Substring?)] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw DatasetError(file: url.path, reason: "cannot read file: \(error.localizedDescription)")
        }
        var bytes = data[...]
        // a byte-order mark is not JSON
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        var result: [(Int, Substring?)] = []
        // Split the bytes on "\n" ("\r\n" keeps its "\r", which JSON treats as whitespace).
        for (index, line) in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            .enumerated()
        where line.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) {
            result.append((index + 1, String(validating: line, as: UTF8.self).map { Substring($0) }))
        }
        return result
    }

    /// Decodes every record of `url` as `Raw`, then turns it into a `Record` with `validate`
    /// (which throws `RecordProblem` for content errors). Strict loading throws the first
    /// error; lenient loading skips bad records and lists them.
    public static func load<Raw: Decodable, Record: Sendable>(
        _ url: URL, as raw: Raw.Type, options: LoadOptions = .strict,
        validate: (Raw) throws(RecordProblem) -> Record
    ) throws -> LoadedRecords<Record> {
        let decoder = JSONDecoder()
        var result = LoadedRecords<Record>()
        for (number, line) in try lines(of: url) {
            do {
                guard let line else {
                    throw DatasetError(file: url.path, line: number, reason: "line is not valid UTF-8")
                }
                let value: Raw
                do { value = try decoder.decode(Raw.self, from: Data(line.utf8)) } catch let error
                    as DecodingError
                {
                    throw describe(error, file: url.path, line: number)
                }
                do { result.records.append(try validate(value)) } catch {
                    throw DatasetError(file: url.path, line: number, field: error.field, reason: error.reason)
                }
            } catch let error as DatasetError {
                guard options.lenient else { throw error }
                result.skipped.append(error)
            }
        }
        return result
    }

    /// Turns a decoding failure into file/line/field/reason.
    static func describe(_ error: DecodingError, file: String, line: Int) -> DatasetError {
        func path(_ codingPath: [any CodingKey], _ last: (any CodingKey)? = nil) -> String? {
            var text = ""
            for key in codingPath + (last.map { [$0] } ?? []) {
                if let index = key.intValue {
                    text += "[\(index)]"
                } else {
                    text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
                }
            }
            return text.isEmpty ? nil : text
        }
        switch error {
        case .keyNotFound(let key, let context):
            return DatasetError(
                file: file, line: line, field: path(context.codingPath, key), reason: "missing field")
        case .typeMismatch(let type, let context):
            let expected = typeName(type)
            return DatasetError(
                file: file, line: line, field: path(context.codingPath),
                reason: context.codingPath.isEmpty
                    ? "expected a JSON object, found another value"
                    : "expected \(expected), found another type")
        case .valueNotFound(let type, let context):
            return DatasetError(
                file: file, line: line, field: path(context.codingPath),
                reason: "expected \(typeName(type)), found null")
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                let detail =
                    (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
                return DatasetError(
                    file: file, line: line, reason: "malformed JSON" + (detail.map { ": \($0)" } ?? ""))
            }
            return DatasetError(
                file: file, line: line, field: path(context.codingPath), reason: context.debugDescription)
        @unknown default:
            return DatasetError(file: file, line: line, reason: "\(error)")
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is Int.Type: "an integer"
        case is Double.Type: "a number"
        default:
            "\(type)".hasPrefix("Array")
                ? "an array" : "\(type)".hasPrefix("Dictionary") ? "an object" : "\(type)"
        }
    }
}

/// A content problem in one decoded record (the loader adds file and line).
public struct RecordProblem: Error, Sendable, Equatable {
    public var field: String?
    public var reason: String

    public init(field: String?, reason: String) {
        self.field = field
        self.reason = reason
    }

    /// Throws if `value` is empty or only whitespace: the loaders' one rule for any text field.
    public static func requireText(_ value: String, _ field: String) throws(RecordProblem) {
        if !value.contains(where: { !$0.isWhitespace }) {
            throw RecordProblem(field: field, reason: "empty string")
        }
    }
}
