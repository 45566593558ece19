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
        /// ε_low of the clip, ρ ≥ 1 − ε_low.
        public var clipRange = 0.2
        /// DAPO's decoupled upper clip ε_high (Yu et al. 2025, eq. 10: ρ ≤ 1 + ε_high); nil uses
        /// `clipRange`. DAPO uses 0.28 so low-probability tokens can still be raised.
        public var clipRangeHigh: Double?
        public var klCoefficient = 0.04
        /// How completions' rewards become advantages (GRPO, RLOO, REINFORCE++).
        public var advantage: GRPOObjective.AdvantageEstimator = .grpo
        /// What GRPO divides the group-centred reward by (TRL `scale_rewards`).
        public var scaleRewards: GRPOObjective.RewardScaling = .group
        /// Completions that hit `maxNewTokens` without the end-of-turn token get no loss and count
        /// no tokens (TRL `mask_truncated_completions`, DAPO's overlong filtering); their rewards
        /// still enter the group statistics.
        public var maskTruncatedCompletions = false
        /// Completions per optimizer step when `epochs` > 1 (each epoch shuffles the step's
        /// completions into minibatches of this size); nil: the whole step is one minibatch.
        public var miniBatchSize: Int?
        /// Further tokens that end a completion besides `endOfTurn` (a published model's other eos
        /// ids, e.g. Llama 3's `<|end_of_text|>`); such a completion counts as finished.
        public var extraStopTokens: Set<Int32> = []
        /// `scaleRewards` as the older switch: true is `.group`, false `.none` (Dr. GRPO).
        public var scaleByStandardDeviation: Bool {
            get { scaleRewards == .group }
            set { scaleRewards = newValue ? .group : .none }
        }
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
        let stepRows = p.promptsPerStep * p.groupSize
        let miniBatch = min(p.miniBatchSize ?? stepRows, stepRows)
        precondition(miniBatch > 0, "GRPO: miniBatchSize must be positive")
        let miniBatches = (stepRows + miniBatch - 1) / miniBatch
        var settings = p.optimization
        settings.steps = p.steps * p.epochs * miniBatches
        var stepper = OptimizerStepper(settings: settings)
        var rng = RandomGenerator(seed: p.seed)
        let sampling = SamplingOptions(
            temperature: p.temperature, maxNewTokens: p.maxNewTokens,
            stopTokens: p.extraStopTokens.union([endOfTurn]))
        let history = try TrainingLoop.run(
            stage: "grpo", steps: 0..<p.steps, totalSteps: p.steps, replicas: [policy.trainableParameters],
            communicator: communicator, progress: progress
        ) { step in
            // Rollout: this rank's groups of the step's prompts, scored by the verifier.
            let drawn = (0..<p.promptsPerStep).map { _ in Int(rng.next() % UInt64(prompts.count)) }
            let share = communicator.share(of: drawn.count)
            let promptIndices = drawn[share].flatMap {
                [Int](repeating: $0, count: p.groupSize)
            }
            let generations =
                parallel
                ? policy.generate(
                    prompts: promptIndices.map { prompts[$0] }, options: sampling, rng: &rolloutRNG)
                : policy.generate(prompts: promptIndices.map { prompts[$0] }, options: sampling, rng: &rng)
            let rewards = zip(promptIndices, generations).map { reward($0, $1) }
            let advantages = GRPOObjective.advantages(
                rewards: rewards, groupSize: p.groupSize, estimator: p.advantage, scaling: p.scaleRewards,
                batch: GRPOObjective.batchMoments(rewards, reducing: communicator.allReduceSum))
            var batch = SequenceBatch(
                prompts: promptIndices.map { prompts[$0] },
                completions: generations.map { $0.completion(endOfTurn: endOfTurn) }, padToken: padToken)
            let completionTokens = Double(batch.targetCount)
            if p.maskTruncatedCompletions {
                batch = batch.maskingRows(generations.indices.filter { !generations[$0].finished })
            }
            let referenceLogProbs =
                p.klCoefficient > 0 ? reference.baseScoreTargets(batch, temperature: p.temperature) : nil
            let oldLogProbs = p.epochs > 1 ? policy.scoreTargets(batch, temperature: p.temperature) : nil

            // Update: `epochs` passes of clipped policy-gradient steps on the same rollouts, each
            // over minibatches of the step's rows (all ranks' rows; each rank trains on its own).
            let firstRow = share.lowerBound * p.groupSize
            // LoRA dropout in the update's forward/backward only (rollouts, old-policy and
            // reference log-probs above ran with it off).
            policy.setLoRATraining(true)
            defer { policy.setLoRATraining(false) }
            var metrics: [String: Double] = [:]
            var note: String?
            var updates = 0
            for epoch in 0..<p.epochs {
                let order =
                    miniBatches == 1
                    ? Array(0..<(drawn.count * p.groupSize))
                    : Array(0..<(drawn.count * p.groupSize)).shuffled(using: &rng)
                for (m, start) in stride(from: 0, to: order.count, by: miniBatch).enumerated() {
                    let rows = order[start..<min(start + miniBatch, order.count)]
                        .map { $0 - firstRow }.filter { batch.batchSize > $0 && $0 >= 0 }
                    let update = try miniBatchStep(
                        policy: policy, batch: batch, rows: rows, oldLogProbs: oldLogProbs,
                        referenceLogProbs: referenceLogProbs, advantages: advantages, parameters: p,
                        stepper: &stepper, step: (step * p.epochs + epoch) * miniBatches + m,
                        communicator: communicator)
                    for (name, value) in update.metrics { metrics[name, default: 0] += value }
                    updates += 1
                    note = update.outcome.note(step: step) ?? note
                }
            }
            metrics = metrics.mapValues { $0 / Double(max(updates, 1)) }
            metrics["optimizer_steps"] = Double(updates)

            // Rollout metrics, means over every rank's completions.
            let count = Double(rewards.count)
            var rollout = StepMetrics()
            rollout.mean("reward", rewards.reduce(0, +) / count, weight: count)
            rollout.mean(
                "finished_fraction", Double(generations.filter(\.finished).count) / count, weight: count)
            rollout.mean("completion_tokens", completionTokens / count, weight: count)
            let repeated = recordDiagnostics(
                promptIndices: promptIndices, generations: generations, into: &rollout)
            metrics.merge(communicator.reduce(rollout)) { $1 }
            metrics["kl_per_answer"] = klPerAnswer(metrics, parameters: p)
            return TrainingLoop.Step(
                metrics: metrics, note: note, sequences: ["most_repeated_answer": repeated])
        }
        try stepper.requireSavable()
        return history
    }

    /// One optimizer step on this rank's `rows` of a minibatch (possibly none): the GRPO loss
    /// over the minibatch's unmasked completion tokens of all ranks.
    private static func miniBatchStep(
        policy: Transformer, batch: SequenceBatch, rows: [Int], oldLogProbs: [Float]?,
        referenceLogProbs: [Float]?, advantages: [Double], parameters p: Parameters,
        stepper: inout OptimizerStepper, step: Int, communicator: any Communicator
    ) throws -> (metrics: [String: Double], outcome: OptimizerStepper.Outcome) {
        let whole = rows.count == batch.batchSize
        let sub = rows.isEmpty ? nil : (whole ? batch : batch.rows(rows))
        let localTokens = Double(sub?.targetCount ?? 0)
        let tokens = communicator.size > 1 ? communicator.allReduceSum([localTokens])[0] : nil
        var local = StepMetrics()
        if let sub, localTokens > 0 {
            let pass = LogProbPass(model: policy, batch: sub, temperature: p.temperature)
            let out = GRPOObjective.loss(
                logProbs: pass.logProbs,
                oldLogProbs: oldLogProbs.map { whole ? $0 : batch.gather($0, rows: rows) } ?? pass.logProbs,
                referenceLogProbs: referenceLogProbs.map { whole ? $0 : batch.gather($0, rows: rows) },
                mask: sub.mask, batchSize: sub.batchSize, length: sub.length,
                advantages: whole ? advantages : rows.map { advantages[$0] },
                clipRange: p.clipRange, clipRangeHigh: p.clipRangeHigh, klCoefficient: p.klCoefficient,
                normalizer: tokens)
            pass.backward(model: policy, logProbGrad: out.logProbGrad)
            local.mean(
                "entropy", RolloutDiagnostics.maskedMean(pass.entropy, mask: sub.mask), weight: localTokens)
            // loss and policy_loss are already divided by the global token count; the per-token
            // means (kl, clip fraction, ratio) are weighted by each rank's tokens.
            for (name, value) in out.metrics {
                if name == "loss" || name == "policy_loss" {
                    local.total(name, value)
                } else {
                    local.mean(name, value, weight: localTokens)
                }
            }
        } else {
            for name in ["loss", "policy_loss"] { local.total(name, 0) }
            for name in ["kl", "clip_fraction", "ratio", "entropy"] { local.mean(name, 0, weight: 0) }
        }
        return try stepper.update(
            policy.trainableParameters, metrics: local, step: step, communicator: communicator)
    }
}
