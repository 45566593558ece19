import Models
import Tokenizers

/// What the server needs from a language model: a tokenizer, a chat template and batched sampling.
///
/// The HTTP layer, the scheduler, the pages and the CLI are written against this protocol, so they
/// can be tested with the deterministic `ScriptedBackend` and run with `TransformerBackend`.
/// `generate` is only ever called from the `InferenceEngine`'s worker thread, one call at a time.
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

    /// Samples continuations of every prompt, batched. `onToken(row, token)` is called for every
    /// new token (end tokens included); returning false stops that row. Rows stop by themselves at
    /// an end token or after `maxNewTokens`.
    func generate(
        prompts: [[Int32]], sampling: SamplingSettings, maxNewTokens: Int, seed: UInt64,
        onToken: @escaping (_ row: Int, _ token: Int32) -> Bool) throws
}

/// One message of a conversation: the `ChatMessage` that training data and chat templates use
/// (the name stays for the server's code and clients of this module).
public typealias ChatTurn = ChatMessage

/// How tokens are drawn: Models' `TokenDistribution` (requests with equal settings and no seed
/// can share a batch).
public typealias SamplingSettings = TokenDistribution
