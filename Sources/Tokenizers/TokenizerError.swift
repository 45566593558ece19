import Foundation

/// Errors of the tokenizer layer. Each case names the file, field or value at fault so the CLI
/// can print it as is.
public enum TokenizerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A file or directory that was asked for does not exist.
    case fileNotFound(path: String)
    /// A file exists but could not be read.
    case unreadableFile(path: String, reason: String)
    /// The training corpus contains no text (after removing special tokens).
    case emptyCorpus(files: [String])
    /// The requested vocabulary cannot even hold the 256 byte tokens and the special tokens.
    case vocabularySizeTooSmall(requested: Int, minimum: Int)
    /// A special token was listed twice or is empty.
    case invalidSpecialToken(String, reason: String)
    /// A JSONL training file has a bad record.
    case invalidRecord(path: String, line: Int, reason: String)
    /// A `tokenizer.json` (or similar) file has a missing or malformed field.
    case corruptFile(path: String, field: String, reason: String)
    /// A well-formed `tokenizer.json` uses a component (normalizer, pre-tokenizer, model,
    /// decoder, post-processor) or option that swift-rlhf does not implement.
    case unsupportedComponent(path: String, field: String, component: String, type: String)
    /// A tiktoken ranks file has a malformed line.
    case invalidRanksLine(path: String, line: Int, reason: String)
    /// An id passed to `decode` is outside the vocabulary.
    case unknownTokenID(TokenID, vocabularySize: Int)
    /// A feature needs a special token the tokenizer does not have.
    case missingSpecialToken(String)

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "file not found: \(path)"
        case .unreadableFile(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .emptyCorpus(let files):
            return "empty corpus: no text found in \(files.joined(separator: ", "))"
        case .vocabularySizeTooSmall(let requested, let minimum):
            return
                "vocabulary size \(requested) is too small: need at least \(minimum) (256 byte tokens + special tokens)"
        case .invalidSpecialToken(let token, let reason):
            return "invalid special token \"\(token)\": \(reason)"
        case .invalidRecord(let path, let line, let reason):
            return "\(path):\(line): \(reason)"
        case .corruptFile(let path, let field, let reason):
            return "corrupt \(path): field \"\(field)\": \(reason)"
        case .unsupportedComponent(let path, let field, let component, let type):
            return "unsupported \(component) type \(type) in \(path) (field \"\(field)\")"
        case .invalidRanksLine(let path, let line, let reason):
            return "\(path):\(line): \(reason)"
        case .unknownTokenID(let id, let size):
            return "unknown token id \(id): vocabulary has ids 0..<\(size)"
        case .missingSpecialToken(let token):
            return "the tokenizer has no special token \(token)"
        }
    }
}
