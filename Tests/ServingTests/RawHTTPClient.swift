import Foundation
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A bare TCP client for requests URLSession will not send: request lines such as `GET //v1/models`
/// or `GET http://host/v1/models`, forged `Origin`/`Host` headers, or half a request.
///
/// The socket calls block, so they run on a thread of their own, never on the cooperative pool
/// the server's handlers need (the test machine has two cores).
struct RawHTTPClient {
    let port: Int

    struct Reply {
        /// 0 when the server closed the connection without answering.
        var status: Int
        var headers: [(name: String, value: String)]
        var body: Data

        var json: [String: Any]? { try? JSONSerialization.jsonObject(with: body) as? [String: Any] }
        var errorParam: String? { (json?["error"] as? [String: Any])?["param"] as? String }
    }

    enum Failure: Error, CustomStringConvertible {
        case socket(String)
        var description: String {
            switch self {
            case .socket(let m): m
            }
        }
    }

    /// Sends `method target HTTP/1.1` with `headers` (a `Host` is added unless given) and `body`,
    /// asking the server to close the connection, and reads the whole reply.
    func send(
        _ method: String, _ target: String, headers: [(String, String)] = [], body: Data? = nil,
        timeout: Double = 30
    ) async throws -> Reply {
        var head = "\(method) \(target) HTTP/1.1\r\n"
        if !headers.contains(where: { $0.0.lowercased() == "host" }) { head += "Host: 127.0.0.1:\(port)\r\n" }
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let body { head += "Content-Length: \(body.count)\r\n" }
        head += "Connection: close\r\n\r\n"
        let bytes = Data(head.utf8) + (body ?? Data())
        let raw = try await exchange(bytes, timeout: timeout).data
        return Self.parse(raw)
    }

    /// Writes `bytes` (maybe half a request) and reads until the server closes the connection or
    /// `timeout` passes; returns what was read, whether the server closed it, and how long after
    /// the write that was (timed on the socket's own thread, so a busy test process does not
    /// add to it).
    func exchange(_ bytes: Data, timeout: Double) async throws -> (
        data: Data, closedByServer: Bool, elapsed: Duration
    ) {
        let port = self.port
        return try await withCheckedThrowingContinuation { continuation in
            // A thread of its own: on Linux the global Dispatch queues are the cooperative pool.
            Thread {
                continuation.resume(
                    with: Result { try Self.blockingExchange(bytes, port: port, timeout: timeout) })
            }.start()
        }
    }

    private static func blockingExchange(_ bytes: Data, port: Int, timeout: Double) throws
        -> (data: Data, closedByServer: Bool, elapsed: Duration)
    {
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw Failure.socket("socket() failed: \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw Failure.socket("connect() failed: \(errno)") }
        var tv = timeval(tv_sec: .init(timeout), tv_usec: .init((timeout - timeout.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        #if canImport(Glibc)
            let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        #else
            let sent = bytes.withUnsafeBytes { Darwin.send(fd, $0.baseAddress, $0.count, 0) }
        #endif
        guard sent == bytes.count else {
            throw Failure.socket("send() wrote \(sent) of \(bytes.count) bytes")
        }
        let start = ContinuousClock.now
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 {
                data.append(contentsOf: buffer[0..<n])
            } else if n == 0 {
                return (data, true, ContinuousClock.now - start)
            } else if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR {
                continue
            } else {
                // A reset counts as the server closing the connection.
                return (data, true, ContinuousClock.now - start)
            }
        }
        return (data, false, ContinuousClock.now - start)
    }

    /// Status, headers and (de-chunked) body of a complete HTTP/1.1 reply.
    static func parse(_ raw: Data) -> Reply {
        let separator = Data("\r\n\r\n".utf8)
        guard let end = raw.range(of: separator) else { return Reply(status: 0, headers: [], body: raw) }
        let head = String(decoding: raw[raw.startIndex..<end.lowerBound], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        let status = statusLine.count > 1 ? Int(statusLine[1]) ?? 0 : 0
        let headers = lines.compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (
                String(line[..<colon]).lowercased(),
                line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            )
        }
        var body = Data(raw[end.upperBound...])
        if headers.contains(where: { $0.name == "transfer-encoding" && $0.value.lowercased() == "chunked" }) {
            body = dechunk(body)
        }
        return Reply(status: status, headers: headers, body: body)
    }

    private static func dechunk(_ data: Data) -> Data {
        var out = Data()
        var rest = data[...]
        while let lineEnd = rest.range(of: Data("\r\n".utf8)) {
            let sizeText = String(decoding: rest[rest.startIndex..<lineEnd.lowerBound], as: UTF8.self)
            guard let size = Int(sizeText.split(separator: ";").first ?? "", radix: 16), size > 0,
                rest.distance(from: lineEnd.upperBound, to: rest.endIndex) >= size
            else { break }
            let start = lineEnd.upperBound
            let stop = rest.index(start, offsetBy: size)
            out.append(rest[start..<stop])
            rest = rest[stop...].dropFirst(2)
        }
        return out
    }
}
