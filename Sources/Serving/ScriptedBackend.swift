import Foundation
import Synchronization
import Tokenizers

/// A deterministic stand-in for a model, for tests, scripts and `rlhf serve --demo`.
///
/// Tokens are UTF-8 bytes (ids 0…255) plus an end token (256). A reply is one of a few fixed
/// sentences about the last line of the prompt; which one is drawn from the seed (always the
/// first at temperature 0), and it is emitted one byte per step in lockstep across the batch,
/// like a real batched decoder, optionally sleeping `stepDelay` per step to simulate compute.
public final class ScriptedBackend: GenerationBackend {
    public let modelID: String
    public let contextLength: Int
    public let endTokens: Set<Int32> = [ScriptedBackend.endToken]
    public let vocabularySize = 257
    public let stepDelay: Duration
    public static let endToken: Int32 = 256

    private let log = Mutex<[Int]>([])

    public init(modelID: String = "scripted", contextLength: Int = 512, stepDelay: Duration = .zero) {
        self.modelID = modelID
        self.contextLength = contextLength
        self.stepDelay = stepDelay
    }

    /// Number of rows of every `generate` call so far (to observe batching).
    public var batchSizes: [Int] { log.withLock { $0 } }

    public func encode(_ text: String) -> [Int32] { text.utf8.map { Int32($0) } }

    public func decode(_ tokens: [Int32]) -> String {
        String(decoding: tokens.filter { (0..<256).contains($0) }.map { UInt8($0) }, as: UTF8.self)
    }

    public func chatPrompt(for messages: [ChatTurn]) throws -> [Int32] {
        encode(messages.map { "\($0.role.rawValue): \($0.content)\n" }.joined() + "assistant:")
    }

    /// The replies a prompt can get; `reply(to:choice:)` picks one.
    public static func replies(to prompt: String) -> [String] {
        let lines = prompt.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        var topic = lines.last { !$0.isEmpty && $0 != "assistant:" } ?? "nothing"
        for role in ["user: ", "system: ", "assistant: "] where topic.hasPrefix(role) {
            topic = String(topic.dropFirst(role.count))
        }
        topic = String(topic.prefix(40))
        return [
            "You said: \(topic). That is all I know.",
            "Here is a thought about \(topic): keep it simple.",
            "I think \(topic) is interesting! Tell me more.",
            "No idea about \(topic), sorry.",
        ]
    }

    public func generate(
        prompts: [[Int32]], sampling: SamplingSettings, maxNewTokens: Int, seed: UInt64,
        onToken: @escaping (Int, Int32) -> Bool
    ) throws {
        log.withLock { $0.append(prompts.count) }
        var state = seed
        let replies: [[Int32]] = prompts.map { prompt in
            let options = Self.replies(to: decode(prompt))
            let pick = sampling.temperature == 0 ? 0 : Int(Self.splitMix(&state) % UInt64(options.count))
            return encode(options[pick]) + [Self.endToken]
        }
        var active = Array(repeating: true, count: prompts.count)
        for step in 0..<maxNewTokens where active.contains(true) {
            if stepDelay > .zero {
                Thread.sleep(
                    forTimeInterval: Double(stepDelay.components.attoseconds) / 1e18
                        + Double(stepDelay.components.seconds))
            }
            for row in prompts.indices where active[row] {
                let token = replies[row][step]
                if !onToken(row, token) || token == Self.endToken { active[row] = false }
            }
        }
    }

    private static func splitMix(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
