import Foundation
import Models

extension TransformerBackend {
    /// Loads a run directory (`config.json`, `model.safetensors`, `tokenizer.json`), validated by
    /// `ModelRun.read` (a published Hugging Face model directory too, chatting with its own
    /// template); the model is named after the directory (`runs/sft` → `sft`).
    public static func load(runDirectory path: String) throws -> TransformerBackend {
        let directory = RunDirectory(path: path)
        let run = try ModelRun.read(directory)
        return TransformerBackend(
            model: run.model, tokenizer: run.tokenizer,
            modelID: directory.url.lastPathComponent, format: run.format)
    }
}
