import Foundation

/// One preference: `chosen` is the better response to `prompt` than `rejected`.
public struct PreferencePair: Sendable, Equatable, Hashable {
    public var prompt: String
    public var chosen: String
    public var rejected: String

    public init(prompt: String, chosen: String, rejected: String) {
        self.prompt = prompt
        self.chosen = chosen
        self.rejected = rejected
    }
}

/// A K-wise ranking of responses to one prompt: `ranking` lists response indices best → worst.
public struct RankingRecord: Sendable, Equatable {
    /// JSON numbers of a `"ranking"` array as response indices; a fractional or huge number is
    /// an error naming its position (`ranking[i]`). Whether they form a permutation is checked by `init`.
    public static func indices(_ numbers: [Double]) throws(RecordProblem) -> [Int] {
        var ranking: [Int] = []
        for (i, number) in numbers.enumerated() {
            guard number.rounded() == number, abs(number) < 1e9 else {
                throw RecordProblem(field: "ranking[\(i)]", reason: "\(number) is not an integer index")
            }
            ranking.append(Int(number))
        }
        return ranking
    }

    public var prompt: String
    public var responses: [String]
    public var ranking: [Int]

    /// Throws unless there are at least two non-empty responses and `ranking` is a
    /// permutation of their indices.
    public init(prompt: String, responses: [String], ranking: [Int]) throws(RecordProblem) {
        try RecordProblem.requireText(prompt, "prompt")
        guard responses.count >= 2 else {
            throw RecordProblem(
                field: "responses", reason: "need at least 2 responses to rank, got \(responses.count)")
        }
        for (i, response) in responses.enumerated() {
            try RecordProblem.requireText(response, "responses[\(i)]")
        }
        guard ranking.count == responses.count else {
            throw RecordProblem(
                field: "ranking", reason: "has \(ranking.count) entries for \(responses.count) responses")
        }
        var seen = Set<Int>()
        for (i, index) in ranking.enumerated() {
            guard index >= 0, index < responses.count else {
                throw RecordProblem(
                    field: "ranking[\(i)]", reason: "index \(index) outside 0..<\(responses.count)")
            }
            guard seen.insert(index).inserted else {
                throw RecordProblem(
                    field: "ranking[\(i)]",
                    reason: "index \(index) repeated: not a permutation of 0..<\(responses.count)")
            }
        }
        self.prompt = prompt
        self.responses = responses
        self.ranking = ranking
    }

    /// All K·(K−1)/2 pairs: every response against every response ranked below it, in ranking order.
    public var pairs: [PreferencePair] {
        Self.rankedPairs(ranking).map {
            PreferencePair(prompt: prompt, chosen: responses[$0], rejected: responses[$1])
        }
    }

    /// The (better, worse) response indices of all K·(K−1)/2 pairs of `ranking` (indices best
    /// first), in ranking order: every response against every response ranked below it. The one
    /// enumeration behind text pairs, token pairs (DPO family) and reward-model pairs.
    public static func rankedPairs(_ ranking: [Int]) -> [(better: Int, worse: Int)] {
        var result: [(better: Int, worse: Int)] = []
        result.reserveCapacity(ranking.count * max(ranking.count - 1, 0) / 2)
        for i in ranking.indices {
            for j in (i + 1)..<ranking.count { result.append((ranking[i], ranking[j])) }
        }
        return result
    }
}

/// The pairs of one prompt, kept together so a reward-model batch takes them as one unit
/// (InstructGPT: otherwise prompts with many pairs are overfitted).
public struct PreferenceGroup: Sendable, Equatable {
    public var prompt: String
    public var pairs: [PreferencePair]

    public init(prompt: String, pairs: [PreferencePair]) {
        self.prompt = prompt
        self.pairs = pairs
    }
}

extension PreferenceGroup {
    /// Reads preference data where each line is either a pair `{"prompt","chosen","rejected"}`
    /// (a group of one) or a ranking `{"prompt","responses","ranking"}` (a group of K·(K−1)/2
    /// pairs), with `PreferenceRecord`'s rules.
    public static func load(from url: URL, options: LoadOptions = .strict) throws -> LoadedRecords<
        PreferenceGroup
    > {
        let loaded = try PreferenceRecord.load(from: url, options: options)
        return LoadedRecords(
            records: loaded.records.map { PreferenceGroup(prompt: $0.prompt, pairs: $0.pairs) },
            skipped: loaded.skipped)
    }
}

extension PreferencePair {
    private struct Raw: Decodable { var prompt: String; var chosen: String; var rejected: String }

    static func validated(prompt: String, chosen: String?, rejected: String?) throws(RecordProblem)
        -> PreferencePair
    {
        guard let chosen else { throw RecordProblem(field: "chosen", reason: "missing field") }
        guard let rejected else { throw RecordProblem(field: "rejected", reason: "missing field") }
        try RecordProblem.requireText(prompt, "prompt")
        try RecordProblem.requireText(chosen, "chosen")
        try RecordProblem.requireText(rejected, "rejected")
        guard chosen != rejected else {
            throw RecordProblem(field: "rejected", reason: "identical to chosen (nothing to learn)")
        }
        return PreferencePair(prompt: prompt, chosen: chosen, rejected: rejected)
    }

    /// Reads `{"prompt","chosen","rejected"}` records (DPO, IPO, ORPO, SimPO, reward model).
    /// Use `PreferenceGroup.load` to accept rankings as well.
    public static func load(from url: URL, options: LoadOptions = .strict) throws -> LoadedRecords<
        PreferencePair
    > {
        try JSONLReader.load(url, as: Raw.self, options: options) { (raw: Raw) throws(RecordProblem) in
            try validated(prompt: raw.prompt, chosen: raw.chosen, rejected: raw.rejected)
        }
    }
}
