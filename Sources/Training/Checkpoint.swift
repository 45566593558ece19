import Foundation
import Models
import NN
import TensorCore

/// Saving and loading a training checkpoint in a run directory: `config.json`,
/// `model.safetensors` (Hugging Face names), `optimizer.safetensors` (moments, PyTorch-style
/// names) and `trainer_state.json`.
///
/// Crash safety across several files: every file is first written and fsynced as
/// `.tmp-checkpoint-<id>-<name>`; then a commit journal (`.checkpoint-commit.json`, itself
/// written atomically) lists the renames; then the renames happen and the journal is removed.
/// `recover(in:)` — run by every load and save — rolls a journal forward (finishing the renames)
/// or, with no journal, deletes the temporaries. So after a `kill -9` at any moment the
/// directory holds either the complete old checkpoint or the complete new one.
public enum Checkpoint {
    static let temporaryTag = "checkpoint"
    static let journalName = RunDirectory.checkpointJournalName

    /// Files written to temporaries and not yet renamed into place.
    public struct Pending: Sendable {
        public let run: RunDirectory
        public let id: String
        /// (temporary, final) file names inside the run directory, renamed in this order.
        public let files: [Journal.Entry]
    }

    public struct Journal: Codable, Sendable {
        public struct Entry: Codable, Sendable, Equatable {
            public var temporary: String
            public var final: String
        }
        public var id: String
        public var files: [Entry]
    }

    /// Writes a complete checkpoint atomically (see the type's comment). Refuses (before writing
    /// anything) weights or optimizer moments holding NaN or inf (`NonFiniteWeightsError`).
    ///
    /// - Parameters:
    ///   - extraTensors: more named tensors for `model.safetensors` (e.g. a `score.weight` head).
    ///   - optimizer, trainerState: omitted for a model-only export (those files are then left
    ///     as they were; a final export usually passes them too).
    public static func save(
        to run: RunDirectory, config: ModelConfig, parameters: [Parameter],
        extraTensors: [(name: String, tensor: Tensor)] = [],
        optimizer: (any Optimizer)? = nil, trainerState: TrainerState? = nil
    ) throws {
        let pending = try stage(
            to: run, config: config, parameters: parameters, extraTensors: extraTensors,
            optimizer: optimizer, trainerState: trainerState)
        try commit(pending)
    }

    /// Phase 1: writes and fsyncs every file under a temporary name. Nothing visible changes.
    public static func stage(
        to run: RunDirectory, config: ModelConfig, parameters: [Parameter],
        extraTensors: [(name: String, tensor: Tensor)] = [],
        optimizer: (any Optimizer)? = nil, trainerState: TrainerState? = nil
    ) throws -> Pending {
        try run.create()
        try recover(in: run)
        let id = "\(UInt64(Date().timeIntervalSince1970 * 1000))-\(UInt32.random(in: 0...UInt32.max))"
        var metadata = ["format": "pt"]  // transformers refuses safetensors files without it
        if let trainerState { metadata["step"] = String(trainerState.step) }

        var files: [(name: String, data: Data)] = [("config.json", config.huggingFaceJSON())]
        let modelTensors = parameters.map { (name: $0.name, tensor: $0.value) } + extraTensors
        // Never replace a checkpoint or write a final model with NaN/inf weights or moments.
        try WeightHealth.requireFinite(modelTensors, in: run.model.path)
        if let optimizer {
            try WeightHealth.requireFinite(optimizer.stateTensors(for: parameters), in: run.optimizer.path)
        }
        // The weights in the dtype the config records (a bf16 model stays bf16 on disk).
        files.append(
            (
                "model.safetensors",
                SafeTensors.encode(
                    modelTensors, dtype: config.storageDType.safeTensors,
                    metadata: metadata)
            ))
        if let optimizer {
            var optimizerMetadata = metadata
            optimizerMetadata["optimizer"] = optimizer.kind
            optimizerMetadata["step_count"] = String(optimizer.stepCount)
            files.append(
                (
                    "optimizer.safetensors",
                    SafeTensors.encode(optimizer.stateTensors(for: parameters), metadata: optimizerMetadata)
                ))
        }
        if let trainerState {
            var state = trainerState
            if let optimizer { state.optimizer = optimizer.kind }
            files.append(("trainer_state.json", try state.encoded()))
        }
        return try stage(files: files, to: run, id: id)
    }

    /// Writes `files` (name in the run directory, contents) as one atomic checkpoint: a LoRA
    /// run's adapter files with its optimizer and trainer state. Put `trainer_state.json` last.
    public static func save(files: [(name: String, data: Data)], to run: RunDirectory) throws {
        try run.create()
        try recover(in: run)
        let id = "\(UInt64(Date().timeIntervalSince1970 * 1000))-\(UInt32.random(in: 0...UInt32.max))"
        try commit(try stage(files: files, to: run, id: id))
    }

    private static func stage(files: [(name: String, data: Data)], to run: RunDirectory, id: String) throws
        -> Pending
    {
        var entries: [Journal.Entry] = []
        do {
            for (name, data) in files {
                let temporary = "\(AtomicFileWriter.temporaryPrefix)\(temporaryTag)-\(id)-\(name)"
                try AtomicFileWriter.writeDurably(data, to: run.file(temporary))
                entries.append(.init(temporary: temporary, final: name))
            }
        } catch {
            for e in entries { try? FileManager.default.removeItem(at: run.file(e.temporary)) }
            throw error
        }
        // trainer_state.json last: a reader that bypasses recovery sees it change only once
        // the tensors it describes are in place.
        return Pending(run: run, id: id, files: entries)
    }

    /// Phase 2: journal, renames, journal removal.
    public static func commit(_ pending: Pending) throws {
        let run = pending.run
        let journal = try JSONEncoder().encode(Journal(id: pending.id, files: pending.files))
        let journalTemporary = run.file(
            "\(AtomicFileWriter.temporaryPrefix)\(temporaryTag)-\(pending.id)-commit")
        try AtomicFileWriter.writeDurably(journal, to: journalTemporary)
        try AtomicFileWriter.rename(journalTemporary, to: run.file(journalName))
        try AtomicFileWriter.syncDirectory(run.url)
        try rollForward(run, Journal(id: pending.id, files: pending.files))
    }

    /// Finishes or discards an interrupted save; returns what it did (for logs and tests).
    public enum Recovery: Sendable, Equatable {
        case clean
        /// A committed save was completed (its journal was present).
        case rolledForward(id: String)
        /// Temporaries of an uncommitted save were deleted.
        case discarded(files: [String])
    }

    @discardableResult
    public static func recover(in run: RunDirectory) throws -> Recovery {
        let journalURL = run.file(journalName)
        if FileManager.default.fileExists(atPath: journalURL.path) {
            let journal: Journal
            do {
                journal = try JSONDecoder().decode(Journal.self, from: Data(contentsOf: journalURL))
            } catch {
                // The journal is written atomically, so it is complete or absent; unreadable
                // means something else damaged it.
                throw CheckpointError(
                    path: journalURL.path, reason: "unreadable checkpoint commit journal: \(error)")
            }
            try rollForward(run, journal)
            AtomicFileWriter.removeTemporaries(in: run.url, tag: temporaryTag)
            return .rolledForward(id: journal.id)
        }
        let removed = AtomicFileWriter.removeTemporaries(in: run.url, tag: temporaryTag)
        return removed.isEmpty ? .clean : .discarded(files: removed.map(\.lastPathComponent))
    }

    private static func rollForward(_ run: RunDirectory, _ journal: Journal) throws {
        for entry in journal.files
        where FileManager.default.fileExists(atPath: run.file(entry.temporary).path) {
            try AtomicFileWriter.rename(run.file(entry.temporary), to: run.file(entry.final))
        }
        try AtomicFileWriter.syncDirectory(run.url)
        if unlink(run.file(journalName).path) != 0 && errno != ENOENT {
            throw CheckpointError(
                path: run.file(journalName).path,
                reason: "cannot remove commit journal: \(String(cString: strerror(errno)))")
        }
        try AtomicFileWriter.syncDirectory(run.url)
    }
}
