import ArgumentParser
import Datasets
import Foundation
import Models
import Training

/// The thresholds of the live over-optimisation warnings of `rlhf ppo|grpo|dpo` (see
/// `OveroptimizationMonitor`); each one left out keeps the library's default.
struct MonitorOptions: ParsableArguments {
    @Option(
        name: .customLong("warn-kl"),
        help: "Warn when the KL to the reference exceeds this many nats per answer.")
    var klLimit: Double?

    @Option(
        name: .customLong("warn-diversity"),
        help:
            "Warn when the reward rises while the share of distinct answers falls below this fraction of its start."
    )
    var diversityRatio: Double?

    @Option(
        name: .customLong("warn-repeated"),
        help:
            "Warn when the reward rises while one answer, or one answer ending, takes more than this share of prompts."
    )
    var repeatedShare: Double?

    func validate() throws {
        if let klLimit, !(klLimit > 0) { throw ValidationError("--warn-kl must be positive") }
        if let diversityRatio, !(diversityRatio > 0 && diversityRatio < 1) {
            throw ValidationError("--warn-diversity must be in (0, 1)")
        }
        if let repeatedShare, !(repeatedShare > 0 && repeatedShare < 1) {
            throw ValidationError("--warn-repeated must be in (0, 1)")
        }
    }

    func monitor(stage: String) -> OveroptimizationMonitor {
        var p = OveroptimizationMonitor.Parameters()
        p.klLimit = klLimit ?? p.klLimit
        p.diversityCollapseRatio = diversityRatio ?? p.diversityCollapseRatio
        p.stockPhraseShare = repeatedShare ?? p.stockPhraseShare
        return .forStage(stage, parameters: p)
    }
}
