import Datasets
import Foundation
import Tokenizers

extension StageData {
    /// Tokens of one checked comparison; every prompt + response must fit the context.
    func comparison(_ c: PreferenceRecord) throws(RecordProblem) -> RewardModelTraining.Comparison {
        let prompt = try promptTokens(c.prompt)
        try requireFits(
            prompt.count + 1, field: "prompt", what: "the rendered prompt (plus the end-of-turn token)")
        var responses: [[Int32]] = []
        for (text, field) in zip(c.responses, c.fields) {
            responses.append(try completionTokens(text, prompt: c.prompt, field: field))
        }
        for (tokens, field) in zip(responses, c.fields) {
            guard tokens.count > 1 else {
                throw RecordProblem(field: field, reason: "empty response (no tokens)")
            }
            try requireFits(prompt.count + tokens.count, field: field, what: "prompt + response")
        }
        return RewardModelTraining.Comparison(prompt: prompt, responses: responses, ranking: c.ranking)
    }

    /// Reads preference data — pairs `{"prompt","chosen","rejected"}` and K-wise rankings
    /// `{"prompt","responses":[…],"ranking":[best … worst]}` — as comparisons (a pair is a
    /// ranking of two), keeping each ranking whole for the reward model.
    public func comparisons(from url: URL, options: LoadOptions = .strict) throws -> StageRows<
        RewardModelTraining.Comparison
    > {
        let loaded = try PreferenceRecord.load(from: url, options: LoadOptions(lenient: true))
        return try Self.convert(loaded, file: url, options: options) {
            (c: PreferenceRecord) throws(RecordProblem) in try comparison(c)
        }
    }

    /// All K·(K−1)/2 (chosen, rejected) pairs of each comparison, in ranking order (DPO family).
    public static func preferencePairs(_ comparisons: [RewardModelTraining.Comparison]) -> [PreferenceTraining
        .Pair]
    {
        comparisons.flatMap(\.pairs)
    }

    /// Reads KTO records `{"prompt","completion","label"}` as token rows.
    public func ktoExamples(from url: URL, options: LoadOptions = .strict) throws -> StageRows<
        KTOTraining.Example
    > {
        let loaded = try KTOExample.load(from: url, options: LoadOptions(lenient: true))
        return try Self.convert(loaded, file: url, options: options) {
            (e: KTOExample) throws(RecordProblem) in
            let prompt = try promptTokens(e.prompt)
            try requireFits(
                prompt.count + 1, field: "prompt", what: "the rendered prompt (plus the end-of-turn token)")
            let completion = try completionTokens(e.completion, prompt: e.prompt)
            guard completion.count > 1 else {
                throw RecordProblem(field: "completion", reason: "empty response (no tokens)")
            }
            try requireFits(prompt.count + completion.count, field: "completion", what: "prompt + completion")
            return KTOTraining.Example(prompt: prompt, completion: completion, desirable: e.label)
        }
    }
}
