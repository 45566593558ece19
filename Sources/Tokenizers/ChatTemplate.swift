/// One message of a conversation.
public struct ChatMessage: Sendable, Equatable, Hashable, Codable {
    public enum Role: String, Sendable, Equatable, Hashable, Codable, CaseIterable {
        case system, user, assistant
    }

    public var role: Role
    public var content: String

    public init(role: Role, content: String) {
        self.role = role
        self.content = content
    }
}

/// A rendered conversation: token ids and, for each id, whether training computes loss on it.
public struct RenderedChat: Sendable, Equatable {
    public var tokens: [TokenID]
    /// True on the assistant's content tokens and on the `<|im_end|>` that closes each
    /// assistant turn.
    public var lossMask: [Bool]

    public init(tokens: [TokenID], lossMask: [Bool]) {
        self.tokens = tokens
        self.lossMask = lossMask
    }
}

/// ChatML rendering — `<|im_start|>role\ncontent<|im_end|>\n` per message — producing the token
/// ids and the loss mask together.
///
/// Why it works this way:
/// - The mask is decided while rendering, from the message each token came from. Searching the
///   token stream for an "assistant" marker afterwards breaks, because the same text tokenizes
///   differently next to different neighbours.
/// - Each turn's text `role\ncontent` is encoded as one string, exactly as a tokenizer would
///   encode the whole rendered conversation (`<|im_start|>`, `<|im_end|>` split the text anyway).
///   Content tokens are those whose bytes end past the `role\n` header; a piece that straddles
///   the header (content starting with several spaces) counts as content.
/// - The closing `<|im_end|>` of an assistant turn is in the mask: it is the token the model
///   must learn to emit to end its turn, and the id generation stops on (`endOfTurnID`). The
///   `\n` after it is not: generation never gets there.
/// - Message content is encoded with no special tokens allowed, so a user who types
///   `<|im_end|>` cannot close a turn or forge an assistant message.
public struct ChatTemplate: Sendable {
    public let tokenizer: Tokenizer
    /// `<|im_start|>`.
    public let startOfTurnID: TokenID
    /// `<|im_end|>`: stop generation on it; the reward model scores it.
    public let endOfTurnID: TokenID
    let newline: [TokenID]

    /// The same template in Jinja, for `tokenizer_config.json` (as used by `transformers`).
    public static let jinja =
        "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
        + "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

    /// Throws `missingSpecialToken` when the tokenizer lacks `<|im_start|>` or `<|im_end|>`.
    public init(tokenizer: Tokenizer) throws {
        self.tokenizer = tokenizer
        startOfTurnID = try tokenizer.requireSpecialTokenID(SpecialTokens.imStart)
        endOfTurnID = try tokenizer.requireSpecialTokenID(SpecialTokens.imEnd)
        newline = tokenizer.encode("\n")
    }

    /// Renders a whole conversation for training.
    public func render(_ messages: [ChatMessage]) -> RenderedChat {
        var result = RenderedChat(tokens: [], lossMask: [])
        for message in messages { append(message, to: &result) }
        return result
    }

    /// Renders the conversation followed by `<|im_start|>assistant\n`, the prompt from which
    /// the model generates the assistant's reply (ending with `endOfTurnID`).
    public func renderPrompt(_ messages: [ChatMessage]) -> [TokenID] {
        var result = render(messages)
        result.tokens.append(startOfTurnID)
        result.tokens += tokenizer.encode(ChatMessage.Role.assistant.rawValue + "\n")
        return result.tokens
    }

    func append(_ message: ChatMessage, to result: inout RenderedChat) {
        let trained = message.role == .assistant
        let header = Array((message.role.rawValue + "\n").utf8)
        let body = tokenizer.encode(header + Array(message.content.utf8), allowedSpecial: .none)
        result.tokens.append(startOfTurnID)
        result.lossMask.append(false)
        for end in tokenizer.tokenEndOffsets(body) {
            result.lossMask.append(trained && end > header.count)
        }
        result.tokens += body
        result.tokens.append(endOfTurnID)
        result.lossMask.append(trained)
        result.tokens += newline
        result.lossMask += [Bool](repeating: false, count: newline.count)
    }
}
