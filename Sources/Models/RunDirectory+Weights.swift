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
        // model.safetensors or shards, one tensor at a time, transformers' layouts accepted.
        let extras = try openWeights().loadParameters(
            parameters, extraTensors: extraTensors, ignoring: ignoring)
        let loaded =
            parameters.map { (name: $0.name, tensor: $0.value) }
            + zip(extraTensors, extras).map { (name: $0.0.name, tensor: $0.1) }
        try WeightHealth.requireFinite(loaded, in: model.path)
        return extras
    }
}
