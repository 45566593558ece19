import Foundation
import Models
import NN
import TensorCore
import Tokenizers

/// A model and its tokenizer as one run directory holds them (`config.json`,
/// `model.safetensors`, `tokenizer.json`), the unit stages hand over.
public struct ModelRun {
    public var directory: RunDirectory
    public var model: Transformer
    public var tokenizer: Tokenizer
    /// The scalar head (`score.weight`) of a reward model, when the run has one.
    public var scoreHead: ScalarHead?

    public init(directory: RunDirectory, model: Transformer, tokenizer: Tokenizer, scoreHead: ScalarHead? = nil) {
        self.directory = directory
        self.model = model
        self.tokenizer = tokenizer
        self.scoreHead = scoreHead
    }

    /// Loads and validates a run: the config, every tensor (name, dtype, shape) and that the
    /// tokenizer fits the model's vocabulary.
    public static func load(_ directory: RunDirectory, scoreHead: Bool = false) throws -> ModelRun {
        guard directory.exists else {
            throw RunDirectoryError(path: directory.url.path, reason: "no such run directory")
        }
        let config = try directory.loadModelConfig()  // + generation_config.json, weights' dtype
        let model = try Transformer(config: config, seed: nil)  // weights loaded next
        let extras = try Checkpoint.loadModel(from: directory, into: model.parameters,
                                              extraTensors: scoreHead ? [("score.weight", [1, config.hiddenSize])] : [])
        let tokenizer = try Tokenizer.loadHuggingFace(from: directory.tokenizer)
        try checkCompatible(tokenizer: tokenizer, config: config, path: directory.url.path)
        var head: ScalarHead?
        if scoreHead {
            head = ScalarHead(name: "score", hiddenSize: config.hiddenSize, seed: 0)
            head!.weight.value = extras[0]
        }
        return ModelRun(directory: directory, model: model, tokenizer: tokenizer, scoreHead: head)
    }

    /// A mismatched tokenizer and model is an error that names both sizes.
    public static func checkCompatible(tokenizer: Tokenizer, config: ModelConfig, path: String) throws {
        guard tokenizer.vocabularySize <= config.vocabSize else {
            throw RunDirectoryError(path: path, reason: "tokenizer has \(tokenizer.vocabularySize) tokens but the model's vocabulary is \(config.vocabSize): they do not belong together")
        }
    }

    /// Writes model (and head), tokenizer and optionally optimizer and trainer state, atomically.
    public func save(optimizer: (any Optimizer)? = nil, trainerState: TrainerState? = nil) throws {
        try Checkpoint.save(to: directory, config: model.config, parameters: model.parameters,
                            extraTensors: scoreHead.map { [("score.weight", $0.weight.value)] } ?? [],
                            optimizer: optimizer, trainerState: trainerState)
        do { try tokenizer.write(to: directory.url) } catch {
            throw AtomicFileError.plain(error, writing: directory.tokenizer)
        }
    }

    /// The reward/value model of this run (trunk + score head).
    public var scalarModel: ScalarModel? {
        scoreHead.map { ScalarModel(trunk: model, head: $0) }
    }
}

extension Transformer {
    /// An independent copy with the same weights (copy-on-write: no data is copied until one
    /// of them trains).
    public func copy() throws -> Transformer {
        let twin = try Transformer(config: config, seed: 0)
        for (a, b) in zip(twin.parameters, parameters) { a.value = b.value }
        return twin
    }
}

extension ScalarModel {
    /// An independent copy (trunk and head).
    public func copy() throws -> ScalarModel {
        let head = ScalarHead(name: "score", hiddenSize: self.head.hiddenSize, seed: 0)
        head.weight.value = self.head.weight.value
        return ScalarModel(trunk: try trunk.copy(), head: head)
    }
}
