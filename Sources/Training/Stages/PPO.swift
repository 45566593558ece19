import Foundation
import Models
import NN
import TensorCore

/// RLHF with PPO (InstructGPT's third step): the policy samples completions of prompts, the
/// frozen reward model scores them at the end-of-turn token, a per-token KL penalty keeps the
/// policy near the frozen SFT reference, a value model (initialised from the reward model)
/// estimates returns for GAE, and clipped policy and value losses update both. PPO-ptx mixes
/// in the pretraining loss so plain text completion does not degrade.
public enum PPO {
    public struct Parameters: Sendable {
        /// Rollout batches (each followed by `epochs` passes of minibatch updates).
        public var steps = 20
        public var promptsPerStep = 16
        public var miniBatchSize = 8
        public var epochs = 2
        public var maxNewTokens = 16
        /// Sampling temperature; every log-prob (policy, old policy, reference) is taken under the
        /// same temperature. No top-k/top-p: filtered sampling would not match those log-probs.
        public var temperature: Float = 1
        public var klCoefficient = 0.05
        /// With a target, β adapts toward it (Ziegler et al.); nil keeps β fixed.
        public var targetKL: Double?
        public var klHorizon = 10_000.0
        public var klEstimator: KLEstimator = .k1
        public var gamma = 1.0
        public var lambda = 0.95
        public var clipRange = 0.2
        public var valueClipRange = 0.2
        public var whitenAdvantages = true
        public var rewardWhitening: PPOObjective.RewardWhitening = .none
        /// Fit a gain and bias on `rewardNormalizationSamples` SFT rollouts before training so the
        /// reward model's score has mean 0 and std 1 there (lm-human-preferences).
        public var normalizeReward = false
        public var rewardNormalizationSamples = 64
        /// Clip the (normalised) score to [−rewardClip, rewardClip] before the KL penalty and the
        /// unfinished-answer change; nil: no clip.
        public var rewardClip: Double?
        /// Score change for completions that never produced the end-of-turn token.
        /// Further tokens that end a completion besides `endOfTurn` (a published model's other eos
        /// ids); such a completion counts as finished.
        public var extraStopTokens: Set<Int32> = []
        public var unfinished: PPOObjective.UnfinishedCompletion = .subtract(1)
        public var policyOptimization = OptimizationSettings(learningRate: 1e-4, steps: 0)
        public var valueOptimization = OptimizationSettings(learningRate: 1e-4, steps: 0)
        /// PPO-ptx: weight of the pretraining loss added to the policy loss (0 disables).
        public var ptxCoefficient = 0.0
        public var seed: UInt64 = 0

        public init() {
            policyOptimization.weightDecay = 0
            valueOptimization.weightDecay = 0
        }

        /// Optimizer steps per model over the whole run.
        public var optimizerSteps: Int {
            steps * epochs * ((promptsPerStep + miniBatchSize - 1) / miniBatchSize)
        }
    }

    /// The four models of PPO. Policy and value are trained; reference and reward are frozen.
    ///
    /// With LoRA the frozen models may be the trained ones themselves: the reference the policy
    /// object and the reward model's trunk the value model's, each read with its adapters
    /// bypassed (`baseScoreTargets`, `baseSequenceScores`), so the base weights are held once.
    public struct Models {
        public var policy: Transformer
        public var reference: Transformer
        public var reward: ScalarModel
        public var value: ScalarModel
        public init(policy: Transformer, reference: Transformer, reward: ScalarModel, value: ScalarModel) {
            self.policy = policy
            self.reference = reference
            self.reward = reward
            self.value = value
        }

        /// Adapter dropout on (updates) or off (rollouts, scoring) for both trained models.
        func setLoRATraining(_ training: Bool) {
            policy.setLoRATraining(training)
            value.trunk.setLoRATraining(training)
        }
    }

    /// One rollout batch, for callers that judge completions themselves (e.g. a verifier).
    public struct Rollout {
        public var promptIndices: [Int]
        public var completions: [Generation]
    }

    /// Trains `models.policy` and `models.value` in place. Each step is three visible parts:
    /// `rollout` (sample completions of the step's prompts), `score` (old policy, reference,
    /// values, reward, advantages) and `update` (minibatch epochs of clipped policy and value
    /// steps), then the rollout's metrics are reduced and the KL controller adapts.
    ///
    /// - Parameters:
    ///   - prompts: rendered prompts (ending where the assistant's answer starts).
    ///   - endOfTurn: the token that ends an answer; the reward model scores it.
    ///   - padToken: padding id (distinct from `endOfTurn`).
    ///   - pretrainingBatch: PPO-ptx batches of plain text (required when `ptxCoefficient > 0`).
    ///   - inspect: extra metrics per rollout batch (e.g. verifier accuracy); not used for training.
    ///   - communicator: with several ranks (data parallelism) every rank draws the same prompts
    ///     and takes its share, samples those rollouts from a random stream of its own, and the
    ///     batch-wide quantities are taken over all ranks: advantage whitening moments, each
    ///     minibatch's token count (the minibatches are the single-process ones, split by owner),
    ///     the PPO-ptx token count, the KL fed to the controller and every metric. Gradients of
    ///     policy and value are summed before each optimizer step.
    /// - Returns: the metrics of every step.
    @discardableResult
    public static func train(
        _ models: Models, prompts: [[Int32]], endOfTurn: Int32, padToken: Int32,
        parameters p: Parameters, pretrainingBatch: (() -> SequenceBatch)? = nil,
        inspect: ((Rollout) -> [String: Double])? = nil, communicator: any Communicator = SingleProcess(),
        progress: ProgressHandler? = nil
    ) throws -> [[String: Double]] {
        precondition(!prompts.isEmpty, "PPO: no prompts")
        precondition(
            p.ptxCoefficient == 0 || pretrainingBatch != nil, "PPO: ptx needs a pretraining batch source")
        guard p.promptsPerStep >= communicator.size else {
            throw DataParallelError(
                "\(p.promptsPerStep) prompts per step for \(communicator.size) ranks; each rank needs one")
        }
        guard communicator.size == 1 || p.rewardWhitening == .none else {
            throw DataParallelError(
                "reward whitening (\(p.rewardWhitening.rawValue)) is not supported across ranks yet")
        }
        var state = State(parameters: p, rank: communicator.rank)
        let normalization =
            p.normalizeReward
            ? fitRewardNormalization(
                models, prompts: prompts, endOfTurn: endOfTurn, padToken: padToken, parameters: p,
                communicator: communicator)
            : nil
        let history = try TrainingLoop.run(
            stage: "ppo", steps: 0..<p.steps, totalSteps: p.steps,
            replicas: [models.policy.trainableParameters, models.value.trainableParameters],
            communicator: communicator,
            progress: progress
        ) { _ in
            let rollout = self.rollout(
                models.policy, prompts: prompts, endOfTurn: endOfTurn, state: &state,
                communicator: communicator)
            let experience = score(
                rollout, models: models, prompts: prompts, endOfTurn: endOfTurn, padToken: padToken,
                klCoefficient: state.kl.coefficient, normalization: normalization, parameters: p,
                communicator: communicator)
            // Adapter dropout only in the update's forward/backward (rollouts and scoring run
            // with it off, as the reference and the old policy must).
            models.setLoRATraining(true)
            defer { models.setLoRATraining(false) }
            var metrics = try update(
                models, experience: experience, pretrainingBatch: pretrainingBatch,
                state: &state, communicator: communicator)

            // Row means of this rank's rollouts, combined over the ranks by row counts.
            let rows = Double(experience.batch.batchSize), drawn = Double(rollout.drawnCount)
            var local = StepMetrics()
            local.mean("kl", experience.shaped.meanKL, weight: rows)
            local.mean("reward", experience.shaped.meanRawScore, weight: rows)
            local.mean("unfinished_fraction", experience.shaped.unfinishedFraction, weight: rows)
            local.total("completion_tokens", Double(experience.batch.targetCount) / drawn)
            for (name, value) in inspect?(rollout.asRollout) ?? [:] { local.mean(name, value, weight: rows) }
            let repeated = recordDiagnostics(rollout, experience, into: &local, communicator: communicator)
            metrics.merge(communicator.reduce(local)) { $1 }
            state.kl.update(currentKL: metrics["kl"]!, sampleCount: rollout.drawnCount)
            metrics["kl_coefficient"] = state.kl.coefficient
            if let normalization {
                metrics["reward_gain"] = normalization.gain
                metrics["reward_bias"] = normalization.bias
            }
            return TrainingLoop.Step(metrics: metrics, sequences: ["most_repeated_answer": repeated])
        }
        try state.policyStepper.requireSavable()
        try state.valueStepper.requireSavable()
        return history
    }

    /// What PPO carries from step to step: random streams, optimizers, the KL controller.
    struct State {
        let parameters: Parameters
        /// The shared stream (prompt draws, minibatch orders; rollouts when alone).
        var rng: RandomGenerator
        /// This rank's stream for sampling rollouts when there are several ranks.
        var rolloutRNG: RandomGenerator
        var policyStepper: OptimizerStepper
        var valueStepper: OptimizerStepper
        var kl: KLController
        /// Optimizer steps taken so far (the same for both models).
        var optimizerStep = 0

        init(parameters p: Parameters, rank: Int) {
            parameters = p
            rng = RandomGenerator(seed: p.seed)
            rolloutRNG = RandomGenerator(seed: p.seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(rank + 1))
            var policySettings = p.policyOptimization, valueSettings = p.valueOptimization
            policySettings.steps = p.optimizerSteps
            valueSettings.steps = p.optimizerSteps
            policyStepper = OptimizerStepper(settings: policySettings)
            valueStepper = OptimizerStepper(settings: valueSettings)
            kl =
                p.targetKL.map {
                    KLController.adaptive(initial: p.klCoefficient, target: $0, horizon: p.klHorizon)
                }
                ?? .fixed(p.klCoefficient)
        }
    }
}
