import Foundation
import Testing
import Templates

/// Every fixture rendered here must equal, byte for byte, what transformers' jinja2 environment rendered.
@Suite struct FixtureTests {
    static let chatCases = Fixtures.chat["cases"]?.arrayValue ?? []
    static let constructCases = Fixtures.constructs["cases"]?.arrayValue ?? []

    @Test func fixturesArePresent() {
        #expect(Self.chatCases.count > 200)
        #expect(Self.constructCases.count > 70)
    }

    @Test(arguments: constructCases.indices)
    func construct(_ index: Int) throws {
        try Self.checkConstructCase(Self.constructCases[index])
    }

    /// Renders one construct case (a template and its variables) and compares it with the expected text or error.
    static func checkConstructCase(_ fixture: TemplateValue) throws {
        let template = fixture["template"]?.stringValue ?? ""
        var variables: [String: TemplateValue] = [:]
        for (key, value) in fixture["variables"]?.objectValue?.pairs ?? [] { variables[key] = value }
        let input = ChatTemplateInput(messages: variables["messages"]?.arrayValue ?? [], extra: variables)
        try check(fixture, label: template) { () throws(TemplateError) -> String in
            try ChatTemplateRenderer(source: template).render(input)
        }
    }

    @Test(arguments: chatCases.indices)
    func chatTemplate(_ index: Int) throws {
        try Self.checkChatCase(
            Self.chatCases[index], templates: Fixtures.chat["templates"], now: Fixtures.now)
    }

    /// Renders one chat case (the format of chat-templates.json, also written by check-chat-templates.py)
    /// and compares it with the expected text or error; checks generation spans when given.
    static func checkChatCase(_ fixture: TemplateValue, templates: TemplateValue?, now: Date) throws {
        let name = fixture["template"]?.stringValue ?? ""
        let source = templates?[name]?.stringValue ?? ""
        let tokens = fixture["special_tokens"]?.objectValue ?? TemplateObject()
        var extra: [String: TemplateValue] = [:]
        for (key, value) in fixture["extra"]?.objectValue?.pairs ?? [] { extra[key] = value }
        for (key, value) in tokens.pairs where key != "bos_token" && key != "eos_token" { extra[key] = value }
        let input = ChatTemplateInput(
            messages: fixture["messages"]?.arrayValue ?? [],
            addGenerationPrompt: fixture["add_generation_prompt"]?.boolValue ?? false,
            bosToken: tokens["bos_token"]?.stringValue, eosToken: tokens["eos_token"]?.stringValue,
            tools: fixture["tools"]?.arrayValue, extra: extra, now: now,
            continueFinalMessage: fixture["continue_final_message"]?.boolValue ?? false)
        let renderer = try ChatTemplateRenderer(source: source)
        try check(fixture, label: fixture["name"]?.stringValue ?? name) {
            () throws(TemplateError) -> String in
            try renderer.render(input)
        }
        if case .array(let spans) = fixture["generation_spans"] {
            let rendered = try renderer.renderWithAssistantSpans(input)
            let expected = spans.map { pair -> Range<Int> in
                let bounds = pair.arrayValue.map { if case .int(let value) = $0 { value } else { -1 } }
                return bounds[0]..<bounds[1]
            }
            #expect(rendered.spanSource == .generationBlocks)
            #expect(rendered.assistantSpans == expected, "\(fixture["name"]?.stringValue ?? "")")
        }
    }

    static func check(_ fixture: TemplateValue, label: String, render: () throws(TemplateError) -> String)
        throws
    {
        if let error = fixture["error"] {
            let type = error["type"]?.stringValue ?? ""
            let message = error["message"]?.stringValue ?? ""
            do {
                let text = try render()
                Issue.record("\(label): expected \(type) '\(message)', rendered \(text.debugDescription)")
            } catch {
                #expect(error.kind == Fixtures.kind(ofPythonError: type), "\(label): \(error)")
                if type == "TemplateError" { #expect(error.message == message, "\(label)") }
            }
            return
        }
        let expected = fixture["expected"]?.stringValue ?? ""
        do {
            let text = try render()
            #expect(text == expected, "\(label)")
            if text != expected {
                let a = Array(text.utf8), b = Array(expected.utf8)
                let at = zip(a, b).prefix { $0 == $1 }.count
                Issue.record(
                    "first difference at byte \(at): got \(excerpt(a, from: at)) expected \(excerpt(b, from: at))"
                )
            }
        } catch {
            Issue.record("\(label): \(error)")
        }
    }

    private static func excerpt(_ bytes: [UInt8], from offset: Int) -> String {
        String(decoding: bytes[offset...].prefix(80), as: UTF8.self).debugDescription
    }
}
