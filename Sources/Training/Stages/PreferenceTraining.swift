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
        public init(prompt: [Int32], chosen: [Int32], rejected: [Int32]) {
            self.prompt = prompt
            self.chosen = chosen
            self.rejected = rejected
        }
    }

    public struct Parameters: Sendable {
        public var loss: PreferenceObjective.Loss = .dpo(beta: 0.1)
        public var optimization = OptimizationSettings(learningRate: 5e-5, steps: 100, warmupSteps: 5)
        public var pairsPerStep = 8
        public var seed: UInt64 = 0
        public init() {}
    }

    /// Fraction of `pairs` whose chosen completion gets the higher implicit reward
    /// log π(y|x) − log π_ref(y|x) (summed over the completion; a tie counts one half). At the
    /// start of training policy = reference and every pair is a tie: 50%.
    public static func implicitRewardAccuracy(policy: Transformer, reference: Transformer, pairs: [Pair], padToken: Int32,
                                              chunk: Int = 16) -> Double {
        var correct = 0.0
        for start in stride(from: 0, to: pairs.count, by: chunk) {
            let part = Array(pairs[start..<min(start + chunk, pairs.count)])
            let batch = SequenceBatch(prompts: part.map(\.prompt) + part.map(\.prompt),
                                      completions: part.map(\.chosen) + part.map(\.rejected), padToken: padToken)
            func sums(_ model: Transformer) -> [Double] {
                SequenceLogProbs(logProbs: model.scoreTargets(batch), mask: batch.mask, batchSize: batch.batchSize,
                                 length: batch.length).sums
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

    /// Trains `policy` in place. `reference` is required for DPO and IPO.
    @discardableResult
    public static func train(policy: Transformer, reference: Transformer?, pairs: [Pair], padToken: Int32,
                             parameters p: Parameters, communicator: any Communicator = SingleProcess(),
                             progress: ProgressHandler? = nil) throws -> [[String: Double]] {
        precondition(!pairs.isEmpty, "preference training: no pairs")
        guard min(p.pairsPerStep, pairs.count) >= communicator.size else {
            throw DataParallelError("\(min(p.pairsPerStep, pairs.count)) pairs per step for \(communicator.size) ranks; each rank needs a pair")
        }
        precondition(!p.loss.needsReference || reference != nil, "preference training: \(p.loss) needs a reference model")
        var stepper = OptimizerStepper(settings: p.optimization)
        var rng = RandomGenerator(seed: p.seed)
        var history: [[String: Double]] = []
        communicator.broadcastParameters(policy.parameters)
        policy.zeroGradients()
        var order: [Int] = [], cursor = 0
        for step in 0..<p.optimization.steps {
            let started = Date()
            var picked: [Pair] = []
            while picked.count < min(p.pairsPerStep, pairs.count) {
                if cursor == order.count { order = Array(pairs.indices).shuffled(using: &rng); cursor = 0 }
                picked.append(pairs[order[cursor]])
                cursor += 1
            }
            // Every rank draws the same pairs (same seed) and takes its share; the loss is a mean
            // over pairs, so a rank's share of the gradient is weighted by its share of the pairs.
            let drawn = picked.count
            if communicator.size > 1 { picked = Array(picked[communicator.share(of: drawn)]) }
            let weight = Double(picked.count) / Double(drawn)
            // Chosen rows then rejected rows, one grid so both see the same length.
            let batch = SequenceBatch(prompts: picked.map(\.prompt) + picked.map(\.prompt),
                                      completions: picked.map(\.chosen) + picked.map(\.rejected), padToken: padToken)
            let n = picked.count
            let chosenIdx = Array(0..<n), rejectedIdx = Array(n..<(2 * n))
            var refChosen: [Double]?, refRejected: [Double]?
            if p.loss.needsReference, let reference {
                let ref = SequenceLogProbs(logProbs: reference.scoreTargets(batch), mask: batch.mask,
                                           batchSize: batch.batchSize, length: batch.length).sums
                refChosen = Array(ref[0..<n])
                refRejected = Array(ref[n...])
            }
            let pass = LogProbPass(model: policy, batch: batch)
            let chosen = SequenceLogProbs(logProbs: batch.gather(pass.logProbs, rows: chosenIdx),
                                          mask: batch.gather(batch.mask, rows: chosenIdx), batchSize: n, length: batch.length)
            let rejected = SequenceLogProbs(logProbs: batch.gather(pass.logProbs, rows: rejectedIdx),
                                            mask: batch.gather(batch.mask, rows: rejectedIdx), batchSize: n, length: batch.length)
            let out = PreferenceObjective.loss(p.loss, chosen: chosen, rejected: rejected,
                                               referenceChosen: refChosen, referenceRejected: refRejected)
            var metrics = out.metrics
            if communicator.size > 1 {
                let grad = (out.chosenLogProbGrad + out.rejectedLogProbGrad).map { $0 * Float(weight) }
                pass.backward(model: policy, logProbGrad: grad)
                communicator.allReduceGradients(policy.parameters)
                let keys = metrics.keys.sorted()
                let sums = communicator.allReduceSum(keys.map { metrics[$0]! * weight })
                for (k, v) in zip(keys, sums) { metrics[k] = v }
            } else {
                pass.backward(model: policy, logProbGrad: out.chosenLogProbGrad + out.rejectedLogProbGrad)
            }
            let o = try stepper.apply(policy.parameters, step: step, loss: Float(metrics["loss"] ?? out.loss))
            metrics["lr"] = Double(o.learningRate)
            metrics["grad_norm"] = Double(o.gradientNorm)
            metrics["seconds"] = Date().timeIntervalSince(started)
            history.append(metrics)
            progress?(StageProgress(stage: p.loss.stageName, step: step + 1, totalSteps: p.optimization.steps, metrics: metrics,
                                    note: o.skipped.map { "step \(step + 1) skipped: \($0)" }))
        }
        try stepper.requireSavable()
        return history
    }
}

/// KTO (Ethayarajh et al. 2024) on unpaired examples labelled desirable or not.
public enum KTOTraining {
    public struct Example: Sendable {
        public var prompt: [Int32]
        /// Completion ending with the end-of-turn token.
        public var completion: [Int32]
        public var desirable: Bool
        public init(prompt: [Int32], completion: [Int32], desirable: Bool) {
            self.prompt = prompt
            self.completion = completion
            self.desirable = desirable
        }
    }

    public struct Parameters: Sendable {
        public var beta = 0.1
        public var desirableWeight = 1.0
        public var undesirableWeight = 1.0
        public var optimization = OptimizationSettings(learningRate: 5e-5, steps: 100, warmupSteps: 5)
        public var examplesPerStep = 8
        public var seed: UInt64 = 0
        public init() {}
    }

    @discardableResult
    public static func train(policy: Transformer, reference: Transformer, examples: [Example], padToken: Int32,
                             parameters p: Parameters, communicator: any Communicator = SingleProcess(),
                             progress: ProgressHandler? = nil) throws -> [[String: Double]] {
        precondition(examples.count >= 2, "KTO: need at least two examples (the reference point uses mismatched pairs)")
        guard max(2, p.examplesPerStep) >= communicator.size else {
            throw DataParallelError("\(max(2, p.examplesPerStep)) examples per step for \(communicator.size) ranks; each rank needs one")
        }
        var stepper = OptimizerStepper(settings: p.optimization)
        var rng = RandomGenerator(seed: p.seed)
        var history: [[String: Double]] = []
        communicator.broadcastParameters(policy.parameters)
        policy.zeroGradients()
        for step in 0..<p.optimization.steps {
            let started = Date()
            let drawn = (0..<max(2, p.examplesPerStep)).map { _ in examples[Int(rng.next() % UInt64(examples.count))] }
            let n = drawn.count
            // With several ranks each scores its share of the step's examples; the mismatched
            // pairs are those of the whole step, so the reference point is the single-process one.
            let mine = communicator.size > 1 ? Array(communicator.share(of: n)) : Array(0..<n)
            let picked = mine.map { drawn[$0] }
            let matched = SequenceBatch(prompts: picked.map(\.prompt), completions: picked.map(\.completion), padToken: padToken)
            // Reference point z0: KL estimated on mismatched (prompt, completion) pairs, no gradient.
            let shift = KTOObjective.mismatchedCompletionIndices(count: n)
            let mismatched = SequenceBatch(prompts: picked.map(\.prompt), completions: mine.map { drawn[shift[$0]].completion },
                                           padToken: padToken)
            func sums(_ model: Transformer, _ b: SequenceBatch) -> [Double] {
                SequenceLogProbs(logProbs: model.scoreTargets(b), mask: b.mask, batchSize: b.batchSize, length: b.length).sums
            }
            let policyMismatched = sums(policy, mismatched), referenceMismatched = sums(reference, mismatched)
            let z0 = KTOObjective.referencePoint(policyLogProbs: policyMismatched, referenceLogProbs: referenceMismatched,
                                                 reducing: communicator.allReduceSum)
            let reference = sums(reference, matched)
            let pass = LogProbPass(model: policy, batch: matched)
            let out = KTOObjective.loss(
                policy: SequenceLogProbs(logProbs: pass.logProbs, mask: matched.mask, batchSize: picked.count,
                                         length: matched.length),
                referenceLogProbs: reference, desirable: picked.map(\.desirable), referencePoint: z0, beta: p.beta,
                desirableWeight: p.desirableWeight, undesirableWeight: p.undesirableWeight,
                normalizer: communicator.size > 1 ? Double(n) : nil)
            pass.backward(model: policy, logProbGrad: out.logProbGrad)
            var metrics = out.metrics
            if communicator.size > 1 {
                communicator.allReduceGradients(policy.parameters)
                // Means over the whole step: rewards by class, accuracy by example.
                var local = [out.loss, out.accuracy * Double(picked.count), 0, 0, 0, 0]
                for (r, e) in zip(out.rewards, picked) {
                    if e.desirable { local[2] += r; local[3] += 1 } else { local[4] += r; local[5] += 1 }
                }
                let g = communicator.allReduceSum(local)
                let meanD = g[3] > 0 ? g[2] / g[3] : 0, meanU = g[5] > 0 ? g[4] / g[5] : 0
                metrics["loss"] = g[0]
                metrics["reward_accuracy"] = g[1] / Double(n)
                metrics["reward_desirable"] = meanD
                metrics["reward_undesirable"] = meanU
                metrics["reward_margin"] = meanD - meanU
            }
            let o = try stepper.apply(policy.parameters, step: step, loss: Float(metrics["loss"] ?? out.loss))
            metrics["lr"] = Double(o.learningRate)
            metrics["seconds"] = Date().timeIntervalSince(started)
            history.append(metrics)
            progress?(StageProgress(stage: "kto", step: step + 1, totalSteps: p.optimization.steps, metrics: metrics,
                                    note: o.skipped.map { "step \(step + 1) skipped: \($0)" }))
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
        }
    }
}
