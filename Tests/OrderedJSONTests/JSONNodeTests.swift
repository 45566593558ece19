import OrderedJSON
import Testing

@Suite struct JSONNodeTests {
    private func parse(_ text: String, nonFinite: Bool = false) throws(JSONSyntaxError) -> JSONNode {
        try JSONNode.parse(Array(text.utf8), nonFiniteConstants: nonFinite)
    }

    @Test func objectsKeepFileOrderAndDuplicates() throws {
        guard case .object(let members) = try parse(#"{"b": 1, "a": 2, "b": 3}"#) else {
            Issue.record("not an object")
            return
        }
        #expect(members.map { String(decoding: $0.key, as: UTF8.self) } == ["b", "a", "b"])
        #expect(try parse(#"{"b": 1, "a": 2, "b": 3}"#)["b"]?.double == 3)
    }

    @Test func stringsKeepTheirExactBytes() throws {
        // "é" precomposed and decomposed are different keys; U+FEFF survives.
        let node = try parse(#"{"\u00e9": 1, "e\u0301": 2, "\ufeff": 3}"#)
        guard case .object(let members) = node else {
            Issue.record("not an object")
            return
        }
        #expect(members.map(\.key) == [[0xC3, 0xA9], [0x65, 0xCC, 0x81], [0xEF, 0xBB, 0xBF]])
        #expect(try parse(#""\ud83d\ude00 \"\\\/\n""#).text == "😀 \"\\/\n")
        #expect(try parse(#""\u00e9\ud83e\udd16""#).text == "é🤖")
        #expect(try parse(#""\ud83d x""#).text == "\u{FFFD} x")
    }

    @Test func integersStayIntegersAsInPython() throws {
        #expect(try parse("-42").kind == "integer -42")
        #expect(try parse("1.0").kind == "number 1.0")
        #expect(try parse("2e3").kind == "number 2000.0")
        #expect(try parse("9223372036854775807").kind == "integer 9223372036854775807")
        // Too large for Int: a float (its value survives only approximately anyway).
        #expect(try parse("123456789012345678901234").kind == "number \(1.2345678901234568e23)")
    }

    @Test func malformedTextIsRefusedWithItsPlace() {
        for text in ["01", "1.", "-", "1e", "[1,]", "{\"a\" 1}", "\"abc", "[1] x", "nul", "\"\\q\"", "NaN"] {
            #expect(throws: JSONSyntaxError.self, "\(text)") { try parse(text) }
        }
        do {
            _ = try parse("{\n  \"a\": ]\n}")
            Issue.record("accepted")
        } catch {
            #expect(error.line == 2 && error.column == 8)
        }
    }

    @Test func pythonConstantsOnlyWhenAsked() throws {
        #expect(try parse("[NaN, Infinity, -Infinity]", nonFinite: true).description == "[nan, inf, -inf]")
        #expect(throws: JSONSyntaxError.self) { try parse("Infinity") }
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let text = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONSyntaxError.self) { try parse(text) }
    }
}

extension JSONNode {
    fileprivate var kind: String {
        switch self {
        case .integer(let i): "integer \(i)"
        case .number(let x): "number \(x)"
        default: "other"
        }
    }

    /// A compact rendering for assertions.
    fileprivate var description: String {
        switch self {
        case .null: "null"
        case .bool(let b): "\(b)"
        case .integer(let i): "\(i)"
        case .number(let x): "\(x)"
        case .string(let s): String(decoding: s, as: UTF8.self)
        case .array(let items): "[" + items.map(\.description).joined(separator: ", ") + "]"
        case .object(let members):
            "{"
                + members.map { String(decoding: $0.key, as: UTF8.self) + ": " + $0.value.description }
                .joined(separator: ", ") + "}"
        }
    }
}
