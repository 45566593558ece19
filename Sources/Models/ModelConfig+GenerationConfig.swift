import Foundation

extension ModelConfig {
    /// Adds the end-of-sequence tokens of a `generation_config.json` (where `transformers` keeps
    /// the full list, e.g. Llama 3's `[128001, 128008, 128009]`), and its bos/pad tokens when
    /// `config.json` has none. Other generation defaults are not model settings and are ignored.
    public mutating func applyGenerationConfig(_ data: Data, source: String = "generation_config.json")
        throws(ModelConfigError)
    {
        func fail(_ m: String) -> ModelConfigError { ModelConfigError(message: "\(source): \(m)") }
        let object: [String: JSONValue]
        do { object = try JSONDecoder().decode([String: JSONValue].self, from: data) } catch {
            throw fail("not a JSON object")
        }
        var reader = HuggingFaceConfigReader(object: object)
        do {
            if let ids = try reader.integers("eos_token_id") {
                eosTokenIDs = ids + eosTokenIDs.filter { !ids.contains($0) }
            }
            if bosTokenID == nil { bosTokenID = try reader.int("bos_token_id") }
            if padTokenID == nil { padTokenID = try reader.int("pad_token_id") }
            try validate()
        } catch {
            throw fail(error.message)
        }
    }
}
