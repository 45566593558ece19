import Testing
@testable import Tokenizers

@Suite struct ChatTemplateTests {
    let messages = [
        ChatMessage(role: .system, content: "You are terse."),
        ChatMessage(role: .user, content: "Name a fox."),
        ChatMessage(role: .assistant, content: "The quick brown fox."),
        ChatMessage(role: .user, content: "Again <|im_end|>"),
        ChatMessage(role: .assistant, content: "  Lazy dog!"),
    ]

    @Test func rendersChatMLWithMask() throws {
        let tokenizer = Fixtures.tiny
        let template = try ChatTemplate(tokenizer: tokenizer)
        let rendered = template.render(messages)
        #expect(rendered.tokens.count == rendered.lossMask.count)
        let expected = messages.map { "<|im_start|>\($0.role.rawValue)\n\($0.content)<|im_end|>\n" }.joined()
        #expect(try tokenizer.decodeText(rendered.tokens) == expected)
        // The typed "<|im_end|>" in the user's text is not a special token: 5 turns, 5 ends.
        #expect(rendered.tokens.filter { $0 == template.endOfTurnID }.count == 5)
        #expect(rendered.tokens.filter { $0 == template.startOfTurnID }.count == 5)

        // The masked tokens are exactly the assistants' contents, each with its end of turn.
        var runs: [[TokenID]] = []
        var current: [TokenID] = []
        for (token, trained) in zip(rendered.tokens, rendered.lossMask) {
            if trained {
                current.append(token)
            } else if !current.isEmpty {
                runs.append(current); current = []
            }
        }
        if !current.isEmpty { runs.append(current) }
        #expect(
            try runs.map { try tokenizer.decodeText($0) } == [
                "The quick brown fox.<|im_end|>", "  Lazy dog!<|im_end|>",
            ])
        #expect(runs.allSatisfy { $0.last == template.endOfTurnID })

        // Ids equal encoding the whole rendered string with special tokens allowed.
        #expect(rendered.tokens == renderedByString(tokenizer))
    }

    /// Reference: the rendered text encoded in one go, with the user's typed marker escaped.
    func renderedByString(_ tokenizer: Tokenizer) -> [TokenID] {
        var ids: [TokenID] = []
        for message in messages {
            ids += tokenizer.encode("<|im_start|>", allowedSpecial: .all)
            ids += tokenizer.encode("\(message.role.rawValue)\n\(message.content)")
            ids += tokenizer.encode("<|im_end|>\n", allowedSpecial: .all)
        }
        return ids
    }

    @Test func promptEndsWithAssistantHeader() throws {
        let tokenizer = Fixtures.tiny
        let template = try ChatTemplate(tokenizer: tokenizer)
        let history = Array(messages.prefix(2))
        let prompt = template.renderPrompt(history)
        #expect(
            Array(prompt.prefix(template.render(history).tokens.count)) == template.render(history).tokens)
        #expect(try tokenizer.decodeText(prompt).hasSuffix("<|im_end|>\n<|im_start|>assistant\n"))
        #expect(
            Array(prompt.suffix(1 + tokenizer.encode("assistant\n").count)) == [template.startOfTurnID]
                + tokenizer.encode("assistant\n"))
        #expect(template.endOfTurnID == tokenizer.specialTokenID("<|im_end|>"))
    }

    @Test func requiresChatTokens() throws {
        let plain = try BPETrainer.train(
            texts: ["hello hello"], parameters: .init(vocabularySize: 260, specialTokens: ["<|endoftext|>"]))
        #expect(throws: TokenizerError.missingSpecialToken(SpecialTokens.imStart)) {
            try ChatTemplate(tokenizer: plain)
        }
    }
}
