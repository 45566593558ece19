import Foundation
import Tokenizers

/// A supervised fine-tuning example: TRL's prompt–completion form, or a conversation.
public enum SFTExample: Sendable, Equatable {
    /// `{"prompt": …, "completion": …}`: rendered as one user turn and one assistant turn.
    case promptCompletion(prompt: String, completion: String)
    /// `{"messages": [{"role", "content"}, …]}`: loss on every assistant turn.
    case conversation([ChatMessage])

    /// The example as a conversation (prompt → user, completion → assistant).
    public var messages: [ChatMessage] {
        switch self {
        case .promptCompletion(let prompt, let completion):
            [ChatMessage(role: .user, content: prompt), ChatMessage(role: .assistant, content: completion)]
        case .conversation(let messages): messages
        }
    }

    private struct RawMessage: Decodable { var role: String; var content: String }
    private struct Raw: Decodable {
        var prompt: String?
        var completion: String?
        var messages: [RawMessage]?
    }

    /// Reads SFT records. A record has either `messages` or both `prompt` and `completion`;
    /// roles are `system`, `user`, `assistant`; every content is non-empty; a conversation has
    /// at least one assistant turn (else nothing would be learned from it).
    public static func load(from url: URL, options: LoadOptions = .strict) throws -> LoadedRecords<SFTExample>
    {
        try JSONLReader.load(url, as: Raw.self, options: options) { (raw: Raw) throws(RecordProblem) in
            if let messages = raw.messages {
                guard raw.prompt == nil, raw.completion == nil else {
                    throw RecordProblem(
                        field: "messages", reason: "give either messages or prompt/completion, not both")
                }
                guard !messages.isEmpty else {
                    throw RecordProblem(field: "messages", reason: "empty conversation")
                }
                var result: [ChatMessage] = []
                for (i, message) in messages.enumerated() {
                    guard let role = ChatMessage.Role(rawValue: message.role) else {
                        throw RecordProblem(
                            field: "messages[\(i)].role",
                            reason: "unknown role \"\(message.role)\" (expected system, user or assistant)")
                    }
                    try RecordProblem.requireText(message.content, "messages[\(i)].content")
                    result.append(ChatMessage(role: role, content: message.content))
                }
                guard result.contains(where: { $0.role == .assistant }) else {
                    throw RecordProblem(field: "messages", reason: "no assistant message to learn from")
                }
                return .conversation(result)
            }
            guard let prompt = raw.prompt else {
                throw RecordProblem(field: "prompt", reason: "missing field (or give messages)")
            }
            guard let completion = raw.completion else {
                throw RecordProblem(field: "completion", reason: "missing field")
            }
            try RecordProblem.requireText(prompt, "prompt")
            try RecordProblem.requireText(completion, "completion")
            return .promptCompletion(prompt: prompt, completion: completion)
        }
    }
}
