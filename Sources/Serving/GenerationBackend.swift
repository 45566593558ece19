import Models
import Tokenizers

/// What the server needs from a language model: a tokenizer, a chat template and step-wise
/// batched sampling.
///
/// The HTTP layer, the scheduler, the pages and the CLI are written against this protocol, so they
/// can be tested with the deterministic `ScriptedBackend` and run with `TransformerBackend`.
public protocol GenerationBackend: Sendable {
    /// The name clients pass as `model`.
    var modelID: String { get }
    /// Longest prompt + completion, in tokens.
    var contextLength: Int { get }
    /// Tokens that end a completion (end of text, end of turn); never shown to the user.
    var endTokens: Set<Int32> { get }
    /// Token ids are `0..<vocabularySize`; prompts given as ids are checked against it.
    var vocabularySize: Int { get }

    func encode(_ text: String) -> [Int32]
    func decode(_ tokens: [Int32]) -> String
    /// The prompt for the assistant's next turn: the conversation rendered with the chat template.
    func chatPrompt(for messages: [ChatTurn]) throws -> [Int32]

    /// A decoder with `slots` rows for the engine's continuous batching. The engine makes one,
    /// keeps it, and uses it only from its worker thread, one call at a time.
    func makeDecoder(slots: Int) throws -> any TokenDecoder
}

/// One message of a conversation: the `ChatMessage` that training data and chat templates use
/// (the name stays for the server's code and clients of this module).
public typealias ChatTurn = ChatMessage

/// How tokens are drawn: Models' `TokenDistribution` (requests with equal settings and no seed
/// can share a batch).
public typealias SamplingSettings = TokenDistribution

/// Rows decoded together one token per step, joining and leaving between steps (Models'
/// `DecodeSession` is the real one). Each row draws from its own distribution and random stream,
/// so a seeded row gives the same tokens whatever else is decoded with it.
public protocol TokenDecoder: AnyObject {
    /// Prefills each request into a free slot and draws its first token. The engine never asks
    /// for more rows than it has slots free.
    func admit(_ requests: [DecodeRequest]) throws -> [DecodedToken]
    /// One more token for every row (a row at the end of the context gets none).
    func step() throws -> [DecodedToken]
    /// Frees the slot; its row is forgotten.
    func release(slot: Int)
}

extension DecodeSession: TokenDecoder {}
