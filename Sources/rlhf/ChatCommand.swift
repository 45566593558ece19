import ArgumentParser
import Foundation
import Serving

/// `rlhf chat`: a conversation in the terminal, tokens printed as they are generated.
struct ChatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Talk to a model in the terminal (/reset, /system TEXT, /quit).")

    @OptionGroup var source: ModelSourceOptions

    @Option(help: "System prompt.")
    var system: String?

    @OptionGroup var sampling: SamplingArguments
    var maxTokens: Int { sampling.maxTokens ?? 256 }

    @Option(help: "Seed (each turn uses seed + turn number) for reproducible replies.")
    var seed: UInt64?

    func run() async throws {
        let backend = try source.loadBackend()
        let engine = InferenceEngine(backend: backend, maxBatchRows: 1)
        var session = ChatSession(system: system)
        // Leave at least half the window for the conversation itself.
        let reserve = min(maxTokens, backend.contextLength / 2)
        let interactive = isatty(STDIN_FILENO) != 0
        writeOut(
            "chatting with \(backend.modelID) (context \(backend.contextLength) tokens); /reset, /system TEXT, /quit\n"
        )
        var turn: UInt64 = 0
        while true {
            if interactive { writeOut("> ") }
            guard let line = readLine(strippingNewline: true) else { break }
            let input = line.trimmingCharacters(in: .whitespaces)
            if input.isEmpty { continue }
            if input == "/quit" || input == "/exit" { break }
            if input == "/reset" {
                session.reset()
                writeOut("(conversation cleared)\n")
                continue
            }
            if input == "/system" || input.hasPrefix("/system ") {
                let text = String(input.dropFirst("/system".count)).trimmingCharacters(in: .whitespaces)
                session.system = text.isEmpty ? nil : text
                writeOut(text.isEmpty ? "(system prompt removed)\n" : "(system prompt set)\n")
                continue
            }
            if input.hasPrefix("/") {
                writeOut("commands: /reset, /system TEXT, /quit\n")
                continue
            }
            session.append(.user, input)
            let dropped = session.droppedTurns
            let prompt: [Int32]
            do {
                prompt = try session.prompt(for: backend, reserve: reserve)
            } catch {
                writeOut("error: \(error)\n")
                session.reset()
                continue
            }
            if session.droppedTurns > dropped {
                writeOut("(dropped \(session.droppedTurns - dropped) old turns to fit the context)\n")
            }
            let handle = try await engine.submit(
                GenerationJob(
                    prompts: [prompt], maxTokens: min(maxTokens, backend.contextLength - prompt.count),
                    sampling: SamplingSettings(
                        temperature: sampling.temperature, topK: sampling.topK, topP: sampling.topP),
                    seed: seed.map { $0 &+ turn }))
            turn += 1
            var reply = ""
            var finish = FinishReason.stop
            for try await event in handle.events {
                switch event {
                case .text(_, let text):
                    reply += text
                    writeOut(text)
                case .finished(_, let reason, _):
                    finish = reason
                }
            }
            writeOut(finish == .length ? " […max tokens]\n" : "\n")
            session.append(.assistant, reply)
        }
    }
}

/// Writes without buffering, so streamed tokens appear as they arrive.
func writeOut(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}
