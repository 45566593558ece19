/// Request bodies of the OpenAI API, as far as this server implements them. Fields the server
/// does not use and that cannot change the answer (`user`, …) are ignored, as OpenAI-compatible
/// servers do; fields that would change the answer and are not implemented (a non-zero
/// `presence_penalty`, …) are rejected in validation with the parameter's name.
public enum OpenAI {}

extension OpenAI {
    public struct ChatCompletionRequest: Decodable, Sendable {
        public var model: String
        public var messages: [Message]
        public var temperature: Double?
        public var topP: Double?
        public var topK: JSONInteger?
        public var n: JSONInteger?
        public var maxTokens: JSONInteger?
        public var maxCompletionTokens: JSONInteger?
        public var stop: StopSequences?
        public var stream: Bool?
        public var streamOptions: StreamOptions?
        public var seed: JSONInteger?
        public var logprobs: Bool?
        public var topLogprobs: JSONInteger?
        /// Range-checked like OpenAI's, then ignored (as vLLM's defaults of 0 would do nothing).
        public var presencePenalty: Double?
        public var frequencyPenalty: Double?
        public var tools: [JSONValue]?

        enum CodingKeys: String, CodingKey {
            case model, messages, temperature, n, stop, stream, seed, logprobs, tools
            case topP = "top_p", topK = "top_k", maxTokens = "max_tokens"
            case maxCompletionTokens = "max_completion_tokens", streamOptions = "stream_options"
            case topLogprobs = "top_logprobs", presencePenalty = "presence_penalty"
            case frequencyPenalty = "frequency_penalty"
        }
    }

    public struct CompletionRequest: Decodable, Sendable {
        public var model: String
        public var prompt: Prompt
        public var temperature: Double?
        public var topP: Double?
        public var topK: JSONInteger?
        public var n: JSONInteger?
        public var maxTokens: JSONInteger?
        public var stop: StopSequences?
        public var stream: Bool?
        public var streamOptions: StreamOptions?
        public var seed: JSONInteger?
        public var logprobs: JSONInteger?
        public var echo: Bool?
        public var suffix: String?
        public var bestOf: JSONInteger?
        public var presencePenalty: Double?
        public var frequencyPenalty: Double?

        enum CodingKeys: String, CodingKey {
            case model, prompt, temperature, n, stop, stream, seed, logprobs, echo, suffix
            case topP = "top_p", topK = "top_k", maxTokens = "max_tokens", streamOptions = "stream_options"
            case bestOf = "best_of", presencePenalty = "presence_penalty"
            case frequencyPenalty = "frequency_penalty"
        }
    }

    public struct Message: Decodable, Sendable, Equatable {
        public var role: String
        public var content: String

        enum CodingKeys: String, CodingKey { case role, content }

        public init(role: String, content: String) {
            self.role = role
            self.content = content
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            role = try container.decode(String.self, forKey: .role)
            // `content` is a string, or a list of parts of which only text parts are understood.
            if let text = try? container.decodeIfPresent(String.self, forKey: .content) {
                content = text
            } else if let parts = try? container.decode([ContentPart].self, forKey: .content) {
                content = try parts.map { part in
                    guard part.type == "text", let text = part.text else {
                        throw DecodingError.dataCorruptedError(
                            forKey: .content, in: container,
                            debugDescription: "only text content parts are supported, got `\(part.type)`")
                    }
                    return text
                }.joined()
            } else if try container.decodeNil(forKey: .content) {
                content = ""
            } else {
                throw DecodingError.typeMismatch(
                    String.self,
                    .init(
                        codingPath: container.codingPath + [CodingKeys.content],
                        debugDescription: "expected a string or a list of text parts"))
            }
        }
    }

    struct ContentPart: Decodable {
        var type: String
        var text: String?
    }

    /// `stop`: a string or a list of strings.
    public struct StopSequences: Decodable, Sendable, Equatable {
        public var values: [String]

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let one = try? container.decode(String.self) {
                values = [one]
            } else if let many = try? container.decode([String].self) {
                values = many
            } else {
                throw DecodingError.typeMismatch(
                    [String].self,
                    .init(
                        codingPath: decoder.codingPath,
                        debugDescription: "expected a string or a list of strings"))
            }
        }
    }

    public struct StreamOptions: Decodable, Sendable {
        public var includeUsage: Bool?
        enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
    }

    /// `prompt` of /v1/completions: a string, a list of strings, a list of token ids, or a list of lists.
    public enum Prompt: Decodable, Sendable, Equatable {
        case texts([String])
        case tokens([[Int32]])

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let one = try? container.decode(String.self) {
                self = .texts([one])
            } else if let many = try? container.decode([String].self) {
                self = .texts(many)
            } else if let ids = try? container.decode([Int32].self) {
                self = .tokens([ids])
            } else if let lists = try? container.decode([[Int32]].self) {
                self = .tokens(lists)
            } else {
                throw DecodingError.typeMismatch(
                    String.self,
                    .init(
                        codingPath: decoder.codingPath,
                        debugDescription: "expected a string, a list of strings, or token ids"))
            }
        }
    }

    /// An integer field. Decoded here rather than as `Int` so that `1.5` or `"2"` is reported with
    /// the field's name (Foundation's decoder reports a non-integral number without its path).
    public struct JSONInteger: Decodable, Sendable, Equatable {
        public var value: Int

        public init(_ value: Int) { self.value = value }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let exact = try? container.decode(Int.self) {
                value = exact
                return
            }
            guard let number = try? container.decode(Double.self) else {
                throw DecodingError.typeMismatch(
                    Int.self,
                    .init(
                        codingPath: decoder.codingPath,
                        debugDescription: "expected an integer"))
            }
            guard number.rounded() == number, abs(number) < 9e15 else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "expected an integer, got \(number)")
            }
            value = Int(number)
        }
    }

    /// Any JSON value; used where the server only needs to know a field was sent.
    public struct JSONValue: Decodable, Sendable {
        public init(from decoder: any Decoder) throws {
            // Accept and discard: presence is all that matters.
            _ = try? decoder.singleValueContainer()
        }
    }
}
