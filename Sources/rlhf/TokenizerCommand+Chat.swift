import ArgumentParser
import Foundation
import Models
import Templates
import Tokenizers

extension TokenizerCommand {
    /// `rlhf tokenizer chat`: what training sees of each conversation — the rendered text, its
    /// token ids and the mask of trained tokens — for comparing with `transformers`'
    /// `apply_chat_template(..., tokenize=True)`.
    struct Chat: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Render {\"messages\": […]} JSONL with the model's chat format; print {\"text\", \"ids\", \"mask\"} per line (mask 1 on trained tokens)."
        )

        @Option(name: .long, help: "A model or tokenizer directory (tokenizer.json and its chat template).")
        var tokenizer: String

        @Option(
            name: .customLong("data"),
            help: "Conversations, JSONL: one {\"messages\": [{\"role\", \"content\"}, …]} per line.")
        var data: String?
        @Option(name: .customLong("input"), help: .hidden)  // the old spelling
        var inputAlias: String?
        var input: String { data ?? inputAlias ?? "" }

        @Flag(
            name: .customLong("add-generation-prompt"),
            help: "End with the prompt of the next assistant turn (as at inference).")
        var addGenerationPrompt = false

        private struct Record: Decodable { var messages: [ChatMessage] }

        func validate() throws {
            guard !input.isEmpty else { throw ValidationError("Missing expected argument '--data <data>'") }
        }

        func run() throws {
            let format = try ConversationFormat.load(directory: URL(fileURLWithPath: tokenizer))
            let url = URL(fileURLWithPath: input)
            let lines = try JSONLReaderLines.read(url)
            for (number, line) in lines {
                let record: Record
                do { record = try JSONDecoder().decode(Record.self, from: Data(line.utf8)) } catch {
                    throw CommandError("\(input):\(number): not a {\"messages\": [...]} record: \(error)")
                }
                let rendered: (text: String, chat: RenderedChat)
                do {
                    rendered = try format.renderText(
                        record.messages, addGenerationPrompt: addGenerationPrompt)
                } catch {
                    if error.kind == .raised { throw CommandError("\(input):\(number): \(error.message)") }
                    throw CommandError("\(input):\(number): \(error)")
                }
                let object: [String: Any] = [
                    "text": rendered.text, "ids": rendered.chat.tokens.map(Int.init),
                    "mask": rendered.chat.lossMask.map { $0 ? 1 : 0 },
                ]
                let data = try JSONSerialization.data(
                    withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
            }
        }
    }
}

/// Non-blank lines of a JSONL file with their 1-based numbers.
enum JSONLReaderLines {
    static func read(_ url: URL) throws -> [(Int, String)] {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw CommandError("cannot read \(url.path): \(error.localizedDescription)")
        }
        return text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap {
            i, line in
            line.allSatisfy(\.isWhitespace) ? nil : (i + 1, String(line))
        }
    }
}
