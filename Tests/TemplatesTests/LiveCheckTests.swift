import Foundation
import Testing
import Templates

/// Run by scripts/check-chat-templates.py: renders the cases it wrote (a model's own template, rendered by
/// live transformers) and compares byte for byte. Skipped unless TEMPLATES_CHECK_FILE names that file.
@Suite struct LiveCheckTests {
    static let path = ProcessInfo.processInfo.environment["TEMPLATES_CHECK_FILE"]

    @Test(.enabled(if: LiveCheckTests.path != nil)) func liveTemplatesMatchTransformers() throws {
        let root = try TemplateValue(jsonData: Data(contentsOf: URL(fileURLWithPath: Self.path ?? "")))
        var now = Date()
        if case .array(let parts) = root["now"] {
            let numbers = parts.map { if case .int(let value) = $0 { value } else { 0 } }
            now = Calendar.current.date(
                from: DateComponents(
                    year: numbers[0], month: numbers[1], day: numbers[2], hour: numbers[3],
                    minute: numbers[4],
                    second: numbers[5]))!
        }
        for fixture in root["cases"]?.arrayValue ?? [] {
            do {
                if fixture["variables"] != nil {
                    try FixtureTests.checkConstructCase(fixture)
                    continue
                }
                try FixtureTests.checkChatCase(fixture, templates: root["templates"], now: now)
            } catch {
                Issue.record("\(fixture["name"]?.stringValue ?? ""): \(error)")
            }
        }
    }
}
