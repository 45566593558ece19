import Foundation
import Models
import Testing

private func json(_ data: Data) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: data) as! [String: Any]
}

@Test func llamaConfigEncodesHuggingFaceFields() throws {
    let config = ModelConfig(
        family: .llama, vocabSize: 4096, hiddenSize: 256, layerCount: 4, headCount: 8, kvHeadCount: 2,
        intermediateSize: 704, contextLength: 512, normEpsilon: 1e-5, ropeTheta: 10_000,
        tieEmbeddings: false, bosTokenID: 1, eosTokenID: 2)
    let j = try json(config.huggingFaceJSON())
    #expect(j["architectures"] as? [String] == ["LlamaForCausalLM"])
    #expect(j["model_type"] as? String == "llama")
    #expect(j["hidden_size"] as? Int == 256)
    #expect(j["intermediate_size"] as? Int == 704)
    #expect(j["num_attention_heads"] as? Int == 8)
    #expect(j["num_hidden_layers"] as? Int == 4)
    #expect(j["num_key_value_heads"] as? Int == 2)
    #expect(j["max_position_embeddings"] as? Int == 512)
    #expect(j["rms_norm_eps"] as? Double == 1e-5)
    #expect(j["rope_theta"] as? Double == 10_000)
    #expect(j["vocab_size"] as? Int == 4096)
    #expect(j["tie_word_embeddings"] as? Bool == false)
    #expect(j["hidden_act"] as? String == "silu")
    #expect(j["bos_token_id"] as? Int == 1)
    #expect(j["eos_token_id"] as? Int == 2)
    #expect(j["torch_dtype"] as? String == "float32")
    #expect(j["attention_bias"] as? Bool == false)
    #expect(j["mlp_bias"] as? Bool == false)
    #expect(try ModelConfig.fromHuggingFaceJSON(config.huggingFaceJSON()) == config)
}

@Test func gpt2ConfigEncodesHuggingFaceFields() throws {
    let config = ModelConfig(
        family: .gpt2, vocabSize: 8192, hiddenSize: 384, layerCount: 6, headCount: 6, contextLength: 256)
    let j = try json(config.huggingFaceJSON())
    #expect(j["architectures"] as? [String] == ["GPT2LMHeadModel"])
    #expect(j["model_type"] as? String == "gpt2")
    #expect(j["n_embd"] as? Int == 384)
    #expect(j["n_head"] as? Int == 6)
    #expect(j["n_layer"] as? Int == 6)
    #expect(j["n_positions"] as? Int == 256)
    #expect(j["n_ctx"] as? Int == 256)
    #expect(j["n_inner"] as? Int == 1536)
    #expect(j["vocab_size"] as? Int == 8192)
    #expect(j["layer_norm_epsilon"] as? Double == 1e-5)
    #expect(j["activation_function"] as? String == "gelu_new")
    #expect(j["tie_word_embeddings"] as? Bool == true)
    #expect(j["hidden_size"] == nil)
    #expect(try ModelConfig.fromHuggingFaceJSON(config.huggingFaceJSON()) == config)
}

@Test func decodingAppliesTransformersDefaults() throws {
    // A minimal LlamaConfig as transformers writes it: defaults for kv heads, eps, theta, tying.
    let text =
        #"{"model_type":"llama","hidden_size":64,"intermediate_size":128,"num_attention_heads":4,"num_hidden_layers":2,"vocab_size":100,"max_position_embeddings":32}"#
    let config = try ModelConfig.fromHuggingFaceJSON(Data(text.utf8))
    #expect(config.kvHeadCount == 4)
    #expect(config.normEpsilon == 1e-6)
    #expect(config.ropeTheta == 10_000)
    #expect(config.tieEmbeddings == false)
    // GPT-2 without model_type but with architectures, n_inner null → 4·n_embd.
    let gpt =
        #"{"architectures":["GPT2LMHeadModel"],"n_embd":32,"n_head":4,"n_layer":1,"n_positions":16,"n_inner":null,"vocab_size":50}"#
    let g = try ModelConfig.fromHuggingFaceJSON(Data(gpt.utf8))
    #expect(g.family == .gpt2 && g.intermediateSize == 128 && g.tieEmbeddings)
}

@Test func decodingErrorsNameTheField() {
    func message(_ text: String) -> String {
        do {
            _ = try ModelConfig.fromHuggingFaceJSON(Data(text.utf8), source: "run/config.json");
            return "no error"
        } catch {
            return error.description
        }
    }
    let base =
        #""model_type":"llama","intermediate_size":128,"num_attention_heads":4,"num_hidden_layers":2,"vocab_size":100"#
    #expect(message("{\(base)}").contains(#"field "hidden_size": missing"#))
    #expect(
        message("{\(base),\"hidden_size\":\"wide\"}").contains(#"field "hidden_size": expected an integer"#))
    #expect(
        message("{\(base),\"hidden_size\":64,\"hidden_act\":\"relu\"}").contains(
            #"field "hidden_act": unsupported value "relu""#))
    #expect(message("{\(base),\"hidden_size\":66}").contains("heads (4) must divide the hidden size (66)"))
    #expect(
        message("{\(base),\"hidden_size\":64,\"attention_bias\":1}").contains(
            #"field "attention_bias": expected true or false"#))
    #expect(message(#"{"model_type":"gemma"}"#).contains(#"field "model_type": unsupported value "gemma""#))
    #expect(message("{\(base)").contains("run/config.json: not valid JSON"))
    #expect(message("{\(base)}").hasPrefix("invalid model config: run/config.json:"))
}
