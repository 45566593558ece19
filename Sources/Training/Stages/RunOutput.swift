import Foundation
import Models

/// The output directory of a new run: never a finished run replaced by accident.
public enum RunOutput {
    /// Files whose presence makes a directory a run (a model, a checkpoint or a training log).
    public static let markers = [
        "config.json", "model.safetensors", "trainer_state.json", "optimizer.safetensors",
        "metrics.jsonl", LoRAConfig.fileName, LoRAConfig.weightsFileName,
    ]
    /// Everything a training run writes; `--overwrite` deletes these and nothing else, so a
    /// mistyped path never loses the user's own files.
    static let written =
        markers + ["tokenizer.json", "tokenizer_config.json", "report.md", Checkpoint.journalName]
    /// Token shards of pretraining (`data/…`).
    static let dataFiles = ["train.bin", "validation.bin", "validation.bytes", Pretraining.dataKeyName]

    /// The run files present in `run` (empty for a new or empty directory).
    public static func existingRun(in run: RunDirectory) -> [String] {
        markers.filter { FileManager.default.fileExists(atPath: run.file($0).path) }
    }

    /// Makes `run` ready for a new run. A directory that already holds one is refused unless
    /// `overwrite`, which deletes that run's files (checkpoint, metrics, token shards, report)
    /// first so nothing of the old run survives into the new one.
    public static func claim(_ run: RunDirectory, overwrite: Bool) throws {
        let present = existingRun(in: run)
        if !present.isEmpty {
            guard overwrite else {
                throw RunOutputError(
                    path: run.url.path,
                    reason: "already holds a run (\(present.joined(separator: ", "))); "
                        + "pass --overwrite to replace it, or write to another directory")
            }
            for name in written { try remove(run.file(name)) }
            let data = run.file("data")
            for name in dataFiles { try remove(data.appendingPathComponent(name)) }
            AtomicFileWriter.removeTemporaries(in: run.url)
        }
        try run.create()
    }

    private static func remove(_ url: URL) throws {
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        do { try FileManager.default.removeItem(at: url) } catch {
            throw RunOutputError(
                path: url.path, reason: "cannot remove the previous run's file: \(error.localizedDescription)"
            )
        }
    }

    /// Refuses to replace an existing output file (a tokenizer, an n-gram model) unless `overwrite`.
    public static func claimFile(_ url: URL, overwrite: Bool) throws {
        if FileManager.default.fileExists(atPath: url.path) && !overwrite {
            throw RunOutputError(path: url.path, reason: "already exists; pass --overwrite to replace it")
        }
    }
}
