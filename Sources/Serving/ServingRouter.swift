import Foundation
import Hummingbird

/// Wires the OpenAI endpoints, the pages and the labelling API into a Hummingbird router.
/// All request logic lives in `OpenAIService` and `LabelService`; this file only moves bytes.
public enum ServingRouter {
    public static func make(service: OpenAIService, labels: LabelService?, configuration: ServerConfiguration)
        -> Router<BasicRequestContext>
    {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: ErrorJSONMiddleware(maxBodyBytes: configuration.maxBodyBytes))
        if let key = configuration.apiKey {
            router.add(middleware: APIKeyMiddleware(apiKey: key))
        }
        let limit = configuration.maxBodyBytes

        router.get("/health") { _, _ in response(await service.health()) }
        router.get("/v1/models") { _, _ in response(service.models()) }
        router.get("/v1/models/{id}") { _, context in
            response(service.model(id: context.parameters.get("id") ?? ""))
        }
        router.post("/v1/chat/completions") { request, _ in
            let body = try await request.body.collect(upTo: limit)
            return response(await service.chatCompletions(body: Data(buffer: body)))
        }
        router.post("/v1/completions") { request, _ in
            let body = try await request.body.collect(upTo: limit)
            return response(await service.completions(body: Data(buffer: body)))
        }

        router.get("/") { _, _ in html(Pages.chat) }
        router.get("/label") { _, _ in html(Pages.label) }
        if let labels {
            router.get("/api/label/next") { request, _ in
                response(await labels.nextTask(labeler: request.uri.queryParameters.get("labeler") ?? ""))
            }
            router.post("/api/label/sample") { request, _ in
                let body = try await request.body.collect(upTo: limit)
                return response(await labels.sample(body: Data(buffer: body)))
            }
            router.post("/api/label/judgements") { request, _ in
                let body = try await request.body.collect(upTo: limit)
                return response(await labels.save(body: Data(buffer: body)))
            }
            router.get("/api/label/stats") { _, _ in response(await labels.stats()) }
        }
        return router
    }

    /// The application `rlhf serve` runs.
    public static func application(service: OpenAIService, labels: LabelService?, configuration: ServerConfiguration,
                                   onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in })
        -> some ApplicationProtocol
    {
        Application(
            router: make(service: service, labels: labels, configuration: configuration),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port),
                                 serverName: "swift-rlhf"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) })
    }

    static func response(_ output: OpenAIService.Output) -> Response {
        switch output {
        case .json(let status, let body):
            return Response(status: .init(code: status), headers: [.contentType: "application/json"],
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
        Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: page)))
    }
}
