import Foundation

/// One line of preference data, checked, still as text: a pair `{"prompt","chosen","rejected"}`
/// (a ranking of two) or a K-wise ranking `{"prompt","responses":[…],"ranking":[best … worst]}`.
/// The one parser of that format: the reward model keeps each record whole, the DPO family and
/// `PreferenceGroup` take its pairs.
public struct PreferenceRecord: Sendable, Equatable {
    public var prompt: String
    public var responses: [String]
    /// Indices into `responses`, best first.
    public var ranking: [Int]
    /// The JSON field of each response, for messages (`chosen`, `responses[2]`, …).
    public var fields: [String]

    /// Every (better, worse) pair of the ranking, in ranking order.
    public var pairs: [PreferencePair] {
        RankingRecord.rankedPairs(ranking).map {
            PreferencePair(prompt: prompt, chosen: responses[$0], rejected: responses[$1])
        }
    }

    private struct Raw: Decodable {
        var prompt: String
        var chosen: String?
        var rejected: String?
        var responses: [String]?
        /// Numbers, so a fractional index gets its own message.
        var ranking: [Double]?
    }

    private static func validate(_ raw: Raw) throws(RecordProblem) -> PreferenceRecord {
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
            // ≥ 2 non-empty, distinct responses and a ranking that is a permutation of their
            // indices (the rules every ranking maker uses, the server's included).
            let record = try RankingRecord.validated(
                prompt: raw.prompt, responses: responses, ranking: try RankingRecord.indices(numbers))
            return PreferenceRecord(
                prompt: record.prompt, responses: record.responses, ranking: record.ranking,
                fields: responses.indices.map { "responses[\($0)]" })
        }
        guard raw.chosen != nil else {
            throw RecordProblem(field: "chosen", reason: "missing field (or give responses and ranking)")
        }
        let pair = try PreferencePair.validated(
            prompt: raw.prompt, chosen: raw.chosen, rejected: raw.rejected)
        return PreferenceRecord(
            prompt: pair.prompt, responses: [pair.chosen, pair.rejected], ranking: [0, 1],
            fields: ["chosen", "rejected"])
    }

    /// Reads pairs and rankings; a bad record is a `DatasetError` with file, line and field.
    public static func load(from url: URL, options: LoadOptions = .strict) throws -> LoadedRecords<
        PreferenceRecord
    > {
        try JSONLReader.load(url, as: Raw.self, options: options) { (raw: Raw) throws(RecordProblem) in
            try validate(raw)
        }
    }
}
