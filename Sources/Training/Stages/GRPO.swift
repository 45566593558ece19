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
        public var clipRange = 0.2
        public var klCoefficient = 0.04
        public var scaleByStandardDeviation = true
        public var optimization = OptimizationSettings(learningRate: 5e-5, steps: 0)
        public var seed: UInt64 = 0
        public init() { optimization.weightDecay = 0 }
    }

    /// Trains `policy` in place. `reward(promptIndex, completion)` is the verifier.
    @discardableResult
    public static func train(
        policy: Transformer, reference: Transformer, prompts: [[Int32]], endOfTurn: Int32, padToken: Int32,
        parameters p: Parameters, reward: (_ promptIndex: Int, _ completion: Generation) -> Double,
        progress: ProgressHandler? = nil
    ) throws -> [[String: Double]] {
        precondition(!prompts.isEmpty && p.groupSize >= 2, "GRPO: need prompts and a group of at least 2")
        var settings = p.optimization
        settings.steps = p.steps * p.epochs
        var stepper = OptimizerStepper(settings: settings)
        var rng = RandomGenerator(seed: p.seed)
        var history: [[String: Double]] = []
        let sampling = SamplingOptions(temperature: p.temperature, maxNewTokens: p.maxNewTokens, stopTokens: [endOfTurn])
        policy.zeroGradients()
        for step in 0..<p.steps {
            let started = Date()
            let chosen = (0..<p.promptsPerStep).map { _ in Int(rng.next() % UInt64(prompts.count)) }
            let promptIndices = chosen.flatMap { [Int](repeating: $0, count: p.groupSize) }
            let generations = policy.generate(prompts: promptIndices.map { prompts[$0] }, options: sampling, rng: &rng)
            let rewards = zip(promptIndices, generations).map { reward($0, $1) }
            let advantages = GRPOObjective.groupAdvantages(rewards: rewards, groupSize: p.groupSize,
                                                           scaleByStandardDeviation: p.scaleByStandardDeviation)
            let batch = SequenceBatch(prompts: promptIndices.map { prompts[$0] },
                                      completions: generations.map { $0.completion(endOfTurn: endOfTurn) }, padToken: padToken)
            let referenceLogProbs = p.klCoefficient > 0 ? reference.scoreTargets(batch, temperature: p.temperature) : nil
            let oldLogProbs = p.epochs > 1 ? policy.scoreTargets(batch, temperature: p.temperature) : nil
            var metrics: [String: Double] = [:]
            for epoch in 0..<p.epochs {
                let pass = LogProbPass(model: policy, batch: batch, temperature: p.temperature)
                let out = GRPOObjective.loss(
                    logProbs: pass.logProbs, oldLogProbs: oldLogProbs ?? pass.logProbs, referenceLogProbs: referenceLogProbs,
                    mask: batch.mask, batchSize: batch.batchSize, length: batch.length, advantages: advantages,
                    clipRange: p.clipRange, klCoefficient: p.klCoefficient)
                pass.backward(model: policy, logProbGrad: out.logProbGrad)
                let o = try stepper.apply(policy.parameters, step: step * p.epochs + epoch, loss: Float(out.loss))
                metrics = out.metrics
                metrics["lr"] = Double(o.learningRate)
            }
            metrics["reward"] = rewards.reduce(0, +) / Double(rewards.count)
            metrics["finished_fraction"] = Double(generations.filter(\.finished).count) / Double(generations.count)
            metrics["completion_tokens"] = Double(batch.targetCount) / Double(batch.batchSize)
            metrics["seconds"] = Date().timeIntervalSince(started)
            history.append(metrics)
            progress?(StageProgress(stage: "grpo", step: step + 1, totalSteps: p.steps, metrics: metrics))
        }
        return history
    }
}
