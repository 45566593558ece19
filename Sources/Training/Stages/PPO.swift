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
        precondition(p.ptxCoefficient == 0 || pretrainingBatch != nil, "PPO: ptx needs a pretraining batch source")
        let parallel = communicator.size > 1
        guard p.promptsPerStep >= communicator.size else {
            throw DataParallelError("\(p.promptsPerStep) prompts per step for \(communicator.size) ranks; each rank needs one")
        }
        guard !parallel || p.rewardWhitening == .none else {
            throw DataParallelError("reward whitening (\(p.rewardWhitening.rawValue)) is not supported across ranks yet")
        }
        var rng = RandomGenerator(seed: p.seed)
        var rolloutRNG = RandomGenerator(seed: p.seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(communicator.rank + 1))
        var policySettings = p.policyOptimization, valueSettings = p.valueOptimization
        policySettings.steps = p.optimizerSteps
        valueSettings.steps = p.optimizerSteps
        var policyStepper = OptimizerStepper(settings: policySettings)
        var valueStepper = OptimizerStepper(settings: valueSettings)
        var kl = p.targetKL.map { KLController.adaptive(initial: p.klCoefficient, target: $0, horizon: p.klHorizon) }
            ?? .fixed(p.klCoefficient)
        communicator.broadcastParameters(models.policy.parameters)
        communicator.broadcastParameters(models.value.parameters)
        models.policy.zeroGradients()
        for q in models.value.parameters { q.zeroGrad() }
        var history: [[String: Double]] = []
        var optimizerStep = 0
        let sampling = SamplingOptions(temperature: p.temperature, maxNewTokens: p.maxNewTokens, stopTokens: [endOfTurn])
        /// Sums over the ranks (identity alone).
        func global(_ values: [Double]) -> [Double] { communicator.allReduceSum(values) }

        for step in 0..<p.steps {
            let started = Date()
            // 1. Rollouts from the current policy (this rank's share of the step's prompts).
            let drawn = (0..<p.promptsPerStep).map { _ in Int(rng.next() % UInt64(prompts.count)) }
            let share = parallel ? communicator.share(of: drawn.count) : 0..<drawn.count
            let promptIndices = Array(drawn[share])
            let generations = parallel
                ? models.policy.generate(prompts: promptIndices.map { prompts[$0] }, options: sampling, rng: &rolloutRNG)
                : models.policy.generate(prompts: promptIndices.map { prompts[$0] }, options: sampling, rng: &rng)
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
            if p.whitenAdvantages {
                // Moments over every rank's completion tokens.
                let m = Whitening.moments(advantages, mask: batch.mask, reducing: global)
                advantages = Whitening.whiten(advantages, mask: batch.mask, mean: m.mean, variance: m.variance)
            }

            // 3. Minibatch epochs of clipped policy and value updates. The minibatches index the
            //    whole step's rows; each rank trains on the rows of each minibatch that it holds.
            var sums: [String: Double] = [:], updates = 0.0
            for _ in 0..<p.epochs {
                let order = Array(0..<drawn.count).shuffled(using: &rng)
                for start in stride(from: 0, to: drawn.count, by: p.miniBatchSize) {
                    let idx = order[start..<min(start + p.miniBatchSize, drawn.count)]
                        .filter { share.contains($0) }.map { $0 - share.lowerBound }
                    let sub = idx.isEmpty ? nil : batch.rows(idx)
                    let localTokens = Double(sub?.targetCount ?? 0)
                    let tokens = parallel ? global([localTokens])[0] : nil
                    var pl: PPOObjective.PolicyLossOutput<Float>?
                    if let sub {
                        let pass = LogProbPass(model: models.policy, batch: sub, temperature: p.temperature)
                        pl = PPOObjective.policyLoss(
                            logProbs: pass.logProbs, oldLogProbs: batch.gather(oldLogProbs, rows: idx),
                            advantages: batch.gather(advantages, rows: idx), mask: sub.mask, clipRange: p.clipRange,
                            normalizer: tokens, entropy: pass.entropy)
                        pass.backward(model: models.policy, logProbGrad: pl!.logProbGrad)
                    }
                    var loss = pl?.loss ?? 0
                    var ptxLoss = 0.0
                    if p.ptxCoefficient > 0, let next = pretrainingBatch {
                        let ptx = communicator.share(of: next())
                        let ptxTokens = global([Double(ptx?.targetCount ?? 0)])[0]
                        if let ptx {
                            let ptxPass = LogProbPass(model: models.policy, batch: ptx)
                            let lm = LanguageModelObjective.negativeLogLikelihood(
                                logProbs: ptxPass.logProbs, mask: ptx.mask, normalizer: ptxTokens)
                            let mixed = LanguageModelObjective.pretrainingMix(lm, coefficient: p.ptxCoefficient)
                            ptxPass.backward(model: models.policy, logProbGrad: mixed.logProbGrad)
                            loss += mixed.loss
                            ptxLoss = lm.loss
                        }
                    }
                    if parallel { communicator.allReduceGradients(models.policy.parameters) }
                    // Token-weighted means of the per-token metrics; losses are already global.
                    let weight = tokens.map { $0 > 0 ? localTokens / $0 : 0 } ?? 1
                    let policyMetrics = global([loss, pl?.loss ?? 0, (pl?.clipFraction ?? 0) * weight,
                                                (pl?.approxKL ?? 0) * weight, (pl?.meanEntropy ?? 0) * weight, ptxLoss])
                    let po = try policyStepper.apply(models.policy.parameters, step: optimizerStep, loss: Float(policyMetrics[0]))

                    var valueLoss = 0.0, valueClip = 0.0
                    if let sub {
                        let values = models.value.values(sub)
                        let vl = PPOObjective.valueLoss(
                            values: values, oldValues: batch.gather(oldValues, rows: idx),
                            returns: batch.gather(returns, rows: idx), mask: sub.mask, clipRange: p.valueClipRange,
                            normalizer: tokens)
                        models.value.backward(scoreGrad: vl.valueGrad)
                        (valueLoss, valueClip) = (vl.loss, vl.clipFraction * weight)
                    }
                    if parallel { communicator.allReduceGradients(models.value.parameters) }
                    let valueMetrics = global([valueLoss, valueClip])
                    _ = try valueStepper.apply(models.value.parameters, step: optimizerStep, loss: Float(valueMetrics[0]))
                    optimizerStep += 1
                    updates += 1
                    if p.ptxCoefficient > 0 { sums["ptx_loss", default: 0] += policyMetrics[5] }
                    sums["policy_loss", default: 0] += policyMetrics[1]
                    sums["clip_fraction", default: 0] += policyMetrics[2]
                    sums["approx_kl", default: 0] += policyMetrics[3]
                    sums["entropy", default: 0] += policyMetrics[4]
                    sums["value_loss", default: 0] += valueMetrics[0]
                    sums["value_clip_fraction", default: 0] += valueMetrics[1]
                    sums["lr", default: 0] += Double(po.learningRate)
                    if po.skipped != nil { sums["skipped_steps", default: 0] += 1 }
                }
            }
            // Row means of this rank's rollouts, combined over the ranks by row counts.
            let rowShare = Double(b) / Double(drawn.count)
            let rollout = global([shaped.meanKL * rowShare, shaped.meanRawScore * rowShare, shaped.unfinishedFraction * rowShare,
                                  Double(batch.targetCount)])
            kl.update(currentKL: rollout[0], sampleCount: drawn.count)

            var metrics = sums.mapValues { $0 / max(updates, 1) }
            metrics["skipped_steps"] = sums["skipped_steps"] ?? 0
            metrics["reward"] = rollout[1]
            metrics["kl"] = rollout[0]
            metrics["kl_coefficient"] = kl.coefficient
            metrics["unfinished_fraction"] = rollout[2]
            metrics["completion_tokens"] = rollout[3] / Double(drawn.count)
            metrics["seconds"] = Date().timeIntervalSince(started)
            if let inspect {
                let extra = inspect(Rollout(promptIndices: promptIndices, completions: generations))
                let keys = extra.keys.sorted()
                for (k, v) in zip(keys, global(keys.map { extra[$0]! * rowShare })) { metrics[k] = v }
            }
            history.append(metrics)
            progress?(StageProgress(stage: "ppo", step: step + 1, totalSteps: p.steps, metrics: metrics))
        }
        try policyStepper.requireSavable()
        try valueStepper.requireSavable()
        return history
    }
}
