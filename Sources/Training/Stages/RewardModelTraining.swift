import Datasets
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

        /// All K(K−1)/2 (chosen, rejected) pairs of this ranking, in ranking order (DPO family),
        /// each weighted 1/(K(K−1)/2) so the prompt counts once however many responses it ranks.
        public var pairs: [PreferenceTraining.Pair] {
            let ranked = RankingRecord.rankedPairs(ranking)
            let weight = 1 / Double(max(ranked.count, 1))
            return ranked.map {
                PreferenceTraining.Pair(
                    prompt: prompt, chosen: responses[$0.better], rejected: responses[$0.worse],
                    weight: weight)
            }
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
        -> (SequenceBatch, [RewardModelObjective.Pair])
    {
        var rows: [[Int32]] = [], pairs: [RewardModelObjective.Pair] = []
        for c in comparisons {
            pairs += RewardModelObjective.rankingPairs(
                order: c.ranking, firstIndex: rows.count, margin: margin)
            rows += c.responses.map { c.prompt + $0 }
        }
        return (SequenceBatch(rows: rows, padToken: padToken), pairs)
    }

    /// Fraction of held-out pairs (all pairs of every ranking) the model orders like the labels.
    public static func accuracy(
        model: ScalarModel, comparisons: [Comparison], padToken: Int32, chunk: Int = 16
    ) -> Double {
        var correct = 0.0, total = 0.0
        for start in stride(from: 0, to: comparisons.count, by: chunk) {
            let part = Array(comparisons[start..<min(start + chunk, comparisons.count)])
            let (batch, pairs) = batch(part, padToken: padToken, margin: 0)
            let scores = model.sequenceScores(batch)
            for p in pairs {
                correct +=
                    scores[p.chosen] > scores[p.rejected]
                    ? 1 : (scores[p.chosen] == scores[p.rejected] ? 0.5 : 0)
                total += 1
            }
        }
        return total > 0 ? correct / total : 0
    }

    public struct Summary: Sendable {
        public var history: [[String: Double]]
        public var heldOutAccuracy: Double
    }

    /// With several ranks every rank draws the same comparisons and scores its share; the loss is
    /// normalised by the step's comparison count over all ranks, so the summed gradients are the
    /// single-process ones. Rank 0 evaluates the held-out set (the others report NaN).
    @discardableResult
    public static func train(
        model: ScalarModel, comparisons: [Comparison], heldOut: [Comparison], padToken: Int32,
        parameters p: Parameters, communicator: any Communicator = SingleProcess(),
        progress: ProgressHandler? = nil
    ) throws -> Summary {
        precondition(!comparisons.isEmpty, "reward model: no comparisons")
        let perStep = min(p.comparisonsPerStep, comparisons.count)
        guard perStep >= communicator.size else {
            throw DataParallelError(
                "\(perStep) comparisons per step for \(communicator.size) ranks; each rank needs one")
        }
        var stepper = OptimizerStepper(settings: p.optimization)
        var sampler = EpochSampler(count: comparisons.count, seed: p.seed)
        model.trunk.setLoRATraining(true)
        defer { model.trunk.setLoRATraining(false) }
        let history = try TrainingLoop.run(
            stage: "reward", steps: 0..<p.optimization.steps, totalSteps: p.optimization.steps,
            replicas: [model.trainableParameters], communicator: communicator, progress: progress
        ) { step in
            let drawn = sampler.next(perStep).map { comparisons[$0] }
            let mine = Array(drawn[communicator.share(of: drawn.count)])
            // Normaliser: the number of prompts of the whole step, so each ranking counts as one unit.
            let (batch, pairs) = batch(mine, padToken: padToken, margin: p.margin)
            let out = RewardModelObjective.bradleyTerry(
                rewards: model.sequenceScores(batch), pairs: pairs,
                normalizer: Double(drawn.count))
            model.backward(scoreGrad: out.rewardGrad)

            var local = StepMetrics()
            local.total("loss", out.loss)
            local.mean("accuracy", out.accuracy, weight: Double(pairs.count))
            local.mean("margin", out.meanMargin, weight: Double(pairs.count))
            let update = try stepper.update(
                model.trainableParameters, metrics: local, step: step, communicator: communicator)
            var metrics = update.metrics
            if p.evaluationInterval > 0, (step + 1) % p.evaluationInterval == 0, !heldOut.isEmpty,
                communicator.isRoot
            {
                metrics["heldout_accuracy"] = accuracy(model: model, comparisons: heldOut, padToken: padToken)
            }
            return TrainingLoop.Step(metrics: metrics, note: update.outcome.note(step: step))
        }
        try stepper.requireSavable()
        let acc =
            heldOut.isEmpty || !communicator.isRoot
            ? .nan : accuracy(model: model, comparisons: heldOut, padToken: padToken)
        return Summary(history: history, heldOutAccuracy: acc)
    }
}
