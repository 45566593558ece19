import Foundation
import Models
import NN
import TensorCore
import Tokenizers

extension SupervisedFineTuning {
    /// Checkpoints of an SFT run in its output directory, and resuming from them.
    ///
    /// A full run's checkpoint is `Checkpoint.save`'s (float32 `model.safetensors`, optimizer,
    /// trainer state). A LoRA run's is the adapter files as the finished run writes them (PEFT's
    /// `adapter_config.json`, `adapter_model.safetensors`), `optimizer.safetensors` with the
    /// adapters' moments, and `trainer_state.json` (with each adapter's dropout stream), written
    /// atomically together. Batches are a function of (seed, step), so a resumed run continues
    /// exactly the uninterrupted one.
    public struct Checkpointing: Sendable {
        public var run: RunDirectory
        /// A checkpoint every this many steps, and after the last.
        public var interval: Int
        /// Stop after this step (its checkpoint written), as an interrupted run would.
        public var stopAfterStep: Int?
        /// Continue from the checkpoint in `run` when there is one.
        public var resume: Bool
        /// The adapters of a LoRA run; nil for a run that trains every weight.
        public var lora: LoRAConfig?

        public init(
            run: RunDirectory, interval: Int, stopAfterStep: Int? = nil, resume: Bool = false,
            lora: LoRAConfig? = nil
        ) {
            precondition(interval > 0, "SFT checkpoint interval must be positive")
            self.run = run
            self.interval = interval
            self.stopAfterStep = stopAfterStep
            self.resume = resume
            self.lora = lora
        }
    }

    /// The settings a checkpoint records; a resume with other values of these is refused.
    struct SavedSettings: Codable, Equatable {
        var seed: UInt64
        var batchSize: Int
        var packing: Bool
        var accumulationSteps: Int
        var optimizer: String
        /// FNV-1a of every example's tokens and loss mask.
        var dataKey: String
        var loraRank: Int?
        var loraAlpha: Float?
        var loraDropout: Float?
        var loraTargets: [String]?
        /// Each adapter's dropout stream after the checkpoint's step (LoRA runs).
        var dropoutGenerators: [RandomGenerator]?
    }

    static func dataKey(_ examples: [RenderedChat]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ v: UInt64) { h = (h ^ v) &* 0x100_0000_01b3 }
        for e in examples {
            mix(UInt64(e.tokens.count))
            for t in e.tokens { mix(UInt64(UInt32(bitPattern: t))) }
            for m in e.lossMask { mix(m ? 1 : 2) }
        }
        return String(h, radix: 16)
    }

    static func settings(
        _ p: Parameters, dataKey: String, lora: LoRAConfig?, model: Transformer
    ) -> SavedSettings {
        SavedSettings(
            seed: p.seed, batchSize: p.batchSize, packing: p.packing,
            accumulationSteps: p.optimization.accumulationSteps, optimizer: p.optimization.optimizer.rawValue,
            dataKey: dataKey, loraRank: lora?.rank, loraAlpha: lora?.alpha, loraDropout: lora?.dropout,
            loraTargets: lora?.targets,
            dropoutGenerators: lora == nil ? nil : model.loraAdapters.map(\.dropoutGenerator))
    }

    /// Writes the checkpoint of step `step` (1-based count of steps done).
    static func saveCheckpoint(
        _ c: Checkpointing, model: Transformer, parameters p: Parameters, dataKey: String, step: Int,
        stepper: OptimizerStepper
    ) throws {
        var state = TrainerState(
            stage: "sft", step: step, dataPosition: step * p.batchSize, rng: RandomGenerator(seed: p.seed),
            schedule: stepper.schedule, optimizer: stepper.optimizer.kind, stepGuard: stepper.stepGuard)
        try state.setPayload(settings(p, dataKey: dataKey, lora: c.lora, model: model))
        guard let lora = c.lora else {
            var config = model.config
            config.storageDType = .float32  // the exact weights a resume continues from
            try Checkpoint.save(
                to: c.run, config: config, parameters: model.parameters, optimizer: stepper.optimizer,
                trainerState: state)
            return
        }
        let parameters = model.trainableParameters
        let moments = stepper.optimizer.stateTensors(for: parameters)
        try WeightHealth.requireFinite(
            parameters.map { (name: $0.name, tensor: $0.value) }, in: c.run.loraWeights.path)
        try WeightHealth.requireFinite(moments, in: c.run.optimizer.path)
        let metadata = ["format": "pt", "step": String(step)]
        var files = RunDirectory.loraAdapterFiles(of: model, config: lora, metadata: metadata)
        files.append(
            (
                "optimizer.safetensors",
                SafeTensors.encode(
                    moments,
                    metadata: metadata.merging([
                        "optimizer": stepper.optimizer.kind,
                        "step_count": String(stepper.optimizer.stepCount),
                    ]) { $1 })
            ))
        files.append(("trainer_state.json", try state.encoded()))
        try Checkpoint.save(files: files, to: c.run)
    }

    /// Restores model (or adapters), optimizer and guard from the checkpoint in `c.run`;
    /// returns its step. Refuses, naming each, settings that differ from the run's own.
    static func restoreCheckpoint(
        _ c: Checkpointing, model: Transformer, parameters p: Parameters, dataKey: String,
        stepper: inout OptimizerStepper
    ) throws -> Int {
        let source = c.run.trainerState.path
        let state = try Checkpoint.loadTrainerState(from: c.run)
        guard state.stage == "sft" else {
            throw CheckpointError(path: source, reason: "belongs to stage \(state.stage), not sft")
        }
        guard let saved = try state.payload(as: SavedSettings.self) else {
            throw CheckpointError(path: source, reason: "has no SFT settings (payload) to resume with")
        }
        let current = settings(p, dataKey: dataKey, lora: c.lora, model: model)
        var refused: [String] = []
        func compare<T: Equatable>(_ name: String, _ old: T?, _ new: T?) {
            func text(_ v: T?) -> String {
                v.map { "\($0)" } ?? "none"
            }
            if old != new { refused.append("\(name) \(text(old)) → \(text(new))") }
        }
        compare("seed", saved.seed, current.seed)
        compare("batch size", saved.batchSize, current.batchSize)
        compare("packing", saved.packing, current.packing)
        compare("accumulation steps", saved.accumulationSteps, current.accumulationSteps)
        compare("optimizer", saved.optimizer, current.optimizer)
        if saved.dataKey != current.dataKey { refused.append("data (the examples differ)") }
        compare("lora rank", saved.loraRank, current.loraRank)
        compare("lora alpha", saved.loraAlpha, current.loraAlpha)
        compare("lora dropout", saved.loraDropout, current.loraDropout)
        compare(
            "lora targets", saved.loraTargets?.joined(separator: ","),
            current.loraTargets?.joined(separator: ","))
        if !refused.isEmpty {
            throw ResumeError(
                path: source,
                reason: "cannot resume: \(refused.joined(separator: ", ")) "
                    + "\(refused.count == 1 ? "differs" : "differ") from the run's own settings, and an exact "
                    + "continuation needs the same; give the original values, or start a new run")
        }
        guard p.optimization.steps >= state.step else {
            throw ResumeError(
                path: source,
                reason: "the run is already at step \(state.step); --steps \(p.optimization.steps) "
                    + "ends before it (give --steps above \(state.step) to train further)")
        }
        if c.lora == nil {
            try Checkpoint.resume(from: c.run, parameters: model.parameters, optimizer: &stepper.optimizer)
        } else {
            let parameters = model.loraParameters
            let file = try SafeTensors(contentsOf: c.run.loraWeights)
            let tensors = try file.load(
                expected: parameters.map { (LoRAConfig.tensorPrefix + $0.name, $0.shape) })
            for (parameter, tensor) in zip(parameters, tensors) { parameter.value = tensor }
            try Checkpoint.loadOptimizer(from: c.run, into: &stepper.optimizer, parameters: parameters)
            for url in [c.run.loraWeights, c.run.optimizer] {
                let step = try SafeTensors(contentsOf: url).metadata["step"]
                guard step == String(state.step) else {
                    throw CheckpointError(
                        path: url.path,
                        reason:
                            "was written at step \(step ?? "none") but trainer_state.json is at step \(state.step)"
                    )
                }
            }
            if let streams = saved.dropoutGenerators, streams.count == model.loraAdapters.count {
                for (adapter, stream) in zip(model.loraAdapters, streams) {
                    adapter.dropoutGenerator = stream
                }
            }
        }
        if let guardState = state.stepGuard { stepper.stepGuard = guardState }
        return state.step
    }
}
