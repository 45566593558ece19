import Dispatch
import Models
import Synchronization

/// The one owner of the model: queues generation jobs, batches compatible ones, and runs the
/// backend on a dedicated worker thread so the HTTP event loops and the cooperative thread pool
/// never block on a forward pass.
///
/// Batching: jobs without a seed and with equal sampling settings share one call of
/// `GenerationBackend.generate` (up to `maxBatchRows` rows); a job with a seed runs alone, so the
/// same seed gives the same text whatever else the server is doing. Jobs that arrive while a batch
/// runs wait for the next one (the backend cannot add rows to a running batch).
public actor InferenceEngine {
    public nonisolated let backend: any GenerationBackend
    public nonisolated let maxBatchRows: Int
    public private(set) var statistics = Statistics()

    private var pending: [PendingJob] = []
    private var draining = false
    private let worker = DispatchQueue(label: "rlhf.serving.generation", qos: .userInitiated)
    private var seedSource = SystemRandomNumberGenerator()

    public struct Statistics: Sendable, Equatable {
        public var batches = 0
        public var rows = 0
        public var largestBatch = 0
        public var jobs = 0
        /// Rows stopped because their consumer went away (client disconnected).
        public var cancelledRows = 0
    }

    public init(backend: any GenerationBackend, maxBatchRows: Int = 8) {
        precondition(maxBatchRows >= 1, "maxBatchRows must be positive")
        self.backend = backend
        self.maxBatchRows = maxBatchRows
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
        pending.append(PendingJob(job: job, continuation: continuation, flag: flag))
        statistics.jobs += 1
        if !draining {
            draining = true
            Task { await self.drain() }
        }
        return GenerationHandle(events: stream, flag: flag)
    }

    private func drain() async {
        while let batch = nextBatch() {
            statistics.batches += 1
            let rows = batch.reduce(0) { $0 + $1.job.rowCount }
            statistics.rows += rows
            statistics.largestBatch = max(statistics.largestBatch, rows)
            await run(batch)
        }
        draining = false
    }

    private func nextBatch() -> [PendingJob]? {
        pending.removeAll { job in
            guard job.flag.isCancelled else { return false }
            job.continuation.finish()
            return true
        }
        guard !pending.isEmpty else { return nil }
        let first = pending.removeFirst()
        guard first.job.seed == nil else { return [first] }
        var batch = [first]
        var rows = first.job.rowCount
        var index = 0
        while index < pending.count {
            let candidate = pending[index]
            if candidate.job.seed == nil, candidate.job.sampling == first.job.sampling,
                rows + candidate.job.rowCount <= maxBatchRows
            {
                batch.append(pending.remove(at: index))
                rows += candidate.job.rowCount
            } else {
                index += 1
            }
        }
        return batch
    }

    private func run(_ batch: [PendingJob]) async {
        let run = BatchRun(jobs: batch, backend: backend)
        let seed = batch[0].job.seed ?? seedSource.next()
        let sampling = batch[0].job.sampling
        let backend = self.backend
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            worker.async {
                do {
                    try backend.generate(
                        prompts: run.prompts, sampling: sampling, maxNewTokens: run.maxNewTokens,
                        seed: seed, onToken: run.receive)
                    run.finishRemaining()
                } catch {
                    run.fail(error)
                }
                done.resume()
            }
        }
        statistics.cancelledRows += run.cancelledRows
    }
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

final class PendingJob: Sendable {
    let job: GenerationJob
    let continuation: AsyncThrowingStream<GenerationEvent, any Error>.Continuation
    let flag: CancellationFlag

    init(
        job: GenerationJob, continuation: AsyncThrowingStream<GenerationEvent, any Error>.Continuation,
        flag: CancellationFlag
    ) {
        self.job = job
        self.continuation = continuation
        self.flag = flag
    }
}

/// The per-row state of one backend call.
/// @unchecked Sendable: created by the engine, then touched only on the engine's serial worker
/// queue (the backend calls `receive` from inside `generate`, which runs there).
final class BatchRun: @unchecked Sendable {
    private struct Row {
        let job: Int
        let choice: Int
        var tokens: [Int32] = []
        var text: CompletionText
        var done = false
    }

    let prompts: [[Int32]]
    let maxNewTokens: Int
    private let jobs: [PendingJob]
    private let backend: any GenerationBackend
    private var rows: [Row] = []
    private var openRows: [Int]
    private(set) var cancelledRows = 0

    init(jobs: [PendingJob], backend: any GenerationBackend) {
        self.jobs = jobs
        self.backend = backend
        var prompts: [[Int32]] = []
        for (j, pending) in jobs.enumerated() {
            for (p, prompt) in pending.job.prompts.enumerated() {
                for c in 0..<pending.job.choicesPerPrompt {
                    prompts.append(prompt)
                    rows.append(
                        Row(
                            job: j, choice: p * pending.job.choicesPerPrompt + c,
                            text: CompletionText(stops: pending.job.stop)))
                }
            }
        }
        self.prompts = prompts
        self.maxNewTokens = jobs.map(\.job.maxTokens).max() ?? 1
        self.openRows = jobs.map(\.job.rowCount)
    }

    func receive(row: Int, token: Int32) -> Bool {
        guard rows.indices.contains(row), !rows[row].done else { return false }
        let pending = jobs[rows[row].job]
        if pending.flag.isCancelled {
            cancelledRows += 1
            close(row)
            return false
        }
        if backend.endTokens.contains(token) {
            finish(row, reason: .stop)
            return false
        }
        rows[row].tokens.append(token)
        switch rows[row].text.advance(decoded: backend.decode(rows[row].tokens)) {
        case .stopped(let delta):
            emit(delta, row: row)
            finish(row, reason: .stop, flush: false)
            return false
        case .more(let delta):
            emit(delta, row: row)
        }
        if rows[row].tokens.count >= pending.job.maxTokens {
            finish(row, reason: .length)
            return false
        }
        return true
    }

    /// Rows the backend ended by itself (end token not reported, or its own length limit).
    func finishRemaining() {
        for row in rows.indices where !rows[row].done {
            if jobs[rows[row].job].flag.isCancelled {
                cancelledRows += 1
                close(row)
            } else {
                let limit = jobs[rows[row].job].job.maxTokens
                finish(row, reason: rows[row].tokens.count >= min(limit, maxNewTokens) ? .length : .stop)
            }
        }
    }

    func fail(_ error: any Error) {
        for (j, pending) in jobs.enumerated() where openRows[j] > 0 {
            openRows[j] = 0
            pending.continuation.finish(throwing: error)
        }
        for row in rows.indices { rows[row].done = true }
    }

    private func emit(_ delta: String, row: Int) {
        guard !delta.isEmpty else { return }
        jobs[rows[row].job].continuation.yield(.text(choice: rows[row].choice, delta))
    }

    private func finish(_ row: Int, reason: FinishReason, flush: Bool = true) {
        if flush {
            emit(rows[row].text.finish(decoded: backend.decode(rows[row].tokens)), row: row)
        }
        jobs[rows[row].job].continuation.yield(
            .finished(choice: rows[row].choice, reason: reason, completionTokens: rows[row].tokens.count))
        close(row)
    }

    private func close(_ row: Int) {
        rows[row].done = true
        let j = rows[row].job
        openRows[j] -= 1
        if openRows[j] == 0 { jobs[j].continuation.finish() }
    }
}
