import Foundation
import Hummingbird

/// Refuses, before any handler runs, request targets the router would match under another
/// spelling, and `Host` names a loopback server does not answer to.
///
/// The router splits the path on `/` and drops empty segments, so `//v1/models` reaches the
/// `/v1/models` handler; anything else that reasons about the path text (logs, a proxy's rules,
/// a future check) would see a different path from the one served. So only canonical paths are
/// accepted: absolute, no empty segment except a trailing slash, no `.` or `..` segment, no
/// percent-encoded `/`, `\`, `.` or NUL, no backslash or control characters. (An absolute-form
/// target, `GET http://host/path`, arrives here already reduced to its path.)
///
/// A server bound to loopback also refuses requests whose `Host` is not a loopback name: a web
/// page whose domain is re-pointed at 127.0.0.1 (DNS rebinding) would otherwise be same-origin
/// with the server and could read and write through it.
struct RequestTargetMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Host names (lowercase, without port) accepted in `Host`; nil accepts any.
    let allowedHosts: Set<String>?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        let target = request.head.path ?? ""
        if let problem = RequestTarget.problem(withTarget: target) {
            throw ServingError.invalidRequest(
                "Invalid request path `\(target.prefix(200))`: \(problem).",
                code: "invalid_path")
        }
        if request.headers[values: RequestTarget.hostField].count > 0 {
            throw ServingError.invalidRequest("More than one `Host` header.", code: "invalid_host")
        }
        if let allowedHosts, let authority = request.head.authority {
            let host = RequestTarget.hostName(ofAuthority: authority)
            guard allowedHosts.contains(host) else {
                throw ServingError.forbidden(
                    "This server does not answer to the host name `\(host.prefix(100))` (allowed: "
                        + "\(allowedHosts.sorted().joined(separator: ", "))).", code: "host_not_allowed")
            }
        }
        return try await next(request, context)
    }
}

/// The checks of `RequestTargetMiddleware`, as plain functions.
enum RequestTarget {
    /// A second `Host` (the first one becomes the request's authority).
    static let hostField = HTTPFields.Element.Name("Host")!

    /// Names a loopback server answers to.
    static let loopbackHosts: Set<String> = ["localhost", "127.0.0.1", "::1"]

    /// Whether `host` (as given to `--host`) only listens on loopback.
    static func isLoopback(_ host: String) -> Bool {
        let name = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return loopbackHosts.contains(name) || name.hasPrefix("127.")
    }

    /// `host[:port]` or `[v6][:port]` → the lowercase host name without brackets or port.
    static func hostName(ofAuthority authority: String) -> String {
        let lower = authority.lowercased()
        if lower.hasPrefix("["), let close = lower.firstIndex(of: "]") {
            return String(lower[lower.index(after: lower.startIndex)..<close])
        }
        return String(lower.prefix { $0 != ":" })
    }

    /// Why `target` is not a canonical path, or nil if it is.
    static func problem(withTarget target: String) -> String? {
        guard target.hasPrefix("/") else { return "the path must start with `/`" }
        let path = target.prefix { $0 != "?" }
        for scalar in path.unicodeScalars where scalar.value <= 0x20 || scalar.value >= 0x7F {
            return "it contains the character U+\(String(scalar.value, radix: 16, uppercase: true))"
        }
        if path.contains("\\") { return "it contains a backslash" }
        if path.contains("#") { return "it contains `#`" }
        let lower = path.lowercased()
        for encoded in ["%2f", "%5c", "%2e", "%00"] where lower.contains(encoded) {
            return "it contains the percent-encoded character `\(encoded.uppercased())`"
        }
        let segments = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        for (i, segment) in segments.enumerated() {
            if segment == "." || segment == ".." { return "it contains a `\(segment)` segment" }
            if segment.isEmpty && i != segments.count - 1 { return "it contains an empty segment (`//`)" }
        }
        return nil
    }
}
