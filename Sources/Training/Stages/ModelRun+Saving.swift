import Foundation
import Models
import NN
import TensorCore
import Tokenizers

extension ModelRun {
    /// Loads and validates a run (`read`), first finishing or discarding an interrupted
    /// checkpoint save (`Checkpoint.recover`).
    public static func load(_ directory: RunDirectory, scoreHead: Bool = false) throws -> ModelRun {
        if directory.exists { try Checkpoint.recover(in: directory) }
        return try read(directory, scoreHead: scoreHead)
    }

    /// Writes model (and head), tokenizer and optionally optimizer and trainer state, atomically.
    /// The weights are written in `dtype`, by default the dtype the model was loaded in
    /// (`config.storageDType`).
    public func save(
        dtype: ModelConfig.StorageDType? = nil, optimizer: (any Optimizer)? = nil,
        trainerState: TrainerState? = nil
    ) throws {
        if let lora, model.hasLoRA {
            // An adapter run: PEFT's two files; the base stays where `lora.baseModel` says.
            var lora = lora
            lora.savesScoreHead = scoreHead != nil
            try directory.writeLoRAAdapter(of: model, config: lora, scoreHead: scoreHead?.weight)
            try saveTokenizer()
            return
        }
        var config = model.config
        if let dtype { config.storageDType = dtype }
        try Checkpoint.save(
            to: directory, config: config, parameters: model.parameters,
            extraTensors: scoreHead.map { [("score.weight", $0.weight.value)] } ?? [],
            optimizer: optimizer, trainerState: trainerState)
        try saveTokenizer()
    }

    private func saveTokenizer() throws {
        if tokenizerFiles.isEmpty {
            do { try tokenizer.write(to: directory.url) } catch {
                throw AtomicFileError.plain(error, writing: directory.tokenizer)
            }
        } else {
            for (name, data) in tokenizerFiles { try AtomicFileWriter.write(data, to: directory.file(name)) }
        }
    }

    /// The reward/value model of this run (trunk + score head).
    public var scalarModel: ScalarModel? {
        scoreHead.map { ScalarModel(trunk: model, head: $0) }
    }
}

extension ScalarModel {
    /// What the optimizer updates: with LoRA adapters on the trunk, the adapters and the head
    /// (the head always trains in full); otherwise every parameter.
    public var trainableParameters: [Parameter] { trunk.trainableParameters + head.parameters }
}

extension ScalarModel {
    /// An independent copy (trunk and head).
    public func copy() throws -> ScalarModel {
        let head = ScalarHead(name: "score", hiddenSize: self.head.hiddenSize, seed: 0)
        head.weight.value = self.head.weight.value
        return ScalarModel(trunk: try trunk.copy(), head: head)
    }

    /// A model on this same trunk object with its own copy of the head: PPO's LoRA value model
    /// (adapters on the shared trunk, the head trained in full) beside the frozen reward model.
    public func sharingTrunk() -> ScalarModel {
        let head = ScalarHead(name: "score", hiddenSize: self.head.hiddenSize, seed: 0)
        head.weight.value = self.head.weight.value
        return ScalarModel(trunk: trunk, head: head)
    }
}
