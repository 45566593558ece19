import Foundation
import Hummingbird

/// Turns every error that escapes a handler into OpenAI's error JSON, so clients always get a
/// parseable body and a 4xx/5xx status, never a dropped connection.
struct ErrorJSONMiddleware<Context: RequestContext>: RouterMiddleware {
    let maxBodyBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as ServingError {
            return ServingRouter.response(OpenAIService.error(error))
        } catch let error as any HTTPResponseError {
            let serving: ServingError =
                switch error.status.code {
                case 404: .notFound(request.uri.path)
                case 413: .bodyTooLarge(limit: maxBodyBytes)
                case 405:
                    ServingError(
                        status: 405,
                        message: "Method \(request.method) is not allowed on \(request.uri.path).")
                default:
                    ServingError(
                        status: error.status.code, message: error.status.reasonPhrase,
                        type: error.status.code >= 500 ? "server_error" : "invalid_request_error")
                }
            return ServingRouter.response(OpenAIService.error(serving))
        } catch {
            return ServingRouter.response(OpenAIService.error(.server("internal error: \(error)")))
        }
    }
}

/// With an API key configured, requests need `Authorization: Bearer <key>`. Attached by
/// `ServingRouter` to the route groups it protects (`/v1`, `/api`), so it runs for exactly the
/// routes the router matched there, whatever the spelling of the path; the HTML pages and
/// `/health` stay open (the pages ask for the key and send it themselves).
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let apiKey: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
            Self.constantTimeEqual(Array(header.utf8.dropFirst(7)), Array(apiKey.utf8))
        else {
            throw ServingError.invalidAPIKey
        }
        return try await next(request, context)
    }

    /// Comparison whose time does not depend on where the first difference is.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in a.indices { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}
