import Foundation
import Templates
import Tokenizers

/// A published model's own chat template (Jinja, from `tokenizer_config.json` or
/// `chat_template.jinja`), turned into token ids and loss masks as `transformers` does.
///
/// Why it works this way:
/// - Token ids are those of `apply_chat_template(messages, tokenize=True)`: the rendered text is
///   encoded with every added token recognised and no post-processor tokens
///   (`add_special_tokens=False`), because templates write `bos_token` themselves.
/// - The loss mask comes from the rendering, never from token searches: the renderer gives the
///   byte span of each assistant message (its content plus the end-of-turn text the template
///   writes, see `ChatTemplateRenderer.renderWithAssistantSpans`), and a token is trained when
///   its byte range overlaps a span (`return_assistant_tokens_mask` marks tokens the same way).
/// - The end-of-turn token is found by rendering a probe conversation: the last special token of
///   the text the template writes after an assistant message's content (`<|eot_id|>`,
///   `<|im_end|>`, `</s>`). Generation stops on it and on every eos id of the model's config.
public struct JinjaChatFormat: Sendable {
    public let tokenizer: Tokenizer
    public let renderer: ChatTemplateRenderer
    /// `bos_token`, `eos_token`, ... as the template sees them.
    public let specialTokens: [String: String]
    /// The token that closes an assistant turn: the reward model scores it, PPO ends on it.
    public let endOfTurnID: TokenID
    /// Generation stops after any of these: `endOfTurnID` and every eos id.
    public let stopTokens: Set<TokenID>
    /// The tokenizer's pad token when it is not a stop token, else the lowest id that is not a
    /// stop token (padding equal to an end token breaks "last real token" lookups).
    public let padToken: TokenID

    public init(tokenizer: Tokenizer, file: ChatTemplateFile, eosTokenIDs: [Int] = []) throws(TemplateError) {
        self.tokenizer = tokenizer
        renderer = try file.renderer()
        specialTokens = file.specialTokens
        var stops = Set(eosTokenIDs.map { TokenID($0) })
        let fileEOS = file.eosToken.flatMap {
            tokenizer.specialTokenID($0) ?? Self.addedTokenID($0, tokenizer)
        }
        if let fileEOS { stops.insert(fileEOS) }
        // Probe: what the template writes after an assistant message's content. A template that
        // refuses the probe conversation falls back to the eos token.
        let probe = "PROBE"
        let rendered = try? renderer.renderWithAssistantSpans(
            Self.input(
                [ChatMessage(role: .user, content: "Hi"), ChatMessage(role: .assistant, content: probe)],
                addGenerationPrompt: false, specialTokens: file.specialTokens))
        var end: TokenID?
        if let span = rendered?.assistantTexts.last, let range = span.range(of: probe, options: .backwards) {
            let tail = tokenizer.encode(String(span[range.upperBound...]), allowedSpecial: .all)
            end = tail.last { tokenizer.isSpecialToken($0) || Self.isAddedToken($0, tokenizer) }
        }
        guard let endOfTurn = end ?? fileEOS ?? eosTokenIDs.first.map({ TokenID($0) }) else {
            throw TemplateError(
                .file,
                "\(file.templateURL.path): cannot tell the end-of-turn token (the template writes no special token "
                    + "after an assistant message and there is no eos token)")
        }
        endOfTurnID = endOfTurn
        stops.insert(endOfTurn)
        stopTokens = stops
        let pad = file.specialTokens["pad_token"].flatMap {
            tokenizer.specialTokenID($0) ?? Self.addedTokenID($0, tokenizer)
        }
        if let pad, !stops.contains(pad) {
            padToken = pad
        } else {
            padToken = TokenID(
                (0..<max(tokenizer.vocabularySize, 1)).first { !stops.contains(TokenID($0)) } ?? 0)
        }
    }

    static func addedTokenID(_ content: String, _ tokenizer: Tokenizer) -> TokenID? {
        tokenizer.addedTokens.first { $0.content == content }?.id
    }

    static func isAddedToken(_ id: TokenID, _ tokenizer: Tokenizer) -> Bool {
        tokenizer.addedTokens.contains { $0.id == id }
    }

    static func input(_ messages: [ChatMessage], addGenerationPrompt: Bool, specialTokens: [String: String])
        -> ChatTemplateInput
    {
        ChatTemplateInput(
            messages: messages.map { TemplateValue.message(role: $0.role.rawValue, content: $0.content) },
            addGenerationPrompt: addGenerationPrompt, bosToken: specialTokens["bos_token"],
            eosToken: specialTokens["eos_token"],
            extra: specialTokens.filter { $0.key != "bos_token" && $0.key != "eos_token" }.mapValues(
                TemplateValue.string))
    }

    func input(_ messages: [ChatMessage], addGenerationPrompt: Bool) -> ChatTemplateInput {
        Self.input(messages, addGenerationPrompt: addGenerationPrompt, specialTokens: specialTokens)
    }

    /// `apply_chat_template(messages, tokenize=False, add_generation_prompt=…)`.
    public func text(_ messages: [ChatMessage], addGenerationPrompt: Bool = false) throws(TemplateError)
        -> String
    {
        try renderer.render(input(messages, addGenerationPrompt: addGenerationPrompt))
    }

    /// The ids of rendered text, as `apply_chat_template(tokenize=True)` makes them.
    public func encode(_ text: String) -> Tokenizer.Encoding {
        tokenizer.encodeWithOffsets(text, allowedSpecial: .all, addSpecialTokens: false)
    }

    /// The whole conversation's ids, its text, and the trained tokens (those overlapping an
    /// assistant span).
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = false) throws(TemplateError)
        -> (text: String, chat: RenderedChat)
    {
        let rendered = try renderer.renderWithAssistantSpans(
            input(messages, addGenerationPrompt: addGenerationPrompt))
        let encoding = encode(rendered.text)
        let mask = encoding.offsets.map { range in
            rendered.assistantSpans.contains {
                range.lowerBound < $0.upperBound && range.upperBound > $0.lowerBound
            }
        }
        return (rendered.text, RenderedChat(tokens: encoding.ids, lossMask: mask))
    }

    /// The ids the model generates from: `render(messages, add_generation_prompt=True)`.
    public func prompt(_ messages: [ChatMessage]) throws(TemplateError) -> [TokenID] {
        encode(try text(messages, addGenerationPrompt: true)).ids
    }

    /// The ids of an assistant reply to `messages` as the model would generate them after
    /// `prompt(messages)`: the tokens of the full rendering after the prompt's, through the
    /// template's end-of-turn text.
    public func completion(after messages: [ChatMessage], _ reply: String) throws(TemplateError) -> [TokenID]
    {
        let promptIDs = try prompt(messages)
        let full = try renderer.renderWithAssistantSpans(
            input(messages + [ChatMessage(role: .assistant, content: reply)], addGenerationPrompt: false))
        guard let span = full.assistantSpans.last else { return [endOfTurnID] }
        let encoding = encode(full.text)
        if encoding.ids.starts(with: promptIDs),
            let last = encoding.offsets.lastIndex(where: {
                $0.lowerBound < span.upperBound && $0.upperBound > span.lowerBound
            }),
            last >= promptIDs.count
        {
            return Array(encoding.ids[promptIDs.count...last])
        }
        // The prompt's tokens are not a prefix of the whole rendering's (a merge across the
        // boundary): the reply is then tokenised on its own, as the model would produce it
        // after the prompt's tokens.
        return encode(full.assistantTexts.last ?? "").ids
    }

    /// Text of generated ids: stop tokens and other special tokens removed.
    public func replyText(_ tokens: [TokenID]) -> String {
        (try? tokenizer.decodeText(tokens.filter { !stopTokens.contains($0) }, skipSpecialTokens: true)) ?? ""
    }
}
