/// An error while lexing, parsing or rendering a template, or loading a template file.
///
/// `line`/`column` (1-based) locate the failing construct in the template source when known.
/// For `.raised`, `message` is exactly the text the template passed to `raise_exception(...)`,
/// as transformers' `TemplateError(message)` carries it.
public struct TemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The template text is not valid Jinja (or uses a construct this interpreter lacks).
        case syntax
        /// A value was used in a way its type does not allow (e.g. `1 + 'a'`, attribute of undefined).
        case type
        /// An undefined variable was used where jinja2's default `Undefined` raises.
        case undefined
        /// The template called `raise_exception(message)`.
        case raised
        /// Malformed JSON handed to `TemplateValue(json:)`.
        case json
        /// A template file could not be found or read (`ChatTemplateFile`).
        case file
        /// Assistant spans cannot be determined for this template and conversation.
        case spans
    }

    public var kind: Kind
    public var message: String
    public var line: Int?
    public var column: Int?

    public init(_ kind: Kind, _ message: String, line: Int? = nil, column: Int? = nil) {
        self.kind = kind
        self.message = message
        self.line = line
        self.column = column
    }

    public var description: String {
        guard let line else { return "template \(kind.rawValue) error: \(message)" }
        return "template \(kind.rawValue) error at line \(line), column \(column ?? 0): \(message)"
    }
}

/// A position in the template source (1-based line and column, counted in Unicode scalars).
struct SourceLocation: Sendable, Equatable {
    var line: Int
    var column: Int
}

extension TemplateError {
    init(_ kind: Kind, _ message: String, at location: SourceLocation) {
        self.init(kind, message, line: location.line, column: location.column)
    }
}
