import Foundation

extension GGUFExporter {
    /// What `export` wrote.
    public struct Summary: Sendable {
        public var architecture: String
        public var tensorCount: Int
        public var byteCount: Int
        /// Tensors written in another type than asked (norms, 1-D tensors in F32; Q8_0 rows that
        /// are not whole blocks in F16).
        public var typeCounts: [GGUFFile.TensorType: Int]
    }

    /// Loads the model in `run` (config, weights, tokenizer, chat template) and writes it to `url`
    /// as GGUF, atomically (temporary file in the same folder, fsync, rename). Refuses to replace an
    /// existing `url` unless `overwrite`.
    @discardableResult
    public static func export(run: RunDirectory, to url: URL, options: Options, overwrite: Bool) throws
        -> Summary
    {
        if !overwrite, FileManager.default.fileExists(atPath: url.path) {
            throw GGUFExportError("\(url.path) exists; pass --overwrite to replace it")
        }
        let tokenizer = try TokenizerMetadata.load(directory: run.url)
        let model = try Transformer.load(from: run)
        let file = try self.file(model: model, tokenizer: tokenizer, options: options)
        let bytes = file.encoded()
        do {
            try AtomicFileWriter.write(Data(bytes), to: url)
        } catch {
            throw GGUFExportError("\(error)")
        }
        var counts: [GGUFFile.TensorType: Int] = [:]
        for t in file.tensors { counts[t.type, default: 0] += 1 }
        return Summary(
            architecture: architecture(model.config.family), tensorCount: file.tensors.count,
            byteCount: bytes.count, typeCounts: counts)
    }
}
