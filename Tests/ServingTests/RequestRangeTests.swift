import Foundation
import Hummingbird
import Testing
@testable import Serving

/// Every numeric (and count) field of a request is range-checked: an out-of-range, non-integral,
/// huge or wrongly typed value is a 400 naming the parameter, never a trap (a trap kills the
/// server for everyone) and never a 5xx.
@Suite struct RequestRangeTests {
    static let chat = #""model":"tiny","messages":[{"role":"user","content":"hi"}]"#
    static let completion = #""model":"tiny","prompt":"hi""#

    /// (extra JSON fields, expected param) for /v1/chat/completions.
    static let chatCases: [(String, String)] = [
        (#""max_tokens":9223372036854775807"#, "max_tokens"),
        (#""max_tokens":-9223372036854775808"#, "max_tokens"),
        (#""max_tokens":9223372036854775808"#, "max_tokens"),
        (#""max_tokens":1e300"#, "max_tokens"),
        (#""max_tokens":-1"#, "max_tokens"),
        (#""max_tokens":2.5"#, "max_tokens"),
        (#""max_tokens":"10""#, "max_tokens"),
        (#""max_tokens":[1]"#, "max_tokens"),
        (#""max_completion_tokens":9223372036854775807"#, "max_completion_tokens"),
        (#""max_completion_tokens":-5"#, "max_completion_tokens"),
        (#""n":9223372036854775807"#, "n"),
        (#""n":-1"#, "n"),
        (#""n":1e20"#, "n"),
        (#""n":"2""#, "n"),
        (#""temperature":-0.1"#, "temperature"),
        (#""temperature":1e308"#, "temperature"),
        (#""temperature":-1e308"#, "temperature"),
        (#""temperature":1e400"#, "temperature"),
        (#""temperature":"hot""#, "temperature"),
        (#""temperature":[0]"#, "temperature"),
        (#""top_p":1.5"#, "top_p"),
        (#""top_p":-1"#, "top_p"),
        (#""top_p":1e-400"#, "top_p"),
        (#""top_p":{}"#, "top_p"),
        (#""top_k":0"#, "top_k"),
        (#""top_k":-9223372036854775808"#, "top_k"),
        (#""top_k":1e20"#, "top_k"),
        (#""seed":1e20"#, "seed"),
        (#""seed":18446744073709551616"#, "seed"),
        (#""seed":"1""#, "seed"),
        (#""seed":0.5"#, "seed"),
        (#""stop":["a","b","c","d","e"]"#, "stop"),
        (#""stop":7"#, "stop"),
        (#""stop":[1]"#, "stop"),
        (#""logprobs":"yes""#, "logprobs"),
        (#""top_logprobs":9223372036854775807"#, "top_logprobs"),
        (#""top_logprobs":-1"#, "top_logprobs"),
        (#""top_logprobs":"x""#, "top_logprobs"),
        (#""presence_penalty":1e308"#, "presence_penalty"),
        (#""presence_penalty":-2.5"#, "presence_penalty"),
        (#""presence_penalty":"x""#, "presence_penalty"),
        (#""frequency_penalty":3"#, "frequency_penalty"),
        (#""frequency_penalty":[]"#, "frequency_penalty"),
        // In range, but not implemented: refused by name, never silently ignored.
        (#""presence_penalty":0.5"#, "presence_penalty"),
        (#""frequency_penalty":-2"#, "frequency_penalty"),
        (#""stream":"yes""#, "stream"),
        (#""stream_options":{"include_usage":2}"#, "stream_options.include_usage"),
    ]

    /// (whole body, expected param) for /v1/completions.
    static let completionCases: [(String, String)] = [
        (#"{"# + completion + #","max_tokens":9223372036854775807}"#, "max_tokens"),
        (#"{"# + completion + #","max_tokens":9223372036854775806}"#, "max_tokens"),
        (#"{"# + completion + #","n":9223372036854775807}"#, "n"),
        (#"{"# + completion + #","best_of":9223372036854775807}"#, "best_of"),
        (#"{"# + completion + #","logprobs":1e20}"#, "logprobs"),
        (#"{"# + completion + #","logprobs":-1}"#, "logprobs"),
        (#"{"model":"tiny","prompt":[[1e10]]}"#, "prompt"),
        (#"{"model":"tiny","prompt":[-1]}"#, "prompt"),
        (#"{"model":"tiny","prompt":[2147483648]}"#, "prompt"),
        (#"{"model":"tiny","prompt":1e308}"#, "prompt"),
        (#"{"model":"tiny","prompt":[]}"#, "prompt"),
        (#"{"model":"tiny","prompt":[[]]}"#, "prompt"),
        (#"{"model":"tiny","prompt":["a","b","c","d","e","f","g","h","i"]}"#, "prompt"),
        (#"{"model":7,"prompt":"hi"}"#, "model"),
    ]

    @Test func outOfRangeChatFieldsAreA400NamingTheParameter() async throws {
        let server = try TestServer()
        try await server.test { (client: HTTPTestClient) async throws in
            let raw = RawHTTPClient(port: client.port)
            for (fields, param) in Self.chatCases {
                let body = Data(("{" + Self.chat + "," + fields + "}").utf8)
                let reply = try await raw.send(
                    "POST", "/v1/chat/completions",
                    headers: [("Content-Type", "application/json")], body: body)
                #expect(
                    reply.status == 400 && reply.errorParam == param,
                    "\(fields) gave \(reply.status) \(String(decoding: reply.body, as: UTF8.self))")
                #expect(
                    (reply.json?["error"] as? [String: Any])?["type"] as? String == "invalid_request_error")
            }
            #expect(try await raw.send("GET", "/health").status == 200)
        }
    }

    @Test func outOfRangeCompletionFieldsAreA400NamingTheParameter() async throws {
        let server = try TestServer()
        try await server.test { (client: HTTPTestClient) async throws in
            let raw = RawHTTPClient(port: client.port)
            for (body, param) in Self.completionCases {
                let reply = try await raw.send(
                    "POST", "/v1/completions",
                    headers: [("Content-Type", "application/json")], body: Data(body.utf8))
                #expect(
                    reply.status == 400 && reply.errorParam == param,
                    "\(body) gave \(reply.status) \(String(decoding: reply.body, as: UTF8.self))")
            }
            #expect(try await raw.send("GET", "/health").status == 200)
        }
    }

    /// Values at the edges of the ranges are served.
    @Test func inRangeExtremesAreServed() async throws {
        let server = try TestServer()
        try await server.test { (client: HTTPTestClient) async throws in
            let raw = RawHTTPClient(port: client.port)
            for fields in [
                #""seed":9223372036854775807"#, #""seed":-9223372036854775808"#,
                #""top_k":9223372036854775807"#, #""temperature":1e-300"#, #""temperature":2"#,
                #""top_p":1e-300"#, #""n":8,"max_tokens":1"#, #""presence_penalty":0,"frequency_penalty":0"#,
                #""max_tokens":null,"n":null,"temperature":null"#, #""logprobs":false,"top_logprobs":0"#,
            ] {
                let body = Data(("{" + Self.chat + "," + fields + "}").utf8)
                let reply = try await raw.send(
                    "POST", "/v1/chat/completions",
                    headers: [("Content-Type", "application/json")], body: body)
                #expect(
                    reply.status == 200,
                    "\(fields) gave \(reply.status) \(String(decoding: reply.body, as: UTF8.self))")
            }
        }
    }

    /// More messages than the limit is a 400, checked before the conversation is rendered.
    @Test func tooManyMessagesIsA400() async throws {
        let server = try TestServer()
        let message = #"{"role":"user","content":""}"#
        let messages = Array(repeating: message, count: OpenAIService.Limits().maxMessages + 1).joined(
            separator: ",")
        try await server.test { (client: HTTPTestClient) async throws in
            let reply = try await RawHTTPClient(port: client.port).send(
                "POST", "/v1/chat/completions", headers: [("Content-Type", "application/json")],
                body: Data(#"{"model":"tiny","messages":[\#(messages)]}"#.utf8))
            #expect(reply.status == 400 && reply.errorParam == "messages")
        }
    }
}
