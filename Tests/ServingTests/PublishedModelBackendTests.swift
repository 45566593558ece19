import Foundation
import Models
import Testing
import Tokenizers
@testable import Serving

/// A published model directory (tiny Llama with a Llama 3 tokenizer and template, written by
/// transformers; see scripts/make-chat-fixtures.py) served with its own chat template.
@Test func aPublishedModelIsServedWithItsOwnTemplateAndEndTokens() throws {
    let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../TrainingTests/Fixtures/chat/llama3").standardizedFileURL
    struct Conversation: Decodable {
        var messages: [ChatMessage]
        var prompt_ids: [Int32]
    }
    struct Expected: Decodable {
        var end_of_turn: Int32
        var eos_ids: [Int32]
        var conversations: [Conversation]
    }
    let expected = try JSONDecoder().decode(
        Expected.self, from: Data(contentsOf: directory.appendingPathComponent("expected.json")))
    let backend = try TransformerBackend.load(runDirectory: directory.path)
    #expect(backend.template == nil)  // no ChatML tokens: the Llama 3 template renders
    #expect(backend.endTokens.isSuperset(of: [expected.end_of_turn] + expected.eos_ids))
    for c in expected.conversations {
        let last = c.messages.lastIndex { $0.role == .assistant }!
        let turns = c.messages[..<last].map {
            ChatTurn(role: ChatTurn.Role(rawValue: $0.role.rawValue)!, content: $0.content)
        }
        #expect(try backend.chatPrompt(for: turns) == c.prompt_ids)
    }
}
