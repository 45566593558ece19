import ArgumentParser
import Foundation
import Models
import TensorCore
import Tokenizers
import Training

/// `rlhf generate`: sample continuations (or chat answers) of one or more prompts, batched.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract:
            "Generate from a run directory: continue text, or answer as the assistant with --chat (several prompts are batched)."
    )

    @Option(help: "Run directory.")
    var model: String

    @Option(parsing: .upToNextOption, help: "Prompt text(s).")
    var prompt: [String]

    @Flag(
        help:
            "Render each prompt as a user message with the model's chat template and generate the assistant's answer (stops at its end-of-turn token)."
    )
    var chat = false

    @OptionGroup var sampling: SamplingArguments
    var maxTokens: Int { sampling.maxTokens ?? 64 }

    @Option(
        help:
            "Stop when the output contains this text (a special token such as <|endoftext|> stops on its id); repeatable."
    )
    var stop: [String] = []

    @Option(help: "Random seed.")
    var seed: UInt64 = 0

    @Option(
        help:
            "Weights generation multiplies by: f32 (as loaded), or bf16 / int8 (per-output-channel scale) copies; activations stay f32."
    )
    var weights: DecodeWeights = .f32

    @Option(
        help:
            "Reference run directory: also report the mean over answers of Σ (log π − log π_ref) on the answer's tokens (log-probs at temperature 1); with --temperature 1 and no --top-k/--top-p it estimates KL(π ‖ π_ref) per answer."
    )
    var reference: String?

    func validate() throws {
        guard !prompt.isEmpty else { throw ValidationError("give at least one --prompt") }
        guard stop.allSatisfy({ !$0.isEmpty }) else { throw ValidationError("--stop must not be empty") }
    }

    func run() throws {
        let run = try StageRun.load(model, role: "model")
        weights.apply(to: run.model)
        let tokenizer = run.tokenizer
        // The model's own conversation format: ChatML for ours, its Jinja template for a published one.
        let format = chat ? run.format : nil
        if chat && format == nil {
            throw CommandError(
                "\(model): the model has no chat template (and no ChatML tokens); generate without --chat")
        }
        let prompts = try prompt.map { text in
            try format?.prompt([ChatMessage(role: .user, content: text)]) ?? tokenizer.encode(text)
        }
        let context = run.model.config.contextLength
        for (i, p) in prompts.enumerated() where p.count >= context {
            StageRun.note(
                "warning: prompt \(i + 1) is \(p.count) tokens; only its last \(context - 1) fit the context of \(context)"
            )
        }
        var stopTokens = Set(stop.compactMap { tokenizer.specialTokenID($0) })
        if let format { stopTokens.formUnion(format.stopTokens) }
        let stopTexts = stop.filter { tokenizer.specialTokenID($0) == nil }.map { Array($0.utf8) }

        let options = SamplingOptions(
            temperature: sampling.temperature, topK: sampling.topK, topP: sampling.topP,
            maxNewTokens: maxTokens,
            stopTokens: stopTokens)
        var rng = RandomGenerator(seed: seed)
        // Text stops: decode each row as it grows and stop it once a stop text appears.
        var sofar = [[Int32]](repeating: [], count: prompts.count)
        let onToken: ((Int, Int32) -> Bool)? =
            stopTexts.isEmpty
            ? nil
            : { row, token in
                sofar[row].append(token)
                let bytes = (try? tokenizer.decode(sofar[row], skipSpecialTokens: true)) ?? []
                return !stopTexts.contains { bytes.firstRange(of: $0) != nil }
            }
        let started = Date()
        let generations = run.model.generate(prompts: prompts, options: options, rng: &rng, onToken: onToken)
        let seconds = Date().timeIntervalSince(started)

        for (i, g) in generations.enumerated() {
            var bytes = try tokenizer.decode(
                g.tokens.filter { !stopTokens.contains($0) }, skipSpecialTokens: chat)
            var reason =
                g.finished ? "stop token" : g.tokens.count >= maxTokens ? "max tokens" : "context full"
            // Cut at the first stop text (it is not part of the answer).
            if let cut = stopTexts.compactMap({ bytes.firstRange(of: $0)?.lowerBound }).min() {
                bytes.removeSubrange(cut...)
                reason = "stop text"
            }
            let text = String(decoding: bytes, as: UTF8.self)
            if prompts.count > 1 { print("--- [\(i + 1)] \(prompt[i])") }
            print(chat ? text : prompt[i] + text)
            StageRun.note("[\(i + 1)] \(g.tokens.count) tokens, ended by \(reason)")
        }
        if let reference {
            try reportLogRatio(policy: run, reference: reference, prompts: prompts, generations: generations)
        }
        let total = generations.reduce(0) { $0 + $1.tokens.count }
        StageRun.note(
            String(
                format: "generated %d tokens for %d prompt(s) in %.2f s (%.0f tokens/s)", total,
                prompts.count, seconds,
                Double(total) / max(seconds, 1e-9)))
    }

    /// Prints (to standard error) the mean summed log-ratio of the answers under the policy and
    /// `reference`, over the answers that have at least one token.
    private func reportLogRatio(
        policy: ModelRun, reference: String, prompts: [[Int32]], generations: [Generation]
    ) throws {
        let ref = try StageRun.load(reference, role: "reference")
        guard ref.tokenizer == policy.tokenizer else {
            throw CommandError(
                "\(reference) and \(model) use different tokenizers: their log-probs cannot be compared")
        }
        let rows = generations.indices.filter { !generations[$0].tokens.isEmpty }
        guard !rows.isEmpty else { StageRun.note("log-ratio: no answer has a token"); return }
        let pad = (try? policy.format?.padToken()) ?? policy.tokenizer.specialTokenID(SpecialTokens.pad) ?? 0
        let batch = SequenceBatch(
            prompts: rows.map { prompts[$0] }, completions: rows.map { generations[$0].tokens }, padToken: pad
        )
        let lp = policy.model.scoreTargets(batch), refLP = ref.model.scoreTargets(batch)
        var total = 0.0
        for i in lp.indices where batch.mask[i] != 0 { total += Double(lp[i] - refLP[i]) }
        StageRun.note(
            String(
                format: "log-ratio vs reference: mean %.6f nats per answer over %d answers",
                total / Double(rows.count), rows.count))
    }
}
