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
        /// Score change for completions that never produced the end-of-turn token.
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
    }

    /// One rollout batch, for callers that judge completions themselves (e.g. a verifier).
    public struct Rollout {
        public var promptIndices: [Int]
        public var completions: [Generation]
    }

    /// Trains `models.policy` and `models.value` in place.
    ///
    /// - Parameters:
    ///   - prompts: rendered prompts (ending where the assistant's answer starts).
    ///   - endOfTurn: the token that ends an answer; the reward model scores it.
    ///   - padToken: padding id (distinct from `endOfTurn`).
    ///   - pretrainingBatch: PPO-ptx batches of plain text (required when `ptxCoefficient > 0`).
    ///   - inspect: extra metrics per rollout batch (e.g. verifier accuracy); not used for training.
    /// - Returns: the metrics of every step.
    @discardableResult
    public static func train(
        _ models: Models, prompts: [[Int32]], endOfTurn: Int32, padToken: Int32,
        parameters p: Parameters, pretrainingBatch: (() -> SequenceBatch)? = nil,
        inspect: ((Rollout) -> [String: Double])? = nil, progress: ProgressHandler? = nil
    ) throws -> [[String: Double]] {
        precondition(!prompts.isEmpty, "PPO: no prompts")
        precondition(p.ptxCoefficient == 0 || pretrainingBatch != nil, "PPO: ptx needs a pretraining batch source")
        var rng = RandomGenerator(seed: p.seed)
        var policySettings = p.policyOptimization, valueSettings = p.valueOptimization
        policySettings.steps = p.optimizerSteps
        valueSettings.steps = p.optimizerSteps
        var policyStepper = OptimizerStepper(settings: policySettings)
        var valueStepper = OptimizerStepper(settings: valueSettings)
        var kl = p.targetKL.map { KLController.adaptive(initial: p.klCoefficient, target: $0, horizon: p.klHorizon) }
            ?? .fixed(p.klCoefficient)
        models.policy.zeroGradients()
        for q in models.value.parameters { q.zeroGrad() }
        var history: [[String: Double]] = []
        var optimizerStep = 0
        let sampling = SamplingOptions(temperature: p.temperature, maxNewTokens: p.maxNewTokens, stopTokens: [endOfTurn])

        for step in 0..<p.steps {
            let started = Date()
            // 1. Rollouts from the current policy.
            let promptIndices = (0..<p.promptsPerStep).map { _ in Int(rng.next() % UInt64(prompts.count)) }
            let generations = models.policy.generate(prompts: promptIndices.map { prompts[$0] }, options: sampling, rng: &rng)
            let batch = SequenceBatch(prompts: promptIndices.map { prompts[$0] },
                                      completions: generations.map { $0.completion(endOfTurn: endOfTurn) }, padToken: padToken)
            let (b, t) = (batch.batchSize, batch.length)

            // 2. Score: old policy and reference log-probs, values, reward at the end token.
            let oldLogProbs = models.policy.scoreTargets(batch, temperature: p.temperature)
            let referenceLogProbs = models.reference.scoreTargets(batch, temperature: p.temperature)
            let oldValues = models.value.values(batch)
            let scores = models.reward.sequenceScores(batch).map(Double.init)
            let shaped = PPOObjective.shapeRewards(
                logProbs: oldLogProbs, referenceLogProbs: referenceLogProbs, mask: batch.mask, batchSize: b, length: t,
                scores: scores, finished: generations.map(\.finished), klCoefficient: kl.coefficient,
                estimator: p.klEstimator, unfinished: p.unfinished, whitening: p.rewardWhitening)
            var (advantages, returns) = PPOObjective.generalizedAdvantages(
                rewards: shaped.rewards, values: oldValues, mask: batch.mask, batchSize: b, length: t,
                gamma: p.gamma, lambda: p.lambda)
            if p.whitenAdvantages { advantages = Whitening.whiten(advantages, mask: batch.mask) }

            // 3. Minibatch epochs of clipped policy and value updates.
            var sums: [String: Double] = [:], updates = 0.0
            for _ in 0..<p.epochs {
                let order = Array(0..<b).shuffled(using: &rng)
                for start in stride(from: 0, to: b, by: p.miniBatchSize) {
                    let idx = Array(order[start..<min(start + p.miniBatchSize, b)])
                    let sub = batch.rows(idx)
                    let pass = LogProbPass(model: models.policy, batch: sub, temperature: p.temperature)
                    let pl = PPOObjective.policyLoss(
                        logProbs: pass.logProbs, oldLogProbs: batch.gather(oldLogProbs, rows: idx),
                        advantages: batch.gather(advantages, rows: idx), mask: sub.mask, clipRange: p.clipRange,
                        entropy: pass.entropy)
                    pass.backward(model: models.policy, logProbGrad: pl.logProbGrad)
                    var loss = pl.loss
                    if p.ptxCoefficient > 0, let next = pretrainingBatch {
                        let ptx = next()
                        let ptxPass = LogProbPass(model: models.policy, batch: ptx)
                        let lm = LanguageModelObjective.negativeLogLikelihood(
                            logProbs: ptxPass.logProbs, mask: ptx.mask, normalizer: Double(ptx.targetCount))
                        let mixed = LanguageModelObjective.pretrainingMix(lm, coefficient: p.ptxCoefficient)
                        ptxPass.backward(model: models.policy, logProbGrad: mixed.logProbGrad)
                        loss += mixed.loss
                        sums["ptx_loss", default: 0] += lm.loss
                    }
                    let po = try policyStepper.apply(models.policy.parameters, step: optimizerStep, loss: Float(loss))

                    let values = models.value.values(sub)
                    let vl = PPOObjective.valueLoss(
                        values: values, oldValues: batch.gather(oldValues, rows: idx),
                        returns: batch.gather(returns, rows: idx), mask: sub.mask, clipRange: p.valueClipRange)
                    models.value.backward(scoreGrad: vl.valueGrad)
                    _ = try valueStepper.apply(models.value.parameters, step: optimizerStep, loss: Float(vl.loss))
                    optimizerStep += 1
                    updates += 1
                    sums["policy_loss", default: 0] += pl.loss
                    sums["clip_fraction", default: 0] += pl.clipFraction
                    sums["approx_kl", default: 0] += pl.approxKL
                    sums["entropy", default: 0] += pl.meanEntropy ?? 0
                    sums["value_loss", default: 0] += vl.loss
                    sums["value_clip_fraction", default: 0] += vl.clipFraction
                    sums["lr", default: 0] += Double(po.learningRate)
                    if po.skipped != nil { sums["skipped_steps", default: 0] += 1 }
                }
            }
            kl.update(currentKL: shaped.meanKL, sampleCount: b)

            var metrics = sums.mapValues { $0 / max(updates, 1) }
            metrics["skipped_steps"] = sums["skipped_steps"] ?? 0
            metrics["reward"] = shaped.meanRawScore
            metrics["kl"] = shaped.meanKL
            metrics["kl_coefficient"] = kl.coefficient
            metrics["unfinished_fraction"] = shaped.unfinishedFraction
            metrics["completion_tokens"] = Double(batch.targetCount) / Double(b)
            metrics["seconds"] = Date().timeIntervalSince(started)
            if let inspect {
                for (k, v) in inspect(Rollout(promptIndices: promptIndices, completions: generations)) { metrics[k] = v }
            }
            history.append(metrics)
            progress?(StageProgress(stage: "ppo", step: step + 1, totalSteps: p.steps, metrics: metrics))
        }
        return history
    }
}
