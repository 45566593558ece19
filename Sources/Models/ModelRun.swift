import Foundation
import NN
import TensorCore
import Tokenizers

/// A model and its tokenizer as one run directory holds them (`config.json`,
/// `model.safetensors`, `tokenizer.json`), the unit stages hand over: one of ours or a published
/// Hugging Face model directory (one or several safetensors files, F32/BF16/F16, its own
/// tokenizer and chat template).
public struct ModelRun {
    public var directory: RunDirectory
    public var model: Transformer
    public var tokenizer: Tokenizer
    /// The scalar head (`score.weight`) of a reward model, when the run has one.
    public var scoreHead: ScalarHead?
    /// How conversations become tokens: ChatML for our models, the model's own template for a
    /// published one; nil when the model has neither (plain text only).
    public var format: ConversationFormat?
    /// A published model's tokenizer and chat files (`ConversationFormat.tokenizerFileNames`) as
    /// read, written back unchanged so `transformers` loads the result with the same tokenizer
    /// and template; empty for our own runs (their tokenizer is written by `Tokenizer.write`).
    public var tokenizerFiles: [(name: String, data: Data)]
    /// The LoRA adapters attached to `model` (their settings; `baseModel` is the base's
    /// directory): set when an adapter run was read or a stage attached adapters. Saving then
    /// writes the adapter (PEFT's files), not the base weights.
    public var lora: LoRAConfig?

    public init(
        directory: RunDirectory, model: Transformer, tokenizer: Tokenizer, scoreHead: ScalarHead? = nil,
        format: ConversationFormat? = nil, tokenizerFiles: [(name: String, data: Data)] = []
    ) {
        self.directory = directory
        self.model = model
        self.tokenizer = tokenizer
        self.scoreHead = scoreHead
        self.format = format ?? (try? ChatTemplate(tokenizer: tokenizer)).map(ConversationFormat.chatML)
        self.tokenizerFiles = tokenizerFiles
    }

    /// The run a stage writes from this one: same tokenizer, format and tokenizer files, a new
    /// directory and model (and head).
    public func derived(directory: RunDirectory, model: Transformer, scoreHead: ScalarHead? = nil) -> ModelRun
    {
        var run = ModelRun(
            directory: directory, model: model, tokenizer: tokenizer, scoreHead: scoreHead, format: format,
            tokenizerFiles: tokenizerFiles)
        if model === self.model { run.lora = lora }  // the same adapters travel with the model
        return run
    }

    /// Reads and validates a run without changing anything on disk (serving): the config, every
    /// tensor (name, dtype, shape, finite values) and that the tokenizer fits the model's
    /// vocabulary. A run whose checkpoint save was interrupted mid-commit is refused (Training's
    /// `ModelRun.load` finishes such a save first).
    public static func read(_ directory: RunDirectory, scoreHead: Bool = false) throws -> ModelRun {
        guard directory.exists else {
            throw RunDirectoryError(path: directory.url.path, reason: "no such run directory")
        }
        if directory.hasLoRAAdapter && !directory.hasModel {
            // A LoRA run (ours or PEFT's): its base model plus the adapter, unmerged.
            var config = try LoRAConfig.read(directory.loraConfig)
            let base = directory.loraBase(config)
            guard base.hasModel else {
                throw LoRAError(
                    source: directory.loraConfig.path,
                    reason: "base_model_name_or_path \"\(config.baseModel)\" is not a model directory "
                        + "(\(base.url.path))")
            }
            // A reward adapter carries its score head; the base (an SFT run) has none.
            var run = try read(base, scoreHead: scoreHead && !config.savesScoreHead)
            let loaded = try directory.loadLoRAAdapter(into: run.model)
            if scoreHead, let score = loaded.score {
                run.scoreHead = ScalarHead(name: "score", hiddenSize: run.model.config.hiddenSize, seed: 0)
                run.scoreHead!.weight.value = score
            }
            config.baseModel = base.url.path
            run.lora = config
            return run
        }
        guard !directory.hasPendingCheckpointCommit else {
            throw RunDirectoryError(
                path: directory.url.path,
                reason: "a checkpoint save was interrupted here; load it once with a training command (e.g. "
                    + "`rlhf eval --model`) to finish it")
        }
        let config = try directory.loadModelConfig()  // + generation_config.json, weights' dtype
        let model = try Transformer(config: config, seed: nil)  // weights loaded next
        let extras = try directory.loadWeights(
            into: model.parameters,
            extraTensors: scoreHead ? [("score.weight", [1, config.hiddenSize])] : [])
        let tokenizer = try Tokenizer.loadHuggingFace(from: directory.tokenizer)
        try checkCompatible(tokenizer: tokenizer, config: config, path: directory.url.path)
        let format = try ConversationFormat.load(
            directory: directory.url, tokenizer: tokenizer,
            eosTokenIDs: config.eosTokenIDs)
        var files: [(name: String, data: Data)] = []
        if format?.isTemplate == true {
            for name in ConversationFormat.tokenizerFileNames {
                let url = directory.file(name)
                guard FileManager.default.fileExists(atPath: url.path) else { continue }
                do { files.append((name, try Data(contentsOf: url))) } catch {
                    throw RunDirectoryError(
                        path: url.path, reason: "cannot read: \(error.localizedDescription)")
                }
            }
        }
        var head: ScalarHead?
        if scoreHead {
            head = ScalarHead(name: "score", hiddenSize: config.hiddenSize, seed: 0)
            head!.weight.value = extras[0]
        }
        return ModelRun(
            directory: directory, model: model, tokenizer: tokenizer, scoreHead: head, format: format,
            tokenizerFiles: files)
    }

    /// A mismatched tokenizer and model is an error that names both sizes.
    public static func checkCompatible(tokenizer: Tokenizer, config: ModelConfig, path: String) throws {
        guard tokenizer.vocabularySize <= config.vocabSize else {
            throw RunDirectoryError(
                path: path,
                reason:
                    "tokenizer has \(tokenizer.vocabularySize) tokens but the model's vocabulary is \(config.vocabSize): they do not belong together"
            )
        }
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
