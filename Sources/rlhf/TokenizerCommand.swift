import ArgumentParser
import Foundation
import Tokenizers
import Training

/// `rlhf tokenizer train | encode | decode | bench`: a thin layer over the `Tokenizers` library.
struct TokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer",
        abstract: "Train, apply and benchmark byte-level BPE tokenizers (GPT-2 family).",
        subcommands: [Train.self, Encode.self, Decode.self, Chat.self, Bench.self]
    )
}

/// Where a tokenizer comes from: a directory holding tokenizer.json, a tokenizer.json file, or
/// a .tiktoken ranks file.
struct TokenizerLocation: ParsableArguments {
    @Option(
        name: .long,
        help: "A directory holding tokenizer.json, a tokenizer.json file, or a .tiktoken ranks file.")
    var tokenizer: String

    func load() throws -> Tokenizer { try Tokenizer.load(from: URL(fileURLWithPath: tokenizer)) }
}

/// Reads a whole file, or standard input when no file is given.
private func readInput(_ path: String?) throws -> [UInt8] {
    guard let path else { return [UInt8](FileHandle.standardInput.readDataToEndOfFile()) }
    guard FileManager.default.fileExists(atPath: path) else { throw TokenizerError.fileNotFound(path: path) }
    do { return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
        throw TokenizerError.unreadableFile(path: path, reason: error.localizedDescription)
    }
}

private func standardError(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
}

extension TokenizerCommand {
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Train a tokenizer on text files (.jsonl: one {\"text\": …} per line) and write tokenizer.json + tokenizer_config.json."
        )

        @Option(
            name: .customLong("data"), parsing: .upToNextOption,
            help: "Training files (plain text or .jsonl).")
        var data: [String] = []
        @Option(name: .customLong("input"), parsing: .upToNextOption, help: .hidden)  // the old spelling
        var inputAlias: [String] = []
        var input: [String] { data + inputAlias }

        @Option(name: .long, help: "Vocabulary size, special tokens included (at least 256 + specials).")
        var vocabSize: Int

        @Option(name: .customLong("out"), help: "Output directory.")
        var out: String?
        @Option(name: .customLong("output"), help: .hidden)  // the old spelling
        var outputAlias: String?
        var output: String { out ?? outputAlias ?? "" }

        @Option(name: .long, help: "Pairs seen fewer times are never merged.")
        var minFrequency: Int = 2

        @Option(name: .long, parsing: .upToNextOption, help: "Special tokens, never split.")
        var specialTokens: [String] = SpecialTokens.default

        @Flag(help: "Replace a tokenizer already in --out.")
        var overwrite = false

        func validate() throws {
            guard !input.isEmpty else { throw ValidationError("give at least one --data file") }
            guard !output.isEmpty else { throw ValidationError("Missing expected argument '--out <out>'") }
            guard minFrequency >= 1 else { throw ValidationError("--min-frequency must be at least 1") }
        }

        func run() throws {
            let directory = URL(fileURLWithPath: output)
            try RunOutput.claimFile(directory.appendingPathComponent("tokenizer.json"), overwrite: overwrite)
            var parameters = BPETrainer.Parameters(vocabularySize: vocabSize, specialTokens: specialTokens)
            parameters.minPairFrequency = minFrequency
            let start = Date()
            var lastReport = Date.distantPast
            let tokenizer = try BPETrainer.train(
                files: input.map { URL(fileURLWithPath: $0) }, parameters: parameters
            ) { p in
                guard Date().timeIntervalSince(lastReport) > 1 else { return }
                lastReport = Date()
                switch p.phase {
                case .counting:
                    standardError(
                        "counting: \(p.bytesRead / 1_000_000) MB read, \(p.distinctWords) distinct words\n")
                case .merging:
                    standardError("merging: \(p.merges)/\(p.mergesWanted) tokens\n")
                }
            }
            try StageRun.writing(directory.appendingPathComponent("tokenizer.json")) {
                try tokenizer.write(to: directory)
            }
            let seconds = Date().timeIntervalSince(start)
            print(
                "trained \(tokenizer.vocabularySize) tokens (\(tokenizer.merges.count) merges, \(tokenizer.specialTokens.count) special) in \(String(format: "%.2f", seconds)) s"
            )
            if tokenizer.vocabularySize < vocabSize {
                print(
                    "note: the corpus ran out of pairs seen \(minFrequency)+ times before reaching \(vocabSize)"
                )
            }
            print(
                "wrote \(directory.appendingPathComponent("tokenizer.json").path) and tokenizer_config.json")
        }
    }

    struct Encode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Encode text (a file or standard input) to token ids, space-separated on one line.")

        @OptionGroup var location: TokenizerLocation

        @Option(name: .customLong("data"), help: "Input file (default: standard input).")
        var data: String?
        @Option(name: .customLong("input"), help: .hidden)  // the old spelling
        var inputAlias: String?
        var input: String? { data ?? inputAlias }

        @Flag(name: .long, help: "Recognise special tokens such as <|endoftext|> in the text.")
        var allowSpecial = false

        func run() throws {
            let tokenizer = try location.load()
            let ids = tokenizer.encode(try readInput(input), allowedSpecial: allowSpecial ? .all : .none)
            print(ids.map(String.init).joined(separator: " "))
        }
    }

    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decode whitespace-separated token ids (a file or standard input) to text.")

        @OptionGroup var location: TokenizerLocation

        @Option(name: .customLong("data"), help: "Input file of ids (default: standard input).")
        var data: String?
        @Option(name: .customLong("input"), help: .hidden)  // the old spelling
        var inputAlias: String?
        var input: String? { data ?? inputAlias }

        func run() throws {
            let tokenizer = try location.load()
            let text = String(decoding: try readInput(input), as: UTF8.self)
            var ids: [TokenID] = []
            for field in text.split(whereSeparator: { $0.isWhitespace }) {
                guard let id = TokenID(field) else { throw ValidationError("not a token id: \(field)") }
                ids.append(id)
            }
            FileHandle.standardOutput.write(Data(try tokenizer.decode(ids)))
        }
    }

    /// Timing for `scripts/bench-tokenizer`: training at several vocabulary sizes and encoding
    /// with a ranks file, on one input. Prints `key value` lines.
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time training and encoding (used by scripts/bench-tokenizer).")

        @Option(name: .long, help: "Text file to train on and encode.")
        var input: String

        @Option(name: .long, parsing: .upToNextOption, help: "Vocabulary sizes to train.")
        var vocabSizes: [Int] = [4096, 8192]

        @Option(name: .long, help: "Ranks file or tokenizer to encode with.")
        var tokenizer: String = "data/gpt2.tiktoken"

        @Option(name: .long, help: "Encoding repetitions (the best is reported).")
        var repeats: Int = 3

        @Option(name: .long, help: "Write the single-thread ids here (space-separated) for comparison.")
        var idsOutput: String?

        func run() throws {
            let url = URL(fileURLWithPath: input)
            let bytes = try readInput(input)
            let megabytes = Double(bytes.count) / 1e6
            print("input_mb \(String(format: "%.3f", megabytes))")
            for size in vocabSizes {
                let (tokenizer, wall, cpu) = try measure {
                    try BPETrainer.train(files: [url], parameters: .init(vocabularySize: size))
                }
                print(
                    "train_seconds vocab=\(size) wall=\(String(format: "%.3f", wall)) cpu=\(String(format: "%.3f", cpu)) vocab_out=\(tokenizer.vocabularySize)"
                )
            }
            let (encoder, loadWall, _) = try measure {
                try Tokenizer.load(from: URL(fileURLWithPath: tokenizer))
            }
            print("load_seconds wall=\(String(format: "%.3f", loadWall))")
            var ids: [TokenID] = []
            for threads in [1, 0] {
                var bestWall = Double.infinity
                var bestCPU = Double.infinity
                for _ in 0..<max(1, repeats) {
                    let (result, wall, cpu) = measure { encoder.encode(bytes, threads: threads) }
                    bestWall = min(bestWall, wall)
                    bestCPU = min(bestCPU, cpu)
                    if threads == 1 { ids = result }
                }
                let label = threads == 1 ? "1" : "all"
                print(
                    "encode_mb_per_s threads=\(label) wall=\(String(format: "%.2f", megabytes / bestWall)) cpu=\(String(format: "%.2f", megabytes / bestCPU)) tokens=\(ids.count)"
                )
            }
            if let idsOutput {
                try Data(ids.map(String.init).joined(separator: " ").utf8).write(
                    to: URL(fileURLWithPath: idsOutput), options: .atomic)
            }
        }

        /// Wall-clock and process CPU seconds of `body`. CPU time is reported too because the
        /// machine is shared: wall time then measures the neighbours as much as the code.
        func measure<T>(_ body: () throws -> T) rethrows -> (T, Double, Double) {
            func cpuSeconds() -> Double {
                var ts = timespec()
                clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
                return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
            }
            let wallStart = Date()
            let cpuStart = cpuSeconds()
            let result = try body()
            return (result, Date().timeIntervalSince(wallStart), cpuSeconds() - cpuStart)
        }
    }
}
