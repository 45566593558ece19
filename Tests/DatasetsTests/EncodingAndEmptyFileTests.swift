import Foundation
import Testing
@testable import Datasets

/// A JSONL file is decoded line by line: bytes that are not UTF-8 spoil one line, reported with
/// its number, and lenient loading skips just that line. An empty data file is named.
@Suite struct EncodingAndEmptyFileTests {
    private func file(_ scratch: Scratch, _ name: String, _ bytes: [UInt8]) throws -> URL {
        let url = scratch.directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    private let badSecondLine =
        Array(#"{"text": "first"}"#.utf8) + [0x0A] + Array(#"{"text": "bad "#.utf8) + [0xFF, 0xFE]
        + Array(#""}"#.utf8) + [0x0A] + Array(#"{"text": "third"}"#.utf8) + [0x0A]

    @Test func nonUTF8LineIsReportedWithItsLineNumber() throws {
        let scratch = try Scratch()
        let url = try file(scratch, "bad.jsonl", badSecondLine)
        let error = loadError { try PretrainDocument.load(from: url) }
        #expect(error?.file == url.path)
        #expect(error?.line == 2)
        #expect(error?.reason.contains("UTF-8") == true)
    }

    @Test func lenientLoadingSkipsOnlyTheNonUTF8Line() throws {
        let scratch = try Scratch()
        let url = try file(scratch, "bad.jsonl", badSecondLine)
        let loaded = try PretrainDocument.load(from: url, options: LoadOptions(lenient: true))
        #expect(loaded.records.map(\.text) == ["first", "third"])
        #expect(loaded.skipped.map(\.line) == [2])
    }

    @Test func byteOrderMarkAndCRLFStillWork() throws {
        let scratch = try Scratch()
        let url = try file(
            scratch, "bom.jsonl",
            [0xEF, 0xBB, 0xBF] + Array("{\"text\": \"a\"}\r\n{\"text\": \"b\"}\r\n".utf8))
        #expect(try PretrainDocument.load(from: url).records.map(\.text) == ["a", "b"])
    }

    @Test func emptyJSONLFileIsAnErrorNamingIt() throws {
        let scratch = try Scratch()
        let url = try scratch.file("empty.jsonl", [])
        let error = loadError { try PretrainDocument.load(from: url) }
        #expect(error?.file == url.path)
        #expect(error?.reason.contains("empty") == true)
        let lenient = try PretrainDocument.load(from: url, options: LoadOptions(lenient: true))
        #expect(lenient.records.isEmpty && lenient.skippedCount == 1)
    }
}
