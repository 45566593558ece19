import Models
import TensorCore

extension PPO {
    /// This rank's rollouts of one step.
    struct StepRollout {
        /// Prompts drawn for the whole step (all ranks).
        var drawnCount: Int
        /// This rank's rows of the step, in the step's row order.
        var share: Range<Int>
        var promptIndices: [Int]
        var generations: [Generation]

        var asRollout: Rollout { Rollout(promptIndices: promptIndices, completions: generations) }
    }

    /// One rollout batch and everything scored on it before any update.
    struct Experience {
        var batch: SequenceBatch
        var oldLogProbs: [Float]  // (B,T)
        var oldValues: [Float]  // (B,T)
        var advantages: [Float]  // (B,T), whitened when asked
        var returns: [Float]  // (B,T)
        var shaped: PPOObjective.ShapedRewards<Float>
        /// Rows of the whole step and this rank's part of them (the minibatches span the step).
        var drawnCount: Int
        var share: Range<Int>
    }

    /// Samples completions of the step's prompts from the current policy: every rank draws the
    /// same prompts and samples its share of them.
    static func rollout(
        _ policy: Transformer, prompts: [[Int32]], endOfTurn: Int32, state: inout State,
        communicator: any Communicator
    ) -> StepRollout {
        let p = state.parameters
        let drawn = (0..<p.promptsPerStep).map { _ in Int(state.rng.next() % UInt64(prompts.count)) }
        let share = communicator.share(of: drawn.count)
        let promptIndices = Array(drawn[share])
        let sampling = SamplingOptions(
            temperature: p.temperature, maxNewTokens: p.maxNewTokens,
            stopTokens: p.extraStopTokens.union([endOfTurn]))
        let generations =
            communicator.size > 1
            ? policy.generate(
                prompts: promptIndices.map { prompts[$0] }, options: sampling, rng: &state.rolloutRNG)
            : policy.generate(prompts: promptIndices.map { prompts[$0] }, options: sampling, rng: &state.rng)
        return StepRollout(
            drawnCount: drawn.count, share: share, promptIndices: promptIndices, generations: generations)
    }

    /// Old policy and reference log-probs, values, the reward at the end token shaped with the
    /// per-token KL penalty, and GAE advantages (whitened over every rank's completion tokens).
    static func score(
        _ rollout: StepRollout, models: Models, prompts: [[Int32]], endOfTurn: Int32, padToken: Int32,
        klCoefficient: Double, normalization: PPOObjective.RewardNormalization? = nil,
        parameters p: Parameters, communicator: any Communicator
    ) -> Experience {
        let batch = SequenceBatch(
            prompts: rollout.promptIndices.map { prompts[$0] },
            completions: rollout.generations.map { $0.completion(endOfTurn: endOfTurn) },
            padToken: padToken)
        let (b, t) = (batch.batchSize, batch.length)
        let oldLogProbs = models.policy.scoreTargets(batch, temperature: p.temperature)
        let referenceLogProbs = models.reference.baseScoreTargets(batch, temperature: p.temperature)
        let oldValues = models.value.values(batch)
        let scores = PPOObjective.transformScores(
            models.reward.baseSequenceScores(batch).map(Double.init), normalization: normalization,
            clip: p.rewardClip)
        let shaped = PPOObjective.shapeRewards(
            logProbs: oldLogProbs, referenceLogProbs: referenceLogProbs, mask: batch.mask, batchSize: b,
            length: t,
            scores: scores, finished: rollout.generations.map(\.finished), klCoefficient: klCoefficient,
            estimator: p.klEstimator, unfinished: p.unfinished, whitening: p.rewardWhitening)
        var (advantages, returns) = PPOObjective.generalizedAdvantages(
            rewards: shaped.rewards, values: oldValues, mask: batch.mask, batchSize: b, length: t,
            gamma: p.gamma, lambda: p.lambda)
        if p.whitenAdvantages {
            let m = Whitening.moments(advantages, mask: batch.mask, reducing: communicator.allReduceSum)
            advantages = Whitening.whiten(advantages, mask: batch.mask, mean: m.mean, variance: m.variance)
        }
        return Experience(
            batch: batch, oldLogProbs: oldLogProbs, oldValues: oldValues, advantages: advantages,
            returns: returns, shaped: shaped, drawnCount: rollout.drawnCount, share: rollout.share)
    }
}
