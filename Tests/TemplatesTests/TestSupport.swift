import Foundation
import Templates

/// The JSON fixtures written by scripts/make-template-fixtures.py.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Fixtures")

    static func load(_ name: String) throws -> TemplateValue {
        try TemplateValue(jsonData: Data(contentsOf: directory.appendingPathComponent(name)))
    }

    /// `.null` when a fixture cannot be read; `FixtureTests.fixturesArePresent` then fails.
    static let chat: TemplateValue = (try? load("chat-templates.json")) ?? .null
    static let constructs: TemplateValue = (try? load("constructs.json")) ?? .null

    /// The fixtures' clock (local date-time components, as Python's naive `datetime.now()`).
    static var now: Date {
        guard case .array(let parts) = chat["now"] else { return Date() }
        let numbers = parts.map { if case .int(let value) = $0 { value } else { 0 } }
        let components = DateComponents(
            year: numbers[0], month: numbers[1], day: numbers[2], hour: numbers[3], minute: numbers[4],
            second: numbers[5])
        return Calendar.current.date(from: components)!
    }

    /// The error kind this interpreter uses for a Python exception type name.
    static func kind(ofPythonError type: String) -> TemplateError.Kind {
        switch type {
        case "TemplateError": .raised
        case "UndefinedError": .undefined
        case "TemplateSyntaxError", "TemplateAssertionError": .syntax
        default: .type
        }
    }
}

extension TemplateValue {
    var arrayValue: [TemplateValue] {
        if case .array(let values) = self { return values }
        return []
    }

    var boolValue: Bool {
        if case .bool(let value) = self { return value }
        return false
    }
}
