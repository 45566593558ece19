/// The checks a ranking must pass to be training data, for code that makes rankings rather than
/// reads them (the /label server, candidate files): the same rules as the loaders, so what is
/// stored can always be exported and loaded again.
extension RankingRecord {
    /// A ranking whose every pair is also a valid preference pair: the rules of `init` (at least
    /// two non-empty responses, a permutation) and, as `PreferencePair` requires of a pair's
    /// `chosen` and `rejected`, no two responses the same.
    public static func validated(prompt: String, responses: [String], ranking: [Int]) throws(RecordProblem)
        -> RankingRecord
    {
        let record = try RankingRecord(prompt: prompt, responses: responses, ranking: ranking)
        var first: [String: Int] = [:]
        for (i, response) in responses.enumerated() {
            if let earlier = first[response] {
                throw RecordProblem(
                    field: "responses[\(i)]",
                    reason: "identical to responses[\(earlier)] (a pair of them teaches nothing)")
            }
            first[response] = i
        }
        return record
    }

    /// The loaders' rule for any prompt or response text: not empty or whitespace only.
    public static func requireText(_ value: String, field: String) throws(RecordProblem) {
        try RecordProblem.requireText(value, field)
    }
}
