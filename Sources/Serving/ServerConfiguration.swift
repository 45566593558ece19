/// Everything `rlhf serve` can set, in one place.
public struct ServerConfiguration: Sendable {
    /// Loopback by default: nothing outside the machine reaches the server unless asked.
    public var host = "127.0.0.1"
    public var port = 8080
    /// When set, `/v1/…` and `/api/…` need `Authorization: Bearer <apiKey>`.
    public var apiKey: String?
    /// Largest request body accepted (bytes).
    public var maxBodyBytes = 1 << 20
    public var limits = OpenAIService.Limits()
    /// A connection is closed when it has sent nothing for this long while no response is being
    /// produced: half-sent requests and idle keep-alive connections do not pile up. Generation
    /// (streamed or not) is never cut off by it. nil: never.
    public var idleTimeout: Duration? = .seconds(30)
    /// Host names (without port) the server answers to in `Host`. nil: the loopback names when
    /// `host` is a loopback address (see `RequestTargetMiddleware`), any name otherwise.
    public var allowedHosts: Set<String>?

    /// The `Host` names actually enforced.
    var effectiveAllowedHosts: Set<String>? {
        if let allowedHosts { return Set(allowedHosts.map { $0.lowercased() }) }
        return RequestTarget.isLoopback(host) ? RequestTarget.loopbackHosts : nil
    }

    public init(host: String = "127.0.0.1", port: Int = 8080, apiKey: String? = nil, maxBodyBytes: Int = 1 << 20) {
        self.host = host
        self.port = port
        self.apiKey = apiKey
        self.maxBodyBytes = maxBodyBytes
    }
}
