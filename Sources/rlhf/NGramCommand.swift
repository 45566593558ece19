import ArgumentParser
import Datasets
import Foundation
import Models
import TensorCore
import Tokenizers
import Training

/// `rlhf ngram train | sample | eval`: the counting baselines every transformer is compared with.
struct NGramCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ngram",
        abstract: "Counting language models (unigram, bigram, n-gram): train, sample, evaluate.",
        subcommands: [Train.self, Sample.self, Eval.self])

    enum SmoothingName: String, ExpressibleByArgument, CaseIterable {
        case kn, addk
    }

    /// How text becomes token ids: a trained tokenizer, or raw UTF-8 bytes (vocabulary 256).
    struct TokenizationOptions: ParsableArguments {
        @Option(
            help: "Tokenizer: a directory with tokenizer.json, a tokenizer.json file, or a .tiktoken file.")
        var tokenizer: String?

        @Flag(help: "Model raw bytes (vocabulary 256) instead of tokenizer ids.")
        var bytes = false

        func validate() throws {
            if tokenizer != nil, bytes {
                throw ValidationError("give either --tokenizer or --bytes, not both")
            }
        }
    }

    struct Train: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Count n-grams of text files (.txt, or .jsonl with {\"text\"}).")

        @Option(name: .customLong("data"), parsing: .upToNextOption, help: "Training text files.")
        var data: [String] = []
        @Option(name: .customLong("input"), parsing: .upToNextOption, help: .hidden)  // the old spelling
        var inputAlias: [String] = []
        var input: [String] { data + inputAlias }

        @Option(help: "n: predict each token from the n − 1 before it (1 = unigram, 2 = bigram).")
        var order = 3

        @Option(help: "kn: interpolated Kneser–Ney (modified: three discounts per level); addk: add-k.")
        var smoothing: SmoothingName = .kn

        @Flag(help: "With --smoothing kn: one discount per level (plain Kneser–Ney) instead of three.")
        var plain = false

        @Option(help: "k for add-k smoothing.")
        var k = 0.1

        @OptionGroup var tokenization: TokenizationOptions

        @Option(name: .customLong("out"), help: "Where to write the model.")
        var out: String?
        @Option(name: .customLong("output"), help: .hidden)  // the old spelling
        var outputAlias: String?
        var output: String { out ?? outputAlias ?? "" }

        @Flag(help: "Replace --out if it exists.")
        var overwrite = false

        @Flag(
            help:
                "Skip bad records and empty files (each reported with file and line, and counted) instead of stopping."
        )
        var lenient = false

        func validate() throws {
            guard !input.isEmpty else { throw ValidationError("--data needs at least one file") }
            guard !output.isEmpty else { throw ValidationError("Missing expected argument '--out <out>'") }
            guard (1...16).contains(order) else { throw ValidationError("--order must be in 1...16") }
            guard k > 0, k.isFinite else { throw ValidationError("--k must be positive") }
            guard tokenization.tokenizer != nil || tokenization.bytes else {
                throw ValidationError("choose the tokens: --tokenizer PATH or --bytes")
            }
        }

        func run() async throws {
            let start = Date()
            let outputURL = URL(fileURLWithPath: output)
            try RunOutput.claimFile(outputURL, overwrite: overwrite)
            let text = try NGramCommand.readDocuments(input, options: LoadOptions(lenient: lenient))
            let (encoder, metadata) = try NGramCommand.encoder(
                tokenizer: tokenization.tokenizer, bytes: tokenization.bytes)
            let sequences = text.documents.map(encoder.encode)
            let smoothing: NGramModel.Smoothing = smoothing == .addk ? .addK(k) : .kneserNey(modified: !plain)
            let model = try NGramModel(
                order: order, vocabSize: encoder.vocabSize, smoothing: smoothing,
                sequences: sequences, metadata: metadata)
            try StageRun.writing(outputURL) { try model.save(to: outputURL) }
            let tokens = sequences.reduce(0) { $0 + $1.count }
            print(
                "counted \(tokens) tokens (\(text.byteCount) bytes, \(text.documents.count) documents) with a \(order)-gram model, \(smoothing), vocabulary \(encoder.vocabSize)"
            )
            if text.skipped > 0 { print("skipped \(text.skipped) empty or bad documents") }
            print(String(format: "wrote %@ in %.2f s", output, Date().timeIntervalSince(start)))
        }
    }

    struct Sample: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate text from a trained n-gram model.")

        @Option(help: "Model file written by `rlhf ngram train`.")
        var model: String

        @Option(help: "Number of tokens to generate.")
        var tokens = 100

        @Option(help: "Sampling temperature (0 = greedy).")
        var temperature = 1.0

        @Option(name: .customLong("top-k"), help: "Keep only the k most likely tokens.")
        var topK: Int?

        @Option(help: "Random seed.")
        var seed: UInt64 = 0

        @Option(help: "Text to continue.")
        var prompt = ""

        @OptionGroup var tokenization: TokenizationOptions

        func validate() throws {
            guard tokens >= 0 else { throw ValidationError("--tokens must be ≥ 0") }
            guard temperature >= 0, temperature.isFinite else {
                throw ValidationError("--temperature must be ≥ 0")
            }
            if let topK, topK < 1 { throw ValidationError("--top-k must be positive") }
        }

        func run() async throws {
            let model = try NGramModel.load(from: URL(fileURLWithPath: self.model))
            let encoder = try NGramCommand.encoder(for: model, tokenization: tokenization)
            var rng = RandomGenerator(seed: seed)
            let generated = model.generate(
                prompt: encoder.encode(prompt), count: tokens, temperature: temperature,
                topK: topK, using: &rng)
            print(prompt + (try encoder.decode(generated)))
        }
    }

    struct Eval: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cross-entropy, perplexity and bits per byte on held-out text.")

        @Option(help: "Model file written by `rlhf ngram train`.")
        var model: String

        @Option(
            name: .customLong("data"), parsing: .upToNextOption,
            help: "Held-out text files (.txt, or .jsonl with {\"text\"}).")
        var data: [String] = []
        @Option(name: .customLong("input"), parsing: .upToNextOption, help: .hidden)  // the old spelling
        var inputAlias: [String] = []
        var input: [String] { data + inputAlias }

        @OptionGroup var tokenization: TokenizationOptions

        @Flag(
            help:
                "Skip bad records and empty files (each reported with file and line, and counted) instead of stopping."
        )
        var lenient = false

        func validate() throws {
            guard !input.isEmpty else { throw ValidationError("--data needs at least one file") }
        }

        func run() async throws {
            let model = try NGramModel.load(from: URL(fileURLWithPath: self.model))
            let encoder = try NGramCommand.encoder(for: model, tokenization: tokenization)
            let text = try NGramCommand.readDocuments(input, options: LoadOptions(lenient: lenient))
            let result = try model.evaluate(
                sequences: text.documents.map(encoder.encode), byteCount: text.byteCount)
            print(
                "model        \(self.model) (\(model.order)-gram, \(model.smoothing), vocabulary \(model.vocabSize))"
            )
            print("tokens       \(result.tokenCount) (\(text.byteCount) bytes)")
            print(String(format: "nats/token   %.4f", result.natsPerToken))
            print(String(format: "perplexity   %.3f", result.perplexity))
            print(String(format: "bits/byte    %.4f", result.bitsPerByte ?? .nan))
            if text.skipped > 0 { print("skipped \(text.skipped) empty or bad documents") }
        }
    }
}

extension NGramCommand {
    /// Text → ids and back, with the vocabulary size the ids live in.
    struct Encoder {
        var vocabSize: Int
        var encode: (String) -> [Int32]
        var decode: ([Int32]) throws -> String
    }

    /// Strict by default, like every loader: a malformed record or an empty file stops with its
    /// file and line; `--lenient` skips and counts them.
    static func readDocuments(_ paths: [String], options: LoadOptions) throws -> (
        documents: [String], byteCount: Int, skipped: Int
    ) {
        var documents: [String] = []
        var skipped = 0
        for path in paths {
            let loaded = try PretrainDocument.load(from: URL(fileURLWithPath: path), options: options)
            for problem in loaded.skipped {
                FileHandle.standardError.write(Data("skipped: \(problem)\n".utf8))
            }
            skipped += loaded.skippedCount
            documents += loaded.records.map(\.text)
        }
        guard !documents.isEmpty else { throw ValidationError("no text in \(paths.joined(separator: ", "))") }
        return (documents, documents.reduce(0) { $0 + $1.utf8.count }, skipped)
    }

    static func encoder(tokenizer path: String?, bytes: Bool) throws -> (Encoder, [String: String]) {
        if bytes || path == nil {
            let encoder = Encoder(
                vocabSize: 256, encode: { $0.utf8.map { Int32($0) } },
                decode: { String(decoding: $0.map { UInt8($0) }, as: UTF8.self) })
            return (encoder, ["tokenizer": "bytes"])
        }
        let url = URL(fileURLWithPath: path!)
        let tokenizer = try Tokenizer.load(from: url)
        let encoder = Encoder(
            vocabSize: tokenizer.vocabularySize, encode: { tokenizer.encode($0) },
            // lossy: a sample may end mid-character
            decode: { String(decoding: try tokenizer.decode($0), as: UTF8.self) })
        return (encoder, ["tokenizer": url.standardizedFileURL.path])
    }

    /// The tokenization a model was trained with (or the one given), checked against its vocabulary.
    static func encoder(for model: NGramModel, tokenization: TokenizationOptions) throws -> Encoder {
        let saved = model.metadata["tokenizer"]
        let useBytes = tokenization.bytes || (tokenization.tokenizer == nil && saved == "bytes")
        let path = tokenization.tokenizer ?? (useBytes ? nil : saved)
        guard useBytes || path != nil else {
            throw ValidationError(
                "the model does not say which tokenizer it was trained with: pass --tokenizer PATH or --bytes"
            )
        }
        let (encoder, _) = try encoder(tokenizer: path, bytes: useBytes)
        guard encoder.vocabSize == model.vocabSize else {
            throw ValidationError(
                "tokenizer \(useBytes ? "bytes" : path!) has \(encoder.vocabSize) tokens but the model was trained on a vocabulary of \(model.vocabSize): they do not match"
            )
        }
        return encoder
    }
}
