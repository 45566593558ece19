import Foundation
import Testing
import Templates

/// Errors name what went wrong and where in the template (1-based line and column).
@Suite struct ErrorTests {
    func error(_ source: String, _ variables: [String: TemplateValue] = [:]) -> TemplateError? {
        do {
            _ = try ChatTemplateRenderer(source: source).render(
                ChatTemplateInput(messages: [], extra: variables))
            return nil
        } catch {
            return error
        }
    }

    @Test func raiseExceptionCarriesTheTemplatesMessage() throws {
        let failure = try #require(
            error(
                "line one\n{% if true %}\n  {{ raise_exception('Roles must alternate: ' ~ n) }}\n{% endif %}",
                ["n": 3]))
        #expect(failure.kind == .raised)
        #expect(failure.message == "Roles must alternate: 3")
        #expect(failure.line == 3)
        #expect(failure.column == 6)
    }

    @Test func syntaxErrorsNameLineAndColumn() throws {
        let unclosed = try #require(error("a\n{% for x in y %}\n{{ x }}"))
        #expect(unclosed.kind == .syntax)
        #expect(unclosed.message.contains("endfor"))
        let badExpression = try #require(error("ok\n  {{ 1 + }}"))
        #expect(badExpression.kind == .syntax)
        #expect(badExpression.line == 2 && badExpression.column == 10)
        let unknownTag = try #require(error("{% include 'x' %}"))
        #expect(unknownTag.kind == .syntax && unknownTag.message.contains("include"))
        let badCharacter = try #require(error("{{ a $ b }}"))
        #expect(badCharacter.kind == .syntax && badCharacter.column == 6)
        let unterminated = try #require(error("{{ 'abc }}"))
        #expect(unterminated.kind == .syntax && unterminated.message.contains("string"))
        let unclosedTag = try #require(error("x {{ a "))
        #expect(unclosedTag.kind == .syntax && unclosedTag.column == 3)
        let unknownFilter = try #require(error("\n{{ 'a' | shout }}"))
        #expect(unknownFilter.message.contains("shout") && unknownFilter.line == 2)
    }

    @Test func undefinedAttributeOfUndefinedIsAnError() throws {
        let failure = try #require(error("{{ message.role }}"))
        #expect(failure.kind == .undefined)
        #expect(failure.message == "'message' is undefined")
        #expect(failure.line == 1 && failure.column == 11)
        // One level of undefined renders empty; only going further raises.
        #expect(error("{{ message }}{{ d.missing }}{{ d['x'] }}", ["d": [:]]) == nil)
        let nested = try #require(error("{{ d.missing.role }}", ["d": [:]]))
        #expect(nested.message == "'dict object' has no attribute 'missing'")
    }

    @Test func typeErrorsAreReported() throws {
        let failure = try #require(error("{{ 1 + 'a' }}"))
        #expect(failure.kind == .type)
        #expect(failure.message.contains("unsupported operand"))
        #expect(error("{{ [1].append(2) }}")?.message.contains("unsafe") == true)
        #expect(error("{{ x | tojson }}")?.message == "Object of type Undefined is not JSON serializable")
        #expect(error("{{ 1 // 0 }}")?.kind == .type)
    }

    @Test func descriptionNamesThePosition() throws {
        let failure = try #require(error("\n\n   {{ raise_exception('boom') }}"))
        #expect(failure.description == "template raised error at line 3, column 7: boom")
    }
}

extension ErrorTests {
    /// Hostile templates end in an error, not a stack overflow or exhausted memory.
    @Test func runawayTemplatesAreStopped() throws {
        let recursion = try #require(error("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}"))
        #expect(recursion.message.contains("recursion"))
        let nesting = String(repeating: "(", count: 5000) + "1" + String(repeating: ")", count: 5000)
        #expect(error("{{ \(nesting) }}")?.kind == .syntax)
        let statements = String(repeating: "{% if true %}", count: 5000)
        #expect(error(statements)?.kind == .syntax)
        #expect(error("{{ 'x' * 100000000000 }}")?.message.contains("too large") == true)
        // Legitimate depth still works.
        let deep = "{% macro f(n) %}{% if n > 0 %}({{ f(n - 1) }}){% endif %}{% endmacro %}{{ f(50) }}"
        #expect(try ChatTemplateRenderer(source: deep).render(messages: []).count == 100)
    }
}
