import ArgumentParser
import Foundation
import Models

/// `rlhf export`: writes a model in another runtime's format.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a model for another runtime.",
        subcommands: [GGUF.self])

    /// `rlhf export gguf`: a GGUF file for llama.cpp (and the tools built on it).
    struct GGUF: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gguf",
            abstract:
                "Write a run or Hugging Face folder (llama, mistral, qwen2, qwen3, gpt2) as a GGUF file "
                + "for llama.cpp.",
            discussion: """
                The tokenizer (tokenizer.json) and chat template go into the file's metadata. Tensor names, \
                metadata and the q/k row order follow llama.cpp's convert_hf_to_gguf.py; see docs/gguf.md.
                """)

        @Option(help: "Model folder: config.json, model.safetensors (or shards), tokenizer.json.")
        var model: String

        @Option(help: "The GGUF file to write.")
        var out: String

        @Option(help: "Weight type: f32, f16, bf16 or q8_0 (norms and 1-D tensors stay f32).")
        var type: String = "f16"

        @Option(help: "general.name in the file (default: the model folder's name).")
        var name: String?

        @Option(help: "tokenizer.ggml.pre, when the tokenizer's split pattern is not one recognised here.")
        var tokenizerPre: String?

        @Flag(help: "Replace --out if it exists.")
        var overwrite = false

        func validate() throws {
            guard GGUFExporter.FileType(rawValue: type) != nil else {
                throw ValidationError(
                    "--type \(type) is not supported; use one of: "
                        + GGUFExporter.FileType.allCases.map(\.rawValue).joined(separator: ", "))
            }
        }

        func run() throws {
            let run = RunDirectory(path: model)
            guard run.hasModel else {
                throw CommandError("\(model): no config.json with model.safetensors (or an index of shards)")
            }
            let options = GGUFExporter.Options(
                type: GGUFExporter.FileType(rawValue: type)!, name: name ?? run.url.lastPathComponent,
                tokenizerPre: tokenizerPre)
            let summary = try GGUFExporter.export(
                run: run, to: URL(fileURLWithPath: out), options: options,
                overwrite: overwrite)
            let types = summary.typeCounts.sorted { $0.key.rawValue < $1.key.rawValue }
                .map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            print(
                "wrote \(out): \(summary.architecture), \(summary.tensorCount) tensors (\(types)), "
                    + "\(summary.byteCount) bytes"
            )
        }
    }
}
