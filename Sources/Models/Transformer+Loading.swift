import Foundation
import NN
import TensorCore

extension Transformer {
    /// Loads a model from a run directory or a Hugging Face model directory: `config.json` (plus
    /// the end tokens of `generation_config.json` when present) and the weights, one
    /// `model.safetensors` or shards with `model.safetensors.index.json`, in F32, BF16 or F16.
    /// Weights become Float32 in memory; `storageDType` records the dtype of the files, so
    /// saving writes the model back at its size.
    public static func load(from run: RunDirectory) throws -> Transformer {
        let config = try run.loadModelConfig()
        let model = try Transformer(config: config, seed: nil)
        try model.loadWeights(from: try run.openWeights())
        return model
    }

    /// Replaces every parameter with its tensor from `weights` after checking all names, dtypes
    /// and shapes at once (`TensorMismatchError`), and returns `extraTensors` (e.g. a reward
    /// head's `score.weight`) in order. Tensors are converted one at a time, so memory holds at
    /// most one tensor beyond the model. A tied model ignores an `lm_head.weight` in the file.
    @discardableResult
    public func loadWeights(from weights: any TensorSource, extraTensors: [(name: String, shape: [Int])] = [],
                            ignoring: Set<String> = []) throws -> [Tensor] {
        let expected = parameters.map { (name: $0.name, shape: $0.shape) } + extraTensors
        var ignored = ignoring
        if !expected.contains(where: { $0.name == "lm_head.weight" }) { ignored.insert("lm_head.weight") }
        try weights.validate(expected: expected, ignoring: ignored)
        for p in parameters { p.value = try weights.tensor(named: p.name) }
        return try extraTensors.map { (e) throws(SafeTensorsError) -> Tensor in try weights.tensor(named: e.name) }
    }

    /// The weights as `model.safetensors` bytes in `storageDType` (or `dtype`), with `extraTensors`
    /// after the parameters.
    public func encodedWeights(dtype: ModelConfig.StorageDType? = nil, extraTensors: [(name: String, tensor: Tensor)] = [],
                               metadata: [String: String] = ["format": "pt"]) -> Data {
        SafeTensors.encode(parameters.map { (name: $0.name, tensor: $0.value) } + extraTensors,
                           dtype: (dtype ?? storageDType).safeTensors, metadata: metadata)
    }
}
