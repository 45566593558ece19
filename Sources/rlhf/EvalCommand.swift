import ArgumentParser
import Datasets
import Foundation
import Models
import Tokenizers
import Training

/// `rlhf eval`: held-out loss, perplexity and bits per byte of a model, beside a counting baseline.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract:
            "Loss, perplexity and bits per byte on text, beside a 3-gram Kneser–Ney baseline counted on the first 90% of the same text."
    )

    @Option(help: "Run directory.")
    var model: String

    @Option(parsing: .upToNextOption, help: "Text files (.txt, or .jsonl {\"text\"}).")
    var data: [String]

    @Option(help: "n-gram order of the baseline.")
    var order = 3

    @Flag(help: "Skip bad JSONL records and empty files (each reported and counted).")
    var lenient = false

    func validate() throws {
        guard !data.isEmpty else { throw ValidationError("give at least one --data file") }
        guard (1...8).contains(order) else { throw ValidationError("--order must be 1…8") }
    }

    func run() throws {
        let run = try StageRun.load(model, role: "model")
        let tokenizer = run.tokenizer
        var documents: [String] = []
        var skipped = 0
        for path in data {
            let loaded = try PretrainDocument.load(
                from: StageRun.url(path), options: LoadOptions(lenient: lenient))
            for problem in loaded.skipped { StageRun.note("skipped: \(problem)") }
            skipped += loaded.skippedCount
            documents += loaded.records.map(\.text)
        }
        let text = documents.joined(separator: "\n\n")
        guard text.utf8.count >= 20 else {
            throw CommandError("too little text to evaluate (\(text.utf8.count) bytes)")
        }
        let (head, tail) = Self.split(text, fraction: 0.9)
        guard !tail.isEmpty, !head.isEmpty else { throw CommandError("cannot split the text into 90% / 10%") }

        // Scores every token of `part`: an end-of-text token goes first as context, so the
        // first real token is predicted too; bits per byte use the raw bytes of the text.
        let padID = tokenizer.specialTokenID(SpecialTokens.pad) ?? 0
        let start = tokenizer.specialTokenID(SpecialTokens.endOfText).map { [$0] } ?? []
        func score(_ part: String) -> (natsPerToken: Double, tokens: Int, bitsPerByte: Double) {
            let windows = TextWindows(tokens: start + tokenizer.encode(part), padToken: padID)
            let e = LanguageModelTraining.evaluate(
                model: run.model,
                batches: windows.coveringBatches(length: run.model.config.contextLength))
            return (e.loss, e.tokens, e.nats / Double(part.utf8.count) / M_LN2)
        }
        let whole = score(text)
        let heldOut = score(tail)

        let ngram = try NGramModel(
            order: order, vocabSize: tokenizer.vocabularySize, smoothing: .kneserNey(modified: true),
            sequences: [tokenizer.encode(head)])
        let baseline = try ngram.evaluate(sequences: [tokenizer.encode(tail)], byteCount: tail.utf8.count)

        print(
            "model   \(model) (\(run.model.config.family), \(run.model.config.layerCount) layers, width \(run.model.config.hiddenSize), context \(run.model.config.contextLength))"
        )
        print(
            "text    \(data.joined(separator: ", ")): \(documents.count) document(s), \(text.utf8.count) bytes\(skipped > 0 ? ", \(skipped) skipped" : "")"
        )
        print(
            "split   the \(order)-gram Kneser–Ney baseline is counted on the first 90% of this text (\(head.utf8.count) bytes);"
        )
        print(
            "        both are compared on the last 10% (\(tail.utf8.count) bytes), which the baseline has not seen"
        )
        print("")
        print(pad("", 28) + pad("loss (nats/token)", 19) + pad("perplexity", 12) + pad("bits/byte", 10))
        func row(_ name: String, _ nats: Double, _ bpb: Double?) {
            print(
                pad(name, 28) + pad(String(format: "%.4f", nats), 19)
                    + pad(String(format: "%.3f", exp(nats)), 12)
                    + pad(String(format: "%.4f", bpb ?? .nan), 10))
        }
        row("model, whole text", whole.natsPerToken, whole.bitsPerByte)
        row("model, last 10%", heldOut.natsPerToken, heldOut.bitsPerByte)
        row("\(order)-gram KN, last 10%", baseline.natsPerToken, baseline.bitsPerByte)
        print("")
        print(
            "tokens: \(whole.tokens) scored (whole), \(heldOut.tokens) (last 10%); bits/byte = total nats / raw UTF-8 bytes / ln 2"
        )
        print(
            "note: the model may have been trained on this text; only the baseline's split is known to be held out"
        )
        if !baseline.natsPerToken.isFinite {
            print(
                "note: the baseline is infinite: the last 10% has a token the first 90% never contains (too little text for counting)"
            )
        }
    }

    private func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
    }

    /// The text cut near `fraction` of its bytes, at the next line break if there is one.
    static func split(_ text: String, fraction: Double) -> (String, String) {
        let target = Int(Double(text.utf8.count) * fraction)
        var index = text.utf8.index(text.utf8.startIndex, offsetBy: target)
        while index < text.endIndex, String.Index(index, within: text) == nil {
            index = text.utf8.index(after: index)
        }
        if let newline = text[index...].firstIndex(of: "\n"),
            text.utf8.distance(from: index, to: newline) < text.utf8.count / 20
        {
            index = text.index(after: newline)
        }
        return (String(text[..<index]), String(text[index...]))
    }
}
