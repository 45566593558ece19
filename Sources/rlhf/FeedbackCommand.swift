import ArgumentParser
import Foundation
import Serving

/// `rlhf feedback`: the judgements collected on /label, as training data.
struct FeedbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "feedback",
        abstract: "Export or count the judgements collected on the ranking page.",
        subcommands: [Export.self, Stats.self])

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Write judgements as JSONL: rankings (rlhf reward), pairs (rlhf dpo / reward) or sft (rlhf sft)."
        )

        @Option(help: "The feedback database (feedback.sqlite).")
        var db: String

        @Option(
            help:
                "rankings: {prompt, responses, ranking}; pairs: {prompt, chosen, rejected}; sft: {prompt, completion}."
        )
        var format: FeedbackExportFormat

        @Option(name: .customLong("out"), help: "Output JSONL file.")
        var out: String?
        @Option(name: .customLong("output"), help: .hidden)  // the old spelling
        var outputAlias: String?
        var output: String { out ?? outputAlias ?? "" }

        func validate() throws {
            guard !output.isEmpty else { throw ValidationError("Missing expected argument '--out <out>'") }
        }

        func run() async throws {
            let store = try FeedbackStore(existingAt: db)
            let summary = try await store.export(format: format, to: URL(fileURLWithPath: output))
            let judgements = try await store.counts().judgements
            print(
                "wrote \(summary.records) \(format.rawValue) records from \(judgements) judgements "
                    + "to \(output)")
            if summary.skippedJudgements > 0 {
                print(
                    "left out \(summary.skippedJudgements) stored judgements the trainer would refuse "
                        + "(empty or identical responses, or more than \(Judgement.maxResponses))")
            }
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Count judgements, labelers and demonstrations.")

        @Option(help: "The feedback database (feedback.sqlite).")
        var db: String

        func run() async throws {
            let counts = try await FeedbackStore(existingAt: db).counts()
            print(
                "\(counts.judgements) judgements by \(counts.labelers) labelers, \(counts.demonstrations) demonstrations"
            )
        }
    }
}

extension FeedbackExportFormat: ExpressibleByArgument {}
