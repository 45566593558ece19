import Foundation
import Models
import Testing
import TensorCore
import Tokenizers
import Training

/// SFT memory and speed on a real-sized model, off by default (docs/memory.md):
///
///     RLHF_MEMORY_BENCH=/path/to/hf-model RLHF_MEMORY_RECOMPUTE=0|1 swift test --filter MemoryBenchmark
///
/// one process per setting, so each reads its own peak. SFT, AdamW, batch 4 of 512-token rows
/// (random tokens, the second half of each row trained), 3 steps. Prints peak RSS and tokens/s.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["RLHF_MEMORY_BENCH"] != nil))
struct MemoryBenchmarkTests {
    @Test func sftPeakMemory() throws {
        let environment = ProcessInfo.processInfo.environment
        let path = environment["RLHF_MEMORY_BENCH"]!
        let recompute = environment["RLHF_MEMORY_RECOMPUTE"] == "1"
        let length = Int(environment["RLHF_MEMORY_LENGTH"] ?? "") ?? 512
        let afterStart = ResourceUsage.peakResidentMegabytes
        let model = try Transformer.load(from: RunDirectory(path: path))
        let afterLoad = ResourceUsage.peakResidentMegabytes
        model.recomputeActivations = recompute
        var rng = RandomGenerator(seed: 1)
        let examples = (0..<8).map { _ in
            RenderedChat(
                tokens: (0..<length).map { _ in TokenID(rng.next() % UInt64(model.config.vocabSize)) },
                lossMask: (0..<length).map { $0 >= length / 2 })
        }
        var p = SupervisedFineTuning.Parameters()
        p.optimization = OptimizationSettings(learningRate: 1e-4, steps: 3, warmupSteps: 0)
        p.batchSize = 4
        let history = try SupervisedFineTuning.train(
            model: model, examples: examples, padToken: 0, parameters: p)
        for (i, m) in history.enumerated() {
            print(
                String(
                    format: "memory-bench recompute=%d step %d: loss %.4f, %.0f tokens/s, peak %.0f MB",
                    recompute ? 1 : 0,
                    i + 1, m["loss"]!, m["tokens_per_second"]!, m["peak_rss_mb"]!))
        }
        print(
            String(
                format:
                    "memory-bench recompute=%d: %d parameters; peak at start %.0f MB, after load %.0f MB, "
                    + "final %.0f MB; activation buffers held %.0f MB", recompute ? 1 : 0,
                model.parameterCount,
                afterStart, afterLoad, ResourceUsage.peakResidentMegabytes,
                Double(model.activationByteCount) / 1_048_576))
        #expect(history.allSatisfy { $0["loss"]!.isFinite })
    }

    /// The docs/memory.md table: one stage per process on a real-shaped random model, batch
    /// RLHF_MEMORY_BATCH (default 2) rows of RLHF_MEMORY_LENGTH (512) tokens, 3 steps:
    ///
    ///     RLHF_MEMORY_BENCH=DIR RLHF_MEMORY_STAGE=sft|sft-lora|dpo-lora|ppo-lora swift test --filter stagePeakMemory
    ///
    /// LoRA rank 16 on every projection. DPO: batch/2 pairs (chosen + rejected rows), the
    /// reference the policy with adapters bypassed. PPO: batch prompts of length − 64 tokens, 64
    /// new tokens, one minibatch; reward model a second copy of the model with a score head,
    /// value model adapters on its trunk (`--value-lora`). RLHF_MEMORY_FROZEN_GRADS=1 gives the
    /// frozen base gradients again (the behaviour before frozen parameters skipped them), to
    /// time the saving. Prints peak RSS and tokens/s (every token of the step's rows, over
    /// the step's wall time, first step included).
    @Test func stagePeakMemory() throws {
        let environment = ProcessInfo.processInfo.environment
        guard let stage = environment["RLHF_MEMORY_STAGE"] else { return }
        let path = environment["RLHF_MEMORY_BENCH"]!
        let length = Int(environment["RLHF_MEMORY_LENGTH"] ?? "") ?? 512
        let rows = Int(environment["RLHF_MEMORY_BATCH"] ?? "") ?? 2
        let steps = Int(environment["RLHF_MEMORY_STEPS"] ?? "") ?? 3
        let recompute = environment["RLHF_MEMORY_RECOMPUTE"] == "1"
        let model = try Transformer.load(from: RunDirectory(path: path))
        model.recomputeActivations = recompute
        let vocab = UInt64(model.config.vocabSize)
        var rng = RandomGenerator(seed: 1)
        func tokens(_ n: Int) -> [Int32] { (0..<n).map { _ in Int32(rng.next() % vocab) } }
        if stage.hasSuffix("lora") {
            try model.attachLoRA(
                LoRAConfig(
                    rank: 16, alpha: 32, targets: LoRAConfig.defaultTargets(for: model.config.family),
                    baseModel: path), seed: 1)
            if environment["RLHF_MEMORY_FROZEN_GRADS"] == "1" {
                for p in model.parameters { p.requiresGradient = true }
            }
        }
        var optimization = OptimizationSettings(learningRate: 1e-4, steps: steps, warmupSteps: 0)
        optimization.weightDecay = 0
        let start = Date()
        var history: [[String: Double]] = []
        var tokensPerStep = rows * length
        switch stage {
        case "sft", "sft-lora":
            let examples = (0..<rows * steps).map { _ in
                RenderedChat(tokens: tokens(length), lossMask: (0..<length).map { $0 >= length / 2 })
            }
            var p = SupervisedFineTuning.Parameters()
            p.optimization = optimization
            p.batchSize = rows
            history = try SupervisedFineTuning.train(
                model: model, examples: examples, padToken: 0, parameters: p)
        case "dpo-lora":
            let half = length / 2
            let pairs = (0..<max(rows / 2, 1) * steps).map { _ in
                PreferenceTraining.Pair(prompt: tokens(half), chosen: tokens(half), rejected: tokens(half))
            }
            var p = PreferenceTraining.Parameters()
            p.optimization = optimization
            p.pairsPerStep = max(rows / 2, 1)
            history = try PreferenceTraining.train(
                policy: model, reference: model, pairs: pairs, padToken: 0, parameters: p)
            tokensPerStep = 2 * max(rows / 2, 1) * (2 * half)
        case "ppo-lora":
            let rewardTrunk = try Transformer.load(from: RunDirectory(path: path))
            rewardTrunk.recomputeActivations = recompute
            let reward = ScalarModel(trunk: rewardTrunk, seed: 2)
            try rewardTrunk.attachLoRA(
                LoRAConfig(
                    rank: 16, alpha: 32, targets: LoRAConfig.defaultTargets(for: model.config.family),
                    baseModel: path), seed: 3)
            let models = PPO.Models(
                policy: model, reference: model, reward: reward, value: reward.sharingTrunk())
            var p = PPO.Parameters()
            p.steps = steps
            p.promptsPerStep = rows
            p.miniBatchSize = rows
            p.epochs = 1
            p.maxNewTokens = 64
            p.unfinished = .keepScore
            let eot = Int32(vocab - 1)
            let prompts = (0..<rows).map { _ in tokens(length - 64).map { $0 == eot ? 0 : $0 } }
            history = try PPO.train(models, prompts: prompts, endOfTurn: eot, padToken: 0, parameters: p)
            tokensPerStep = rows * length
        default:
            Issue.record("RLHF_MEMORY_STAGE \(stage): sft, sft-lora, dpo-lora or ppo-lora")
            return
        }
        let seconds = Date().timeIntervalSince(start)
        print(
            String(
                format:
                    "stage-bench %@ rows=%d length=%d recompute=%d frozen-grads=%@: peak %.0f MB, %.1f tokens/s over %d steps (%.1f s), per-step peaks %@",
                stage, rows, length, recompute ? 1 : 0, environment["RLHF_MEMORY_FROZEN_GRADS"] ?? "0",
                ResourceUsage.peakResidentMegabytes, Double(tokensPerStep * steps) / seconds, steps, seconds,
                history.map { String(format: "%.0f", $0["peak_rss_mb"] ?? 0) }.joined(separator: "/")))
    }
}
