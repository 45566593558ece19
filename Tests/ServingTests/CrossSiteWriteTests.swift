import Foundation
import Testing
@testable import Serving

/// Without `--api-key` the server trusts whoever can reach it, so another web page open in the
/// labeler's browser must not be able to write through it: state-changing requests need a JSON
/// body (a page can only send text/plain, form or multipart without a CORS preflight), must come
/// from our own origin if the browser says where they come from, and a server bound to loopback
/// answers only to loopback host names (DNS rebinding).
@Suite struct CrossSiteWriteTests {
    static let judgement = Data(#"{"prompt":"p","responses":["a","b"],"ranking":[1,0],"labeler":"ann"}"#.utf8)
    static let chat = Data(
        #"{"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":2}"#.utf8)

    @Test func crossSiteAndNonJSONWritesAreRefused() async throws {
        let server = try TestServer()
        try await server.test { (client: HTTPTestClient) async throws in
            let raw = RawHTTPClient(port: client.port)
            let own = "http://127.0.0.1:\(client.port)"
            let refused: [([(String, String)], Int)] = [
                ([("Content-Type", "text/plain"), ("Origin", "http://evil.example")], 403),
                ([("Content-Type", "text/plain")], 415),
                ([("Content-Type", "text/plain;charset=UTF-8")], 415),
                ([("Content-Type", "application/x-www-form-urlencoded")], 415),
                ([("Content-Type", "multipart/form-data; boundary=x")], 415),
                ([("Content-Type", "application/jsonx")], 415),
                ([], 415),
                ([("Content-Type", "application/json"), ("Origin", "http://evil.example")], 403),
                ([("Content-Type", "application/json"), ("Origin", "null")], 403),
                (
                    [
                        ("Content-Type", "application/json"),
                        ("Origin", "http://127.0.0.1:\(client.port + 1)"),
                    ], 403
                ),
                (
                    [
                        ("Content-Type", "application/json"),
                        ("Origin", "http://127.0.0.1:\(client.port).evil.example"),
                    ], 403
                ),
                ([("Content-Type", "application/json"), ("Sec-Fetch-Site", "cross-site")], 403),
                ([("Content-Type", "application/json"), ("Sec-Fetch-Site", "same-site")], 403),
                (
                    [
                        ("Content-Type", "application/json"), ("Origin", own),
                        ("Sec-Fetch-Site", "cross-site"),
                    ], 403
                ),
                (
                    [
                        ("Content-Type", "application/json"), ("Host", "evil.example:\(client.port)"),
                        ("Origin", "http://evil.example:\(client.port)"),
                    ], 403
                ),
            ]
            for path in ["/api/label/judgements", "/v1/chat/completions"] {
                let body = path.contains("judgements") ? Self.judgement : Self.chat
                for (headers, status) in refused {
                    let reply = try await raw.send("POST", path, headers: headers, body: body)
                    #expect(reply.status == status, "POST \(path) with \(headers) gave \(reply.status)")
                    #expect((reply.json?["error"] as? [String: Any])?["message"] is String)
                }
            }
            #expect(try await server.store.counts().judgements == 0)

            // Our own pages (same origin, JSON), scripts (no Origin) and curl-like clients work.
            let accepted: [[(String, String)]] = [
                [("Content-Type", "application/json"), ("Origin", own), ("Sec-Fetch-Site", "same-origin")],
                [("Content-Type", "application/json; charset=utf-8")],
                [("Content-Type", "Application/JSON")],
                [("Content-Type", "application/json"), ("Sec-Fetch-Site", "none")],
                [
                    ("Content-Type", "application/json"), ("Host", "localhost:\(client.port)"),
                    ("Origin", "http://localhost:\(client.port)"),
                ],
            ]
            for headers in accepted {
                let reply = try await raw.send(
                    "POST", "/api/label/judgements", headers: headers, body: Self.judgement)
                #expect(reply.status == 200, "POST with \(headers) gave \(reply.status)")
            }
            #expect(try await server.store.counts().judgements == accepted.count)
        }
    }

    /// A page on a rebound name must not read the API either.
    @Test func foreignHostNamesAreRefusedOnALoopbackServer() async throws {
        let server = try TestServer()
        try await server.test { (client: HTTPTestClient) async throws in
            let raw = RawHTTPClient(port: client.port)
            #expect(
                try await raw.send("GET", "/api/label/stats", headers: [("Host", "evil.example")]).status
                    == 403)
            #expect(
                try await raw.send("GET", "/v1/models", headers: [("Host", "evil.example:\(client.port)")])
                    .status
                    == 403)
            for host in [
                "127.0.0.1:\(client.port)", "localhost:\(client.port)", "[::1]:\(client.port)", "localhost",
            ] {
                #expect(
                    try await raw.send("GET", "/v1/models", headers: [("Host", host)]).status == 200,
                    "\(host)")
            }
        }
    }

    @Test func allowedHostNamesAddToTheLoopbackNames() {
        var configuration = ServerConfiguration(host: "127.0.0.1")
        #expect(configuration.effectiveAllowedHosts == ["localhost", "127.0.0.1", "::1"])
        configuration.allowedHosts = ["Proxy.Example"]
        #expect(configuration.effectiveAllowedHosts == ["proxy.example", "localhost", "127.0.0.1", "::1"])
        configuration.host = "0.0.0.0"
        #expect(configuration.effectiveAllowedHosts == ["proxy.example"])
        configuration.allowedHosts = nil
        #expect(configuration.effectiveAllowedHosts == nil)
    }

    /// The pages send JSON with `fetch` from the same origin: check they still say so.
    @Test func pagesSendJSON() {
        for page in [Pages.chat, Pages.label] {
            #expect(page.contains(#""Content-Type": "application/json""#))
            #expect(!page.contains("mode: \"no-cors\""))
        }
    }
}
