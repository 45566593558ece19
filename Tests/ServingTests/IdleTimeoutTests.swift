import Foundation
import Testing
@testable import Serving

/// A client that opens connections and sends half a request (or nothing) must not hold them
/// forever; a slow generation must not be cut off by the same timeout.
@Suite struct IdleTimeoutTests {
    @Test func halfARequestLineIsClosedWithinTheTimeout() async throws {
        let server = try TestServer(idleTimeout: .milliseconds(300))
        try await server.test { (client: HTTPTestClient) async throws in
            let raw = RawHTTPClient(port: client.port)
            for partial in [
                "GET /v1/mod", "", "POST /api/label/judgements HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty",
            ] {
                let (_, closed, elapsed) = try await raw.exchange(Data(partial.utf8), timeout: 10)
                #expect(
                    closed, "a connection that sent \(partial.debugDescription) was still open after 10 s")
                #expect(elapsed < .seconds(5), "closed only after \(elapsed)")
            }
            // A body that stops halfway is closed too.
            let head =
                "POST /api/label/judgements HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Content-Length: 100\r\n\r\n{\"prompt\":"
            let (_, closed, _) = try await raw.exchange(Data(head.utf8), timeout: 10)
            #expect(closed)
            #expect(try await raw.send("GET", "/health").status == 200)
        }
    }

    @Test func aGenerationLongerThanTheTimeoutCompletes() async throws {
        // 42 tokens at 30 ms: about 1.3 s of generation against a 300 ms idle timeout.
        let server = try TestServer(stepDelay: .milliseconds(30), idleTimeout: .milliseconds(300))
        try await server.test { (client: HTTPTestClient) async throws in
            let body = Data(
                #"{"model":"tiny","temperature":0,"messages":[{"role":"user","content":"hi"}]}"#.utf8)
            let reply = try await RawHTTPClient(port: client.port).send(
                "POST", "/v1/chat/completions", headers: [("Content-Type", "application/json")], body: body)
            #expect(reply.status == 200)
            let streamed = Data(
                #"{"model":"tiny","temperature":0,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#
                    .utf8)
            let stream = try await RawHTTPClient(port: client.port).send(
                "POST", "/v1/chat/completions", headers: [("Content-Type", "application/json")],
                body: streamed)
            #expect(stream.status == 200)
            #expect(String(decoding: stream.body, as: UTF8.self).hasSuffix("data: [DONE]\n\n"))
        }
    }
}
