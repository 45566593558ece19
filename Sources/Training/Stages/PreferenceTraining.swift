import Foundation
import Models
import NN
import TensorCore

/// Direct preference optimisation without a reward model: DPO, IPO, ORPO, SimPO on
/// (prompt, chosen, rejected) pairs, and KTO on (prompt, completion, desirable) examples.
/// The frozen reference's log-probs are computed once per batch, without gradients.
public enum PreferenceTraining {
    public struct Pair: Sendable {
        public var prompt: [Int32]
        /// Completions, each ending with the end-of-turn token.
        public var chosen: [Int32]
        public var rejected: [Int32]
        /// Weight of this pair in the loss: 1 for a plain pair, 1/(K(K−1)/2) for each pair of a
        /// K-wise ranking, so every prompt counts as one unit (as in the reward model).
        public var weight: Double
        public init(prompt: [Int32], chosen: [Int32], rejected: [Int32], weight: Double = 1) {
            self.prompt = prompt
            self.chosen = chosen
            self.rejected = rejected
            self.weight = weight
        }
    }

    public struct Parameters: Sendable {
        public var loss: PreferenceObjective.Loss = .dpo(beta: PreferenceObjective.Loss.defaultBeta)
        public var optimization = OptimizationSettings(learningRate: 5e-5, steps: 100, warmupSteps: 5)
        public var pairsPerStep = 8
        public var seed: UInt64 = 0
        /// Greedy answers to a few of the pairs' prompts every so many steps, for length and
        /// diversity ("greedy_…" metrics); nil: none.
        public var sampling: RolloutDiagnostics.GreedySample?
        public init() {}
    }

    /// Fraction of `pairs` whose chosen completion gets the higher implicit reward
    /// log π(y|x) − log π_ref(y|x) (summed over the completion; a tie counts one half). At the
    /// start of training policy = reference and every pair is a tie: 50%.
    public static func implicitRewardAccuracy(
        policy: Transformer, reference: Transformer, pairs: [Pair], padToken: Int32,
        chunk: Int = 16
    ) -> Double {
        var correct = 0.0
        for start in stride(from: 0, to: pairs.count, by: chunk) {
            let part = Array(pairs[start..<min(start + chunk, pairs.count)])
            let batch = SequenceBatch(
                prompts: part.map(\.prompt) + part.map(\.prompt),
                completions: part.map(\.chosen) + part.map(\.rejected), padToken: padToken)
            func sums(_ model: Transformer) -> [Double] {
                SequenceLogProbs(
                    logProbs: model.scoreTargets(batch), mask: batch.mask, batchSize: batch.batchSize,
                    length: batch.length
                ).sums
            }
            let (pol, ref) = (sums(policy), sums(reference))
            let n = part.count
            for i in 0..<n {
                let margin = (pol[i] - ref[i]) - (pol[n + i] - ref[n + i])
                correct += margin > 0 ? 1 : (margin == 0 ? 0.5 : 0)
            }
        }
        return pairs.isEmpty ? .nan : correct / Double(pairs.count)
    }

    /// Trains `policy` in place. `reference` is required for DPO and IPO. With several ranks
    /// every rank draws the same pairs (same seed) and takes its share; the loss is a mean over
    /// pairs, so a rank's share of the gradient is weighted by its share of the pairs.
    @discardableResult
    public static func train(
        policy: Transformer, reference: Transformer?, pairs: [Pair], padToken: Int32,
        parameters p: Parameters, communicator: any Communicator = SingleProcess(),
        progress: ProgressHandler? = nil
    ) throws -> [[String: Double]] {
        precondition(!pairs.isEmpty, "preference training: no pairs")
        let perStep = min(p.pairsPerStep, pairs.count)
        guard perStep >= communicator.size else {
            throw DataParallelError(
                "\(perStep) pairs per step for \(communicator.size) ranks; each rank needs a pair")
        }
        precondition(
            !p.loss.needsReference || reference != nil,
            "preference training: \(p.loss) needs a reference model")
        var stepper = OptimizerStepper(settings: p.optimization)
        var sampler = EpochSampler(count: pairs.count, seed: p.seed)
        policy.setLoRATraining(true)
        defer { policy.setLoRATraining(false) }
        let history = try TrainingLoop.run(
            stage: p.loss.stageName, steps: 0..<p.optimization.steps, totalSteps: p.optimization.steps,
            replicas: [policy.trainableParameters], communicator: communicator, progress: progress
        ) { step in
            let drawn = sampler.next(perStep).map { pairs[$0] }
            let mine = Array(drawn[communicator.share(of: drawn.count)])
            // This rank's share of the step's total pair weight (prompts, for rankings).
            let weight = mine.reduce(0) { $0 + $1.weight } / drawn.reduce(0) { $0 + $1.weight }
            // Chosen rows then rejected rows, one grid so both see the same length.
            let batch = SequenceBatch(
                prompts: mine.map(\.prompt) + mine.map(\.prompt),
                completions: mine.map(\.chosen) + mine.map(\.rejected), padToken: padToken)
            let n = mine.count
            let chosenRows = Array(0..<n), rejectedRows = Array(n..<(2 * n))
            var refChosen: [Double]?, refRejected: [Double]?
            if p.loss.needsReference, let reference {
                let ref = SequenceLogProbs(
                    logProbs: reference.baseScoreTargets(batch), mask: batch.mask,
                    batchSize: batch.batchSize, length: batch.length
                ).sums
                refChosen = Array(ref[0..<n])
                refRejected = Array(ref[n...])
            }
            let pass = LogProbPass(model: policy, batch: batch)
            func rows(_ indices: [Int]) -> SequenceLogProbs<Float> {
                SequenceLogProbs(
                    logProbs: batch.gather(pass.logProbs, rows: indices),
                    mask: batch.gather(batch.mask, rows: indices), batchSize: n, length: batch.length)
            }
            let out = PreferenceObjective.loss(
                p.loss, chosen: rows(chosenRows), rejected: rows(rejectedRows),
                referenceChosen: refChosen, referenceRejected: refRejected, weights: mine.map(\.weight))
            let grad = out.chosenLogProbGrad + out.rejectedLogProbGrad
            pass.backward(model: policy, logProbGrad: weight == 1 ? grad : grad.map { $0 * Float(weight) })

            var local = StepMetrics()
            for (name, value) in out.metrics { local.mean(name, value, weight: Double(n)) }
            var update = try stepper.update(
                policy.trainableParameters, metrics: local, step: step, communicator: communicator)
            var sequences: [String: [Int32]] = [:]
            if let sampling = p.sampling, sampling.isDue(step: step) {
                let greedy = sampling.statistics(
                    of: policy, prompts: sampling.prompts(from: pairs.map(\.prompt)))
                update.metrics.merge(greedy.values(prefix: "greedy_")) { $1 }
                sequences["greedy_most_repeated_answer"] = greedy.mostRepeated
            }
            return TrainingLoop.Step(
                metrics: update.metrics, note: update.outcome.note(step: step), sequences: sequences)
        }
        try stepper.requireSavable()
        return history
    }
}

extension PreferenceObjective.Loss {
    /// The method's name, as in the CLI (`dpo`, `ipo`, `orpo`, `simpo`).
    public var stageName: String {
        switch self {
        case .dpo: "dpo"
        case .ipo: "ipo"
        case .orpo: "orpo"
        case .simpo: "simpo"
        case .hinge: "hinge"
        case .robust: "robust"
        case .referenceFree: "dpo-reference-free"
        }
    }
}
