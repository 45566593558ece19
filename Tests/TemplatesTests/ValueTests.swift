import Foundation
import Testing
@testable import Templates

/// The value model: JSON with key order, Python's printing of numbers.
@Suite struct ValueTests {
    @Test func jsonKeepsKeyOrderAndPythonNumberTypes() throws {
        let value = try TemplateValue(
            json: #"{"z": 1, "a": [1.0, 2, -3e2, true, null], "m": {"y": "é\n\ud83e\udd8a"}}"#)
        #expect(value.objectValue?.keys == ["z", "a", "m"])
        #expect(value["a"] == [.double(1), .int(2), .double(-300), .bool(true), .null])
        #expect(value["m"]?["y"] == .string("é\n🦊"))
        #expect(throws: TemplateError.self) { try TemplateValue(json: #"{"a": }"#) }
        #expect(throws: TemplateError.self) { try TemplateValue(json: "[1] x") }
    }

    @Test func floatsPrintAsPython() {
        let cases: [(Double, String)] = [
            (1, "1.0"), (0.1, "0.1"), (1e-5, "1e-05"), (1e-4, "0.0001"), (1e16, "1e+16"),
            (9.1e15, "9100000000000000.0"),
            (123456789.123456789, "123456789.12345679"), (-0.0, "-0.0"), (.infinity, "inf"),
            (2.5e-300, "2.5e-300"),
            (1.5e300, "1.5e+300"), (0.30000000000000004, "0.30000000000000004"),
        ]
        for (value, expected) in cases { #expect(PythonString.repr(value) == expected) }
    }

    @Test func pythonStringOperationsWorkOnCodePoints() {
        #expect(PythonString.split(" a  b \n", separator: nil) == ["a", "b"])
        #expect(PythonString.split("a,b,c", separator: ",", maxSplit: 1) == ["a", "b,c"])
        #expect(PythonString.rsplit("a,b,c", separator: ",", maxSplit: 1) == ["a,b", "c"])
        #expect(PythonString.strip("\u{00A0} x \u{3000}", characters: nil) == "x")
        #expect(PythonString.replace("e\u{301}e", "e", "E") == "E\u{301}E")
        #expect(PythonString.title("they're bill's") == "They'Re Bill'S")
        #expect(PythonString.repr("it's") == "\"it's\"")
    }
}
