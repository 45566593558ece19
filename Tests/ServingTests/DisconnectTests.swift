import Foundation
import Testing
@testable import Serving

/// A client that hangs up on a non-streamed request stops its generation: the engine cancels the
/// rows and their slots take the next request. Over real sockets.
@Suite struct DisconnectTests {
    @Test func aNonStreamedClientThatHangsUpFreesItsSlot() async throws {
        // One slot, 50 ms a token: the 70-token reply would hold the slot for 3.5 s.
        let server = try TestServer(contextLength: 256, stepDelay: .milliseconds(50), maxBatchRows: 1)
        try await server.test { (client: HTTPTestClient) async throws in
            let topic = String(repeating: "long ", count: 8).trimmingCharacters(in: .whitespaces)
            let body = Data(
                #"{"model":"tiny","temperature":0,"max_tokens":100,"messages":[{"role":"user","content":"\#(topic)"}]}"#
                    .utf8)
            let head =
                "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(body.count)\r\n\r\n"
            // Sends the request, reads for 0.5 s, hangs up.
            let raw = RawHTTPClient(port: client.port)
            let (answer, _, _) = try await raw.exchange(Data(head.utf8) + body, timeout: 0.5)
            #expect(
                answer.isEmpty, "no answer before the reply's end: \(String(decoding: answer, as: UTF8.self))"
            )
            // The engine notices at its next step; wait for it (bounded, not timed).
            var statistics = await server.engine.statistics
            for _ in 0..<400 where statistics.cancelledRows == 0 {
                try await Task.sleep(for: .milliseconds(25))
                statistics = await server.engine.statistics
            }
            #expect(statistics.cancelledRows == 1)
            let generated = server.backend.trace.filter { $0.prompt.contains(topic) }.count
            #expect(generated < 70, "the abandoned row stopped early (\(generated) tokens)")
            // The one slot is free: the next request is answered, and /health shows the cancel.
            let next = try await raw.send(
                "POST", "/v1/completions", headers: [("Content-Type", "application/json")],
                body: Data(#"{"model":"tiny","temperature":0,"max_tokens":4,"prompt":"x"}"#.utf8))
            #expect(next.status == 200)
            #expect((next.json?["choices"] as? [[String: Any]])?.first?["text"] as? String == "You ")
            let health = try await raw.send("GET", "/health")
            #expect(health.json?["cancelledRows"] as? Int == 1)
        }
    }

    @Test func keepAliveClientsAreToldTheConnectionCloses() async throws {
        let server = try TestServer()
        try await server.test { (client: HTTPTestClient) async throws in
            let reply = try await RawHTTPClient(port: client.port).send(
                "POST", "/v1/completions", headers: [("Content-Type", "application/json")],
                body: Data(#"{"model":"tiny","temperature":0,"max_tokens":4,"prompt":"x"}"#.utf8))
            #expect(reply.status == 200)
            #expect(reply.headers.contains { $0.name == "connection" && $0.value == "close" })
        }
    }
}
