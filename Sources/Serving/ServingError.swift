/// An error a client caused (or a server failure), in OpenAI's shape:
/// `{"error": {"message", "type", "param", "code"}}` with an HTTP status.
public struct ServingError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var message: String
    public var type: String
    public var param: String?
    public var code: String?

    public init(
        status: Int, message: String, type: String = "invalid_request_error", param: String? = nil,
        code: String? = nil
    ) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
    }

    public var description: String { message }

    public static func invalidRequest(_ message: String, param: String? = nil, code: String? = nil)
        -> ServingError
    {
        ServingError(status: 400, message: message, param: param, code: code)
    }

    public static func contextLengthExceeded(promptTokens: Int, maxTokens: Int, contextLength: Int)
        -> ServingError
    {
        // `maxTokens` comes from the request and may be near Int.max: the sum must not trap.
        let (total, overflow) = promptTokens.addingReportingOverflow(maxTokens)
        return ServingError(
            status: 400,
            message: "This model's maximum context length is \(contextLength) tokens. However, you requested "
                + "\(overflow ? "\(promptTokens) + \(maxTokens)" : "\(total)") tokens "
                + "(\(promptTokens) in the prompt, \(maxTokens) for the completion). "
                + "Please reduce the length of the prompt or of max_tokens.",
            param: "messages", code: "context_length_exceeded")
    }

    public static func unknownModel(_ model: String) -> ServingError {
        ServingError(
            status: 404, message: "The model `\(model)` does not exist or you do not have access to it.",
            param: "model", code: "model_not_found")
    }

    public static let invalidAPIKey = ServingError(
        status: 401, message: "Incorrect API key provided. Send it as `Authorization: Bearer <key>`.",
        code: "invalid_api_key")

    public static func bodyTooLarge(limit: Int) -> ServingError {
        ServingError(
            status: 413, message: "The request body is larger than the limit of \(limit) bytes.",
            code: "request_too_large")
    }

    public static func forbidden(_ message: String, code: String? = nil) -> ServingError {
        ServingError(status: 403, message: message, code: code)
    }

    public static func unsupportedMediaType(_ contentType: String?) -> ServingError {
        ServingError(
            status: 415,
            message: "Request bodies must be JSON, sent with `Content-Type: application/json` (got "
                + "\(contentType.map { "`\($0.prefix(100))`" } ?? "none")).",
            code: "unsupported_media_type")
    }

    public static func notFound(_ path: String) -> ServingError {
        ServingError(status: 404, message: "Unknown path: \(path)", code: "not_found")
    }

    public static func server(_ message: String) -> ServingError {
        ServingError(status: 500, message: message, type: "server_error")
    }

    /// The JSON body OpenAI clients parse.
    public var body: ErrorBody {
        ErrorBody(error: .init(message: message, type: type, param: param, code: code))
    }

    public struct ErrorBody: Codable, Sendable, Equatable {
        public struct Detail: Codable, Sendable, Equatable {
            public var message: String
            public var type: String
            public var param: String?
            public var code: String?

            public func encode(to encoder: any Encoder) throws {
                // OpenAI sends `null` rather than leaving the keys out.
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(message, forKey: .message)
                try container.encode(type, forKey: .type)
                try container.encode(param, forKey: .param)
                try container.encode(code, forKey: .code)
            }
        }
        public var error: Detail
    }
}
