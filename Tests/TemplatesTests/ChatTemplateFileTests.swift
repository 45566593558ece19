import Foundation
import Testing
import Templates

/// Loading a model directory's chat template and special tokens the way transformers saves them.
@Suite struct ChatTemplateFileTests {
    func directory(_ files: [String: String]) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "templates-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        for (name, text) in files {
            try text.write(to: url.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        return url
    }

    @Test func readsStringTemplateAndTokenObjects() throws {
        let url = try directory([
            "tokenizer_config.json": #"""
            {"bos_token": {"content": "<s>", "lstrip": false}, "eos_token": "</s>", "pad_token": null,
             "unk_token": {"content": "<unk>"}, "chat_template": "{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}{{ eos_token }}"}
            """#
        ])
        defer { try? FileManager.default.removeItem(at: url) }
        let file = try ChatTemplateFile.load(directory: url)
        #expect(file.bosToken == "<s>")
        #expect(file.eosToken == "</s>")
        #expect(file.specialTokens == ["bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"])
        #expect(file.templateURL.lastPathComponent == "tokenizer_config.json")
        let text = try file.renderer().render(
            messages: [.message(role: "user", content: "hi")], bosToken: file.bosToken,
            eosToken: file.eosToken)
        #expect(text == "<s>hi</s>")
    }

    @Test func picksTheDefaultOfNamedTemplates() throws {
        let url = try directory([
            "tokenizer_config.json": #"""
            {"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]}
            """#
        ])
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(try ChatTemplateFile.load(directory: url).template == "D")

        let noDefault = try directory([
            "tokenizer_config.json":
                #"{"chat_template": [{"name": "a", "template": "A"}, {"name": "b", "template": "B"}]}"#
        ])
        defer { try? FileManager.default.removeItem(at: noDefault) }
        #expect(throws: TemplateError.self) { try ChatTemplateFile.load(directory: noDefault) }
    }

    @Test func jinjaFileTakesPrecedence() throws {
        let url = try directory([
            "tokenizer_config.json": #"{"eos_token": "<|im_end|>", "chat_template": "old"}"#,
            "chat_template.jinja": "new {{ eos_token }}\n",
        ])
        defer { try? FileManager.default.removeItem(at: url) }
        let file = try ChatTemplateFile.load(directory: url)
        #expect(file.template == "new {{ eos_token }}\n")
        #expect(file.templateURL.lastPathComponent == "chat_template.jinja")
        // jinja2 drops the single trailing newline of the template source.
        #expect(try file.renderer().render(messages: [], eosToken: file.eosToken) == "new <|im_end|>")
    }

    @Test func missingTemplateIsAFileError() throws {
        let url = try directory(["tokenizer_config.json": #"{"eos_token": "</s>"}"#])
        defer { try? FileManager.default.removeItem(at: url) }
        do {
            _ = try ChatTemplateFile.load(directory: url)
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == .file)
            #expect(error.message.contains("chat_template.jinja"))
        }
        let broken = try directory(["tokenizer_config.json": #"{"chat_template": "x",}"#])
        defer { try? FileManager.default.removeItem(at: broken) }
        #expect(throws: TemplateError.self) { try ChatTemplateFile.load(directory: broken) }
    }
}

extension ChatTemplateFileTests {
    /// A directory written by transformers' `save_pretrained` (scripts/make-template-fixtures.py).
    @Test func loadsWhatTransformersSaves() throws {
        let file = try ChatTemplateFile.load(
            directory: Fixtures.directory.appendingPathComponent("saved-tokenizer"))
        #expect(file.templateURL.lastPathComponent == "chat_template.jinja")
        #expect(file.specialTokens == ["bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"])
        let fixture = try #require(
            FixtureTests.chatCases.first { $0["name"]?.stringValue == "zephyr/no-system/prompt" })
        let input = file.input(messages: fixture["messages"]?.arrayValue ?? [], addGenerationPrompt: true)
        #expect(input.extra == ["unk_token": "<unk>"])
        let text = try file.renderer().render(input)
        #expect(text == fixture["expected"]?.stringValue)
    }
}
