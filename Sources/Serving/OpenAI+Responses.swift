/// Response bodies of the OpenAI API. Keys the official clients expect to be present are encoded
/// as explicit `null` when empty (Swift's synthesized coding would leave them out).
extension OpenAI {
    public struct Usage: Codable, Sendable, Equatable {
        public var promptTokens: Int
        public var completionTokens: Int
        public var totalTokens: Int

        public init(promptTokens: Int, completionTokens: Int) {
            self.promptTokens = promptTokens
            self.completionTokens = completionTokens
            self.totalTokens = promptTokens + completionTokens
        }

        enum CodingKeys: String, CodingKey {
            case promptTokens = "prompt_tokens", completionTokens = "completion_tokens", totalTokens =
                "total_tokens"
        }
    }

    public struct ChatCompletion: Codable, Sendable {
        public var id: String
        public var object = "chat.completion"
        public var created: Int
        public var model: String
        public var choices: [Choice]
        public var usage: Usage

        public struct Choice: Codable, Sendable {
            public var index: Int
            public var message: AssistantMessage
            public var finishReason: FinishReason

            enum CodingKeys: String, CodingKey {
                case index, message, logprobs, finishReason = "finish_reason"
            }

            public init(index: Int, message: AssistantMessage, finishReason: FinishReason) {
                self.index = index
                self.message = message
                self.finishReason = finishReason
            }

            public init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                index = try c.decode(Int.self, forKey: .index)
                message = try c.decode(AssistantMessage.self, forKey: .message)
                finishReason = try c.decode(FinishReason.self, forKey: .finishReason)
            }

            public func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(index, forKey: .index)
                try c.encode(message, forKey: .message)
                try c.encodeNil(forKey: .logprobs)
                try c.encode(finishReason, forKey: .finishReason)
            }
        }
    }

    public struct AssistantMessage: Codable, Sendable, Equatable {
        public var role = "assistant"
        public var content: String
    }

    public struct ChatCompletionChunk: Codable, Sendable {
        public var id: String
        public var object = "chat.completion.chunk"
        public var created: Int
        public var model: String
        public var choices: [Choice]
        public var usage: Usage?

        public struct Choice: Codable, Sendable {
            public var index: Int
            public var delta: Delta
            public var finishReason: FinishReason?

            enum CodingKeys: String, CodingKey { case index, delta, logprobs, finishReason = "finish_reason" }

            public init(index: Int, delta: Delta, finishReason: FinishReason?) {
                self.index = index
                self.delta = delta
                self.finishReason = finishReason
            }

            public init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                index = try c.decode(Int.self, forKey: .index)
                delta = try c.decode(Delta.self, forKey: .delta)
                finishReason = try c.decodeIfPresent(FinishReason.self, forKey: .finishReason)
            }

            public func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(index, forKey: .index)
                try c.encode(delta, forKey: .delta)
                try c.encodeNil(forKey: .logprobs)
                try c.encode(finishReason, forKey: .finishReason)
            }
        }

        public struct Delta: Codable, Sendable, Equatable {
            public var role: String?
            public var content: String?
        }
    }

    public struct TextCompletion: Codable, Sendable {
        public var id: String
        public var object = "text_completion"
        public var created: Int
        public var model: String
        public var choices: [Choice]
        public var usage: Usage?

        public struct Choice: Codable, Sendable {
            public var text: String
            public var index: Int
            public var finishReason: FinishReason?

            enum CodingKeys: String, CodingKey { case text, index, logprobs, finishReason = "finish_reason" }

            public init(text: String, index: Int, finishReason: FinishReason?) {
                self.text = text
                self.index = index
                self.finishReason = finishReason
            }

            public init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                text = try c.decode(String.self, forKey: .text)
                index = try c.decode(Int.self, forKey: .index)
                finishReason = try c.decodeIfPresent(FinishReason.self, forKey: .finishReason)
            }

            public func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(text, forKey: .text)
                try c.encode(index, forKey: .index)
                try c.encodeNil(forKey: .logprobs)
                try c.encode(finishReason, forKey: .finishReason)
            }
        }
    }

    public struct ModelList: Codable, Sendable {
        public var object = "list"
        public var data: [Model]
    }

    public struct Model: Codable, Sendable, Equatable {
        public var id: String
        public var object = "model"
        public var created: Int
        public var ownedBy: String

        enum CodingKeys: String, CodingKey { case id, object, created, ownedBy = "owned_by" }
    }
}
