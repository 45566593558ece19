/// A token id. `Int32` everywhere in swift-rlhf (embedding rows, sampling, data shards), so a
/// vocabulary of up to 2^31 entries fits and token arrays stay half the size of `Int`.
public typealias TokenID = Int32

/// Which special tokens `encode` may recognise in its input.
///
/// Special tokens in user-supplied text are ordinary text by default, so a document that happens
/// to contain the characters `<|im_end|>` cannot end a chat turn (prompt injection) or a document.
/// (`.none` is `tokenizers`' `encode_special_tokens = True`, `.all` its default.) Added tokens that
/// are not special are always recognised, as in `tokenizers`.
public enum SpecialTokenPolicy: Sendable, Equatable {
    /// No special token is recognised; their spellings are encoded as ordinary bytes.
    case none
    /// Every special token of the tokenizer is recognised.
    case all
    /// Only these special tokens (by content) are recognised.
    case only(Set<String>)

    func allows(_ content: String) -> Bool {
        switch self {
        case .none: return false
        case .all: return true
        case .only(let set): return set.contains(content)
        }
    }
}

/// The special tokens every tokenizer trained here carries, in this order, after the merges.
public enum SpecialTokens {
    /// Separates documents in pretraining data.
    public static let endOfText = "<|endoftext|>"
    /// Opens a chat turn: `<|im_start|>role\n` (ChatML).
    public static let imStart = "<|im_start|>"
    /// Closes a chat turn; the token a chat model must learn to emit to stop.
    public static let imEnd = "<|im_end|>"
    /// Pads batches. Distinct from every end token, so "last real token" lookups cannot confuse
    /// padding with an end of turn.
    public static let pad = "<|pad|>"

    public static let `default`: [String] = [endOfText, imStart, imEnd, pad]
}
