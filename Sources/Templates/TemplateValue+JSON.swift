import Foundation
import OrderedJSON

extension TemplateValue {
    /// Parses JSON text keeping object key order (Foundation's `JSONSerialization` does not), with
    /// Python's rules: a number without `.`, `e` or `E` is an `int`, any other a `double`, and
    /// `NaN` / `Infinity` / `-Infinity` are read as Python's `json` reads them.
    public init(json text: String) throws(TemplateError) {
        try self.init(jsonBytes: Array(text.utf8))
    }

    /// Parses JSON bytes (UTF-8); see `init(json:)`.
    public init(jsonData data: Data) throws(TemplateError) {
        guard String(data: data, encoding: .utf8) != nil else {
            throw TemplateError(.json, "the JSON is not valid UTF-8")
        }
        try self.init(jsonBytes: data)
    }

    private init(jsonBytes: some Collection<UInt8>) throws(TemplateError) {
        do {
            self.init(node: try JSONNode.parse(jsonBytes, nonFiniteConstants: true))
        } catch {
            throw TemplateError(.json, "JSON: \(error.reason)", line: error.line, column: error.column)
        }
    }

    /// The template value of a parsed node; a repeated key keeps its first position and last
    /// value, as a Python `dict` built from the members in order does.
    init(node: JSONNode) {
        switch node {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .integer(let i): self = .int(i)
        case .number(let x): self = .double(x)
        case .string(let bytes): self = .string(String(decoding: bytes, as: UTF8.self))
        case .array(let items): self = .array(items.map(TemplateValue.init(node:)))
        case .object(let members):
            var object = TemplateObject()
            for (key, value) in members {
                object[String(decoding: key, as: UTF8.self)] = TemplateValue(node: value)
            }
            self = .object(object)
        }
    }
}
