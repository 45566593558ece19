import Foundation
import Testing
@testable import Serving

/// `--api-key` protects whatever route the router matched, however the path is spelled:
/// every spelling of a protected path is 401 without the key, or refused as a bad path (400/404),
/// never served. Raw request lines, so the spelling reaches the server unchanged.
@Suite struct PathAuthorizationTests {
    static let getSpellings = [
        "/v1/models", "//v1/models", "/v1//models", "///v1/models", "/v1/models/", "/v1/models//",
        "//v1//models//", "/v1/./models", "/./v1/models", "/v1/../v1/models", "/x/../v1/models",
        "/v1/models/.",
        "/v1%2Fmodels", "/v1%2fmodels", "%2Fv1/models", "/%2Fv1/models", "/%2e/v1/models",
        "/v1/%2E%2E/v1/models",
        "/%76%31/models", "/V1/models", "/V1/MODELS", "/v1/Models", "v1/models", "/v1\\models",
        "/v1/models;x",
        "/v1/models?x=1", "//v1/models?a=b", "/v1/models?/", "/v1/models#x", "/v1/models/tiny",
        "//v1/models/tiny",
        "/v1/models//tiny", "//api/label/stats", "/api//label/stats", "/api/label/stats/",
        "/api/label/./stats",
        "//api/label/next?labeler=x", "/api/label/next/?labeler=x",
        "http://127.0.0.1//v1/models", "http://127.0.0.1/v1/models", "http://127.0.0.1:1//v1/models",
        "http://evil.example//api/label/stats", "HTTP://127.0.0.1/v1/models", "*",
    ]

    static let postSpellings = [
        "/v1/chat/completions", "//v1/chat/completions", "/v1//chat/completions", "/v1/chat/completions/",
        "/v1/chat//completions", "/v1/./chat/completions", "//v1/completions", "/v1%2Fcompletions",
        "/api/label/judgements", "//api/label/judgements", "/api//label/judgements", "/api/label/judgements/",
        "/api/label/./judgements", "//api/label/sample", "http://127.0.0.1//api/label/judgements",
        "http://127.0.0.1/api/label/judgements",
    ]

    @Test func everySpellingOfAProtectedPathNeedsTheKey() async throws {
        let server = try TestServer(
            apiKey: "secret", candidates: [.init(prompt: "p", responses: ["a", "b"])])
        let chat = Data(#"{"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":4}"#.utf8)
        let judgement = Data(
            #"{"prompt":"p","responses":["a","b"],"ranking":[1,0],"labeler":"mallory"}"#.utf8)
        let sample = Data(#"{"prompt":"p","count":2}"#.utf8)
        var seen: [String] = []
        try await server.test { (client: HTTPTestClient) async throws in
            let raw = RawHTTPClient(port: client.port)
            for target in Self.getSpellings {
                let reply = try await raw.send("GET", target)
                seen.append("GET \(target) -> \(reply.status)")
                #expect(
                    [400, 401, 404].contains(reply.status), "GET \(target) without a key gave \(reply.status)"
                )
            }
            for target in Self.postSpellings {
                let body =
                    target.contains("judgements") ? judgement : target.contains("sample") ? sample : chat
                let reply = try await raw.send(
                    "POST", target, headers: [("Content-Type", "application/json")],
                    body: body)
                seen.append("POST \(target) -> \(reply.status)")
                #expect(
                    [400, 401, 404].contains(reply.status),
                    "POST \(target) without a key gave \(reply.status)")
            }
            // With the key the canonical paths (and a query string) still work.
            let key = [("Authorization", "Bearer secret")]
            #expect(try await raw.send("GET", "/v1/models", headers: key).status == 200)
            #expect(try await raw.send("GET", "/v1/models?x=1", headers: key).status == 200)
            #expect(try await raw.send("GET", "/api/label/stats", headers: key).status == 200)
            // The pages and /health stay open.
            for open in ["/", "/label", "/health"] { #expect(try await raw.send("GET", open).status == 200) }
        }
        #expect(try await server.store.counts().judgements == 0)
        if ProcessInfo.processInfo.environment["RLHF_PRINT_STATUSES"] != nil {
            print(seen.joined(separator: "\n"))
        }
    }

    /// Non-canonical spellings are refused before routing even with the key, so no other check
    /// can disagree with the router about which route a path names.
    @Test(arguments: [
        "//v1/models", "/v1//models", "/v1/./models", "/v1/../v1/models", "/v1%2Fmodels",
        "/v1/%2e%2e/v1/models", "http://127.0.0.1//v1/models", "/v1/models%00", "/v1/models/..", "//",
    ])
    func nonCanonicalPathsAreRefusedEvenWithTheKey(target: String) async throws {
        let server = try TestServer(apiKey: "secret")
        try await server.test { (client: HTTPTestClient) async throws in
            let reply = try await RawHTTPClient(port: client.port)
                .send("GET", target, headers: [("Authorization", "Bearer secret")])
            #expect(reply.status == 400, "GET \(target) gave \(reply.status)")
            #expect((reply.json?["error"] as? [String: Any])?["type"] as? String == "invalid_request_error")
        }
    }
}
