import Foundation
import Testing
@testable import Serving

/// Seeded fuzzing of the JSON APIs: valid request bodies with one or two fields replaced by wrong
/// types, extreme numbers, long or odd strings, deep nesting, or removed. Every answer must be a
/// 2xx, or a 4xx with OpenAI's error object; never a 5xx or a dropped connection, and the server
/// must still answer afterwards.
@Suite struct APIFuzzTests {
    /// A JSON value written out by hand, so numbers JSONSerialization cannot produce (1e400,
    /// 2^64, -0) reach the server as text.
    indirect enum Value {
        case raw(String)
        case string(String)
        case array([Value])
        case object([(String, Value)])

        var text: String {
            switch self {
            case .raw(let text): text
            case .string(let s):
                String(
                    decoding: try! JSONSerialization.data(withJSONObject: s, options: .fragmentsAllowed),
                    as: UTF8.self)
            case .array(let values): "[" + values.map(\.text).joined(separator: ",") + "]"
            case .object(let fields):
                "{" + fields.map { Value.string($0.0).text + ":" + $0.1.text }.joined(separator: ",") + "}"
            }
        }
    }

    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func pick<T>(_ values: [T]) -> T { values[below(values.count)] }
    }

    static let numbers = [
        "0", "-0", "1", "-1", "2", "8", "9", "17", "1.5", "-2.5", "1e-400", "1e400", "-1e400",
        "1e308", "-1e308", "4.9e-324", "9223372036854775807", "9223372036854775790", "-9223372036854775808",
        "9223372036854775808", "18446744073709551616", "2147483648", "-2147483649",
        "123456789012345678901234567890", "0.0000001", "1E+2", "257", "256", "255",
    ]

    /// The numbers most likely to break arithmetic, drawn half of the time.
    static let extremes = ["9223372036854775807", "-9223372036854775808", "1e400", "-1", "0"]

    static func number(_ g: inout Generator) -> String {
        g.below(2) == 0 ? g.pick(extremes) : g.pick(numbers)
    }

    static func weird(_ g: inout Generator) -> Value {
        switch g.below(11) {
        case 0, 1: return .raw(number(&g))
        case 2: return .raw(g.pick(["true", "false", "null"]))
        case 3:
            return .string(
                g.pick([
                    "", " ", "\u{0}", "\u{FFFD}", "ü🦉\u{202E}", "\\", "\"", "user", "assistant",
                    "tiny", "../../etc/passwd", "%2F", "\r\n\r\n",
                ]))
        case 4:
            return .string(String(repeating: g.pick(["a", "é", "🦉", " "]), count: g.pick([1000, 20_000])))
        case 5: return .array([])
        case 6: return .object([])
        case 7: return .array((0..<g.below(12)).map { _ in .raw(g.pick(numbers)) })
        case 8: return .array((0..<g.below(6)).map { _ in .string(g.pick(["a", "", "b", "a"])) })
        case 9:
            // Deep nesting, sometimes past any parser's depth limit.
            let depth = g.pick([10, 100, 600, 5000])
            return .raw(nested(depth, &g))
        default: return .object([("type", .string("text")), ("text", .raw(g.pick(numbers)))])
        }
    }

    static func nested(_ depth: Int, _ g: inout Generator) -> String {
        g.below(2) == 0
            ? String(repeating: "[", count: depth) + "1" + String(repeating: "]", count: depth)
            : String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth)
    }

    static let chat: [(String, Value)] = [
        ("model", .string("tiny")),
        (
            "messages",
            .array([
                .object([("role", .string("system")), ("content", .string("be brief"))]),
                .object([("role", .string("user")), ("content", .string("hi"))]),
            ])
        ),
        ("temperature", .raw("0.5")), ("top_p", .raw("0.9")), ("top_k", .raw("5")), ("n", .raw("2")),
        ("max_tokens", .raw("8")), ("stop", .array([.string("x")])), ("seed", .raw("7")),
        ("stream", .raw("false")),
        ("stream_options", .object([("include_usage", .raw("true"))])), ("logprobs", .raw("false")),
        ("presence_penalty", .raw("0")), ("frequency_penalty", .raw("0")), ("user", .string("u")),
    ]
    static let completion: [(String, Value)] = [
        ("model", .string("tiny")), ("prompt", .array([.string("hi"), .string("yo")])),
        ("temperature", .raw("1")),
        ("max_tokens", .raw("6")), ("n", .raw("1")), ("best_of", .raw("1")), ("stop", .string("\n")),
        ("seed", .raw("1")), ("stream", .raw("true")), ("echo", .raw("false")), ("suffix", .string("")),
    ]
    static let judgement: [(String, Value)] = [
        ("prompt", .string("p")), ("responses", .array([.string("a"), .string("b"), .string("c")])),
        ("ranking", .array([.raw("2"), .raw("0"), .raw("1")])), ("labeler", .string("ann")),
        ("demonstration", .string("d")), ("source", .string("candidates:0")),
    ]
    static let sample: [(String, Value)] = [("prompt", .string("bees")), ("count", .raw("2"))]

    /// One mutated body: some fields replaced, removed, or the whole body replaced, sometimes
    /// inside the nested message/response lists.
    static func mutate(_ fields: [(String, Value)], _ g: inout Generator) -> String {
        var fields = fields
        switch g.below(12) {
        case 0: return weird(&g).text
        case 1: return String(weird(&g).text.prefix(g.below(40)))  // truncated
        default: break
        }
        for _ in 0..<(g.below(3) == 0 ? 2 : 1) {
            let i = g.below(fields.count)
            switch g.below(8) {
            case 0: fields.remove(at: i)
            case 6, 7:
                // A numeric field gets another number: where range checks matter most.
                let numeric = fields.indices.filter {
                    if case .raw(let text) = fields[$0].1 {
                        return text.first?.isNumber == true
                    } else {
                        return false
                    }
                }
                fields[numeric.isEmpty ? i : g.pick(numeric)].1 = .raw(number(&g))
            case 1: fields.append((g.pick(["extra", "max_tokens", "n", "__proto__"]), weird(&g)))
            case 2:
                // Reach into a list: replace one element or one field of one message.
                if case .array(var items) = fields[i].1, !items.isEmpty {
                    let j = g.below(items.count)
                    if case .object(var inner) = items[j], !inner.isEmpty {
                        inner[g.below(inner.count)].1 = weird(&g)
                        items[j] = .object(inner)
                    } else {
                        items[j] = weird(&g)
                    }
                    fields[i].1 = .array(items)
                } else {
                    fields[i].1 = weird(&g)
                }
            default: fields[i].1 = weird(&g)
            }
            if fields.isEmpty { break }
        }
        return Value.object(fields).text
    }

    @Test func mutatedBodiesNeverGetA5xxOrADroppedConnection() async throws {
        let server = try TestServer(
            maxBodyBytes: 1 << 16, candidates: [.init(prompt: "p", responses: ["a", "b"])])
        var g = Generator(state: 0x5EED)
        let endpoints: [(String, [(String, Value)])] = [
            ("/v1/chat/completions", Self.chat), ("/v1/completions", Self.completion),
            ("/api/label/judgements", Self.judgement), ("/api/label/sample", Self.sample),
        ]
        var statuses: [Int: Int] = [:]
        try await server.test { (client: HTTPTestClient) async throws in
            let raw = RawHTTPClient(port: client.port)
            for case_ in 0..<800 {
                let (path, fields) = endpoints[case_ % endpoints.count]
                let body = Self.mutate(fields, &g)
                let reply = try await raw.send(
                    "POST", path, headers: [("Content-Type", "application/json")],
                    body: Data(body.utf8))
                statuses[reply.status, default: 0] += 1
                let error = reply.json?["error"] as? [String: Any]
                let ok =
                    (200..<300).contains(reply.status)
                    || ((400..<500).contains(reply.status) && error?["message"] is String
                        && error?["type"] is String)
                let answer = String(decoding: reply.body.prefix(300), as: UTF8.self)
                #expect(ok, "case \(case_) \(path): \(reply.status) \(answer) for \(body.prefix(300))")
            }
            for labeler in ["", "🦉", String(repeating: "x", count: 5000), "%00", "a&labeler=b"] {
                let query = labeler.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
                let reply = try await raw.send("GET", "/api/label/next?labeler=\(query)")
                #expect(
                    reply.status == 200 || (400..<500).contains(reply.status), "labeler \(labeler.prefix(20))"
                )
            }
            #expect(try await raw.send("GET", "/health").status == 200)
        }
        // The mutations must reach both outcomes, or the generator is not exercising the handlers.
        #expect(statuses.filter { (200..<300).contains($0.key) }.values.reduce(0, +) > 20)
        #expect(statuses.filter { (400..<500).contains($0.key) }.values.reduce(0, +) > 100)
        if ProcessInfo.processInfo.environment["RLHF_PRINT_STATUSES"] != nil {
            print("fuzz statuses: \(statuses)")
        }
    }
}
