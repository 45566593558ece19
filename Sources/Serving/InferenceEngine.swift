import Dispatch
import Models
import Synchronization
import TensorCore

/// The one owner of the model: queues generation jobs and decodes them with continuous batching
/// on a dedicated worker thread, so the HTTP event loops and the cooperative thread pool never
/// block on a forward pass. The worker loops by itself while rows run (no hop back to the actor
/// per step: on a busy machine every hop waits to be scheduled); it takes waiting rows from the
/// line between steps.
///
/// Continuous batching: the unit is a row (one choice of one prompt). Between decode steps, rows
/// waiting in line take the free slots of the backend's decoder (up to `maxBatchRows`, first come
/// first served), each step gives every running row one token, and a row leaves as soon as it is
/// done (end token, stop sequence, `maxTokens`) or its consumer went away, freeing its slot for
/// the next step. A request arriving mid-run thus starts at the next step instead of waiting for
/// the batch. Every row draws from its own random stream, seeded from the job's seed (or a fresh
/// one), so the same seed gives the same text whatever else the server is doing.
public actor InferenceEngine {
    public nonisolated let backend: any GenerationBackend
    public nonisolated let maxBatchRows: Int
    private let line = WorkLine()
    private let worker = DispatchQueue(label: "rlhf.serving.generation", qos: .userInitiated)
    private let batch: RunningBatch
    private var seedSource = SystemRandomNumberGenerator()

    /// Counters since start.
    public var statistics: Statistics { line.state.withLock { $0.statistics } }

    public struct Statistics: Sendable, Equatable {
        /// Decode steps run (each gives every running row one token).
        public var steps = 0
        /// Rows admitted (prefilled) into the running batch.
        public var rows = 0
        /// Most rows in one step.
        public var largestBatch = 0
        public var jobs = 0
        /// Rows stopped because their consumer went away (client disconnected), waiting or running.
        public var cancelledRows = 0
    }

    public init(backend: any GenerationBackend, maxBatchRows: Int = 8) {
        precondition(maxBatchRows >= 1, "maxBatchRows must be positive")
        self.backend = backend
        self.maxBatchRows = maxBatchRows
        self.batch = RunningBatch(backend: backend, slots: maxBatchRows)
    }

    /// Queues a job; its events arrive on the returned handle. Throws if the job cannot fit the
    /// context (callers that face users validate earlier with better messages).
    public func submit(_ job: GenerationJob) throws(ServingError) -> GenerationHandle {
        guard !job.prompts.isEmpty, job.choicesPerPrompt >= 1, job.maxTokens >= 1 else {
            throw ServingError.invalidRequest("a job needs at least one prompt, one choice and one token")
        }
        for prompt in job.prompts where prompt.isEmpty || prompt.count + job.maxTokens > backend.contextLength
        {
            throw ServingError.contextLengthExceeded(
                promptTokens: prompt.count, maxTokens: job.maxTokens, contextLength: backend.contextLength)
        }
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: GenerationEvent.self)
        let flag = CancellationFlag()
        // A consumer that goes away (task cancelled, stream dropped) stops its rows.
        continuation.onTermination = { _ in flag.cancel() }
        let pending = PendingJob(job: job, continuation: continuation, flag: flag)
        // Row r of the job draws from the r-th seed of a generator seeded with the job's seed.
        var seeds = RandomGenerator(seed: job.seed ?? seedSource.next())
        var rows: [WaitingRow] = []
        for (p, prompt) in job.prompts.enumerated() {
            for c in 0..<job.choicesPerPrompt {
                rows.append(
                    WaitingRow(
                        job: pending, choice: p * job.choicesPerPrompt + c,
                        request: DecodeRequest(
                            prompt: prompt, distribution: job.sampling, seed: seeds.next(),
                            maxNewTokens: job.maxTokens)))
            }
        }
        let start = line.state.withLock { state in
            state.waiting += rows
            state.statistics.jobs += 1
            defer { state.running = true }
            return !state.running
        }
        if start {
            let (line, batch, slots) = (self.line, self.batch, maxBatchRows)
            worker.async { Self.work(line: line, batch: batch, slots: slots) }
        }
        return GenerationHandle(events: stream, flag: flag)
    }

    /// The worker's loop: admit, step, deliver, release; until no row waits or runs.
    private static func work(line: WorkLine, batch: RunningBatch, slots: Int) {
        var active = 0
        while true {
            var dropped: [WaitingRow] = []
            let admitted: [WaitingRow]? = line.state.withLock { state in
                dropped = state.waiting.filter { $0.job.flag.isCancelled }
                state.waiting.removeAll { $0.job.flag.isCancelled }
                state.statistics.cancelledRows += dropped.count
                let admitted = Array(state.waiting.prefix(slots - active))
                state.waiting.removeFirst(admitted.count)
                guard !admitted.isEmpty || active > 0 else {
                    state.running = false
                    return nil
                }
                state.statistics.rows += admitted.count
                return admitted
            }
            for row in dropped { row.job.closeRow() }
            guard let admitted else { return }
            let report = batch.advance(admitting: admitted)
            active = report.active
            line.state.withLock { state in
                if report.steppedRows > 0 { state.statistics.steps += 1 }
                state.statistics.largestBatch = max(state.statistics.largestBatch, report.steppedRows)
                state.statistics.cancelledRows += report.cancelledRows
            }
        }
    }
}

/// Rows waiting for a slot, whether the worker runs, and the counters; shared by the engine and
/// its worker.
final class WorkLine: Sendable {
    struct State {
        var waiting: [WaitingRow] = []
        var running = false
        var statistics = InferenceEngine.Statistics()
    }

    let state = Mutex(State())
}

/// A unit of work: `choicesPerPrompt` completions of each prompt. Choice `c` of prompt `p` is
/// reported as choice index `p * choicesPerPrompt + c` (OpenAI's numbering for list prompts).
public struct GenerationJob: Sendable {
    public var prompts: [[Int32]]
    public var choicesPerPrompt: Int
    public var maxTokens: Int
    public var sampling: SamplingSettings
    public var seed: UInt64?
    public var stop: [String]

    public init(
        prompts: [[Int32]], choicesPerPrompt: Int = 1, maxTokens: Int, sampling: SamplingSettings = .init(),
        seed: UInt64? = nil, stop: [String] = []
    ) {
        self.prompts = prompts
        self.choicesPerPrompt = choicesPerPrompt
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.seed = seed
        self.stop = stop
    }

    var rowCount: Int { prompts.count * choicesPerPrompt }
}

public enum FinishReason: String, Sendable, Codable {
    case stop, length
}

public enum GenerationEvent: Sendable, Equatable {
    /// New text of one choice (never empty).
    case text(choice: Int, String)
    /// The choice is complete; `completionTokens` counts the tokens generated for it.
    case finished(choice: Int, reason: FinishReason, completionTokens: Int)
}

/// The consumer's side of a job: its events, and a way to stop it (client went away).
public final class GenerationHandle: Sendable {
    public let events: AsyncThrowingStream<GenerationEvent, any Error>
    let flag: CancellationFlag

    init(events: AsyncThrowingStream<GenerationEvent, any Error>, flag: CancellationFlag) {
        self.events = events
        self.flag = flag
    }

    /// Stops every row of the job at its next token; no further events are delivered.
    public func cancel() { flag.cancel() }

    /// Waits for the whole job: the text, finish reason and token count of every choice.
    public func collect() async throws -> [CompletedChoice] {
        var choices: [Int: CompletedChoice] = [:]
        for try await event in events {
            switch event {
            case .text(let choice, let text):
                choices[choice, default: CompletedChoice(index: choice)].text += text
            case .finished(let choice, let reason, let tokens):
                choices[choice, default: CompletedChoice(index: choice)].finishReason = reason
                choices[choice, default: CompletedChoice(index: choice)].completionTokens = tokens
            }
        }
        return choices.values.sorted { $0.index < $1.index }
    }
}

public struct CompletedChoice: Sendable, Equatable {
    public var index: Int
    public var text = ""
    public var finishReason: FinishReason = .stop
    public var completionTokens = 0
}

final class CancellationFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func cancel() { value.store(true, ordering: .relaxed) }
    var isCancelled: Bool { value.load(ordering: .relaxed) }
}
