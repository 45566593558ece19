import Foundation
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
import Hummingbird
import Logging
import ServiceLifecycle
@testable import Serving

/// Runs a test server's application on an ephemeral loopback port for the duration of `body`,
/// which talks to it over real sockets with URLSession. (Hummingbird's own testing library would
/// pull an HTTP client and TLS stack into the build: about half of CI's compile time.)
extension TestServer {
    func test<T>(_ body: (HTTPTestClient) async throws -> T) async throws -> T {
        let (ports, announce) = AsyncStream<Int>.makeStream()
        let app = application { port in announce.yield(port) }
        // A service group of its own, so the server can be shut down gracefully (cancelling it
        // instead makes HummingbirdCore log an error for the interrupted accept loop).
        let group = ServiceGroup(
            services: [app], gracefulShutdownSignals: [], logger: Logger(label: "serving-tests"))
        let server = Task { try await group.run() }
        defer { server.cancel() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw URLError(.cannotConnectToHost) }
        let result = try await body(HTTPTestClient(port: port))
        await group.triggerGracefulShutdown()
        _ = await server.result
        return result
    }
}

struct HTTPTestResponse {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var body: ByteBuffer
}

struct HTTPTestClient {
    let port: Int
    let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 60
        return URLSession(configuration: configuration)
    }()

    func execute(
        uri: String, method: HTTPRequest.Method, headers: HTTPFields = [:], body: ByteBuffer? = nil,
        _ check: (HTTPTestResponse) async throws -> Void
    ) async throws {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(uri)")!)
        request.httpMethod = method.rawValue
        // One connection per request: no idle keep-alive channel is left when the server stops.
        request.addValue("close", forHTTPHeaderField: "Connection")
        for field in headers { request.addValue(field.value, forHTTPHeaderField: field.name.rawName) }
        if let body { request.httpBody = Data(buffer: body) }
        let (data, response) = try await session.data(for: request)
        guard let http = response as? HTTPURLResponse else { throw URLError(.badServerResponse) }
        var fields = HTTPFields()
        for (name, value) in http.allHeaderFields {
            if let name = name as? String, let key = HTTPFields.Element.Name(name),
                let value = value as? String
            {
                fields[key] = value
            }
        }
        try await check(
            HTTPTestResponse(
                status: HTTPResponse.Status(code: http.statusCode), headers: fields,
                body: ByteBuffer(bytes: data)))
    }
}
