import Models
import TensorCore

extension PPO {
    /// Minibatch epochs of clipped policy and value updates on one step's experience. The
    /// minibatches index the whole step's rows (the single-process ones); each rank trains on
    /// the rows of each minibatch that it holds. Returns the update metrics averaged over the
    /// optimizer steps, and "skipped_steps".
    static func update(
        _ models: Models, experience e: Experience, pretrainingBatch: (() -> SequenceBatch)?,
        state: inout State, communicator: any Communicator
    ) throws -> [String: Double] {
        let p = state.parameters
        var sums: [String: Double] = [:], updates = 0.0
        for _ in 0..<p.epochs {
            let order = Array(0..<e.drawnCount).shuffled(using: &state.rng)
            for start in stride(from: 0, to: e.drawnCount, by: p.miniBatchSize) {
                let rows = order[start..<min(start + p.miniBatchSize, e.drawnCount)]
                    .filter { e.share.contains($0) }.map { $0 - e.share.lowerBound }
                let step = try minibatchStep(
                    models, experience: e, rows: rows, pretrainingBatch: pretrainingBatch,
                    state: &state, communicator: communicator)
                updates += 1
                for (name, value) in step { sums[name, default: 0] += value }
            }
        }
        var metrics = sums.mapValues { $0 / max(updates, 1) }
        metrics["skipped_steps"] = sums["skipped_steps"] ?? 0
        return metrics
    }

    /// One policy and one value optimizer step on this rank's `rows` of a minibatch (possibly
    /// none). Token-normalised losses use the minibatch's target tokens over all ranks.
    private static func minibatchStep(
        _ models: Models, experience e: Experience, rows: [Int],
        pretrainingBatch: (() -> SequenceBatch)?, state: inout State,
        communicator: any Communicator
    ) throws -> [String: Double] {
        let p = state.parameters
        let sub = rows.isEmpty ? nil : e.batch.rows(rows)
        let localTokens = Double(sub?.targetCount ?? 0)
        let tokens = communicator.size > 1 ? communicator.allReduceSum([localTokens])[0] : nil

        // Policy: clipped surrogate (+ PPO-ptx), one data-parallel block, one step.
        var policy = StepMetrics()
        var loss = 0.0
        if let sub {
            let pass = LogProbPass(model: models.policy, batch: sub, temperature: p.temperature)
            let pl = PPOObjective.policyLoss(
                logProbs: pass.logProbs, oldLogProbs: e.batch.gather(e.oldLogProbs, rows: rows),
                advantages: e.batch.gather(e.advantages, rows: rows), mask: sub.mask, clipRange: p.clipRange,
                normalizer: tokens, entropy: pass.entropy)
            pass.backward(model: models.policy, logProbGrad: pl.logProbGrad)
            loss = pl.loss
            policy.total("policy_loss", pl.loss)
            policy.mean("clip_fraction", pl.clipFraction, weight: localTokens)
            policy.mean("approx_kl", pl.approxKL, weight: localTokens)
            policy.mean("entropy", pl.meanEntropy ?? 0, weight: localTokens)
        } else {
            policy.total("policy_loss", 0)
            for name in ["clip_fraction", "approx_kl", "entropy"] { policy.mean(name, 0, weight: 0) }
        }
        if p.ptxCoefficient > 0, let next = pretrainingBatch {
            let ptx = communicator.share(of: next())
            let ptxTokens = communicator.allReduceSum([Double(ptx?.targetCount ?? 0)])[0]
            var ptxLoss = 0.0
            if let ptx {
                let pass = LogProbPass(model: models.policy, batch: ptx)
                let lm = LanguageModelObjective.negativeLogLikelihood(
                    logProbs: pass.logProbs, mask: ptx.mask, normalizer: ptxTokens)
                let mixed = LanguageModelObjective.pretrainingMix(lm, coefficient: p.ptxCoefficient)
                pass.backward(model: models.policy, logProbGrad: mixed.logProbGrad)
                loss += mixed.loss
                ptxLoss = lm.loss
            }
            policy.total("ptx_loss", ptxLoss)
        }
        policy.total("loss", loss)
        let policyUpdate = try state.policyStepper.update(
            models.policy.trainableParameters, metrics: policy,
            step: state.optimizerStep, communicator: communicator)

        // Value: clipped value loss toward the GAE returns, one data-parallel block, one step.
        var value = StepMetrics()
        if let sub {
            let vl = PPOObjective.valueLoss(
                values: models.value.values(sub), oldValues: e.batch.gather(e.oldValues, rows: rows),
                returns: e.batch.gather(e.returns, rows: rows), mask: sub.mask, clipRange: p.valueClipRange,
                normalizer: tokens)
            models.value.backward(scoreGrad: vl.valueGrad)
            value.total("value_loss", vl.loss)
            value.mean("value_clip_fraction", vl.clipFraction, weight: localTokens)
        } else {
            value.total("value_loss", 0)
            value.mean("value_clip_fraction", 0, weight: 0)
        }
        let valueUpdate = try state.valueStepper.update(
            models.value.trainableParameters, metrics: value,
            step: state.optimizerStep, communicator: communicator,
            lossName: "value_loss")
        state.optimizerStep += 1

        var metrics = policyUpdate.metrics.filter { $0.key != "loss" && $0.key != "grad_norm" }
        metrics["value_loss"] = valueUpdate.metrics["value_loss"]
        metrics["value_clip_fraction"] = valueUpdate.metrics["value_clip_fraction"]
        if policyUpdate.outcome.skipped != nil { metrics["skipped_steps"] = 1 }
        return metrics
    }
}
