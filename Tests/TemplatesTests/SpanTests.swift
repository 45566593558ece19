import Foundation
import Testing
import Templates

/// Assistant spans: for each assistant message, the text after the generation prompt through the template's
/// end-of-turn marker, checked on the fixture conversations of every template family.
@Suite struct SpanTests {
    /// The `/plain` fixture case `name` as renderer input.
    static func input(_ name: String) throws -> (ChatTemplateRenderer, ChatTemplateInput) {
        let fixture = try #require(
            FixtureTests.chatCases.first { $0["name"]?.stringValue == name + "/plain" })
        let template = try #require(fixture["template"]?.stringValue)
        let source = try #require(Fixtures.chat["templates"]?[template]?.stringValue)
        let tokens = fixture["special_tokens"]?.objectValue ?? TemplateObject()
        var extra: [String: TemplateValue] = [:]
        for (key, value) in fixture["extra"]?.objectValue?.pairs ?? [] { extra[key] = value }
        let input = ChatTemplateInput(
            messages: fixture["messages"]?.arrayValue ?? [], bosToken: tokens["bos_token"]?.stringValue,
            eosToken: tokens["eos_token"]?.stringValue, tools: fixture["tools"]?.arrayValue, extra: extra,
            now: Fixtures.now)
        return (try ChatTemplateRenderer(source: source), input)
    }

    static let toolCall =
        "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Zürich\", \"days\": 2, \"ok\": true, "
        + "\"x\": null, \"t\": 1.5}}\n</tool_call><|im_end|>"

    static let expectations: [(String, [String])] = [
        ("chatml/basic", ["The quick brown fox.<|im_end|>", "  Lazy dog!  <|im_end|>"]),
        ("chatml/multi-turn", ["two<|im_end|>", "four<|im_end|>", "six<|im_end|>"]),
        // A typed "<|im_end|>" inside the content is content; the span ends at the template's own marker.
        ("chatml/unicode", ["¡Hola! 👋 Ça va? Ω≈ç√ <|im_end|> literal<|im_end|>"]),
        ("qwen2.5/tools", [toolCall, "It is 21 °C.<|im_end|>"]),
        // The generation prompt stops at "assistant\n": the empty think block is generated text.
        (
            "qwen3/basic",
            ["The quick brown fox.<|im_end|>", "<think>\n\n</think>\n\n  Lazy dog!  <|im_end|>"]
        ),
        // Reasoning of a turn before the last user query is not rendered, so it is not in the span.
        ("qwen3/reasoning", ["5<|im_end|>", "<think>\nDouble four.\n</think>\n\n8<|im_end|>"]),
        ("qwen3/tools", [toolCall, "<think>\n\n</think>\n\nIt is 21 °C.<|im_end|>"]),
        ("llama3/basic", ["The quick brown fox.<|eot_id|>", "Lazy dog!<|eot_id|>"]),
        (
            "llama3.1/tools",
            [
                "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}<|eot_id|>",
                "18 degrees.<|eot_id|>",
            ]
        ),
        ("llama2/basic", [" The quick brown fox. </s>", " Lazy dog! </s>"]),
        ("mistral/multi-turn", ["two</s>", "four</s>", "six</s>"]),
        ("gemma/multi-turn", ["two<end_of_turn>", "four<end_of_turn>", "six<end_of_turn>"]),
        ("gemma3/parts", ["A cat.<end_of_turn>"]),
        // Phi-3 ends turns with <|end|> and writes eos only at the very end: eos is not in the span.
        ("phi3/basic", ["The quick brown fox.<|end|>", "  Lazy dog!  <|end|>"]),
        ("zephyr/no-system", ["Hello!\nHow can I help?\n</s>"]),
        ("tinyllama/multi-turn", ["two</s>", "four</s>", "six</s>"]),
        ("smollm2/basic", ["The quick brown fox.<|im_end|>", "  Lazy dog!  <|im_end|>"]),
        // The generation prompt is "Assistant:" and turns are "Assistant: text": the space is generated.
        (
            "deepseek-v2/basic",
            [" The quick brown fox.<｜end▁of▁sentence｜>", "   Lazy dog!  <｜end▁of▁sentence｜>"]
        ),
        // The generation prompt adds "<think>\n", which rendered turns lack: the span starts where they part.
        (
            "deepseek-r1/multi-turn",
            ["two<｜end▁of▁sentence｜>", "four<｜end▁of▁sentence｜>", "six<｜end▁of▁sentence｜>"]
        ),
    ]

    @Test(arguments: expectations.indices)
    func spansOfTemplateFamily(_ index: Int) throws {
        let (name, expected) = Self.expectations[index]
        let (renderer, input) = try Self.input(name)
        let rendered = try renderer.renderWithAssistantSpans(input)
        #expect(rendered.spanSource == .prefixRendering)
        #expect(rendered.text == (try renderer.render(input)))
        #expect(rendered.assistantTexts == expected, "\(name)")
    }

    @Test func generationBlocksGiveTheSameSpansAsPrefixRendering() throws {
        for conversation in ["basic", "multi-turn", "unicode", "no-system"] {
            let (plain, input) = try Self.input("chatml/" + conversation)
            let (marked, _) = try Self.input("chatml-generation/" + conversation)
            #expect(marked.hasGenerationBlocks && !plain.hasGenerationBlocks)
            let fromBlocks = try marked.renderWithAssistantSpans(input)
            let fromPrefixes = try plain.renderWithAssistantSpans(input)
            #expect(fromBlocks.spanSource == .generationBlocks)
            #expect(fromBlocks.text == fromPrefixes.text)
            #expect(fromBlocks.assistantSpans == fromPrefixes.assistantSpans, "\(conversation)")
        }
    }

    @Test func spansAreOrderedDisjointAndAfterTheirPrompts() throws {
        for fixture in FixtureTests.chatCases {
            guard let name = fixture["name"]?.stringValue, name.hasSuffix("/plain"), fixture["error"] == nil,
                !name.hasPrefix("macros/")
            else { continue }
            let (renderer, input) = try Self.input(String(name.dropLast("/plain".count)))
            let rendered = try renderer.renderWithAssistantSpans(input)
            let assistantCount = input.messages.filter { $0["role"] == "assistant" }.count
            #expect(rendered.assistantSpans.count == assistantCount, "\(name)")
            var previousEnd = 0
            for span in rendered.assistantSpans {
                #expect(
                    span.lowerBound >= previousEnd && span.upperBound <= rendered.text.utf8.count, "\(name)")
                #expect(!span.isEmpty, "\(name)")
                previousEnd = span.upperBound
            }
        }
    }

    @Test func templateThatRewritesEarlierTurnsIsRefused() throws {
        // This template's header counts all messages, so a prefix conversation renders differently.
        let (renderer, input) = try Self.input("macros/multi-turn")
        do {
            _ = try renderer.renderWithAssistantSpans(input)
            Issue.record("expected a spans error")
        } catch {
            #expect(error.kind == .spans)
            #expect(error.message.contains("generation"))
        }
    }

    @Test func lastTurnMarkerDifferentFromEarlierOnes() throws {
        // Like gpt-oss: the last assistant turn ends with the eos `<|return|>`, earlier ones with `<|end|>`.
        let renderer = try ChatTemplateRenderer(
            source: """
                {% for m in messages %}<{{ m.role }}>{{ m.content }}{% if m.role == 'assistant' %}\
                {% if loop.last %}{{ eos_token }}{% else %}<|end|>{% endif %}{% endif %}{% endfor %}\
                {% if add_generation_prompt %}<assistant>{% endif %}
                """)
        let input = ChatTemplateInput(
            messages: [
                .message(role: "user", content: "Q1"), .message(role: "assistant", content: "A1"),
                .message(role: "user", content: "Q2"), .message(role: "assistant", content: "A2"),
            ], eosToken: "<|return|>")
        let rendered = try renderer.renderWithAssistantSpans(input)
        #expect(rendered.text == "<user>Q1<assistant>A1<|end|><user>Q2<assistant>A2<|return|>")
        #expect(rendered.assistantTexts == ["A1<|end|>", "A2<|return|>"])
    }

    @Test func spansAreUTF8ByteOffsets() throws {
        let renderer = try ChatTemplateRenderer(
            source: Fixtures.chat["templates"]?["chatml"]?.stringValue ?? "")
        let input = ChatTemplateInput(messages: [
            .message(role: "user", content: "é"), .message(role: "assistant", content: "🦊"),
        ])
        let rendered = try renderer.renderWithAssistantSpans(input)
        let prefix = "<|im_start|>user\né<|im_end|>\n<|im_start|>assistant\n"
        #expect(
            rendered.assistantSpans == [prefix.utf8.count..<(prefix.utf8.count + 4 + "<|im_end|>".utf8.count)]
        )
    }
}

extension SpanTests {
    @Test func byteMaskMarksExactlyTheSpans() throws {
        let (renderer, input) = try Self.input("chatml/basic")
        let rendered = try renderer.renderWithAssistantSpans(input)
        let mask = rendered.assistantByteMask
        #expect(mask.count == rendered.text.utf8.count)
        let bytes = Array(rendered.text.utf8)
        let masked = String(decoding: zip(bytes, mask).filter { $0.1 }.map { $0.0 }, as: UTF8.self)
        #expect(masked == rendered.assistantTexts.joined())
    }
}

extension SpanTests {
    /// A template that renders tool calls instead of the content (as Mistral v0.3 does): the span is the
    /// rendered call and the end marker, found by replacing the whole message with a plain probe.
    @Test func toolCallTurnThatIgnoresContent() throws {
        let renderer = try ChatTemplateRenderer(
            source: """
                {% for m in messages %}{% if m.role == 'user' %}[U] {{ m.content }} [/U]\
                {% elif m.tool_calls is defined %} [CALLS] {{ m.tool_calls | tojson }}{{ eos_token }}\
                {% elif m.role == 'assistant' %} {{ m.content }}{{ eos_token }}\
                {% else %}[R] {{ m.content }} [/R]{% endif %}{% endfor %}
                """)
        let call: TemplateValue = [
            "role": "assistant", "content": "ignored", "tool_calls": [["name": "f", "arguments": ["x": 1]]],
        ]
        let input = ChatTemplateInput(
            messages: [
                .message(role: "user", content: "go"), call, .message(role: "tool", content: "2"),
                .message(role: "assistant", content: "done"),
            ], eosToken: "</s>")
        let rendered = try renderer.renderWithAssistantSpans(input)
        #expect(
            rendered.assistantTexts == [#" [CALLS] [{"name": "f", "arguments": {"x": 1}}]</s>"#, " done</s>"])
    }

    /// When the text after a turn differs only inside the next header (`### Response:` at the end,
    /// `### Instruction:` before a user turn), the span stops at the line break before it.
    @Test func endMarkerStopsBeforeASharedHeaderStart() throws {
        let renderer = try ChatTemplateRenderer(
            source: "{% for m in messages %}{% if m.role == 'user' %}### Instruction:\n{{ m.content }}\n"
                + "{% else %}### Response:\n{{ m.content }}\n<|EOT|>\n{% endif %}{% endfor %}"
                + "{{ '### Response:\\n' }}")
        let input = ChatTemplateInput(messages: [
            .message(role: "user", content: "Q1"), .message(role: "assistant", content: "A1"),
            .message(role: "user", content: "Q2"),
        ])
        let rendered = try renderer.renderWithAssistantSpans(input)
        #expect(
            rendered.text
                == "### Instruction:\nQ1\n### Response:\nA1\n<|EOT|>\n### Instruction:\nQ2\n### Response:\n")
        #expect(rendered.assistantTexts == ["A1\n<|EOT|>"])
    }
}

extension SpanTests {
    @Test func unrenderablePromptIsASpansError() throws {
        let renderer = try ChatTemplateRenderer(
            source: "{{ messages[0].role }}{% for m in messages %}{{ m.content }}{% endfor %}")
        do {
            _ = try renderer.renderWithAssistantSpans(
                ChatTemplateInput(messages: [.message(role: "assistant", content: "first")]))
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == .spans)
            #expect(error.message.contains("assistant message 0"))
        }
    }
}
