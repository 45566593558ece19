import Foundation
import NN
import TensorCore

extension Transformer {
    /// Loads a model from a run directory or a Hugging Face model directory: `config.json` (plus
    /// the end tokens of `generation_config.json` when present) and the weights, one
    /// `model.safetensors` or shards with `model.safetensors.index.json`, in F32, BF16 or F16.
    /// Weights become Float32 in memory; `storageDType` records the dtype of the files, so
    /// saving writes the model back at its size. (A training run's checkpoints are read through
    /// `ModelRun.load`, which also recovers an interrupted checkpoint commit first.)
    public static func load(from run: RunDirectory) throws -> Transformer {
        let config = try run.loadModelConfig()
        let model = try Transformer(config: config, seed: nil)
        try model.loadWeights(from: try run.openWeights())
        return model
    }

    /// Replaces every parameter with its tensor from `weights` (see
    /// `TensorSource.loadParameters`) and returns `extraTensors` in order.
    @discardableResult
    public func loadWeights(
        from weights: any TensorSource, extraTensors: [(name: String, shape: [Int])] = [],
        ignoring: Set<String> = []
    ) throws -> [Tensor] {
        try weights.loadParameters(parameters, extraTensors: extraTensors, ignoring: ignoring)
    }

    /// The weights as `model.safetensors` bytes in `storageDType` (or `dtype`), with `extraTensors`
    /// after the parameters.
    public func encodedWeights(
        dtype: ModelConfig.StorageDType? = nil, extraTensors: [(name: String, tensor: Tensor)] = [],
        metadata: [String: String] = ["format": "pt"]
    ) -> Data {
        SafeTensors.encode(
            parameters.map { (name: $0.name, tensor: $0.value) } + extraTensors,
            dtype: (dtype ?? storageDType).safeTensors, metadata: metadata)
    }
}
