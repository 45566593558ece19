import ArgumentParser

/// The sampling options `rlhf generate` and `rlhf chat` share.
struct SamplingArguments: ParsableArguments {
    @Option(help: "Sampling temperature (0 = greedy).")
    var temperature: Float = 0.8

    @Option(name: .customLong("top-k"), help: "Keep only the k most likely tokens.")
    var topK: Int?

    @Option(
        name: .customLong("top-p"),
        help: "Nucleus sampling: keep the smallest set of tokens with this much probability.")
    var topP: Float?

    @Option(
        name: .customLong("max-tokens"),
        help: "Most new tokens per answer (default: 64 for generate, 256 for chat).")
    var maxTokens: Int?

    func validate() throws {
        guard temperature >= 0, temperature.isFinite else {
            throw ValidationError("--temperature must be ≥ 0")
        }
        if let topK, topK < 1 { throw ValidationError("--top-k must be positive") }
        if let topP, !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be in (0, 1]") }
        if let maxTokens, maxTokens < 1 { throw ValidationError("--max-tokens must be positive") }
    }
}
