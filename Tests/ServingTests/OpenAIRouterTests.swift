import Foundation
import Hummingbird
import Testing
@testable import Serving

@Suite struct OpenAIRouterTests {
    let jsonHeaders: HTTPFields = [.contentType: "application/json"]

    @Test func chatCompletionHasOpenAIsShape() async throws {
        let server = try TestServer()
        try await server.test { client in
            let request = try body([
                "model": "tiny", "temperature": 0,
                "messages": [
                    ["role": "system", "content": "be brief"], ["role": "user", "content": "hello there"],
                ],
            ])
            try await client.execute(
                uri: "/v1/chat/completions", method: .post, headers: jsonHeaders, body: request
            ) {
                response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                let reply = try json(response.body)
                #expect((reply["id"] as? String)?.hasPrefix("chatcmpl-") == true)
                #expect(reply["object"] as? String == "chat.completion")
                #expect(reply["model"] as? String == "tiny")
                #expect(reply["created"] is Int)
                #expect(reply[path: "choices", "0", "index"] as? Int == 0)
                #expect(reply[path: "choices", "0", "message", "role"] as? String == "assistant")
                #expect(
                    reply[path: "choices", "0", "message", "content"] as? String
                        == "You said: hello there. That is all I know.")
                #expect(reply[path: "choices", "0", "finish_reason"] as? String == "stop")
                #expect((reply[path: "choices", "0"] as? [String: Any])?.keys.contains("logprobs") == true)
                let prompt = server.backend.encode("system: be brief\nuser: hello there\nassistant:").count
                #expect(reply[path: "usage", "prompt_tokens"] as? Int == prompt)
                #expect(reply[path: "usage", "completion_tokens"] as? Int == 42)
                #expect(reply[path: "usage", "total_tokens"] as? Int == prompt + 42)
            }
        }
    }

    @Test func chatStreamIsServerSentEventsEndingWithDone() async throws {
        let server = try TestServer()
        try await server.test { client in
            let request = try body([
                "model": "tiny", "temperature": 0, "stream": true, "n": 2, "max_tokens": 8,
                "stream_options": ["include_usage": true],
                "messages": [["role": "user", "content": [["type": "text", "text": "hi"]]]],
            ])
            try await client.execute(
                uri: "/v1/chat/completions", method: .post, headers: jsonHeaders, body: request
            ) {
                response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/event-stream")
                let data = events(response.body)
                #expect(data.last == "[DONE]")
                let chunks = try data.dropLast().map {
                    try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
                }
                #expect(chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" })
                #expect(Set(chunks.compactMap { $0["id"] as? String }).count == 1)
                var text = ["", ""]
                var finish: [String?] = [nil, nil]
                var roles = 0
                for chunk in chunks {
                    guard let choice = chunk[path: "choices", "0"] as? [String: Any] else { continue }
                    let index = choice["index"] as! Int
                    if (choice[path: "delta", "role"] as? String) == "assistant" { roles += 1 }
                    text[index] += (choice[path: "delta", "content"] as? String) ?? ""
                    if let reason = choice["finish_reason"] as? String { finish[index] = reason }
                }
                #expect(roles == 2)
                #expect(text == ["You said", "You said"])
                #expect(finish == ["length", "length"])
                let usage = chunks.last!
                #expect((usage["choices"] as? [Any])?.isEmpty == true)
                #expect(usage[path: "usage", "completion_tokens"] as? Int == 16)
            }
        }
    }

    @Test func completionsAcceptTextAndTokenPromptsAndStopSequences() async throws {
        let server = try TestServer()
        try await server.test { client in
            let request = try body([
                "model": "tiny", "prompt": ["red", "blue"], "temperature": 0, "stop": " That",
            ])
            try await client.execute(
                uri: "/v1/completions", method: .post, headers: jsonHeaders, body: request
            ) {
                response in
                let reply = try json(response.body)
                #expect(reply["object"] as? String == "text_completion")
                #expect((reply["id"] as? String)?.hasPrefix("cmpl-") == true)
                #expect(reply[path: "choices", "0", "text"] as? String == "You said: red.")
                #expect(reply[path: "choices", "1", "text"] as? String == "You said: blue.")
                #expect(reply[path: "choices", "1", "finish_reason"] as? String == "stop")
                #expect(reply[path: "usage", "prompt_tokens"] as? Int == 7)
            }
            let tokens = try body([
                "model": "tiny", "prompt": [103, 111], "temperature": 0, "max_tokens": 3,
                "stream": true,
            ])
            try await client.execute(
                uri: "/v1/completions", method: .post, headers: jsonHeaders, body: tokens
            ) {
                response in
                let data = events(response.body)
                #expect(data.last == "[DONE]")
                let texts = try data.dropLast().map {
                    (try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])[
                        path: "choices", "0", "text"]
                        as? String ?? "?"
                }
                #expect(texts.joined() == "You")
            }
        }
    }

    @Test func modelsAndHealth() async throws {
        let server = try TestServer()
        try await server.test { client in
            try await client.execute(uri: "/v1/models", method: .get) { response in
                let reply = try json(response.body)
                #expect(reply["object"] as? String == "list")
                #expect(reply[path: "data", "0", "id"] as? String == "tiny")
                #expect(reply[path: "data", "0", "object"] as? String == "model")
                #expect(reply[path: "data", "0", "owned_by"] as? String == "swift-rlhf")
            }
            try await client.execute(uri: "/v1/models/tiny", method: .get) { response in
                let parsed1 = try json(response.body)
                #expect(parsed1["id"] as? String == "tiny")
            }
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok)
                let parsed2 = try json(response.body)
                #expect(parsed2["status"] as? String == "ok")
            }
        }
    }

    /// Every bad request gets a 4xx with OpenAI's error object, and the server keeps serving.
    @Test(
        arguments: [
            (#"{"model": "tiny", "messages": [{"role": "user", "content": "hi"}"#, 400, nil, "invalid_json"),
            (#"not json at all"#, 400, nil, "invalid_json"),
            (
                #"{"messages": [{"role": "user", "content": "hi"}]}"#, 400, "model",
                "missing_required_parameter"
            ),
            (#"{"model": "tiny", "messages": "hi"}"#, 400, "messages", "invalid_type"),
            (
                #"{"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}"#,
                400,
                "temperature", "invalid_type"
            ),
            (#"{"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "n": 1.5}"#, 400, "n", nil),
            (
                #"{"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 0}"#, 400,
                "max_tokens", nil
            ),
            (
                #"{"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1000}"#,
                400, "max_tokens",
                "context_length_exceeded"
            ),
            (
                #"{"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "temperature": 3}"#, 400,
                "temperature", nil
            ),
            (
                #"{"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "top_p": 0}"#, 400,
                "top_p", nil
            ),
            (#"{"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "n": 100}"#, 400, "n", nil),
            (
                #"{"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "stop": ["a","b","c","d","e"]}"#,
                400,
                "stop", nil
            ),
            (#"{"model": "tiny", "messages": []}"#, 400, "messages", nil),
            (
                #"{"model": "tiny", "messages": [{"role": "tool", "content": "hi"}]}"#, 400,
                "messages[0].role", nil
            ),
            (
                #"{"model": "gpt-4", "messages": [{"role": "user", "content": "hi"}]}"#, 404, "model",
                "model_not_found"
            ),
        ] as [(String, Int, String?, String?)])
    func badRequestsGetOpenAIErrors(request: String, status: Int, param: String?, code: String?) async throws
    {
        let server = try TestServer()
        try await server.test { client in
            try await client.execute(
                uri: "/v1/chat/completions", method: .post, headers: jsonHeaders,
                body: ByteBuffer(string: request)
            ) { response in
                #expect(response.status.code == status)
                let error = try json(response.body)["error"] as? [String: Any]
                #expect((error?["message"] as? String)?.isEmpty == false)
                #expect(error?["type"] as? String == "invalid_request_error")
                #expect(error?["param"] as? String == param, "\(error?["message"] ?? "no message")")
                if let code { #expect(error?["code"] as? String == code) }
                #expect(error?.keys.sorted() == ["code", "message", "param", "type"])
            }
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test func promptLongerThanTheContextIsRejected() async throws {
        let server = try TestServer(contextLength: 64)
        try await server.test { client in
            let long = String(repeating: "word ", count: 40)
            try await client.execute(
                uri: "/v1/completions", method: .post, headers: jsonHeaders,
                body: try body(["model": "tiny", "prompt": long])
            ) { response in
                #expect(response.status == .badRequest)
                let error = try json(response.body)["error"] as? [String: Any]
                #expect(error?["code"] as? String == "context_length_exceeded")
                #expect(error?["param"] as? String == "prompt")
            }
        }
    }

    @Test func oversizedBodyIs413AndUnknownPathIs404() async throws {
        let server = try TestServer(maxBodyBytes: 1000)
        try await server.test { client in
            let big = try body(["model": "tiny", "prompt": String(repeating: "x", count: 5000)])
            try await client.execute(uri: "/v1/completions", method: .post, headers: jsonHeaders, body: big) {
                response in
                #expect(response.status == .contentTooLarge)
                let parsed3 = try json(response.body)
                #expect((parsed3["error"] as? [String: Any])?["code"] as? String == "request_too_large")
            }
            try await client.execute(uri: "/v1/nothing", method: .get) { response in
                #expect(response.status == .notFound)
                let parsed4 = try json(response.body)
                #expect(
                    (parsed4["error"] as? [String: Any])?["message"] as? String
                        == "Unknown path: /v1/nothing")
            }
        }
    }

    @Test func apiKeyIsRequiredOnTheAPIButNotOnPages() async throws {
        let server = try TestServer(apiKey: "sekret")
        try await server.test { client in
            try await client.execute(uri: "/v1/models", method: .get) { response in
                #expect(response.status == .unauthorized)
                let parsed5 = try json(response.body)
                #expect((parsed5["error"] as? [String: Any])?["code"] as? String == "invalid_api_key")
            }
            try await client.execute(
                uri: "/v1/models", method: .get, headers: [.authorization: "Bearer wrong!"]
            ) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(uri: "/api/label/stats", method: .get) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(
                uri: "/v1/models", method: .get, headers: [.authorization: "Bearer sekret"]
            ) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                #expect(String(buffer: response.body).contains("/v1/chat/completions"))
            }
            try await client.execute(uri: "/label", method: .get) { response in
                #expect(String(buffer: response.body).contains("/api/label/judgements"))
            }
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
        }
    }
}
