import Models
import Synchronization

/// The rows in the backend's decoder and what they have produced.
/// @unchecked Sendable: created by the engine, then touched only on the engine's serial worker
/// queue.
final class RunningBatch: @unchecked Sendable {
    private struct Row {
        let job: PendingJob
        let choice: Int
        var tokens: [Int32] = []
        var text: CompletionText
    }

    private let backend: any GenerationBackend
    private let slots: Int
    private var decoder: (any TokenDecoder)?
    private var rows: [Int: Row] = [:]
    private var cancelledRows = 0

    init(backend: any GenerationBackend, slots: Int) {
        self.backend = backend
        self.slots = slots
    }

    /// Releases cancelled rows, admits `admitted` (prefill and first token), then runs one step
    /// for every row that is still running and delivers its tokens.
    func advance(admitting admitted: [WaitingRow]) -> StepReport {
        cancelledRows = 0
        var stepped = 0
        var admitting: [WaitingRow] = []
        do {
            if decoder == nil { decoder = try backend.makeDecoder(slots: slots) }
            guard let decoder else { return StepReport(active: 0, steppedRows: 0, cancelledRows: 0) }
            for slot in rows.keys where rows[slot]!.job.flag.isCancelled {
                cancel(slot)
            }
            admitting = admitted.filter { row in
                guard row.job.flag.isCancelled else { return true }
                cancelledRows += 1
                row.job.closeRow()
                return false
            }
            if !admitting.isEmpty {
                let tokens = try decoder.admit(admitting.map(\.request))
                for (row, first) in zip(admitting, tokens) {
                    rows[first.slot] = Row(
                        job: row.job, choice: row.choice, text: CompletionText(stops: row.job.job.stop))
                }
                admitting = []
                for first in tokens { receive(first) }
            }
            if !rows.isEmpty {
                let tokens = try decoder.step()
                stepped = tokens.count
                var served = Set<Int>()
                for token in tokens {
                    served.insert(token.slot)
                    receive(token)
                }
                // A row the decoder gave nothing has reached the end of the context.
                for slot in rows.keys where !served.contains(slot) { finish(slot, reason: .length) }
            }
        } catch {
            for row in admitting { row.job.fail(error) }
            fail(error)
        }
        return StepReport(active: rows.count, steppedRows: stepped, cancelledRows: cancelledRows)
    }

    private func receive(_ decoded: DecodedToken) {
        let slot = decoded.slot, token = decoded.token
        guard let row = rows[slot] else { return }
        if row.job.flag.isCancelled {
            cancel(slot)
            return
        }
        if backend.endTokens.contains(token) {
            finish(slot, reason: .stop)
            return
        }
        rows[slot]!.tokens.append(token)
        switch rows[slot]!.text.advance(decoded: backend.decode(rows[slot]!.tokens)) {
        case .stopped(let delta):
            emit(delta, slot: slot)
            finish(slot, reason: .stop, flush: false)
            return
        case .more(let delta):
            emit(delta, slot: slot)
        }
        if rows[slot]!.tokens.count >= row.job.job.maxTokens {
            finish(slot, reason: .length)
        }
    }

    /// Every running row's job fails with `error`; the decoder is dropped (a fresh one next time).
    private func fail(_ error: any Error) {
        for row in rows.values { row.job.fail(error) }
        rows = [:]
        decoder = nil
    }

    private func emit(_ delta: String, slot: Int) {
        guard !delta.isEmpty, let row = rows[slot] else { return }
        row.job.continuation.yield(.text(choice: row.choice, delta))
    }

    private func finish(_ slot: Int, reason: FinishReason, flush: Bool = true) {
        guard let row = rows[slot] else { return }
        if flush {
            emit(rows[slot]!.text.finish(decoded: backend.decode(row.tokens)), slot: slot)
        }
        row.job.continuation.yield(
            .finished(choice: row.choice, reason: reason, completionTokens: row.tokens.count))
        release(slot)
    }

    private func cancel(_ slot: Int) {
        cancelledRows += 1
        release(slot)
    }

    private func release(_ slot: Int) {
        guard let row = rows.removeValue(forKey: slot) else { return }
        decoder?.release(slot: slot)
        row.job.closeRow()
    }
}

/// What one pass of the worker did.
struct StepReport: Sendable {
    /// Rows still running.
    var active: Int
    /// Rows that got a token in the step.
    var steppedRows: Int
    var cancelledRows: Int
}

/// A row waiting for a slot.
struct WaitingRow: Sendable {
    let job: PendingJob
    let choice: Int
    let request: DecodeRequest
}

/// A submitted job: its consumer's stream and how many of its rows are still open.
final class PendingJob: Sendable {
    let job: GenerationJob
    let continuation: AsyncThrowingStream<GenerationEvent, any Error>.Continuation
    let flag: CancellationFlag
    private let openRows: Mutex<Int>

    init(
        job: GenerationJob, continuation: AsyncThrowingStream<GenerationEvent, any Error>.Continuation,
        flag: CancellationFlag
    ) {
        self.job = job
        self.continuation = continuation
        self.flag = flag
        self.openRows = Mutex(job.rowCount)
    }

    /// One row is done (finished, cancelled or dropped); the stream ends with the last.
    func closeRow() {
        let last = openRows.withLock { open in
            open -= 1
            return open == 0
        }
        if last { continuation.finish() }
    }

    /// The job ends with `error`; rows still open afterwards deliver nothing.
    func fail(_ error: any Error) {
        openRows.withLock { $0 = -1 }
        continuation.finish(throwing: error)
    }
}
