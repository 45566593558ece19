import Foundation
import Hummingbird

/// Keeps other web pages from writing through a labeler's browser.
///
/// Without an API key the server trusts whoever reaches it, and any page the labeler has open
/// can send a "simple" cross-site POST (text/plain, form or multipart body, no CORS preflight).
/// So a request that changes state must
/// - carry a JSON body (`Content-Type: application/json`, else 415): a page can only send that
///   cross-site after a preflight, which this server never approves;
/// - if the browser says where it comes from, come from this server's own origin: `Origin` must
///   name the `Host` the request was sent to, and `Sec-Fetch-Site` must be `same-origin` or
///   `none` (typed by the user); else 403.
/// Clients that are not browsers (curl, SDKs, scripts) send neither header and are unaffected;
/// our own pages send JSON from the same origin.
struct CrossSiteWriteMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        guard ![.get, .head, .options].contains(request.method) else {
            return try await next(request, context)
        }
        if let site = request.headers[CrossSite.secFetchSite]?.lowercased(),
            site != "same-origin" && site != "none"
        {
            throw ServingError.forbidden(
                "Cross-site requests may not change anything here (Sec-Fetch-Site: \(site.prefix(40))).",
                code: "cross_site_request")
        }
        if let origin = request.headers[.origin],
            !CrossSite.isSameOrigin(origin, authority: request.head.authority)
        {
            throw ServingError.forbidden(
                "Requests from \(origin.prefix(100)) may not change anything here; only pages served by this server may.",
                code: "cross_site_request")
        }
        guard let type = request.headers[.contentType], CrossSite.isJSON(type) else {
            throw ServingError.unsupportedMediaType(request.headers[.contentType])
        }
        return try await next(request, context)
    }
}

/// The checks of `CrossSiteWriteMiddleware`, as plain functions.
enum CrossSite {
    static let secFetchSite = HTTPFields.Element.Name("Sec-Fetch-Site")!

    /// `application/json`, with or without parameters, in any case.
    static func isJSON(_ contentType: String) -> Bool {
        contentType.split(separator: ";", maxSplits: 1).first?.trimmingCharacters(in: .whitespaces)
            .lowercased()
            == "application/json"
    }

    /// Whether `origin` (`scheme://host[:port]`) names the authority the request was sent to.
    /// Ports are compared with the scheme's default filled in; `null` and other schemes never match.
    static func isSameOrigin(_ origin: String, authority: String?) -> Bool {
        guard let authority else { return false }
        let lower = origin.lowercased()
        let defaultPort: String
        let rest: Substring
        if lower.hasPrefix("http://") {
            (defaultPort, rest) = ("80", lower.dropFirst(7))
        } else if lower.hasPrefix("https://") {
            (defaultPort, rest) = ("443", lower.dropFirst(8))
        } else {
            return false
        }
        func split(_ hostPort: Substring) -> (host: String, port: String)? {
            let host = RequestTarget.hostName(ofAuthority: String(hostPort))
            let afterHost =
                hostPort.hasPrefix("[")
                ? hostPort.drop { $0 != "]" }.dropFirst() : hostPort.drop { $0 != ":" }
            if afterHost.isEmpty { return (host, defaultPort) }
            guard afterHost.hasPrefix(":"), afterHost.count > 1,
                afterHost.dropFirst().allSatisfy(\.isASCIIDigit)
            else {
                return nil
            }
            return (host, String(afterHost.dropFirst()))
        }
        guard !rest.contains("/"), let a = split(rest), let b = split(Substring(authority.lowercased()))
        else {
            return false
        }
        return a == b
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
