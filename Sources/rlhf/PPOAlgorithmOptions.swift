import ArgumentParser
import Training

/// `rlhf ppo`'s algorithm knobs (issue 13: the options TRL / OpenRLHF users expect). Each one left
/// out keeps the library default of `PPO.Parameters`.
struct PPOAlgorithmOptions: ParsableArguments {
    enum RewardWhiteningName: String, ExpressibleByArgument, CaseIterable {
        case none, scores
        case tokenRewards = "token-rewards"

        var value: PPOObjective.RewardWhitening {
            switch self {
            case .none: .none
            case .scores: .scores
            case .tokenRewards: .tokenRewards
            }
        }
    }

    @Option(help: "Discount γ of GAE.")
    var gamma: Double?

    @Option(help: "GAE λ (bias–variance trade-off of the advantage).")
    var lambda: Double?

    @Option(name: .customLong("clip-range"), help: "PPO clip ε of the policy ratio.")
    var clipRange: Double?

    @Option(name: .customLong("value-clip"), help: "Clip range of the value update around the old values.")
    var valueClip: Double?

    @Flag(inversion: .prefixedNo, help: "Whiten the advantages over the rollout batch.")
    var whitenAdvantages: Bool?

    @Option(
        name: .customLong("reward-whitening"),
        help: "none, scores (whiten the batch's scores) or token-rewards (TRL whiten_rewards).")
    var rewardWhitening: RewardWhiteningName?

    @Option(
        name: .customLong("unfinished-penalty"),
        help: "Subtracted from the score of an answer without the end-of-turn token (0: none).")
    var unfinishedPenalty: Double?

    @Flag(
        name: .customLong("normalize-reward"),
        help:
            "Fit a gain and bias on SFT rollouts first so the score has mean 0, std 1 there (lm-human-preferences)."
    )
    var normalizeReward = false

    @Option(name: .customLong("reward-clip"), help: "Clip the (normalised) score to [-x, x].")
    var rewardClip: Double?

    func validate() throws {
        if let gamma, !(0...1).contains(gamma) { throw ValidationError("--gamma must be in [0, 1]") }
        if let lambda, !(0...1).contains(lambda) { throw ValidationError("--lambda must be in [0, 1]") }
        if let clipRange, !(clipRange > 0) { throw ValidationError("--clip-range must be positive") }
        if let valueClip, !(valueClip > 0) { throw ValidationError("--value-clip must be positive") }
        if let unfinishedPenalty, !(unfinishedPenalty >= 0) {
            throw ValidationError("--unfinished-penalty must not be negative")
        }
        if let rewardClip, !(rewardClip > 0) { throw ValidationError("--reward-clip must be positive") }
    }

    func apply(to p: inout PPO.Parameters) {
        p.gamma = gamma ?? p.gamma
        p.lambda = lambda ?? p.lambda
        p.clipRange = clipRange ?? p.clipRange
        p.valueClipRange = valueClip ?? p.valueClipRange
        p.whitenAdvantages = whitenAdvantages ?? p.whitenAdvantages
        p.rewardWhitening = rewardWhitening?.value ?? p.rewardWhitening
        if let unfinishedPenalty {
            p.unfinished = unfinishedPenalty == 0 ? .keepScore : .subtract(unfinishedPenalty)
        }
        p.normalizeReward = normalizeReward || p.normalizeReward
        p.rewardClip = rewardClip ?? p.rewardClip
    }
}
