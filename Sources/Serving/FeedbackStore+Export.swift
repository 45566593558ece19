import Foundation

/// The JSONL formats the training stages read (see README.md, "The CLI, stage by stage").
public enum FeedbackExportFormat: String, CaseIterable, Sendable {
    /// `{"prompt", "responses", "ranking"}`: one record per judgement, ranking best first (`rlhf reward`).
    case rankings
    /// `{"prompt", "chosen", "rejected"}`: every ordered pair of every ranking (`rlhf dpo`, `rlhf reward`).
    case pairs
    /// `{"prompt", "completion"}`: the labelers' own written responses (`rlhf sft`).
    case sft
}

extension FeedbackStore {
    public struct ExportSummary: Sendable, Equatable {
        /// Records written.
        public var records: Int
        /// Stored judgements left out because the trainer would refuse them (stored before the
        /// server checked them: see `Judgement.validateTrainingData`).
        public var skippedJudgements: Int
    }

    /// Writes the judgements in `format` to `url` atomically.
    @discardableResult
    public func export(format: FeedbackExportFormat, to url: URL) async throws -> ExportSummary {
        let all = try await judgements()
        let usable = all.filter { (try? $0.validateTrainingData()) != nil }
        let lines = Self.records(usable, format: format)
        var data = Data()
        for line in lines {
            data.append(line)
            data.append(0x0A)
        }
        try data.write(to: url, options: .atomic)
        return ExportSummary(records: lines.count, skippedJudgements: all.count - usable.count)
    }

    /// One JSON object (without newline) per record.
    static func records(_ judgements: [Judgement], format: FeedbackExportFormat) -> [Data] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        func encode(_ value: some Encodable) -> Data? { try? encoder.encode(value) }
        var out: [Data] = []
        for judgement in judgements {
            switch format {
            case .rankings:
                guard judgement.responses.count >= 2 else { continue }
                if let line = encode(
                    RankingRecord(
                        prompt: judgement.prompt, responses: judgement.responses,
                        ranking: judgement.ranking))
                {
                    out.append(line)
                }
            case .pairs:
                let ordered = judgement.ranking.map { judgement.responses[$0] }
                for better in ordered.indices {
                    for worse in ordered.indices where worse > better && ordered[better] != ordered[worse] {
                        if let line = encode(
                            PairRecord(
                                prompt: judgement.prompt, chosen: ordered[better],
                                rejected: ordered[worse]))
                        {
                            out.append(line)
                        }
                    }
                }
            case .sft:
                guard let demonstration = judgement.demonstration,
                    !demonstration.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
                else { continue }
                if let line = encode(SFTRecord(prompt: judgement.prompt, completion: demonstration)) {
                    out.append(line)
                }
            }
        }
        return out
    }

    struct RankingRecord: Codable { var prompt: String; var responses: [String]; var ranking: [Int] }
    struct PairRecord: Codable { var prompt: String; var chosen: String; var rejected: String }
    struct SFTRecord: Codable { var prompt: String; var completion: String }
}
