import Foundation
import Models
import NN
import TensorCore

/// The reward model (InstructGPT's second step): prompt + response → a scalar read at the
/// end-of-turn token, trained with the Bradley–Terry loss on labelers' comparisons. A K-wise
/// ranking enters one batch whole, as all K(K−1)/2 pairs weighted so the prompt counts once.
public enum RewardModelTraining {
    /// One prompt's ranked responses. Every sequence is prompt + response, ending with the
    /// end-of-turn token (the token that is scored, in training and at inference alike).
    public struct Comparison: Sendable {
        public var prompt: [Int32]
        public var responses: [[Int32]]
        /// Response indices best first (a permutation of `responses.indices`). A pair is K = 2.
        public var ranking: [Int]
        public init(prompt: [Int32], responses: [[Int32]], ranking: [Int]) {
            self.prompt = prompt
            self.responses = responses
            self.ranking = ranking
        }
    }

    public struct Parameters: Sendable {
        public var optimization = OptimizationSettings(learningRate: 1e-4, steps: 200, warmupSteps: 10)
        /// Comparisons (prompts) per optimizer step.
        public var comparisonsPerStep = 8
        /// Required score gap for every pair (0: plain Bradley–Terry).
        public var margin = 0.0
        public var seed: UInt64 = 0
        /// Held-out accuracy is measured every this many steps (0: only at the end).
        public var evaluationInterval = 0
        public init() {}
    }

    /// Rows and pairs for a set of comparisons, as one batch.
    static func batch(_ comparisons: [Comparison], padToken: Int32, margin: Double)
        -> (SequenceBatch, [RewardModelObjective.Pair]) {
        var rows: [[Int32]] = [], pairs: [RewardModelObjective.Pair] = []
        for c in comparisons {
            pairs += RewardModelObjective.rankingPairs(order: c.ranking, firstIndex: rows.count, margin: margin)
            rows += c.responses.map { c.prompt + $0 }
        }
        return (SequenceBatch(rows: rows, padToken: padToken), pairs)
    }

    /// Fraction of held-out pairs (all pairs of every ranking) the model orders like the labels.
    public static func accuracy(model: ScalarModel, comparisons: [Comparison], padToken: Int32, chunk: Int = 16) -> Double {
        var correct = 0.0, total = 0.0
        for start in stride(from: 0, to: comparisons.count, by: chunk) {
            let part = Array(comparisons[start..<min(start + chunk, comparisons.count)])
            let (batch, pairs) = batch(part, padToken: padToken, margin: 0)
            let scores = model.sequenceScores(batch)
            for p in pairs {
                correct += scores[p.chosen] > scores[p.rejected] ? 1 : (scores[p.chosen] == scores[p.rejected] ? 0.5 : 0)
                total += 1
            }
        }
        return total > 0 ? correct / total : 0
    }

    public struct Summary: Sendable {
        public var history: [[String: Double]]
        public var heldOutAccuracy: Double
    }

    @discardableResult
    /// With several ranks every rank draws the same comparisons and scores its share; the loss is
    /// normalised by the step's comparison count over all ranks, so the summed gradients are the
    /// single-process ones. Rank 0 evaluates the held-out set (the others report NaN).
    public static func train(model: ScalarModel, comparisons: [Comparison], heldOut: [Comparison], padToken: Int32,
                             parameters p: Parameters, communicator: any Communicator = SingleProcess(),
                             progress: ProgressHandler? = nil) throws -> Summary {
        precondition(!comparisons.isEmpty, "reward model: no comparisons")
        guard min(p.comparisonsPerStep, comparisons.count) >= communicator.size else {
            throw DataParallelError("\(min(p.comparisonsPerStep, comparisons.count)) comparisons per step for \(communicator.size) ranks; each rank needs one")
        }
        var stepper = OptimizerStepper(settings: p.optimization)
        var rng = RandomGenerator(seed: p.seed)
        var history: [[String: Double]] = []
        communicator.broadcastParameters(model.parameters)
        for q in model.parameters { q.zeroGrad() }
        var order: [Int] = [], cursor = 0
        for step in 0..<p.optimization.steps {
            let started = Date()
            var picked: [Comparison] = []
            while picked.count < min(p.comparisonsPerStep, comparisons.count) {
                if cursor == order.count { order = Array(comparisons.indices).shuffled(using: &rng); cursor = 0 }
                picked.append(comparisons[order[cursor]])
                cursor += 1
            }
            // Normaliser: the number of prompts of the whole step, so each ranking counts as one unit.
            let drawn = picked.count
            if communicator.size > 1 { picked = Array(picked[communicator.share(of: drawn)]) }
            let (batch, pairs) = batch(picked, padToken: padToken, margin: p.margin)
            let scores = model.sequenceScores(batch)
            let out = RewardModelObjective.bradleyTerry(rewards: scores, pairs: pairs, normalizer: Double(drawn))
            model.backward(scoreGrad: out.rewardGrad)
            var (loss, pairAccuracy, margin) = (out.loss, out.accuracy, out.meanMargin)
            if communicator.size > 1 {
                communicator.allReduceGradients(model.parameters)
                // Accuracy and margin are means over pairs: weight each rank's by its pair count.
                let n = Double(pairs.count)
                let sums = communicator.allReduceSum([out.loss, out.accuracy * n, out.meanMargin * n, n])
                (loss, pairAccuracy, margin) = (sums[0], sums[1] / sums[3], sums[2] / sums[3])
            }
            let o = try stepper.apply(model.parameters, step: step, loss: Float(loss))
            var metrics: [String: Double] = [
                "loss": loss, "accuracy": pairAccuracy, "margin": margin, "lr": Double(o.learningRate),
                "grad_norm": Double(o.gradientNorm), "seconds": Date().timeIntervalSince(started),
            ]
            if p.evaluationInterval > 0, (step + 1) % p.evaluationInterval == 0, !heldOut.isEmpty, communicator.isRoot {
                metrics["heldout_accuracy"] = accuracy(model: model, comparisons: heldOut, padToken: padToken)
            }
            history.append(metrics)
            progress?(StageProgress(stage: "reward", step: step + 1, totalSteps: p.optimization.steps, metrics: metrics,
                                    note: o.skipped.map { "step \(step + 1) skipped: \($0)" }))
        }
        try stepper.requireSavable()
        let acc = heldOut.isEmpty || !communicator.isRoot ? .nan : accuracy(model: model, comparisons: heldOut, padToken: padToken)
        return Summary(history: history, heldOutAccuracy: acc)
    }
}
