import Foundation

/// The variables a chat template is rendered with, as transformers' `apply_chat_template` passes them:
/// `messages`, `tools` and `documents` (`None` when not given), `add_generation_prompt`, the tokenizer's
/// special tokens (`bos_token`, `eos_token`, ...; undefined when the tokenizer has none) and any extra
/// keyword arguments (`enable_thinking`, `date_string`, ...).
public struct ChatTemplateInput: Sendable {
    /// Each message an object, usually `{"role": ..., "content": ...}`; content may be a string or a
    /// list of `{"type": "text", "text": ...}` parts; other keys (`tool_calls`, `reasoning_content`) pass through.
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

    public init(
        messages: [TemplateValue], addGenerationPrompt: Bool = false, bosToken: String? = nil,
        eosToken: String? = nil, tools: [TemplateValue]? = nil, documents: [TemplateValue]? = nil,
        extra: [String: TemplateValue] = [:], now: Date? = nil
    ) {
        self.messages = messages
        self.addGenerationPrompt = addGenerationPrompt
        self.bosToken = bosToken
        self.eosToken = eosToken
        self.tools = tools
        self.documents = documents
        self.extra = extra
        self.now = now
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
        try run(input).output
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
        guard let reasoning = fields.lazy.compactMap({ key -> TemplateValue? in
            guard let value = object[key], value != .null else { return nil }
            return value
        }).first else { return message }
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
            case .loop(_, _, _, let body, let otherwise): return containsGeneration(body) || containsGeneration(otherwise)
            case .setBlock(_, _, let body), .macro(_, _, let body), .callBlock(_, _, let body),
                .filterBlock(_, let body):
                return containsGeneration(body)
            default: return false
            }
        }
    }
}
