import Foundation
import Models
import NN
import TensorCore

/// KTO (Ethayarajh et al. 2024) on unpaired examples labelled desirable or not.
public enum KTOTraining {
    public struct Example: Sendable {
        public var prompt: [Int32]
        /// Completion ending with the end-of-turn token.
        public var completion: [Int32]
        public var desirable: Bool
        public init(prompt: [Int32], completion: [Int32], desirable: Bool) {
            self.prompt = prompt
            self.completion = completion
            self.desirable = desirable
        }
    }

    public struct Parameters: Sendable {
        public var beta = 0.1
        public var desirableWeight = 1.0
        public var undesirableWeight = 1.0
        public var optimization = OptimizationSettings(learningRate: 5e-5, steps: 100, warmupSteps: 5)
        public var examplesPerStep = 8
        public var seed: UInt64 = 0
        public init() {}
    }

    /// Trains `policy` in place. With several ranks each scores its share of the step's
    /// examples; the mismatched pairs are those of the whole step, so the reference point is
    /// the single-process one.
    @discardableResult
    public static func train(
        policy: Transformer, reference: Transformer, examples: [Example], padToken: Int32,
        parameters p: Parameters, communicator: any Communicator = SingleProcess(),
        progress: ProgressHandler? = nil
    ) throws -> [[String: Double]] {
        precondition(
            examples.count >= 2, "KTO: need at least two examples (the reference point uses mismatched pairs)"
        )
        let perStep = max(2, p.examplesPerStep)
        guard perStep >= communicator.size else {
            throw DataParallelError(
                "\(perStep) examples per step for \(communicator.size) ranks; each rank needs one")
        }
        var stepper = OptimizerStepper(settings: p.optimization)
        // Without replacement, epoch by epoch (as TRL's shuffled dataloader): every example is seen
        // once before any is seen twice.
        var sampler = EpochSampler(count: examples.count, seed: p.seed)
        // The reference's passes bypass LoRA adapters: with adapters the reference may be the
        // policy object itself (one copy of the base weights).
        func sums(_ model: Transformer, _ b: SequenceBatch, base: Bool = false) -> [Double] {
            SequenceLogProbs(
                logProbs: base ? model.baseScoreTargets(b) : model.scoreTargets(b), mask: b.mask,
                batchSize: b.batchSize, length: b.length
            ).sums
        }
        policy.setLoRATraining(true)
        defer { policy.setLoRATraining(false) }
        let history = try TrainingLoop.run(
            stage: "kto", steps: 0..<p.optimization.steps, totalSteps: p.optimization.steps,
            replicas: [policy.trainableParameters], communicator: communicator, progress: progress
        ) { step in
            let drawn = sampler.next(perStep).map { examples[$0] }
            let n = drawn.count
            let mine = Array(communicator.share(of: n))
            let picked = mine.map { drawn[$0] }
            let matched = SequenceBatch(
                prompts: picked.map(\.prompt), completions: picked.map(\.completion), padToken: padToken)
            // Reference point z0: KL estimated on mismatched (prompt, completion) pairs of the
            // whole step, no gradient.
            let shift = KTOObjective.mismatchedCompletionIndices(count: n)
            let mismatched = SequenceBatch(
                prompts: picked.map(\.prompt), completions: mine.map { drawn[shift[$0]].completion },
                padToken: padToken)
            let z0 = KTOObjective.referencePoint(
                policyLogProbs: sums(policy, mismatched),
                referenceLogProbs: sums(reference, mismatched, base: true),
                reducing: communicator.allReduceSum)
            let referenceLogProbs = sums(reference, matched, base: true)
            let pass = LogProbPass(model: policy, batch: matched)
            let out = KTOObjective.loss(
                policy: SequenceLogProbs(
                    logProbs: pass.logProbs, mask: matched.mask, batchSize: picked.count,
                    length: matched.length),
                referenceLogProbs: referenceLogProbs, desirable: picked.map(\.desirable), referencePoint: z0,
                beta: p.beta,
                desirableWeight: p.desirableWeight, undesirableWeight: p.undesirableWeight,
                normalizer: communicator.size > 1 ? Double(n) : nil)
            pass.backward(model: policy, logProbGrad: out.logProbGrad)

            // Means over the whole step: rewards by class, accuracy by example.
            let desirable = Double(picked.filter(\.desirable).count)
            var local = StepMetrics()
            local.total("loss", out.loss)
            local.shared("kl", out.referencePoint)
            local.mean("reward_accuracy", out.accuracy, weight: Double(picked.count))
            local.mean("reward_desirable", out.meanDesirableReward, weight: desirable)
            local.mean(
                "reward_undesirable", out.meanUndesirableReward, weight: Double(picked.count) - desirable)
            var update = try stepper.update(
                policy.trainableParameters, metrics: local, step: step, communicator: communicator)
            update.metrics["reward_margin"] =
                update.metrics["reward_desirable"]! - update.metrics["reward_undesirable"]!
            return TrainingLoop.Step(metrics: update.metrics, note: update.outcome.note(step: step))
        }
        try stepper.requireSavable()
        return history
    }
}
