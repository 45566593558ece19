import Models
import TensorCore

extension PPO {
    /// Fits the reward normalisation on `parameters.rewardNormalizationSamples` rollouts of the
    /// policy as it is (the SFT policy, before any update), drawn from a random stream of their
    /// own so the training draws do not depend on whether normalisation is on. With several ranks
    /// every rank draws the same prompts, scores its share, and the moments are summed.
    public static func fitRewardNormalization(
        _ models: Models, prompts: [[Int32]], endOfTurn: Int32, padToken: Int32, parameters p: Parameters,
        communicator: any Communicator = SingleProcess()
    ) -> PPOObjective.RewardNormalization {
        var rng = RandomGenerator(seed: p.seed ^ 0x5EED_0F_5C0E)
        let drawn = (0..<max(p.rewardNormalizationSamples, communicator.size)).map { _ in
            Int(rng.next() % UInt64(prompts.count))
        }
        let mine = drawn[communicator.share(of: drawn.count)].map { prompts[$0] }
        var sampleRNG = RandomGenerator(seed: p.seed ^ 0x5EED_0F_5C0E &+ UInt64(communicator.rank + 1))
        let sampling = SamplingOptions(
            temperature: p.temperature, maxNewTokens: p.maxNewTokens,
            stopTokens: p.extraStopTokens.union([endOfTurn]))
        var scores: [Double] = []
        // Chunks of one step's size keep the memory of a scoring pass what training uses.
        for start in stride(from: 0, to: mine.count, by: max(p.promptsPerStep, 1)) {
            let part = Array(mine[start..<min(start + max(p.promptsPerStep, 1), mine.count)])
            let generations = models.policy.generate(prompts: part, options: sampling, rng: &sampleRNG)
            let batch = SequenceBatch(
                prompts: part, completions: generations.map { $0.completion(endOfTurn: endOfTurn) },
                padToken: padToken)
            scores += models.reward.baseSequenceScores(batch).map(Double.init)
        }
        return .fit(scores: scores, reducing: communicator.allReduceSum)
    }
}
