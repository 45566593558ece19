import Testing
@testable import Serving

@Suite struct ChatSessionTests {
    @Test func oldestExchangesAreDroppedToFitTheContext() throws {
        let backend = ScriptedBackend(contextLength: 80)
        var session = ChatSession(system: "be kind")
        session.append(.user, "first question")
        session.append(.assistant, "first answer")
        session.append(.user, "second question")
        session.append(.assistant, "second answer")
        session.append(.user, "third")
        let prompt = try session.prompt(for: backend, reserve: 10)
        #expect(prompt.count + 10 <= 80)
        // The system prompt and the last question survive; the oldest exchange went first.
        #expect(session.messages.first == ChatTurn(role: .system, content: "be kind"))
        #expect(session.turns.last == ChatTurn(role: .user, content: "third"))
        #expect(session.turns.first?.role == .user)
        #expect(session.droppedTurns == 2 || session.droppedTurns == 4)
        #expect(
            backend.decode(prompt) == session.messages.map { "\($0.role.rawValue): \($0.content)\n" }.joined()
                + "assistant:")
    }

    @Test func aSingleTurnTooLongForTheContextIsAnError() {
        let backend = ScriptedBackend(contextLength: 20)
        var session = ChatSession()
        session.append(.user, String(repeating: "x", count: 30))
        #expect(throws: ServingError.self) { _ = try session.prompt(for: backend, reserve: 4) }
    }
}
