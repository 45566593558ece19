import Foundation
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
import Hummingbird
@testable import Serving

/// Runs a test server's application on a free loopback port for the duration of `body`, which
/// talks to it over real sockets with URLSession. (Hummingbird's own testing library would pull
/// an HTTP client and TLS stack into the build: about half of CI's compile time.)
extension TestServer {
    func test<T>(_ body: (HTTPTestClient) async throws -> T) async throws -> T {
        let port = try HTTPTestClient.freePort()
        let app = application(port: port)
        let server = Task { try await app.runService(gracefulShutdownSignals: []) }
        defer { server.cancel() }
        let client = HTTPTestClient(port: port)
        try await client.waitUntilServing()
        let result = try await body(client)
        server.cancel()
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

    func execute(uri: String, method: HTTPRequest.Method, headers: HTTPFields = [:], body: ByteBuffer? = nil,
                 _ check: (HTTPTestResponse) async throws -> Void) async throws {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(uri)")!)
        request.httpMethod = method.rawValue
        for field in headers { request.addValue(field.value, forHTTPHeaderField: field.name.rawName) }
        if let body { request.httpBody = Data(buffer: body) }
        let (data, response) = try await session.data(for: request)
        guard let http = response as? HTTPURLResponse else { throw URLError(.badServerResponse) }
        var fields = HTTPFields()
        for (name, value) in http.allHeaderFields {
            if let name = name as? String, let key = HTTPFields.Element.Name(name), let value = value as? String { fields[key] = value }
        }
        try await check(HTTPTestResponse(status: HTTPResponse.Status(code: http.statusCode), headers: fields,
                                         body: ByteBuffer(bytes: data)))
    }

    /// Polls `/health` until the server answers (it binds asynchronously after `runService`).
    func waitUntilServing() async throws {
        for _ in 0..<500 {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/health")!)
            request.timeoutInterval = 1
            if let (_, response) = try? await session.data(for: request), (response as? HTTPURLResponse)?.statusCode == 200 {
                return
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw URLError(.cannotConnectToHost)
    }

    /// A loopback port nobody is listening on (the kernel's choice for port 0).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw URLError(.cannotConnectToHost) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa -> Int32 in
                guard bind(fd, sa, length) == 0 else { return -1 }
                return getsockname(fd, sa, &length)
            }
        }
        guard bound == 0 else { throw URLError(.cannotConnectToHost) }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
