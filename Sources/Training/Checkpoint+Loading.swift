import Foundation
import Models
import NN
import TensorCore

extension Checkpoint {
    /// Loads `model.safetensors` (or shards) into `parameters` after finishing or discarding an
    /// interrupted save (`recover`); see `RunDirectory.loadWeights`.
    @discardableResult
    public static func loadModel(
        from run: RunDirectory, into parameters: [Parameter],
        extraTensors: [(name: String, shape: [Int])] = [],
        ignoring: Set<String> = []
    ) throws -> [Tensor] {
        try recover(in: run)
        return try run.loadWeights(into: parameters, extraTensors: extraTensors, ignoring: ignoring)
    }

    /// Restores optimizer moments and step count from `optimizer.safetensors`, validating the
    /// optimizer kind and every moment tensor.
    public static func loadOptimizer(
        from run: RunDirectory, into optimizer: inout any Optimizer,
        parameters: [Parameter]
    ) throws {
        try recover(in: run)
        let file = try SafeTensors(contentsOf: run.optimizer)
        if let kind = file.metadata["optimizer"], kind != optimizer.kind {
            throw CheckpointError(
                path: run.optimizer.path, reason: "holds \(kind) state; this run uses \(optimizer.kind)")
        }
        guard let stepText = file.metadata["step_count"], let stepCount = Int(stepText), stepCount >= 0 else {
            throw CheckpointError(
                path: run.optimizer.path, reason: "metadata field step_count is missing or not a count")
        }
        let expected = optimizer.expectedStateTensors(for: parameters)
        let tensors = try file.load(expected: expected)
        try WeightHealth.requireFinite(
            zip(expected, tensors).map { (name: $0.0.name, tensor: $0.1) }, in: run.optimizer.path)
        optimizer.restoreState(tensors, stepCount: stepCount, parameters: parameters)
    }

    public static func loadTrainerState(from run: RunDirectory) throws -> TrainerState {
        try recover(in: run)
        let data: Data
        do { data = try Data(contentsOf: run.trainerState) } catch {
            throw CheckpointError(
                path: run.trainerState.path, reason: "cannot read: \(error.localizedDescription)")
        }
        return try TrainerState.decode(data, source: run.trainerState.path)
    }

    /// Everything needed for an exact resume: weights, optimizer and trainer state, checked to
    /// belong to the same step.
    @discardableResult
    public static func resume(
        from run: RunDirectory, parameters: [Parameter],
        extraTensors: [(name: String, shape: [Int])] = [],
        optimizer: inout any Optimizer
    ) throws -> (state: TrainerState, extraTensors: [Tensor]) {
        let state = try loadTrainerState(from: run)
        let extras = try loadModel(from: run, into: parameters, extraTensors: extraTensors)
        try loadOptimizer(from: run, into: &optimizer, parameters: parameters)
        for url in [run.model, run.optimizer] {
            let file = try SafeTensors(contentsOf: url)
            if let step = file.metadata["step"], step != String(state.step) {
                throw CheckpointError(
                    path: url.path,
                    reason: "was written at step \(step) but trainer_state.json is at step \(state.step)")
            }
        }
        return (state, extras)
    }

    // Concrete-type overloads. The existential ones do the work: passing `&existential` to a
    // generic `inout O` (implicit opening) crashes the Swift 6.3 compiler's IRGen under -O.

    public static func loadOptimizer<O: Optimizer>(
        from run: RunDirectory, into optimizer: inout O,
        parameters: [Parameter]
    ) throws {
        var boxed: any Optimizer = optimizer
        try loadOptimizer(from: run, into: &boxed, parameters: parameters)
        optimizer = boxed as! O  // restoreState never changes the type
    }

    @discardableResult
    public static func resume<O: Optimizer>(
        from run: RunDirectory, parameters: [Parameter],
        extraTensors: [(name: String, shape: [Int])] = [],
        optimizer: inout O
    ) throws -> (state: TrainerState, extraTensors: [Tensor]) {
        var boxed: any Optimizer = optimizer
        let result = try resume(
            from: run, parameters: parameters, extraTensors: extraTensors, optimizer: &boxed)
        optimizer = boxed as! O
        return result
    }
}
