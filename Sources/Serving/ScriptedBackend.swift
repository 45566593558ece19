import Foundation
import Models
import Synchronization
import Tokenizers

/// A deterministic stand-in for a model, for tests, scripts and `rlhf serve --demo`.
///
/// Tokens are UTF-8 bytes (ids 0…255) plus an end token (256). A reply is one of a few fixed
/// sentences about the last line of the prompt; which one is drawn from the row's seed (always
/// the first at temperature 0), and it is emitted one byte per step for every row in the batch,
/// like a real step-wise decoder, optionally sleeping `stepDelay` per step to simulate compute.
/// `stepSizes` and `trace` show which rows shared which steps.
public final class ScriptedBackend: GenerationBackend {
    public let modelID: String
    public let contextLength: Int
    public let endTokens: Set<Int32> = [ScriptedBackend.endToken]
    public let vocabularySize = 257
    public let stepDelay: Duration
    public static let endToken: Int32 = 256

    private let log = Mutex(Log())
    private let held = Atomic<Bool>(false)

    private struct Log {
        var stepSizes: [Int] = []
        var trace: [(step: Int, prompt: String, token: Int32)] = []
    }

    public init(modelID: String = "scripted", contextLength: Int = 512, stepDelay: Duration = .zero) {
        self.modelID = modelID
        self.contextLength = contextLength
        self.stepDelay = stepDelay
    }

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

    public func makeDecoder(slots: Int) throws -> any TokenDecoder {
        ScriptedDecoder(backend: self, slots: slots)
    }

    /// Rows decoded in each step so far, in order (to observe rows joining and leaving).
    public var stepSizes: [Int] { log.withLock { $0.stepSizes } }

    /// Every token handed out: the step it came with (a row's first token carries the number of
    /// the step that follows its admission), the row's prompt, the token.
    public var trace: [(step: Int, prompt: String, token: Int32)] { log.withLock { $0.trace } }

    /// The reply a row gets: the first at temperature 0, else one drawn from the row's seed.
    func reply(to prompt: [Int32], distribution: SamplingSettings, seed: UInt64) -> [Int32] {
        let options = Self.replies(to: decode(prompt))
        var state = seed
        let pick = distribution.temperature == 0 ? 0 : Int(Self.splitMix(&state) % UInt64(options.count))
        return encode(options[pick]) + [Self.endToken]
    }

    func record(step: Int?, prompt: String, token: Int32) {
        log.withLock { log in
            log.trace.append((step ?? log.stepSizes.count, prompt, token))
        }
    }

    func recordStep(rows: Int) { log.withLock { $0.stepSizes.append(rows) } }

    /// While held, decoding steps wait (admission still answers): a test can line up work while
    /// a running row cannot advance, however the threads are scheduled.
    public func holdSteps() { held.store(true, ordering: .releasing) }
    public func releaseSteps() { held.store(false, ordering: .releasing) }

    func sleepOneStep() {
        while held.load(ordering: .acquiring) { Thread.sleep(forTimeInterval: 0.001) }
        guard stepDelay > .zero else { return }
        Thread.sleep(
            forTimeInterval: Double(stepDelay.components.attoseconds) / 1e18
                + Double(stepDelay.components.seconds))
    }

    private static func splitMix(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The scripted backend's step-wise decoder: each slot replays its row's reply.
final class ScriptedDecoder: TokenDecoder {
    private let backend: ScriptedBackend
    private var rows: [(prompt: String, reply: [Int32], next: Int)?]

    init(backend: ScriptedBackend, slots: Int) {
        self.backend = backend
        self.rows = Array(repeating: nil, count: slots)
    }

    func admit(_ requests: [DecodeRequest]) throws -> [DecodedToken] {
        var free = rows.indices.filter { rows[$0] == nil }
        precondition(requests.count <= free.count, "ScriptedDecoder.admit: no free slot")
        return requests.map { request in
            let slot = free.removeFirst()
            let reply = backend.reply(
                to: request.prompt, distribution: request.distribution, seed: request.seed)
            let prompt = backend.decode(request.prompt)
            rows[slot] = (prompt, reply, 1)
            backend.record(step: nil, prompt: prompt, token: reply[0])
            return DecodedToken(slot: slot, token: reply[0])
        }
    }

    func step() throws -> [DecodedToken] {
        // A row past its end token keeps repeating it, as a model would go on sampling.
        let active = rows.indices.filter { rows[$0] != nil }
        guard !active.isEmpty else { return [] }
        backend.sleepOneStep()
        let step = backend.stepSizes.count
        backend.recordStep(rows: active.count)
        return active.map { slot in
            let row = rows[slot]!
            let token = row.reply[min(row.next, row.reply.count - 1)]
            rows[slot]!.next += 1
            backend.record(step: step, prompt: row.prompt, token: token)
            return DecodedToken(slot: slot, token: token)
        }
    }

    func release(slot: Int) { rows[slot] = nil }
}
