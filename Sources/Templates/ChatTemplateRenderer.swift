import Foundation

/// The variables a chat template is rendered with, as transformers' `apply_chat_template` passes them:
/// `messages`, `tools` and `documents` (`None` when not given), `add_generation_prompt`, the tokenizer's
/// special tokens (`bos_token`, `eos_token`, ...; undefined when the tokenizer has none) and any extra
/// keyword arguments (`enable_thinking`, `date_string`, ...).
public struct ChatTemplateInput: Sendable {
    /// Each message an object, usually `{"role": ..., "content": ...}`; content may be a string or a
    /// list of `{"type": "text", "text": ...}` parts; other keys (`tool_calls`, `reasoning_content`) pass
    /// through.
    public var messages: [TemplateValue]
    public var addGenerationPrompt: Bool
    public var bosToken: String?
    public var eosToken: String?
    public var tools: [TemplateValue]?
    public var documents: [TemplateValue]?
    /// Further variables; they override the ones above of the same name.
    public var extra: [String: TemplateValue]
    /// The clock behind `strftime_now` (nil: the current time, as transformers does).
    public var now: Date?
    /// transformers' `continue_final_message=True`: the text ends inside the final message, without the
    /// end-of-turn the template writes after it (to prefill a reply). Not with `addGenerationPrompt`.
    public var continueFinalMessage: Bool

    public init(
        messages: [TemplateValue], addGenerationPrompt: Bool = false, bosToken: String? = nil,
        eosToken: String? = nil, tools: [TemplateValue]? = nil, documents: [TemplateValue]? = nil,
        extra: [String: TemplateValue] = [:], now: Date? = nil, continueFinalMessage: Bool = false
    ) {
        self.messages = messages
        self.addGenerationPrompt = addGenerationPrompt
        self.bosToken = bosToken
        self.eosToken = eosToken
        self.tools = tools
        self.documents = documents
        self.extra = extra
        self.now = now
        self.continueFinalMessage = continueFinalMessage
    }
}

extension TemplateValue {
    /// `{"role": role, "content": content}`.
    public static func message(role: String, content: String) -> TemplateValue {
        .object(TemplateObject([("role", .string(role)), ("content", .string(content))]))
    }
}

/// A model's Jinja chat template, parsed once and rendered exactly as transformers'
/// `apply_chat_template(..., tokenize=False)` renders it (jinja2 `ImmutableSandboxedEnvironment` with
/// `trim_blocks`, `lstrip_blocks`, loop controls, the `generation` extension, transformers' `tojson`,
/// `raise_exception` and `strftime_now`).
public struct ChatTemplateRenderer: Sendable {
    public let source: String
    let nodes: [Node]
    /// Whether the template marks assistant text with `{% generation %}` blocks.
    public let hasGenerationBlocks: Bool

    public init(source: String) throws(TemplateError) {
        self.source = source
        nodes = try Parser.parse(source)
        hasGenerationBlocks = Self.containsGeneration(nodes)
    }

    /// Renders the conversation to text.
    public func render(_ input: ChatTemplateInput) throws(TemplateError) -> String {
        guard input.continueFinalMessage else { return try run(input).output }
        return try renderContinuingFinalMessage(input)
    }

    /// transformers' `continue_final_message`: append a tag to the final message's text (its last text part
    /// when content is a list), render, and cut the text at the last occurrence of the tag (also dropping
    /// whitespace before it when the template trimmed the message).
    private func renderContinuingFinalMessage(_ input: ChatTemplateInput) throws(TemplateError) -> String {
        let tag = "CONTINUE_FINAL_MESSAGE_TAG "
        guard !input.addGenerationPrompt else {
            throw TemplateError(.type, "continue_final_message and add_generation_prompt are not compatible")
        }
        guard case .object(var message) = input.messages.last else {
            throw TemplateError(.type, "continue_final_message is set but the conversation is empty!")
        }
        let finalText: String
        switch message["content"] {
        case .string(let text):
            finalText = text
            message["content"] = .string(text + tag)
        case .array(var parts):
            guard let index = parts.lastIndex(where: { $0["text"] != nil }),
                case .object(var part) = parts[index],
                case .string(let text) = part["text"]
            else {
                throw TemplateError(
                    .type,
                    "continue_final_message is set but we could not find any text to continue in the final message!"
                )
            }
            finalText = text
            part["text"] = .string(text + tag)
            parts[index] = .object(part)
            message["content"] = .array(parts)
        default:
            throw TemplateError(
                .type, "continue_final_message is set but the final message has no \"content\" to continue!")
        }
        var tagged = input
        tagged.messages[tagged.messages.count - 1] = .object(message)
        tagged.continueFinalMessage = false
        let rendered = Array(try run(tagged).output.unicodeScalars)
        let bareTag = Array("CONTINUE_FINAL_MESSAGE_TAG".unicodeScalars)
        let stripped = Array(PythonString.strip(finalText, characters: nil).unicodeScalars)
        guard PythonString.find(stripped, in: rendered) != nil,
            let location = PythonString.rfind(bareTag, in: rendered)
        else {
            throw TemplateError(
                .type,
                "continue_final_message is set but the final message does not appear in the chat after applying "
                    + "the chat template")
        }
        if rendered[location...].starts(with: tag.unicodeScalars) {
            return PythonString.string(rendered[..<location])
        }
        return PythonString.strip(PythonString.string(rendered[..<location]), characters: nil, leading: false)
    }

    /// Renders `messages` (convenience for the common case).
    public func render(
        messages: [TemplateValue], addGenerationPrompt: Bool = false, bosToken: String? = nil,
        eosToken: String? = nil, extra: [String: TemplateValue] = [:]
    ) throws(TemplateError) -> String {
        try render(
            ChatTemplateInput(
                messages: messages, addGenerationPrompt: addGenerationPrompt, bosToken: bosToken,
                eosToken: eosToken, extra: extra))
    }

    func run(_ input: ChatTemplateInput) throws(TemplateError) -> Interpreter {
        var variables: [String: Value] = [
            "messages": .list(input.messages.map { Value(Self.aliasingReasoning($0)) }),
            "tools": input.tools.map { .list($0.map(Value.init)) } ?? Value.none,
            "documents": input.documents.map { .list($0.map(Value.init)) } ?? Value.none,
            "add_generation_prompt": .bool(input.addGenerationPrompt),
        ]
        if let bosToken = input.bosToken { variables["bos_token"] = .string(bosToken) }
        if let eosToken = input.eosToken { variables["eos_token"] = .string(eosToken) }
        for (name, value) in input.extra { variables[name] = Value(value) }
        return try Interpreter.render(nodes, variables: variables, now: input.now ?? Date())
    }

    /// transformers fills `reasoning_content` and `thinking` from whichever of `reasoning_content`,
    /// `thinking`, `reasoning` a message has: `{"thinking": r, **message, "reasoning_content": r}`.
    static func aliasingReasoning(_ message: TemplateValue) -> TemplateValue {
        guard case .object(let object) = message else { return message }
        let fields = ["reasoning_content", "thinking", "reasoning"]
        guard
            let reasoning = fields.lazy.compactMap({ key -> TemplateValue? in
                guard let value = object[key], value != .null else { return nil }
                return value
            }).first
        else { return message }
        var aliased = TemplateObject()
        aliased["thinking"] = reasoning
        for (key, value) in object.pairs { aliased[key] = value }
        aliased["reasoning_content"] = reasoning
        return .object(aliased)
    }

    private static func containsGeneration(_ nodes: [Node]) -> Bool {
        nodes.contains { node in
            switch node.kind {
            case .generation: return true
            case .conditional(let branches, let otherwise):
                return branches.contains { containsGeneration($0.body) } || containsGeneration(otherwise)
            case .loop(_, _, _, let body, let otherwise):
                return containsGeneration(body) || containsGeneration(otherwise)
            case .setBlock(_, _, let body), .macro(_, _, let body), .callBlock(_, _, let body),
                .filterBlock(_, let body), .with(_, let body):
                return containsGeneration(body)
            default: return false
            }
        }
    }
}
