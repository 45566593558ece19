/// The stages of a tokenizer around its merge table, as `tokenizers` runs them: added tokens are
/// cut out of the input, each stretch between them is normalised, pre-tokenised into pieces,
/// and each piece goes through the BPE model; the post-processor adds template tokens, and the
/// decoder turns tokens back into text.
struct Pipeline: Sendable {
    var normalizer: Normalizer?
    var preTokenizer: PreTokenization?
    /// When set, the pre-tokenizer's pieces are exactly this scanner's pieces of the raw bytes
    /// and the model is byte-level: the fast path (no copies, piece and word caches).
    var scanner: PieceScanner?
    var postProcessor: PostProcessor?
    var decoder: TokenDecoder?
    var addedTokens: [AddedToken]

    // The BPE model's options.
    /// Pieces are bytes, each byte one initial symbol (`byteToID`); otherwise pieces are UTF-8
    /// text whose characters are the initial symbols.
    var byteLevel = true
    /// Characters outside the vocabulary become their `<0xXX>` byte tokens.
    var byteFallback = false
    var unknownID: TokenID = -1
    var fuseUnknown = false
    var continuingSubwordPrefix: [UInt8] = []
    var endOfWordSuffix: [UInt8] = []
    /// A piece that is itself a token is that token (`ignore_merges`; tiktoken does this too).
    var wholePieceShortcut = true
    /// Token strings as `tokenizer.json` spells them (UTF-8), for decoders; empty means
    /// GPT-2's byte alphabet spelling of `tokenBytes` (and special tokens' content).
    var tokenStrings: [[UInt8]] = []
    /// Char-level models: the id of each Basic Multilingual Plane character as a symbol without
    /// prefix or suffix (-1: none), so most characters cost one load instead of a hash lookup.
    var bmpToID: [TokenID] = []
    /// Char-level models with byte fallback: the id of `<0xXX>` for each byte (-1: none).
    var fallbackIDs: [TokenID] = []

    // Added-token matchers, precomputed for the two common policies.
    var rawMatcherAll = AddedTokenMatcher([])
    var rawMatcherOrdinary = AddedTokenMatcher([])
    var normalizedMatcherAll = AddedTokenMatcher([])
    var normalizedMatcherOrdinary = AddedTokenMatcher([])
    /// The `tokenizer.json` text this pipeline was read from (layouts other than GPT-2's), written
    /// back as is: the writer only knows the byte-level layout of tokenizers trained here.
    var sourceJSON: String?
    /// Content as matched in normalised text, for `normalized` tokens.
    var normalizedContent: [TokenID: [UInt8]] = [:]

    /// The layout of tokenizers trained here and of GPT-2: GPT-2's scanner on bytes, no
    /// normalizer, special tokens only, byte-level decoder.
    static func gpt2(specialTokens: [Tokenizer.SpecialToken]) -> Pipeline {
        var pipeline = Pipeline(
            normalizer: nil, preTokenizer: .byteLevel(addPrefixSpace: false, useRegex: true), scanner: .gpt2,
            postProcessor: nil, decoder: .byteLevel,
            addedTokens: specialTokens.map {
                AddedToken(id: $0.id, content: $0.content, special: true, normalized: false)
            })
        pipeline.buildMatchers()
        return pipeline
    }

    /// Whether this is `gpt2(…)`: the encoder may use the GPT-2-specific parallel split.
    var isGPT2Layout: Bool {
        scanner == .gpt2 && normalizer == nil && byteLevel && wholePieceShortcut && unknownID < 0
            && addedTokens.allSatisfy {
                $0.special && !$0.lstrip && !$0.rstrip && !$0.singleWord && !matchedNormalized($0)
            }
    }

    /// Whether text may be cut at `PieceScanner.isSafeBoundary` points and encoded in parallel:
    /// scanner pieces on raw bytes, and added tokens whose matches cannot reach across a cut
    /// (no whitespace stripping, no word test, none matched after normalisation).
    var splitsInParallel: Bool {
        scanner != nil && normalizer == nil
            && addedTokens.allSatisfy { !$0.lstrip && !$0.rstrip && !$0.singleWord && !matchedNormalized($0) }
    }

    /// Whether a token is matched after normalisation. With no normalizer the normalised text is
    /// the input, so every token is matched on the input in one pass (real GPT-2 files mark
    /// `<|endoftext|>` normalized; this keeps them on the fast path).
    func matchedNormalized(_ token: AddedToken) -> Bool { token.normalized && normalizer != nil }

    mutating func buildMatchers() {
        func entries(normalized: Bool, specials: Bool) -> [AddedTokenMatcher.Entry] {
            addedTokens.filter { matchedNormalized($0) == normalized && (specials || !$0.special) }.map {
                AddedTokenMatcher.Entry(bytes: normalizedContent[$0.id] ?? Array($0.content.utf8), token: $0)
            }
        }
        rawMatcherAll = AddedTokenMatcher(entries(normalized: false, specials: true))
        rawMatcherOrdinary = AddedTokenMatcher(entries(normalized: false, specials: false))
        normalizedMatcherAll = AddedTokenMatcher(entries(normalized: true, specials: true))
        normalizedMatcherOrdinary = AddedTokenMatcher(entries(normalized: true, specials: false))
    }

    /// The matchers (raw, normalised) for a policy.
    func matchers(_ policy: SpecialTokenPolicy) -> (raw: AddedTokenMatcher, normalized: AddedTokenMatcher) {
        switch policy {
        case .none: return (rawMatcherOrdinary, normalizedMatcherOrdinary)
        case .all: return (rawMatcherAll, normalizedMatcherAll)
        case .only(let set):
            func entries(_ normalized: Bool) -> [AddedTokenMatcher.Entry] {
                addedTokens.filter {
                    matchedNormalized($0) == normalized && (!$0.special || set.contains($0.content))
                }.map {
                    AddedTokenMatcher.Entry(
                        bytes: normalizedContent[$0.id] ?? Array($0.content.utf8), token: $0)
                }
            }
            return (AddedTokenMatcher(entries(false)), AddedTokenMatcher(entries(true)))
        }
    }
}
