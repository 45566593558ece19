import Foundation
import Models
import Training

extension TransformerBackend {
    /// Loads a run directory (`config.json`, `model.safetensors`, `tokenizer.json`), validated by
    /// `ModelRun.load`; the model is named after the directory (`runs/sft` → `sft`).
    public static func load(runDirectory path: String) throws -> TransformerBackend {
        let directory = RunDirectory(path: path)
        let run = try ModelRun.load(directory)
        return TransformerBackend(model: run.model, tokenizer: run.tokenizer,
                                  modelID: directory.url.lastPathComponent)
    }
}
