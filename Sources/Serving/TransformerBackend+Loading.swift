import Foundation
import Models

extension TransformerBackend {
    /// Loads a run directory (`config.json`, `model.safetensors`, `tokenizer.json`), validated by
    /// `ModelRun.read` (a published Hugging Face model directory too, chatting with its own
    /// template); the model is named after the directory (`runs/sft` → `sft`).
    /// `decodeWeights`: bf16 / int8 copies of the weights that generation multiplies by.
    public static func load(runDirectory path: String, decodeWeights: DecodeWeightFormat? = nil) throws
        -> TransformerBackend
    {
        let directory = RunDirectory(path: path)
        let run = try ModelRun.read(directory)
        run.model.quantizeForDecoding(decodeWeights)
        return TransformerBackend(
            model: run.model, tokenizer: run.tokenizer,
            modelID: directory.url.lastPathComponent, format: run.format)
    }
}
