import Foundation
import Templates
import Tokenizers

/// How a model's conversations become tokens, for training data, generation and serving alike:
/// ChatML (the models this package trains, `ChatTemplate`) or a published model's own Jinja
/// template (`JinjaChatFormat`).
public enum ConversationFormat: Sendable {
    case chatML(ChatTemplate)
    case template(JinjaChatFormat)

    public var tokenizer: Tokenizer {
        switch self {
        case .chatML(let t): t.tokenizer
        case .template(let t): t.tokenizer
        }
    }

    /// The token that closes an assistant turn (`<|im_end|>`, `<|eot_id|>`, ...): completions
    /// end with it and the reward model scores it.
    public var endOfTurnID: TokenID {
        switch self {
        case .chatML(let t): t.endOfTurnID
        case .template(let t): t.endOfTurnID
        }
    }

    /// Tokens that end generation: the end-of-turn token (and, for a published model, every eos id).
    public var stopTokens: Set<TokenID> {
        switch self {
        case .chatML(let t): [t.endOfTurnID]
        case .template(let t): t.stopTokens
        }
    }

    /// Whether `messages` are rendered by a Jinja template (errors then come from it).
    public var isTemplate: Bool {
        if case .template = self { return true }
        return false
    }

    /// The padding token: ChatML's `<|pad|>` (required), or the template format's choice.
    public func padToken() throws -> TokenID {
        switch self {
        case .chatML(let t): try t.tokenizer.requireSpecialTokenID(SpecialTokens.pad)
        case .template(let t): t.padToken
        }
    }

    /// A whole conversation with its loss mask (assistant content and end-of-turn tokens).
    public func render(_ messages: [ChatMessage]) throws(TemplateError) -> RenderedChat {
        switch self {
        case .chatML(let t): t.render(messages)
        case .template(let t): try t.render(messages).chat
        }
    }

    /// The rendered text with its tokens and loss mask, optionally ending with the generation
    /// prompt (`rlhf tokenizer chat`). ChatML's text is its tokens decoded.
    public func renderText(_ messages: [ChatMessage], addGenerationPrompt: Bool) throws(TemplateError)
        -> (text: String, chat: RenderedChat)
    {
        switch self {
        case .chatML(let t):
            var chat = t.render(messages)
            if addGenerationPrompt {
                let prompt = t.renderPrompt(messages)
                chat.lossMask += [Bool](repeating: false, count: prompt.count - chat.tokens.count)
                chat.tokens = prompt
            }
            let text = (try? t.tokenizer.decodeText(chat.tokens)) ?? ""
            return (text, chat)
        case .template(let t): return try t.render(messages, addGenerationPrompt: addGenerationPrompt)
        }
    }

    /// The tokens the model generates the next assistant turn from.
    public func prompt(_ messages: [ChatMessage]) throws(TemplateError) -> [TokenID] {
        switch self {
        case .chatML(let t): t.renderPrompt(messages)
        case .template(let t): try t.prompt(messages)
        }
    }

    /// An assistant reply to `messages` as generated after `prompt(messages)`, ending with the
    /// end-of-turn token (ChatML: `encode(reply) + [<|im_end|>]`).
    public func completion(after messages: [ChatMessage], _ reply: String) throws(TemplateError) -> [TokenID]
    {
        switch self {
        case .chatML(let t): t.tokenizer.encode(reply) + [t.endOfTurnID]
        case .template(let t): try t.completion(after: messages, reply)
        }
    }

    /// The reply text of generated tokens (end tokens and other special tokens removed).
    public func replyText(_ tokens: [TokenID]) -> String {
        switch self {
        case .chatML(let t):
            (try? t.tokenizer.decodeText(tokens.filter { $0 != t.endOfTurnID }, skipSpecialTokens: true))
                ?? ""
        case .template(let t): t.replyText(tokens)
        }
    }
}

extension ConversationFormat {
    /// Files a published model keeps beside its weights that describe its tokenizer and chat
    /// format; a stage copies them unchanged into the directory it writes.
    public static let tokenizerFileNames = [
        "tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "chat_template.json",
        "special_tokens_map.json", "generation_config.json",
    ]

    /// The format of the model in `directory`: its own chat template when it has one that is not
    /// this package's ChatML, else ChatML when the tokenizer has its tokens, else nil (no chat).
    public static func load(directory: URL, tokenizer: Tokenizer, eosTokenIDs: [Int]) throws
        -> ConversationFormat?
    {
        let hasTemplate =
            ["chat_template.jinja", "chat_template.json"].contains {
                FileManager.default.fileExists(atPath: directory.appendingPathComponent($0).path)
            } || tokenizerConfigHasTemplate(directory)
        if hasTemplate {
            let file = try ChatTemplateFile.load(directory: directory)
            if file.template != ChatTemplate.jinja {
                return .template(
                    try JinjaChatFormat(tokenizer: tokenizer, file: file, eosTokenIDs: eosTokenIDs))
            }
        }
        return (try? ChatTemplate(tokenizer: tokenizer)).map(ConversationFormat.chatML)
    }

    private static func tokenizerConfigHasTemplate(_ directory: URL) -> Bool {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent("tokenizer_config.json")),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return false }
        return object["chat_template"] != nil
    }
}
