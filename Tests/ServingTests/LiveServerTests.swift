import Foundation
import Hummingbird
import Testing
@testable import Serving

/// The one end-to-end test over real sockets: an ephemeral port on loopback.
@Suite struct LiveServerTests {
    @Test func streamingAndErrorsOverLoopback() async throws {
        let server = try TestServer(apiKey: "k")
        try await server.test { client in
            let auth: HTTPFields = [.authorization: "Bearer k", .contentType: "application/json"]
            let request = try body([
                "model": "tiny", "temperature": 0, "stream": true,
                "messages": [["role": "user", "content": "über"]],
            ])
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: auth, body: request)
            {
                response in
                #expect(response.status == .ok)
                let data = events(response.body)
                #expect(data.last == "[DONE]")
                let text = try data.dropLast().map { line -> String in
                    let chunk = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                    return chunk[path: "choices", "0", "delta", "content"] as? String ?? ""
                }.joined()
                #expect(text == "You said: über. That is all I know.")
            }
            try await client.execute(
                uri: "/v1/chat/completions", method: .post, headers: [.contentType: "application/json"],
                body: request
            ) { #expect($0.status == .unauthorized) }
            try await client.execute(
                uri: "/v1/completions", method: .post, headers: auth,
                body: ByteBuffer(string: "{")
            ) { #expect($0.status == .badRequest) }
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
        }
    }
}
