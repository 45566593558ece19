import Foundation

extension OpenAIService {
    /// A streamed answer: server-sent events in OpenAI's chunk format, ending with `data: [DONE]`.
    public struct EventStream: Sendable {
        let handle: GenerationHandle
        let prepared: Prepared
        let id: String
        let created: Int
        let model: String

        /// Writes every event through `write` (one `data: …\n\n` string per call). If `write` throws
        /// (the client went away), generation stops and the error is rethrown. A generation failure
        /// is sent as an `error` event, which the OpenAI clients raise as an exception.
        public func write(to write: (String) async throws -> Void) async throws {
            do {
                if prepared.kind == .chat {
                    for choice in 0..<prepared.job.rowCount {
                        try await write(
                            chatChunk(choice, delta: .init(role: "assistant", content: ""), finish: nil))
                    }
                }
                var completionTokens = 0
                do {
                    for try await event in handle.events {
                        switch event {
                        case .text(let choice, let text):
                            try await write(
                                prepared.kind == .chat
                                    ? chatChunk(choice, delta: .init(content: text), finish: nil)
                                    : textChunk(choice, text: text, finish: nil))
                        case .finished(let choice, let reason, let tokens):
                            completionTokens += tokens
                            try await write(
                                prepared.kind == .chat
                                    ? chatChunk(choice, delta: .init(), finish: reason)
                                    : textChunk(choice, text: "", finish: reason))
                        }
                    }
                } catch let error as CancellationError {
                    throw error
                } catch {
                    let failure = ServingError.server("generation failed: \(error)")
                    try await write(Self.line(OpenAIService.encode(failure.body)))
                }
                if prepared.includeUsage {
                    let usage = OpenAI.Usage(
                        promptTokens: prepared.promptTokens, completionTokens: completionTokens)
                    try await write(
                        prepared.kind == .chat
                            ? Self.line(
                                OpenAIService.encode(
                                    OpenAI.ChatCompletionChunk(
                                        id: id, created: created, model: model, choices: [], usage: usage)))
                            : Self.line(
                                OpenAIService.encode(
                                    OpenAI.TextCompletion(
                                        id: id, created: created, model: model, choices: [], usage: usage))))
                }
                try await write("data: [DONE]\n\n")
            } catch {
                handle.cancel()
                throw error
            }
        }

        private func chatChunk(_ choice: Int, delta: OpenAI.ChatCompletionChunk.Delta, finish: FinishReason?)
            -> String
        {
            Self.line(
                OpenAIService.encode(
                    OpenAI.ChatCompletionChunk(
                        id: id, created: created, model: model,
                        choices: [.init(index: choice, delta: delta, finishReason: finish)])))
        }

        private func textChunk(_ choice: Int, text: String, finish: FinishReason?) -> String {
            Self.line(
                OpenAIService.encode(
                    OpenAI.TextCompletion(
                        id: id, created: created, model: model,
                        choices: [.init(text: text, index: choice, finishReason: finish)])))
        }

        private static func line(_ json: Data) -> String {
            "data: " + String(decoding: json, as: UTF8.self) + "\n\n"
        }
    }
}
