import Datasets
import Foundation
import Testing
@testable import Serving

/// A judgement is stored only if the trainer would accept what it exports: the ranking rules of
/// the JSONL loaders (non-empty, distinct responses; a permutation) and at most
/// `Judgement.maxResponses` responses, so one request cannot become millions of pairs.
@Suite struct JudgementValidationTests {
    static func judgement(_ responses: [String], ranking: [Int]? = nil, extra: String = "") -> Data {
        let list = String(decoding: try! JSONSerialization.data(withJSONObject: responses), as: UTF8.self)
        let order = (ranking ?? Array(responses.indices)).map(String.init).joined(separator: ",")
        return Data(
            #"{"prompt":"p","responses":\#(list),"ranking":[\#(order)],"labeler":"ann"\#(extra)}"#.utf8)
    }

    static let refused: [(Data, String)] = [
        (judgement(["a", ""]), "responses[1]"),
        (judgement(["", "b"]), "responses[0]"),
        (judgement([" \n", "b"]), "responses[0]"),
        (judgement(["same", "same"]), "responses[1]"),
        (judgement(["a", "b", "a"]), "responses[2]"),
        (judgement((0..<17).map { "r\($0)" }), "responses"),
        (judgement((0..<5000).map { "r\($0)" }), "responses"),
        (
            Data(#"{"prompt":"p","responses":["a","b"],"ranking":[1e20,0],"labeler":"ann"}"#.utf8),
            "ranking[0]"
        ),
        (Data(#"{"prompt":"p","responses":["a","b"],"ranking":[0.5,0],"labeler":"ann"}"#.utf8), "ranking[0]"),
        (
            Data(
                #"{"prompt":"p","responses":["a","b"],"ranking":[9223372036854775807,0],"labeler":"ann"}"#
                    .utf8),
            "ranking[0]"
        ),
        (Data(#"{"prompt":"p","responses":["a","b"],"ranking":[-1,0],"labeler":"ann"}"#.utf8), "ranking[0]"),
        (Data(#"{"prompt":"p","responses":["a","b"],"ranking":[1,1],"labeler":"ann"}"#.utf8), "ranking[1]"),
        (Data(#"{"prompt":"p","responses":["a","b"],"ranking":[1],"labeler":"ann"}"#.utf8), "ranking"),
        (judgement(["a", "b"], extra: #","source":"\#(String(repeating: "s", count: 300))""#), "source"),
        (judgement(["only"], extra: #","demonstration":"  ""#), "responses"),
        (judgement([""], extra: #","demonstration":"better""#), "responses[0]"),
        (
            judgement(["a", "b"]).replacingLabeler(String(repeating: "l", count: 101)),
            "labeler"
        ),
    ]

    @Test func judgementsTheTrainerWouldRefuseAreA400() async throws {
        let server = try TestServer(maxBodyBytes: 1 << 20)
        try await server.test { (client: HTTPTestClient) async throws in
            let raw = RawHTTPClient(port: client.port)
            for (body, param) in Self.refused {
                let reply = try await raw.send(
                    "POST", "/api/label/judgements",
                    headers: [("Content-Type", "application/json")], body: body)
                let sent = String(decoding: body.prefix(120), as: UTF8.self)
                #expect(
                    reply.status == 400 && reply.errorParam == param,
                    "\(sent) gave \(reply.status) \(reply.errorParam ?? "-")")
            }
            #expect(try await server.store.counts().judgements == 0)
            // The largest ranking allowed, and a written response with one shown response, are stored.
            for body in [
                Self.judgement((0..<Judgement.maxResponses).map { "r\($0)" }),
                Self.judgement(["only"], extra: #","demonstration":"better""#),
                Self.judgement([], extra: #","demonstration":"better""#),
            ] {
                let reply = try await raw.send(
                    "POST", "/api/label/judgements",
                    headers: [("Content-Type", "application/json")], body: body)
                #expect(reply.status == 200, "\(String(decoding: reply.body, as: UTF8.self))")
            }
        }
        #expect(try await server.store.counts().judgements == 3)
    }

    /// What the server stores, exported as pairs, loads with the trainer's own loader.
    @Test func storedJudgementsExportToPairsTheLoaderAccepts() async throws {
        let store = try FeedbackStore()
        try await store.save(
            Judgement(prompt: "p", responses: ["a", "b", "c"], ranking: [2, 0, 1], labeler: "ann"))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("pairs-\(UUID()).jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        try await store.export(format: .pairs, to: url)
        #expect(try PreferencePair.load(from: url).records.count == 3)
    }

    /// A database written before these checks may hold judgements the trainer refuses: export
    /// leaves them out (and says how many) instead of writing millions of pairs.
    @Test func exportSkipsStoredJudgementsThatAreInvalid() async throws {
        let store = try FeedbackStore()
        try await store.save(Judgement(prompt: "p", responses: ["a", "b"], ranking: [1, 0], labeler: "ann"))
        try await store.insertUnchecked(
            Judgement(
                prompt: "p", responses: (0..<200).map { "r\($0)" },
                ranking: Array(0..<200), labeler: "old"))
        try await store.insertUnchecked(
            Judgement(prompt: "p", responses: ["x", "x"], ranking: [0, 1], labeler: "old"))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("pairs-\(UUID()).jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        let summary = try await store.export(format: .pairs, to: url)
        #expect(summary.records == 1)
        #expect(summary.skippedJudgements == 2)
    }

    @Test func candidateFilesFollowTheSameRules() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("candidates-\(UUID()).jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(#"{"prompt": "a", "responses": ["x", "y"]}\#n{"prompt": "b", "responses": ["x", "x"]}"#.utf8)
            .write(to: url)
        #expect {
            _ = try LabelService.loadCandidates(from: url)
        } throws: { error in
            guard let error = error as? LabelFileError else { return false }
            return error.line == 2 && error.message.contains("responses[1]")
        }
    }

    /// `rlhf feedback stats/export` on a path with no database is an error naming it, and creates nothing.
    @Test func openingAMissingDatabaseForReadingFails() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "missing-\(UUID())/feedback.sqlite"
        ).path
        #expect {
            _ = try FeedbackStore(existingAt: path)
        } throws: { error in
            "\(error)".contains(path)
        }
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(
            !FileManager.default.fileExists(
                atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path))

        // An existing one opens read-only and reads.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("present-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let existing = directory.appendingPathComponent("feedback.sqlite").path
        try await FeedbackStore(path: existing).save(
            Judgement(
                prompt: "p", responses: ["a", "b"], ranking: [0, 1],
                labeler: "ann"))
        let reader = try FeedbackStore(existingAt: existing)
        #expect(try await reader.counts().judgements == 1)
        await #expect(throws: (any Error).self) {
            try await reader.save(
                Judgement(prompt: "p", responses: ["a", "b"], ranking: [0, 1], labeler: "ann"))
        }
    }
}

extension Data {
    /// The same judgement body with another labeler.
    fileprivate func replacingLabeler(_ labeler: String) -> Data {
        let text = String(decoding: self, as: UTF8.self)
        return Data(
            text.replacingOccurrences(of: #""labeler":"ann""#, with: #""labeler":"\#(labeler)""#).utf8)
    }
}

extension FeedbackStore {
    /// Stores a judgement without the checks, as an older server did.
    func insertUnchecked(_ judgement: Judgement) async throws {
        try await database.write { db in
            var stored = judgement
            try stored.insert(db)
        }
    }
}
