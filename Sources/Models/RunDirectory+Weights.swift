import Foundation
import NN
import TensorCore

extension RunDirectory {
    /// The commit journal a checkpoint save leaves while it renames its files into place
    /// (`Checkpoint` in Training writes and clears it).
    public static let checkpointJournalName = ".checkpoint-commit.json"

    /// Whether a checkpoint save was interrupted between its commit and its last rename: the files
    /// may then belong to two different saves until a training command rolls the save forward.
    public var hasPendingCheckpointCommit: Bool {
        FileManager.default.fileExists(atPath: file(Self.checkpointJournalName).path)
    }

    /// Loads `model.safetensors` (or its shards) into `parameters` after validating every tensor's
    /// name, dtype and shape; a mismatch throws `TensorMismatchError` listing all missing,
    /// unexpected and mis-shaped tensors, and NaN or inf values are refused naming the tensors
    /// (`NonFiniteWeightsError`). Returns the `extraTensors` (e.g. `score.weight`) in the given order.
    ///
    /// A file written by `transformers` for a tied model may also hold `lm_head.weight`; it is
    /// ignored when the parameters have no such tensor.
    @discardableResult
    public func loadWeights(
        into parameters: [Parameter], extraTensors: [(name: String, shape: [Int])] = [],
        ignoring: Set<String> = []
    ) throws -> [Tensor] {
        let file = try openWeights()  // model.safetensors or shards
        let expected = parameters.map { (name: $0.name, shape: $0.shape) } + extraTensors
        var ignored = ignoring
        if !parameters.contains(where: { $0.name == "lm_head.weight" })
            && !extraTensors.contains(where: { $0.name == "lm_head.weight" })
        {
            ignored.insert("lm_head.weight")
        }
        try file.validate(expected: expected, ignoring: ignored)
        // One tensor at a time: memory holds the model plus one tensor, not two models.
        for p in parameters {
            let tensor = try file.tensor(named: p.name)
            try WeightHealth.requireFinite([(name: p.name, tensor: tensor)], in: model.path)
            p.value = tensor
        }
        return try extraTensors.map { (e) throws -> Tensor in
            let tensor = try file.tensor(named: e.name)
            try WeightHealth.requireFinite([(name: e.name, tensor: tensor)], in: model.path)
            return tensor
        }
    }
}
