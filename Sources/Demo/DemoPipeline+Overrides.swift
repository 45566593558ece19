import Foundation
import Models
import Training

/// A setting of `DemoPipeline.Parameters` that `key=value` could not apply.
public struct DemoParameterError: Error, CustomStringConvertible {
    public var assignment: String
    public var reason: String
    public var description: String { "demo parameter \"\(assignment)\": \(reason)" }
}

/// `key=value` overrides of the demo's parameters (`rlhf demo --set`), for measuring one choice
/// against another without a rebuild.
extension DemoPipeline.Parameters {
    /// The keys `apply` knows, each with how it sets the parameters.
    static let setters: [String: @Sendable (inout DemoPipeline.Parameters, Double) -> Void] = [
        "labelerNoise": { $0.labelerNoise = $1 },
        "sftLR": { $0.sft.optimization.learningRate = Float($1) },
        "sftSteps": { $0.sft.optimization.steps = Int($1) },
        "responsesPerPrompt": { $0.responsesPerPrompt = Int($1) },
        "rewardPrompts": { $0.rewardPrompts = Int($1) },
        "rewardSteps": { $0.reward.optimization.steps = Int($1) },
        "rewardLR": { $0.reward.optimization.learningRate = Float($1) },
        "rewardPerStep": { $0.reward.comparisonsPerStep = Int($1) },
        "rlPromptCount": { $0.rlPromptCount = Int($1) },
        "evaluationPerTask": { $0.evaluationPerTask = Int($1) },
        "ppoSteps": { $0.ppo.steps = Int($1) },
        "ppoPrompts": { $0.ppo.promptsPerStep = Int($1) },
        "ppoLR": { $0.ppo.policyOptimization.learningRate = Float($1) },
        "ppoValueLR": { $0.ppo.valueOptimization.learningRate = Float($1) },
        "ppoKL": { $0.ppo.klCoefficient = $1 },
        "ppoTemperature": { $0.ppo.temperature = Float($1) },
        "dpoSteps": { $0.dpo.optimization.steps = Int($1) },
        "dpoLR": { $0.dpo.optimization.learningRate = Float($1) },
        "dpoBeta": { $0.dpo.loss = .dpo(beta: $1) },
        "dpoPerStep": { $0.dpo.pairsPerStep = Int($1) },
        "grpoSteps": { $0.grpo.steps = Int($1) },
        "grpoPrompts": { $0.grpo.promptsPerStep = Int($1) },
        "grpoGroup": { $0.grpo.groupSize = Int($1) },
        "grpoLR": { $0.grpo.optimization.learningRate = Float($1) },
        "grpoKL": { $0.grpo.klCoefficient = $1 },
        "grpoTemperature": { $0.grpo.temperature = Float($1) },
        "grpoPartialCredit": { $0.grpoPartialCredit = $1 },
        "grpoStd": { $0.grpo.scaleByStandardDeviation = $1 != 0 },
        "distinctGrades": { $0.labelersRankDistinctGrades = $1 != 0 },
        "correctnessGrading": { $0.labelerGrading = $1 != 0 ? .correctness : .partialCredit },
        // LoRA rank R for SFT and DPO (alpha 2R, every projection; 0: full fine-tuning); loraAlpha
        // after it changes alpha.
        "loraRank": { p, rank in
            p.lora =
                rank >= 1
                ? LoRAConfig(
                    rank: Int(rank), alpha: Float(2 * Int(rank)),
                    targets: LoRAConfig.defaultTargets(for: .llama), baseModel: "../base") : nil
        },
        "loraAlpha": { $0.lora?.alpha = Float($1) },
        "stagePeaks": { $0.stagePeaks = $1 != 0 },
    ]

    /// Applies one `key=value` (a number; booleans as 0 or 1).
    public mutating func apply(_ assignment: String) throws(DemoParameterError) {
        let parts = assignment.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, let value = Double(parts[1]), value.isFinite else {
            throw DemoParameterError(assignment: assignment, reason: "expected key=number")
        }
        guard let set = Self.setters[parts[0]] else {
            throw DemoParameterError(
                assignment: assignment,
                reason: "unknown key; known: \(Self.setters.keys.sorted().joined(separator: ", "))")
        }
        set(&self, value)
    }
}
