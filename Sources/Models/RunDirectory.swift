import Foundation

/// The Hugging Face–style folder a stage writes and the next stage reads (see docs/architecture.md):
/// `config.json`, `model.safetensors`, `tokenizer.json`, `optimizer.safetensors`,
/// `trainer_state.json`, `metrics.jsonl`, reports and plots.
public struct RunDirectory: Sendable, Equatable {
    public let url: URL

    public init(_ url: URL) { self.url = url.standardizedFileURL }
    public init(path: String) { self.init(URL(fileURLWithPath: path, isDirectory: true)) }

    public var config: URL { file("config.json") }
    public var model: URL { file("model.safetensors") }
    /// Index of a sharded checkpoint (`transformers` writes one when the weights are split).
    public var modelIndex: URL { file("model.safetensors.index.json") }
    public var generationConfig: URL { file("generation_config.json") }
    public var tokenizer: URL { file("tokenizer.json") }
    public var optimizer: URL { file("optimizer.safetensors") }
    public var trainerState: URL { file("trainer_state.json") }
    public var metrics: URL { file("metrics.jsonl") }
    public var report: URL { file("report.md") }

    public func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    public var exists: Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
            && isDirectory.boolValue
    }

    /// Whether a model can be loaded from here (config and weights, single or sharded, present).
    public var hasModel: Bool {
        let fm = FileManager.default
        return fm.fileExists(atPath: config.path)
            && (fm.fileExists(atPath: model.path) || fm.fileExists(atPath: modelIndex.path))
    }

    /// The weights: `model.safetensors`, or the shards listed by `model.safetensors.index.json`.
    public func openWeights() throws(SafeTensorsError) -> any TensorSource {
        if FileManager.default.fileExists(atPath: model.path) { return try SafeTensors(contentsOf: model) }
        if FileManager.default.fileExists(atPath: modelIndex.path) {
            return try SafeTensorsShards(index: modelIndex)
        }
        throw SafeTensorsError(
            source: url.path, reason: "no model.safetensors or model.safetensors.index.json")
    }

    /// Creates the directory (and parents) if needed.
    public func create() throws(RunDirectoryError) {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw RunDirectoryError(
                path: url.path, reason: "cannot create directory: \(error.localizedDescription)")
        }
    }

    /// Reads and validates `config.json`.
    public func loadConfig() throws(ModelConfigError) -> ModelConfig {
        try ModelConfig.load(from: config)
    }

    /// The config of the model stored here, as loading it needs: `config.json`, plus the end
    /// tokens of `generation_config.json` when present, with `storageDType` set to the dtype
    /// of the weight files (what saving the model again should write).
    public func loadModelConfig() throws -> ModelConfig {
        var result = try loadConfig()
        if FileManager.default.fileExists(atPath: generationConfig.path) {
            let data: Data
            do { data = try Data(contentsOf: generationConfig) } catch {
                throw ModelConfigError(
                    message: "cannot read \(generationConfig.path): \(error.localizedDescription)")
            }
            try result.applyGenerationConfig(data, source: generationConfig.path)
        }
        if let dtype = try openWeights().dominantFloatDType.flatMap(
            ModelConfig.StorageDType.init(safeTensors:))
        {
            result.storageDType = dtype
        }
        return result
    }
}

/// An error about a file or folder of a run: its path and what is wrong. One definition for every
/// kind; the `Kind` tag keeps the kinds distinct types, so callers and tests can tell a refused
/// overwrite (`RunOutputError`) from a broken checkpoint (`CheckpointError`).
public struct RunFileError<Kind: Sendable>: Error, CustomStringConvertible, Sendable, Equatable {
    public var path: String
    public var reason: String
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
    public var description: String { "\(path): \(reason)" }
}

/// The kinds of `RunFileError`.
public enum RunFileErrorKind {
    /// A run directory that cannot be read or created.
    public enum Directory: Sendable {}
    /// A checkpoint that cannot be written, read or recovered.
    public enum Checkpoint: Sendable {}
    /// A resume that cannot continue the run it names.
    public enum Resume: Sendable {}
    /// An output that would replace an existing run without `--overwrite`.
    public enum Output: Sendable {}
}

public typealias RunDirectoryError = RunFileError<RunFileErrorKind.Directory>
public typealias CheckpointError = RunFileError<RunFileErrorKind.Checkpoint>
public typealias ResumeError = RunFileError<RunFileErrorKind.Resume>
public typealias RunOutputError = RunFileError<RunFileErrorKind.Output>
