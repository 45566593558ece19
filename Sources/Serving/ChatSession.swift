import Tokenizers

/// A terminal conversation: system prompt, turns, and trimming to the context window.
public struct ChatSession: Sendable {
    public var system: String?
    public private(set) var turns: [ChatTurn] = []
    /// Turns dropped so far to fit the context (the CLI tells the user).
    public private(set) var droppedTurns = 0

    public init(system: String? = nil) {
        self.system = system
    }

    public mutating func reset() {
        turns.removeAll()
        droppedTurns = 0
    }

    public mutating func append(_ role: ChatTurn.Role, _ content: String) {
        turns.append(ChatTurn(role: role, content: content))
    }

    public var messages: [ChatTurn] {
        (system.map { [ChatTurn(role: .system, content: $0)] } ?? []) + turns
    }

    /// The prompt for the next assistant turn. Drops the oldest exchanges (never the system prompt
    /// or the last user turn) until the prompt leaves `reserve` tokens for the reply.
    public mutating func prompt(for backend: any GenerationBackend, reserve: Int) throws -> [Int32] {
        var tokens = try backend.chatPrompt(for: messages)
        while tokens.count + reserve > backend.contextLength && turns.count > 1 {
            // Drop one whole exchange: up to (not including) the next user turn.
            var drop = 1
            while drop < turns.count - 1 && turns[drop].role != .user { drop += 1 }
            turns.removeFirst(drop)
            droppedTurns += drop
            tokens = try backend.chatPrompt(for: messages)
        }
        if tokens.count + reserve > backend.contextLength {
            throw ServingError.contextLengthExceeded(
                promptTokens: tokens.count, maxTokens: reserve,
                contextLength: backend.contextLength)
        }
        return tokens
    }
}
