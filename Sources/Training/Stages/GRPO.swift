import Foundation
import Models
import NN
import TensorCore

/// GRPO (Shao et al. 2024) with verifiable rewards: sample a group of completions per prompt,
/// normalise each completion's reward within its group, and take clipped policy-gradient steps
/// with a k3 KL penalty to the frozen reference; tokens are averaged over the whole group
/// (length-unbiased), not per sequence.
public enum GRPO {
    public struct Parameters: Sendable {
        public var steps = 20
        public var promptsPerStep = 4
        public var groupSize = 8
        public var maxNewTokens = 16
        public var temperature: Float = 1
        /// Updates per generation batch; with 1 the ratio is 1 and the clip is inactive.
        public var epochs = 1
        public var clipRange = 0.2
        public var klCoefficient = 0.04
        public var scaleByStandardDeviation = true
        public var optimization = OptimizationSettings(learningRate: 5e-5, steps: 0)
        public var seed: UInt64 = 0
        public init() { optimization.weightDecay = 0 }
    }

    /// Trains `policy` in place. `reward(promptIndex, completion)` is the verifier.
    ///
    /// With several ranks the prompts are drawn from the shared stream (the same on every rank),
    /// each rank samples its groups' completions from a stream of its own, tokens are counted
    /// over all ranks (token-level normalisation) and gradients are summed before each step.
    @discardableResult
    public static func train(
        policy: Transformer, reference: Transformer, prompts: [[Int32]], endOfTurn: Int32, padToken: Int32,
        parameters p: Parameters, reward: (_ promptIndex: Int, _ completion: Generation) -> Double,
        communicator: any Communicator = SingleProcess(), progress: ProgressHandler? = nil
    ) throws -> [[String: Double]] {
        precondition(!prompts.isEmpty && p.groupSize >= 2, "GRPO: need prompts and a group of at least 2")
        guard p.promptsPerStep >= communicator.size else {
            throw DataParallelError(
                "\(p.promptsPerStep) prompts per step for \(communicator.size) ranks; each rank needs a group"
            )
        }
        let parallel = communicator.size > 1
        var rolloutRNG = RandomGenerator(
            seed: p.seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(communicator.rank + 1))
        var settings = p.optimization
        settings.steps = p.steps * p.epochs
        var stepper = OptimizerStepper(settings: settings)
        var rng = RandomGenerator(seed: p.seed)
        let sampling = SamplingOptions(
            temperature: p.temperature, maxNewTokens: p.maxNewTokens, stopTokens: [endOfTurn])
        let history = try TrainingLoop.run(
            stage: "grpo", steps: 0..<p.steps, totalSteps: p.steps, replicas: [policy.trainableParameters],
            communicator: communicator, progress: progress
        ) { step in
            // Rollout: this rank's groups of the step's prompts, scored by the verifier.
            let drawn = (0..<p.promptsPerStep).map { _ in Int(rng.next() % UInt64(prompts.count)) }
            let promptIndices = drawn[communicator.share(of: drawn.count)].flatMap {
                [Int](repeating: $0, count: p.groupSize)
            }
            let generations =
                parallel
                ? policy.generate(
                    prompts: promptIndices.map { prompts[$0] }, options: sampling, rng: &rolloutRNG)
                : policy.generate(prompts: promptIndices.map { prompts[$0] }, options: sampling, rng: &rng)
            let rewards = zip(promptIndices, generations).map { reward($0, $1) }
            let advantages = GRPOObjective.groupAdvantages(
                rewards: rewards, groupSize: p.groupSize,
                scaleByStandardDeviation: p.scaleByStandardDeviation)
            let batch = SequenceBatch(
                prompts: promptIndices.map { prompts[$0] },
                completions: generations.map { $0.completion(endOfTurn: endOfTurn) }, padToken: padToken)
            let referenceLogProbs =
                p.klCoefficient > 0 ? reference.baseScoreTargets(batch, temperature: p.temperature) : nil
            let oldLogProbs = p.epochs > 1 ? policy.scoreTargets(batch, temperature: p.temperature) : nil
            // Token-level normalisation over the completion tokens of all ranks.
            let localTokens = Double(batch.targetCount)
            let tokens = communicator.allReduceSum([localTokens])[0]

            // Update: `epochs` clipped policy-gradient steps on the same rollouts.
            var metrics: [String: Double] = [:]
            var note: String?
            for epoch in 0..<p.epochs {
                let pass = LogProbPass(model: policy, batch: batch, temperature: p.temperature)
                let out = GRPOObjective.loss(
                    logProbs: pass.logProbs, oldLogProbs: oldLogProbs ?? pass.logProbs,
                    referenceLogProbs: referenceLogProbs,
                    mask: batch.mask, batchSize: batch.batchSize, length: batch.length,
                    advantages: advantages,
                    clipRange: p.clipRange, klCoefficient: p.klCoefficient,
                    normalizer: parallel ? tokens : nil)
                pass.backward(model: policy, logProbGrad: out.logProbGrad)
                // loss and policy_loss are already divided by the global token count; the
                // per-token means (kl, clip fraction, ratio) are weighted by each rank's tokens.
                var local = StepMetrics()
                for (name, value) in out.metrics {
                    if name == "loss" || name == "policy_loss" {
                        local.total(name, value)
                    } else {
                        local.mean(name, value, weight: localTokens)
                    }
                }
                let update = try stepper.update(
                    policy.trainableParameters, metrics: local, step: step * p.epochs + epoch,
                    communicator: communicator)
                metrics = update.metrics
                note = update.outcome.note(step: step) ?? note
            }

            // Rollout metrics, means over every rank's completions.
            let count = Double(rewards.count)
            var rollout = StepMetrics()
            rollout.mean("reward", rewards.reduce(0, +) / count, weight: count)
            rollout.mean(
                "finished_fraction", Double(generations.filter(\.finished).count) / count, weight: count)
            rollout.mean("completion_tokens", localTokens / count, weight: count)
            metrics.merge(communicator.reduce(rollout)) { $1 }
            return TrainingLoop.Step(metrics: metrics, note: note)
        }
        try stepper.requireSavable()
        return history
    }
}
