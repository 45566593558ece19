import Foundation
import Hummingbird
import Testing
@testable import Serving

@Suite struct LabelTests {
    let headers: HTTPFields = [.contentType: "application/json"]
    let candidates = [
        LabelService.LabelCandidate(prompt: "2+2?", responses: ["4", "5", "four"]),
        LabelService.LabelCandidate(prompt: "Capital of France?", responses: ["Paris", "Lyon"]),
    ]

    @Test func candidatesAreServedUntilEachIsRankedThenStored() async throws {
        let server = try TestServer(candidates: candidates)
        try await server.test { client in
            try await client.execute(uri: "/api/label/next?labeler=ann", method: .get) { response in
                let reply = try json(response.body)
                #expect(reply[path: "task", "prompt"] as? String == "2+2?")
                #expect(reply[path: "task", "responses"] as? [String] == ["4", "5", "four"])
                #expect(reply[path: "task", "source"] as? String == "candidates:0")
            }
            let judgement = try body([
                "prompt": "2+2?", "responses": ["4", "5", "four"], "ranking": [0, 2, 1],
                "labeler": "ann", "source": "candidates:0", "demonstration": "  4, of course ",
            ])
            try await client.execute(
                uri: "/api/label/judgements", method: .post, headers: headers, body: judgement
            ) {
                response in
                #expect(response.status == .ok)
                let parsed1 = try json(response.body)
                #expect(parsed1[path: "counts", "judgements"] as? Int == 1)
            }
            // ann moves on to the next candidate; bob still starts at the first.
            try await client.execute(uri: "/api/label/next?labeler=ann", method: .get) { response in
                let parsed2 = try json(response.body)
                #expect(parsed2[path: "task", "source"] as? String == "candidates:1")
            }
            try await client.execute(uri: "/api/label/next?labeler=bob", method: .get) { response in
                let parsed3 = try json(response.body)
                #expect(parsed3[path: "task", "source"] as? String == "candidates:0")
            }
        }
        let stored = try await server.store.judgements()
        #expect(stored.count == 1)
        #expect(stored[0].ranking == [0, 2, 1])
        #expect(stored[0].labeler == "ann")
        #expect(stored[0].demonstration == "4, of course")
        #expect(stored[0].id == 1)
    }

    @Test func promptsGetResponsesSampledFromTheModel() async throws {
        let server = try TestServer(prompts: ["Tell me about owls"])
        try await server.test { client in
            try await client.execute(uri: "/api/label/next?labeler=ann", method: .get) { response in
                let reply = try json(response.body)
                let responses = reply[path: "task", "responses"] as? [String] ?? []
                #expect(responses.count == 3)
                let possible = Set(ScriptedBackend.replies(to: "user: Tell me about owls"))
                #expect(responses.allSatisfy { possible.contains($0) })
            }
            try await client.execute(
                uri: "/api/label/sample", method: .post, headers: headers,
                body: try body(["prompt": "bees", "count": 2])
            ) { response in
                let reply = try json(response.body)
                #expect((reply[path: "task", "responses"] as? [String])?.count == 2)
                #expect(reply[path: "task", "source"] as? String == "model:tiny")
            }
        }
    }

    @Test(arguments: [
        (#"{"prompt": "p", "responses": ["a", "b"], "ranking": [0, 0], "labeler": "x"}"#, "ranking[1]"),
        (#"{"prompt": "p", "responses": ["a", "b"], "ranking": [0, 1, 2], "labeler": "x"}"#, "ranking"),
        (#"{"prompt": "p", "responses": ["a"], "ranking": [0], "labeler": "x"}"#, "responses"),
        (#"{"prompt": " ", "responses": ["a", "b"], "ranking": [1, 0], "labeler": "x"}"#, "prompt"),
        (#"{"prompt": "p", "responses": ["a", "b"], "ranking": [1, 0], "labeler": ""}"#, "labeler"),
        (#"{"prompt": "p", "responses": ["a", "b"], "ranking": "1,0", "labeler": "x"}"#, "ranking"),
    ])
    func invalidJudgementsAreRejected(request: String, param: String) async throws {
        let server = try TestServer()
        try await server.test { client in
            try await client.execute(
                uri: "/api/label/judgements", method: .post, headers: headers,
                body: ByteBuffer(string: request)
            ) { response in
                #expect(response.status == .badRequest)
                let parsed4 = try json(response.body)
                #expect((parsed4["error"] as? [String: Any])?["param"] as? String == param)
            }
        }
        #expect(try await server.store.counts().judgements == 0)
    }

    @Test func exportWritesTheTrainingFormats() async throws {
        let store = try FeedbackStore()
        try await store.save(
            Judgement(
                prompt: "p1", responses: ["a", "b", "c"], ranking: [2, 0, 1], labeler: "ann",
                demonstration: "d"))
        try await store.save(
            Judgement(prompt: "p2", responses: ["x", "y"], ranking: [1, 0], labeler: "bob"))
        try await store.save(
            Judgement(
                prompt: "p3", responses: ["only"], ranking: [0], labeler: "bob",
                demonstration: "better"))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "serving-export-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        func lines(_ format: FeedbackExportFormat) async throws -> [String] {
            let url = directory.appendingPathComponent("\(format).jsonl")
            let count = try await store.export(format: format, to: url).records
            let text = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map(String.init)
            #expect(text.count == count)
            return text
        }
        #expect(
            try await lines(.rankings) == [
                #"{"prompt":"p1","ranking":[2,0,1],"responses":["a","b","c"]}"#,
                #"{"prompt":"p2","ranking":[1,0],"responses":["x","y"]}"#,
            ])
        // All K(K-1)/2 pairs of each ranking, better first.
        #expect(
            try await lines(.pairs) == [
                #"{"chosen":"c","prompt":"p1","rejected":"a"}"#,
                #"{"chosen":"c","prompt":"p1","rejected":"b"}"#,
                #"{"chosen":"a","prompt":"p1","rejected":"b"}"#,
                #"{"chosen":"y","prompt":"p2","rejected":"x"}"#,
            ])
        #expect(
            try await lines(.sft) == [
                #"{"completion":"d","prompt":"p1"}"#,
                #"{"completion":"better","prompt":"p3"}"#,
            ])
    }

    @Test func databaseFileKeepsJudgementsAcrossReopening() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "serving-\(UUID())/feedback.sqlite"
        ).path
        defer {
            try? FileManager.default.removeItem(
                atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path)
        }
        do {
            let store = try FeedbackStore(path: path)
            try await store.save(
                Judgement(
                    prompt: "p", responses: ["a", "b"], ranking: [1, 0], labeler: "ann",
                    source: "candidates:0"))
        }
        let reopened = try FeedbackStore(path: path)  // migrations already applied: nothing to do
        #expect(try await reopened.judgements().map(\.responses) == [["a", "b"]])
        #expect(try await reopened.judgedSources(labeler: "ann") == ["candidates:0"])
    }

    @Test func candidateFilesReportTheLineOfABadRecord() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("candidates-\(UUID()).jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(
            """
            {"prompt": "a", "responses": ["x", "y"]}

            {"prompt": "b", "responses": "x"}
            """.utf8
        ).write(to: url)
        #expect {
            _ = try LabelService.loadCandidates(from: url)
        } throws: { error in
            guard let error = error as? LabelFileError else { return false }
            return error.line == 3 && error.message.contains("responses")
        }
    }
}
