/// A rendered conversation with the parts a model is trained to produce.
public struct RenderedConversation: Sendable, Equatable {
    public enum SpanSource: Sendable, Equatable {
        /// The template's own `{% generation %}` blocks (transformers' `return_assistant_tokens_mask`).
        case generationBlocks
        /// Derived by rendering prefixes of the conversation (see `renderWithAssistantSpans`).
        case prefixRendering
    }

    public var text: String
    /// UTF-8 byte ranges of `text`, in order, one per assistant message (or per generation block).
    public var assistantSpans: [Range<Int>]
    public var spanSource: SpanSource

    /// One flag per UTF-8 byte of `text`: whether it is in an assistant span (the training mask before
    /// tokenization; a token is trained when its bytes are).
    public var assistantByteMask: [Bool] {
        var mask = [Bool](repeating: false, count: text.utf8.count)
        for span in assistantSpans {
            mask.replaceSubrange(span, with: repeatElement(true, count: span.count))
        }
        return mask
    }

    /// The text of each span.
    public var assistantTexts: [String] {
        let bytes = Array(text.utf8)
        return assistantSpans.map { String(decoding: bytes[$0], as: UTF8.self) }
    }
}

extension ChatTemplateRenderer {
    /// Renders the conversation and finds, for each assistant message, the text the model must learn to
    /// produce: what it would generate after the prompt up to that message, through its end-of-turn marker.
    ///
    /// With `{% generation %}` blocks in the template, those blocks are the spans (as transformers'
    /// `return_assistant_tokens_mask`). Otherwise, for assistant message i of the full rendering F:
    /// - **start**: the end of `render(messages[..<i], add_generation_prompt=True)`, which must be a prefix
    ///   of F: the generation prompt is the model's prompt at inference, so everything after it is generated
    ///   (Qwen3's `<think>\n\n</think>\n\n`, Zephyr's `\n`). When only the prompt without the generation
    ///   prompt is a prefix (DeepSeek-R1 prompts `<think>\n`, which rendered turns lack), the span starts
    ///   where the two part.
    /// - **content end**: where message i's own text ends in F, found by rendering F with message i replaced
    ///   by a plain `{role, content: probe}` for two probes and taking the shortest common suffix (templates
    ///   that trim content, or render tool calls instead of it, are handled).
    /// - **end of turn**: what the template writes after the message's text both when it is the last message
    ///   and when a user message follows (their common start, cut after the last line break or `>`/`]` if
    ///   they part inside the next header, without trailing whitespace): `<|im_end|>` from `<|im_end|>\n`,
    ///   `<|eot_id|>`, `<end_of_turn>`, ` </s>`, Phi-3's `<|end|>` without the `</s>` written only at the
    ///   very end. If the two share nothing, the eos token or one `<...>`/`[...]` marker that starts the
    ///   text at the message's real position (gpt-oss: `<|return|>` last, `<|end|>` before). The span ends
    ///   after its first occurrence from the content end (tool calls written after the content included);
    ///   the separator after the marker is not in it, since generation stops at the marker. A template
    ///   that writes no marker gives a span ending at the content.
    ///
    /// Throws `.spans` when a prompt is not a prefix of F (a template that renders earlier turns differently
    /// once later turns exist); add `{% generation %}` blocks to such a template. Cost: about ten renders
    /// per assistant message.
    public func renderWithAssistantSpans(_ input: ChatTemplateInput) throws(TemplateError)
        -> RenderedConversation
    {
        guard !input.continueFinalMessage else {
            throw TemplateError(
                .spans, "assistant spans are for whole conversations, not continue_final_message")
        }
        let full = try run(input)
        if hasGenerationBlocks {
            return RenderedConversation(
                text: full.output, assistantSpans: full.generationSpans, spanSource: .generationBlocks)
        }
        let fullBytes = Array(full.output.utf8)
        let assistants = input.messages.indices.filter { input.messages[$0]["role"] == "assistant" }
        var starts: [Int] = []
        for index in assistants {
            starts.append(try promptEnd(before: index, in: input, rendered: fullBytes))
        }
        var spans: [Range<Int>] = []
        for (position, index) in assistants.enumerated() {
            let start = starts[position]
            let limit = position + 1 < starts.count ? starts[position + 1] : fullBytes.count
            // An empty content can "end" before the prompt does (Qwen2.5 writes `\n` before a tool call
            // only after non-empty content), so the marker is searched from the raw content end.
            let contentEnd = try contentEndOffset(of: index, in: input, rendered: fullBytes)
            let marker = Array(try endOfTurnMarker(after: index, in: input).utf8)
            var end = contentEnd
            if !marker.isEmpty, let found = Self.find(marker, in: fullBytes, from: contentEnd, before: limit)
            {
                end = found + marker.count
            }
            spans.append(start..<max(start, end))
        }
        return RenderedConversation(text: full.output, assistantSpans: spans, spanSource: .prefixRendering)
    }

    /// Where the prompt for assistant message `index` ends in the full rendering: after
    /// `render(messages[..<index], add_generation_prompt=True)` when that is a prefix of it. A generation
    /// prompt that adds text the template does not write before a rendered assistant turn (DeepSeek-R1's
    /// `<think>\n`) is accepted when the prompt without it, `render(messages[..<index])`, is a prefix: the
    /// span then starts where the two diverge.
    private func promptEnd(before index: Int, in input: ChatTemplateInput, rendered: [UInt8])
        throws(TemplateError)
        -> Int
    {
        var prompt = input
        prompt.messages = Array(input.messages[..<index])
        prompt.addGenerationPrompt = true
        let promptBytes: [UInt8]
        do {
            promptBytes = Array(try render(prompt).utf8)
        } catch {
            // Typically a template that cannot render a conversation starting with an assistant turn.
            throw TemplateError(
                .spans,
                "cannot render the prompt for assistant message \(index) (messages[..<\(index)] with "
                    + "add_generation_prompt): \(error)")
        }
        if rendered.starts(with: promptBytes) { return promptBytes.count }
        prompt.addGenerationPrompt = false
        let history = Array(try render(prompt).utf8)
        if rendered.starts(with: history) {
            let common = zip(promptBytes, rendered).prefix { $0 == $1 }.count
            if common >= history.count { return Self.scalarBoundary(rendered, atOrBefore: common) }
        }
        throw TemplateError(
            .spans,
            "the prompt for assistant message \(index) (messages[..<\(index)] with add_generation_prompt) is not a "
                + "prefix of the rendered conversation: this template renders earlier turns differently once "
                + "later turns exist; mark assistant text with {% generation %} blocks")
    }

    /// The end-of-turn text the template writes after assistant message `index`: the common start of what
    /// follows its content when it is the last message and when a user message follows, without trailing
    /// whitespace and without a trailing unclosed `<`/`[` where the two part inside the next marker
    /// (`<|im_end|>` from `<|im_end|>\n` and `<|im_end|>\n<|im_start|>user...`; Phi-3's `<|end|>` without
    /// the `</s>` it writes only at the very end). When they share nothing but both are non-empty, the eos
    /// token or a single `<...>`/`[...]` marker that starts the tail of the message's real position.
    private func endOfTurnMarker(after index: Int, in input: ChatTemplateInput) throws(TemplateError)
        -> String
    {
        var tails: [[Unicode.Scalar]] = []
        for followed in [false, true] {
            var turn = input
            turn.messages = Array(input.messages[...index])
            if followed { turn.messages.append(.message(role: "user", content: "probe question")) }
            turn.addGenerationPrompt = false
            let bytes = Array(try render(turn).utf8)
            let contentEnd = try contentEndOffset(of: index, in: turn, rendered: bytes)
            tails.append(
                Array(
                    String(
                        decoding: bytes[Self.scalarBoundary(bytes, atOrBefore: contentEnd)...], as: UTF8.self
                    ).unicodeScalars))
        }
        var common = Array(zip(tails[0], tails[1]).prefix { $0 == $1 }.map(\.self.0))
        // Where the two differ may be inside the next header (Phi-3: `<|end|>\n</s>` against
        // `<|end|>\n<|user|>` share `<|end|>\n<`; DeepSeek-Coder's `\n<|EOT|>\n### Response:` against
        // `\n<|EOT|>\n### Instruction:` share `\n<|EOT|>\n### `): cut after the last line break or
        // closing `>`/`]`.
        if common.count < min(tails[0].count, tails[1].count) {
            let boundary = common.lastIndex { $0 == "\n" || $0 == "\r" || $0 == ">" || $0 == "]" }
            common.removeSubrange((boundary.map { $0 + 1 } ?? 0)...)
        }
        let marker = PythonString.strip(PythonString.string(common), characters: nil, leading: false)
        guard marker.isEmpty, !tails[0].isEmpty, !tails[1].isEmpty else { return marker }
        // The two share nothing (gpt-oss ends a last turn with `<|return|>`, others with `<|end|>`): take,
        // from the tail of this message's real position, the eos token or one bracketed marker if it
        // starts there.
        let actual = PythonString.string(index == input.messages.count - 1 ? tails[0] : tails[1])
        if let eos = input.eosToken, !eos.isEmpty, actual.hasPrefix(eos) { return eos }
        let scalars = Array(actual.unicodeScalars)
        guard let first = scalars.first, first == "<" || first == "[",
            let close = scalars.firstIndex(of: first == "<" ? ">" : "]")
        else { return "" }
        return PythonString.string(scalars[...close])
    }

    /// `offset` moved back to the start of the UTF-8 sequence it falls in.
    private static func scalarBoundary(_ bytes: [UInt8], atOrBefore offset: Int) -> Int {
        var offset = offset
        while offset > 0, offset < bytes.count, bytes[offset] & 0xC0 == 0x80 { offset -= 1 }
        return offset
    }

    /// Where message `index`'s content ends in `rendered` (the rendering of `input`), in bytes.
    private func contentEndOffset(of index: Int, in input: ChatTemplateInput, rendered: [UInt8])
        throws(TemplateError) -> Int
    {
        var shortest = rendered.count
        for probe in ["probe content A", "probe content B"] {
            var probed = input
            guard case .object(let message) = probed.messages[index] else {
                throw TemplateError(.spans, "message \(index) is not an object")
            }
            // A plain message of the same role: templates that render tool calls instead of the content
            // (Mistral v0.3) would not change with a new content alone.
            probed.messages[index] = .object(
                TemplateObject([("role", message["role"] ?? .null), ("content", .string(probe))]))
            let probeBytes = Array(try render(probed).utf8)
            var common = 0
            while common < rendered.count, common < probeBytes.count,
                rendered[rendered.count - 1 - common] == probeBytes[probeBytes.count - 1 - common]
            {
                common += 1
            }
            shortest = min(shortest, common)
        }
        return rendered.count - shortest
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int, before limit: Int) -> Int? {
        var index = from
        while index + needle.count <= min(limit, haystack.count) {
            if haystack[index..<index + needle.count].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}
