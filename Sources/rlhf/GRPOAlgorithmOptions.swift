import ArgumentParser
import Training

extension GRPOObjective.AdvantageEstimator: ExpressibleByArgument {}
extension GRPOObjective.RewardScaling: ExpressibleByArgument {}

/// `rlhf grpo`'s algorithm knobs (issue 13). Each one left out keeps the default of
/// `GRPO.Parameters`.
struct GRPOAlgorithmOptions: ParsableArguments {
    @Option(
        name: .customLong("clip-range"),
        help: "Lower clip ε_low of the ratio (and the upper one without --clip-high).")
    var clipRange: Double?

    @Option(name: .customLong("clip-high"), help: "DAPO's decoupled upper clip ε_high (e.g. 0.28).")
    var clipHigh: Double?

    @Option(
        help:
            "Advantage estimator: grpo (group-normalised), rloo (leave-one-out baseline), reinforce++ (batch-whitened)."
    )
    var advantage: GRPOObjective.AdvantageEstimator?

    @Option(
        name: .customLong("scale-rewards"),
        help: "GRPO: divide the group-centred reward by the group's std, the batch's std, or none (Dr. GRPO)."
    )
    var scaleRewards: GRPOObjective.RewardScaling?

    @Flag(
        name: .customLong("mask-truncated"),
        help: "Give no loss to answers cut at --max-new-tokens without an end token.")
    var maskTruncated = false

    @Option(help: "Completions per optimizer step when --epochs > 1 (default: the whole step).")
    var minibatch: Int?

    func validate() throws {
        if let clipRange, !(clipRange > 0 && clipRange < 1) {
            throw ValidationError("--clip-range must be in (0, 1)")
        }
        if let clipHigh, !(clipHigh > 0) { throw ValidationError("--clip-high must be positive") }
        if let minibatch, minibatch < 1 { throw ValidationError("--minibatch must be positive") }
    }

    func apply(to p: inout GRPO.Parameters) {
        p.clipRange = clipRange ?? p.clipRange
        p.clipRangeHigh = clipHigh ?? p.clipRangeHigh
        p.advantage = advantage ?? p.advantage
        p.scaleRewards = scaleRewards ?? p.scaleRewards
        p.maskTruncatedCompletions = maskTruncated || p.maskTruncatedCompletions
        p.miniBatchSize = minibatch ?? p.miniBatchSize
    }
}
