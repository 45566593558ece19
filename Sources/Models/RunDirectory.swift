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
    public var tokenizer: URL { file("tokenizer.json") }
    public var optimizer: URL { file("optimizer.safetensors") }
    public var trainerState: URL { file("trainer_state.json") }
    public var metrics: URL { file("metrics.jsonl") }
    public var report: URL { file("report.md") }

    public func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    public var exists: Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// Whether a model can be loaded from here (config and weights present).
    public var hasModel: Bool {
        FileManager.default.fileExists(atPath: config.path) && FileManager.default.fileExists(atPath: model.path)
    }

    /// Creates the directory (and parents) if needed.
    public func create() throws(RunDirectoryError) {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw RunDirectoryError(path: url.path, reason: "cannot create directory: \(error.localizedDescription)")
        }
    }

    /// Reads and validates `config.json`.
    public func loadConfig() throws(ModelConfigError) -> ModelConfig {
        try ModelConfig.load(from: config)
    }
}

public struct RunDirectoryError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var reason: String
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
    public var description: String { "\(path): \(reason)" }
}
