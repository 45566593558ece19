import Datasets
import Foundation
import Tokenizers

extension StageData {
    private struct RawPreference: Decodable {
        var prompt: String
        var chosen: String?
        var rejected: String?
        var responses: [String]?
        /// Numbers, so a fractional index gets its own message.
        var ranking: [Double]?
    }

    /// A checked ranking or pair, still as text.
    struct TextComparison: Sendable {
        var prompt: String
        var responses: [String]
        var ranking: [Int]
        /// Field name of each response, for messages.
        var fields: [String]
    }

    private static func validate(_ raw: RawPreference) throws(RecordProblem) -> TextComparison {
        if raw.responses != nil || raw.ranking != nil {
            guard raw.chosen == nil, raw.rejected == nil else {
                throw RecordProblem(
                    field: "responses", reason: "give either responses/ranking or chosen/rejected, not both")
            }
            guard let responses = raw.responses else {
                throw RecordProblem(field: "responses", reason: "missing field (ranking given)")
            }
            guard let numbers = raw.ranking else {
                throw RecordProblem(field: "ranking", reason: "missing field (responses given)")
            }
            let ranking = try RankingRecord.indices(numbers)
            // Checks ≥ 2 non-empty, distinct responses and that the ranking is a permutation of
            // their indices (the rules every ranking maker uses).
            let record = try RankingRecord.validated(
                prompt: raw.prompt, responses: responses, ranking: ranking)
            return TextComparison(
                prompt: record.prompt, responses: record.responses, ranking: record.ranking,
                fields: responses.indices.map { "responses[\($0)]" })
        }
        guard let chosen = raw.chosen else {
            throw RecordProblem(field: "chosen", reason: "missing field (or give responses and ranking)")
        }
        guard let rejected = raw.rejected else {
            throw RecordProblem(field: "rejected", reason: "missing field")
        }
        try RecordProblem.requireText(raw.prompt, "prompt")
        try RecordProblem.requireText(chosen, "chosen")
        try RecordProblem.requireText(rejected, "rejected")
        guard chosen != rejected else {
            throw RecordProblem(field: "rejected", reason: "identical to chosen (nothing to learn)")
        }
        return TextComparison(
            prompt: raw.prompt, responses: [chosen, rejected], ranking: [0, 1],
            fields: ["chosen", "rejected"])
    }

    /// Tokens of one checked comparison; every prompt + response must fit the context.
    func comparison(_ c: TextComparison) throws(RecordProblem) -> RewardModelTraining.Comparison {
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
        let loaded = try JSONLReader.load(url, as: RawPreference.self, options: LoadOptions(lenient: true)) {
            (raw: RawPreference) throws(RecordProblem) in
            try Self.validate(raw)
        }
        return try Self.convert(loaded, file: url, options: options) {
            (c: TextComparison) throws(RecordProblem) in try comparison(c)
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
