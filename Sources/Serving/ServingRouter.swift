import Foundation
import Hummingbird
import NIOCore

/// Wires the OpenAI endpoints, the pages and the labelling API into a Hummingbird router.
/// All request logic lives in `OpenAIService` and `LabelService`; this file only moves bytes.
public enum ServingRouter {
    public static func make(service: OpenAIService, labels: LabelService?, configuration: ServerConfiguration)
        -> Router<BasicRequestContext>
    {
        let router = Router(context: BasicRequestContext.self)
        // Router-level middleware wraps every route (and the not-found responder) when the route
        // is added, so these come first.
        router.add(middleware: ErrorJSONMiddleware(maxBodyBytes: configuration.maxBodyBytes))
        router.add(middleware: RequestTargetMiddleware(allowedHosts: configuration.effectiveAllowedHosts))
        router.add(middleware: CrossSiteWriteMiddleware())
        let limit = configuration.maxBodyBytes

        router.get("/health") { _, _ in response(await service.health()) }
        router.get("/") { _, _ in html(Pages.chat) }
        router.get("/label") { _, _ in html(Pages.label) }

        // The API key guards the groups, so it applies to whatever route the router matched in
        // them rather than to a reading of the path text.
        let v1 = router.group("v1")
        let api = router.group("api/label")
        if let key = configuration.apiKey {
            v1.add(middleware: APIKeyMiddleware(apiKey: key))
            api.add(middleware: APIKeyMiddleware(apiKey: key))
        }
        v1.get("models") { _, _ in response(service.models()) }
        v1.get("models/{id}") { _, context in
            response(service.model(id: context.parameters.get("id") ?? ""))
        }
        v1.post("chat/completions") { request, _ in
            try await generation(request, limit: limit) { await service.chatCompletions(body: $0) }
        }
        v1.post("completions") { request, _ in
            try await generation(request, limit: limit) { await service.completions(body: $0) }
        }
        if let labels {
            api.get("next") { request, _ in
                response(await labels.nextTask(labeler: request.uri.queryParameters.get("labeler") ?? ""))
            }
            api.post("sample") { request, _ in
                let body = try await request.body.collect(upTo: limit)
                return response(await labels.sample(body: Data(buffer: body)))
            }
            api.post("judgements") { request, _ in
                let body = try await request.body.collect(upTo: limit)
                return response(await labels.save(body: Data(buffer: body)))
            }
            api.get("stats") { _, _ in response(await labels.stats()) }
        }
        return router
    }

    /// The application `rlhf serve` runs.
    public static func application(
        service: OpenAIService, labels: LabelService?, configuration: ServerConfiguration,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    )
        -> some ApplicationProtocol
    {
        Application(
            router: make(service: service, labels: labels, configuration: configuration),
            // The idle timeout also bounds how long a request's head may take to arrive: the
            // connection counts as idle until a whole head has been parsed.
            server: .http1(
                configuration: .init(idleTimeout: configuration.idleTimeout.map { TimeAmount($0) })),
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port),
                serverName: "swift-rlhf"),
            onServerRunning: { channel in
                await onServerRunning(channel.localAddress?.port ?? configuration.port)
            })
    }

    /// A generation endpoint. A non-streamed answer is generated inside the handler, so the
    /// handler runs cancelled when the client closes its side of the connection: the engine's
    /// stream sees its consumer go away and stops the job's rows, freeing their slots. (Streamed
    /// answers stop when writing an event fails.) Hummingbird then closes the connection after
    /// each such answer, so it says so in `Connection: close`. The body is read here, before any
    /// middleware could have replaced it (which `consumeWithCancellationOnInboundClose` needs).
    static func generation(
        _ request: Request, limit: Int, _ operation: @Sendable (Data) async -> OpenAIService.Output
    ) async throws -> Response {
        var answer = try await request.body.consumeWithCancellationOnInboundClose { body in
            let bytes = try await body.collect(upTo: limit)
            return response(await operation(Data(buffer: bytes)))
        }
        answer.headers[.connection] = "close"
        return answer
    }

    static func response(_ output: OpenAIService.Output) -> Response {
        switch output {
        case .json(let status, let body):
            return Response(
                status: .init(code: status), headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: body)))
        case .events(let stream):
            return Response(
                status: .ok,
                headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                body: ResponseBody { writer in
                    try await stream.write { line in try await writer.write(ByteBuffer(string: line)) }
                    try await writer.finish(nil)
                })
        }
    }

    static func html(_ page: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: page)))
    }
}
