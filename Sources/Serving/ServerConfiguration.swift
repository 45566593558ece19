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

    public init(host: String = "127.0.0.1", port: Int = 8080, apiKey: String? = nil, maxBodyBytes: Int = 1 << 20) {
        self.host = host
        self.port = port
        self.apiKey = apiKey
        self.maxBodyBytes = maxBodyBytes
    }
}
