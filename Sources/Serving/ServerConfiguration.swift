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
    /// Host names (without port) the server answers to in `Host`, besides the loopback names a
    /// server bound to loopback always answers to (see `RequestTargetMiddleware`). nil: no others,
    /// and any name at all when not bound to loopback.
    public var allowedHosts: Set<String>?

    /// The `Host` names enforced; nil when any is accepted.
    var effectiveAllowedHosts: Set<String>? {
        let loopback = RequestTarget.isLoopback(host) ? RequestTarget.loopbackHosts : nil
        guard let allowedHosts else { return loopback }
        return Set(allowedHosts.map { $0.lowercased() }).union(loopback ?? [])
    }

    public init(
        host: String = "127.0.0.1", port: Int = 8080, apiKey: String? = nil, maxBodyBytes: Int = 1 << 20
    ) {
        self.host = host
        self.port = port
        self.apiKey = apiKey
        self.maxBodyBytes = maxBodyBytes
    }
}
