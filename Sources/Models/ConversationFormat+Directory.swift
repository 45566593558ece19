import Foundation
import Tokenizers

extension ConversationFormat {
    /// The tokenizer and chat format of a model or tokenizer directory (`tokenizer.json`, its
    /// chat template, and the eos ids of `config.json` / `generation_config.json` when present).
    /// Throws when the directory has no chat format (no template and no ChatML tokens).
    public static func load(directory: URL) throws -> ConversationFormat {
        let run = RunDirectory(directory)
        let tokenizer = try Tokenizer.loadHuggingFace(from: run.tokenizer)
        var eos: [Int] = []
        if FileManager.default.fileExists(atPath: run.config.path) {
            var config = try run.loadConfig()
            if let data = try? Data(contentsOf: run.generationConfig) {
                try config.applyGenerationConfig(data, source: run.generationConfig.path)
            }
            eos = config.eosTokenIDs
        }
        guard let format = try load(directory: directory, tokenizer: tokenizer, eosTokenIDs: eos) else {
            throw RunDirectoryError(
                path: directory.path,
                reason:
                    "no chat template (chat_template.jinja or tokenizer_config.json's chat_template) and the "
                    + "tokenizer has no ChatML tokens")
        }
        return format
    }
}
