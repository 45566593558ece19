import Models
import TensorCore
import Tokenizers

/// The real model behind the server: a `Transformer` with its byte-level BPE tokenizer and the
/// ChatML template.
///
/// `@unchecked Sendable`: the transformer keeps activation buffers and is not thread-safe, but
/// the `InferenceEngine` uses its decoder (which drives the model) only from its one serial
/// worker queue; every other member (tokenizer, template, ids) is an immutable value.
public final class TransformerBackend: GenerationBackend, @unchecked Sendable {
    public let modelID: String
    public let contextLength: Int
    public let endTokens: Set<Int32>
    public let vocabularySize: Int
    public let tokenizer: Tokenizer
    /// Nil for a tokenizer without `<|im_start|>`/`<|im_end|>` (a base model): chats are then
    /// rendered as a plain `User:`/`Assistant:` transcript.
    public let template: ChatTemplate?
    /// The model's conversation format (ChatML, or a published model's own Jinja template).
    public let format: ConversationFormat?
    private let model: Transformer

    public init(model: Transformer, tokenizer: Tokenizer, modelID: String, format: ConversationFormat? = nil)
    {
        self.model = model
        self.tokenizer = tokenizer
        self.modelID = modelID
        self.contextLength = model.config.contextLength
        self.vocabularySize = model.config.vocabSize
        self.template = try? ChatTemplate(tokenizer: tokenizer)
        self.format = format ?? template.map(ConversationFormat.chatML)
        var ends = Set<Int32>()
        if let template { ends.insert(template.endOfTurnID) }
        if let format = self.format { ends.formUnion(format.stopTokens) }
        if let id = tokenizer.specialTokenID(SpecialTokens.endOfText) { ends.insert(id) }
        if let id = model.config.eosTokenID { ends.insert(Int32(id)) }
        self.endTokens = ends
    }

    public func encode(_ text: String) -> [Int32] { tokenizer.encode(text) }

    public func decode(_ tokens: [Int32]) -> String {
        // Ids outside the vocabulary cannot come from the model; decode what is valid.
        let valid = tokens.filter { $0 >= 0 && Int($0) < tokenizer.vocabularySize }
        let bytes = (try? tokenizer.decode(valid, skipSpecialTokens: true)) ?? []
        return String(decoding: bytes, as: UTF8.self)
    }

    public func chatPrompt(for messages: [ChatTurn]) throws -> [Int32] {
        if let format {
            return try format.prompt(messages)
        }
        let transcript = messages.map { turn -> String in
            switch turn.role {
            case .system: turn.content + "\n\n"
            case .user: "User: " + turn.content + "\n"
            case .assistant: "Assistant: " + turn.content + "\n"
            }
        }.joined()
        return encode(transcript + "Assistant:")
    }

    /// Slots of a `DecodeSession` over the model; its KV cache grows with the longest row, up to
    /// the context length per slot.
    public func makeDecoder(slots: Int) throws -> any TokenDecoder {
        DecodeSession(model: model, slots: slots)
    }
}
