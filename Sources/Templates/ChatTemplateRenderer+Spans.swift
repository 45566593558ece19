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
    /// With `{% generation %}` blocks in the template, those blocks are the spans. Otherwise, for assistant
    /// message i of the full rendering F:
    /// - **start**: the length of `render(messages[..<i], add_generation_prompt=True)`, which must be a
    ///   prefix of F (the generation prompt is the model's prompt at inference, so everything after it is
    ///   generated, e.g. Qwen3's `<think>\n\n</think>\n\n`);
    /// - **content end**: where the message's content ends in F, found by rendering F again with the
    ///   content replaced by two probe strings and taking the shortest common suffix (so templates that
    ///   trim or rewrite content are handled);
    /// - **end-of-turn**: the text the template writes after the content when the message is last
    ///   (found the same way on `render(messages[...i])`), minus its trailing whitespace: `<|im_end|>` of
    ///   `<|im_end|>\n`, `<|eot_id|>`, `<end_of_turn>`, ` </s>`, tool calls then the marker. The span ends
    ///   after the first occurrence of it from the content end; whitespace the template writes after the
    ///   marker (a separator the model never generates, since generation stops at the marker) is not in it.
    ///   A template that writes no end marker after an assistant message gives a span ending at the content.
    ///
    /// Throws `.spans` when a prefix rendering is not a prefix of F (a template that renders earlier turns
    /// differently once later turns exist, e.g. one dropping earlier reasoning); add `{% generation %}`
    /// blocks to such a template.
    public func renderWithAssistantSpans(_ input: ChatTemplateInput) throws(TemplateError) -> RenderedConversation {
        let full = try run(input)
        if hasGenerationBlocks {
            return RenderedConversation(
                text: full.output, assistantSpans: full.generationSpans, spanSource: .generationBlocks)
        }
        let fullBytes = Array(full.output.utf8)
        let assistants = input.messages.indices.filter { input.messages[$0]["role"] == "assistant" }
        var starts: [Int] = []
        for index in assistants {
            var prompt = input
            prompt.messages = Array(input.messages[..<index])
            prompt.addGenerationPrompt = true
            let promptBytes = Array(try render(prompt).utf8)
            guard fullBytes.starts(with: promptBytes) else {
                throw TemplateError(
                    .spans,
                    "the prompt for assistant message \(index) (messages[..<\(index)] with add_generation_prompt) "
                        + "is not a prefix of the rendered conversation: this template renders earlier turns "
                        + "differently once later turns exist; mark assistant text with {% generation %} blocks")
            }
            starts.append(promptBytes.count)
        }
        var spans: [Range<Int>] = []
        for (position, index) in assistants.enumerated() {
            let start = starts[position]
            let limit = position + 1 < starts.count ? starts[position + 1] : fullBytes.count
            let contentEnd = max(start, try contentEndOffset(of: index, in: input, rendered: fullBytes))
            var last = input
            last.messages = Array(input.messages[...index])
            last.addGenerationPrompt = false
            let lastBytes = Array(try render(last).utf8)
            let tail = lastBytes[try contentEndOffset(of: index, in: last, rendered: lastBytes)...]
            let marker = Array(PythonString.strip(String(decoding: tail, as: UTF8.self), characters: nil, leading: false).utf8)
            var end = contentEnd
            if !marker.isEmpty, let found = Self.find(marker, in: fullBytes, from: contentEnd, before: limit) {
                end = found + marker.count
            }
            spans.append(start..<end)
        }
        return RenderedConversation(text: full.output, assistantSpans: spans, spanSource: .prefixRendering)
    }

    /// Where message `index`'s content ends in `rendered` (the rendering of `input`), in bytes.
    private func contentEndOffset(of index: Int, in input: ChatTemplateInput, rendered: [UInt8]) throws(TemplateError) -> Int {
        var shortest = rendered.count
        for probe in ["probe content A", "probe content B"] {
            var probed = input
            guard case .object(var message) = probed.messages[index] else {
                throw TemplateError(.spans, "message \(index) is not an object")
            }
            message["content"] = .string(probe)
            probed.messages[index] = .object(message)
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
