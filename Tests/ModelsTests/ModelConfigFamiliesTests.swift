import Foundation
import Models
import Testing
import TensorCore

/// `config.json` for every family in both transformers layouts, and the key policy: what is
/// read, what is known to be harmless, and what is refused by name.
@Suite struct ModelConfigFamiliesTests {
    static let llamaBase =
        #""model_type":"llama","hidden_size":64,"intermediate_size":128,"num_attention_heads":4,"num_key_value_heads":2,"num_hidden_layers":2,"vocab_size":100,"max_position_embeddings":64"#

    static func decode(_ text: String) throws -> ModelConfig {
        try ModelConfig.fromHuggingFaceJSON(Data(text.utf8), source: "dir/config.json")
    }

    static func message(_ text: String) -> String {
        do { _ = try decode(text); return "no error" } catch { return "\(error)" }
    }

    @Test func transformers4And5RopeLayoutsGiveTheSameConfig() throws {
        let v4 = try Self.decode(
            "{\(Self.llamaBase),\"rope_theta\":500000.0,\"rope_scaling\":{\"type\":\"llama3\",\"factor\":8.0,\"low_freq_factor\":1.0,\"high_freq_factor\":4.0,\"original_max_position_embeddings\":16}}"
        )
        let v5 = try Self.decode(
            "{\(Self.llamaBase),\"rope_parameters\":{\"rope_type\":\"llama3\",\"rope_theta\":500000.0,\"factor\":8.0,\"low_freq_factor\":1.0,\"high_freq_factor\":4.0,\"original_max_position_embeddings\":16}}"
        )
        #expect(v4 == v5)
        #expect(v5.ropeTheta == 500_000)
        #expect(
            v5.ropeScaling
                == .llama3(
                    factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalContextLength: 16))
        // original_max_position_embeddings defaults to max_position_embeddings, as transformers does.
        let defaulted = try Self.decode(
            "{\(Self.llamaBase),\"rope_parameters\":{\"rope_type\":\"llama3\",\"factor\":2,\"low_freq_factor\":1,\"high_freq_factor\":4}}"
        )
        #expect(
            defaulted.ropeScaling
                == .llama3(
                    factor: 2, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalContextLength: 64))
        #expect(defaulted.ropeTheta == 10_000)
        let linear = try Self.decode(
            "{\(Self.llamaBase),\"rope_scaling\":{\"rope_type\":\"linear\",\"factor\":4}}")
        #expect(linear.ropeScaling == .linear(factor: 4))
        // Written with both layouts; both agree and decode back.
        let text = String(decoding: v5.huggingFaceJSON(), as: UTF8.self)
        #expect(text.contains("\"rope_parameters\"") && text.contains("\"rope_scaling\""))
        #expect(try ModelConfig.fromHuggingFaceJSON(v5.huggingFaceJSON()) == v5)
        #expect(
            Self.message(
                "{\(Self.llamaBase),\"rope_scaling\":{\"rope_type\":\"linear\",\"factor\":4},\"rope_parameters\":{\"rope_type\":\"linear\",\"factor\":2}}"
            ).contains("disagrees with rope_parameters"))
    }

    @Test(arguments: [
        (
            #""rope_parameters":{"rope_type":"yarn","factor":4}"#,
            #"field "rope_parameters.rope_type": unsupported value "yarn""#
        ),
        (
            #""rope_scaling":{"type":"dynamic","factor":2}"#,
            #"field "rope_scaling.rope_type": unsupported value "dynamic""#
        ),
        (
            #""rope_parameters":{"rope_type":"llama3","factor":8,"low_freq_factor":1,"high_freq_factor":4,"beta_fast":32}"#,
            #"field "rope_parameters.beta_fast": not implemented"#
        ),
        (#""rope_parameters":{"rope_type":"linear"}"#, #"field "rope_parameters.factor": missing"#),
        (
            #""rope_parameters":{"full_attention":{"rope_type":"default"}}"#,
            "per-layer-type rotary parameters"
        ),
        (#""partial_rotary_factor":0.5"#, #"field "partial_rotary_factor": partial rotary"#),
        (
            #""attn_logit_softcapping":50.0"#,
            #"field "attn_logit_softcapping": attention logit soft-capping is not implemented (value 50)"#
        ),
        (#""final_logit_softcapping":30"#, #"field "final_logit_softcapping""#),
        (
            #""quantization_config":{"quant_method":"bitsandbytes"}"#,
            #"field "quantization_config": quantized weights"#
        ),
        (#""some_new_knob":3"#, #"field "some_new_knob": unknown for model_type "llama""#),
        (#""hidden_act":"gelu""#, #"field "hidden_act": unsupported value "gelu""#),
        (#""torch_dtype":"float64""#, #"field "torch_dtype": unsupported value "float64""#),
        (
            #""sliding_window":16"#,
            #"field "sliding_window": sliding-window attention (window 16 < context 64)"#
        ),
        (
            #""rope_parameters":{"rope_type":"llama3","factor":8,"low_freq_factor":4,"high_freq_factor":4}"#,
            "need 0 < low_freq_factor < high_freq_factor"
        ),
        (#""rope_theta":-1"#, "rope theta must be positive"),
    ])
    func mathChangingFieldsAreRefusedByName(extra: String, expected: String) {
        let m = Self.message("{\(Self.llamaBase),\(extra)}")
        #expect(m.contains(expected), "\(m)")
        #expect(m.contains("dir/config.json"))
    }

    @Test func familySpecificRefusals() {
        let mistral =
            #""model_type":"mistral","hidden_size":32,"intermediate_size":64,"num_attention_heads":4,"num_key_value_heads":2,"num_hidden_layers":1,"vocab_size":50,"max_position_embeddings":64"#
        #expect(
            Self.message("{\(mistral),\"sliding_window\":32}").contains(
                #"field "sliding_window": sliding-window attention (window 32 < context 64)"#))
        // Absent, transformers' default window 4096 applies: harmless at context 64, not at 8192.
        #expect(Self.message("{\(mistral)}") == "no error")
        #expect(
            Self.message(
                "{\(mistral.replacingOccurrences(of: "\"max_position_embeddings\":64", with: "\"max_position_embeddings\":8192"))}"
            ).contains("window 4096 < context 8192"))
        #expect(
            Self.message(
                "{\(mistral.replacingOccurrences(of: "\"max_position_embeddings\":64", with: "\"max_position_embeddings\":8192")),\"sliding_window\":null}"
            ) == "no error")
        let qwen2 =
            #""model_type":"qwen2","hidden_size":32,"intermediate_size":64,"num_attention_heads":4,"num_key_value_heads":2,"num_hidden_layers":1,"vocab_size":50,"max_position_embeddings":64"#
        #expect(
            Self.message(
                "{\(qwen2),\"use_sliding_window\":true,\"sliding_window\":16,\"max_window_layers\":0}"
            ).contains(
                #"field "use_sliding_window": sliding-window attention (window 16 < context 64, layer 0)"#))
        // From max_window_layers on: with one layer and the default 28, no layer slides.
        #expect(Self.message("{\(qwen2),\"use_sliding_window\":true,\"sliding_window\":16}") == "no error")
        #expect(
            Self.message(
                "{\(qwen2),\"use_sliding_window\":true,\"sliding_window\":16,\"layer_types\":[\"sliding_attention\"]}"
            ).contains("sliding-window"))
        #expect(
            Self.message("{\(qwen2),\"layer_types\":[\"sliding_attention\"]}").contains(
                #"field "layer_types": layer type "sliding_attention""#))
        #expect(
            Self.message(
                "{\(qwen2),\"use_sliding_window\":true,\"sliding_window\":64,\"layer_types\":[\"sliding_attention\"]}"
            ) == "no error")
        #expect(
            Self.message(#"{"model_type":"gemma2","hidden_size":8}"#).contains(
                #"field "model_type": unsupported value "gemma2""#))
        let gpt2 = #""model_type":"gpt2","n_embd":32,"n_head":4,"n_layer":1,"n_positions":16,"vocab_size":50"#
        #expect(
            Self.message("{\(gpt2),\"scale_attn_by_inverse_layer_idx\":true}").contains(
                #"field "scale_attn_by_inverse_layer_idx""#))
        #expect(
            Self.message("{\(gpt2),\"activation_function\":\"relu\"}").contains(
                #"field "activation_function": unsupported value "relu""#))
        #expect(
            Self.message("{\(gpt2),\"add_cross_attention\":true}").contains(
                #"field "add_cross_attention": cross-attention"#))
        #expect(
            Self.message("{\(gpt2),\"rope_theta\":10000}").contains(
                #"field "rope_theta": unknown for model_type "gpt2""#))
    }

    @Test func harmlessFieldsAreAccepted() throws {
        let harmless =
            #""transformers_version":"5.24.0","_name_or_path":"x","use_cache":true,"initializer_range":0.02,"pretraining_tp":2,"attention_dropout":0.1,"attn_logit_softcapping":null,"quantization_config":null,"add_cross_attention":false,"torch_dtype":"bfloat16","architectures":["LlamaForCausalLM"],"rope_scaling":null,"sliding_window":null,"tie_word_embeddings":true,"temperature":0.7"#
        let c = try Self.decode("{\(Self.llamaBase),\(harmless)}")
        #expect(c.storageDType == .bfloat16 && c.tieEmbeddings && c.ropeScaling == nil)
        let mistral = try Self.decode(
            #"{"model_type":"mistral","hidden_size":64,"intermediate_size":64,"num_attention_heads":8,"num_hidden_layers":1,"vocab_size":50,"max_position_embeddings":64,"sliding_window":64,"attention_bias":false}"#
        )
        #expect(mistral.family == .mistral && !mistral.projectionBias)
        let qwen2 = try Self.decode(
            #"{"model_type":"qwen2","hidden_size":32,"intermediate_size":64,"num_attention_heads":4,"num_key_value_heads":2,"num_hidden_layers":2,"vocab_size":50,"max_position_embeddings":64,"use_sliding_window":false,"sliding_window":16,"max_window_layers":1,"layer_types":["full_attention","full_attention"]}"#
        )
        #expect(qwen2.projectionBias && !qwen2.outputBias)
    }

    @Test func transformersDefaultsPerFamily() throws {
        // Mistral defaults to 8 key/value heads, Qwen3 to head_dim 128, both untied.
        let mistral = try Self.decode(
            #"{"model_type":"mistral","hidden_size":64,"intermediate_size":64,"num_attention_heads":8,"num_hidden_layers":1,"vocab_size":50,"max_position_embeddings":64}"#
        )
        #expect(mistral.kvHeadCount == 8 && !mistral.tieEmbeddings && mistral.headDimension == 8)
        let qwen3 = try Self.decode(
            #"{"model_type":"qwen3","hidden_size":64,"intermediate_size":64,"num_attention_heads":4,"num_key_value_heads":2,"num_hidden_layers":1,"vocab_size":50,"max_position_embeddings":64}"#
        )
        #expect(qwen3.headDimension == 128 && qwen3.queryKeyNorm && !qwen3.projectionBias)
        let biased = try Self.decode("{\(Self.llamaBase),\"attention_bias\":true,\"mlp_bias\":true}")
        #expect(biased.projectionBias && biased.outputBias && biased.mlpBias)
    }

    @Test func tokenIDsListsAndGenerationConfig() throws {
        var c = try Self.decode(
            "{\(Self.llamaBase),\"bos_token_id\":1,\"eos_token_id\":[2,7],\"pad_token_id\":0}")
        #expect(c.eosTokenIDs == [2, 7] && c.eosTokenID == 2 && c.bosTokenID == 1 && c.padTokenID == 0)
        let j = try JSONSerialization.jsonObject(with: c.huggingFaceJSON()) as! [String: Any]
        #expect(j["eos_token_id"] as? [Int] == [2, 7])
        #expect(try ModelConfig.fromHuggingFaceJSON(c.huggingFaceJSON()) == c)
        try c.applyGenerationConfig(Data(#"{"eos_token_id":[9,2],"temperature":0.6,"bos_token_id":5}"#.utf8))
        #expect(c.eosTokenIDs == [9, 2, 7] && c.bosTokenID == 1)
        #expect(throws: ModelConfigError.self) {
            try c.applyGenerationConfig(Data(#"{"eos_token_id":[1000]}"#.utf8))
        }
        #expect(
            Self.message("{\(Self.llamaBase),\"eos_token_id\":[2,\"x\"]}").contains(#"field "eos_token_id""#))
        #expect(
            Self.message("{\(Self.llamaBase),\"bos_token_id\":5000000000}").contains(
                "bos token id 5000000000 is outside the vocabulary"))
    }

    @Test(arguments: TinyConfigs.all)
    func everyFamilyRoundTripsAsTheSameModelType(config: ModelConfig) throws {
        let j = try JSONSerialization.jsonObject(with: config.huggingFaceJSON()) as! [String: Any]
        #expect(j["model_type"] as? String == config.family.rawValue)
        #expect(try ModelConfig.fromHuggingFaceJSON(config.huggingFaceJSON()) == config)
    }

    /// A config.json exactly as the previous writer produced it still loads.
    @Test func runsWrittenBeforeStillLoad() throws {
        let old = #"""
            {"architectures":["LlamaForCausalLM"],"attention_bias":false,"bos_token_id":0,"eos_token_id":0,"head_dim":16,
             "hidden_act":"silu","hidden_size":64,"intermediate_size":192,"max_position_embeddings":128,"mlp_bias":false,
             "model_type":"llama","num_attention_heads":4,"num_hidden_layers":2,"num_key_value_heads":4,"rms_norm_eps":1e-05,
             "rope_theta":10000,"tie_word_embeddings":true,"torch_dtype":"float32","vocab_size":300}
            """#
        let c = try Self.decode(old)
        #expect(c.family == .llama && c.tieEmbeddings && c.headDimension == 16 && c.storageDType == .float32)
        let oldGPT =
            #"{"activation_function":"gelu_new","architectures":["GPT2LMHeadModel"],"attn_pdrop":0,"bos_token_id":0,"embd_pdrop":0,"eos_token_id":0,"layer_norm_epsilon":1e-05,"model_type":"gpt2","n_ctx":64,"n_embd":32,"n_head":2,"n_inner":128,"n_layer":1,"n_positions":64,"resid_pdrop":0,"tie_word_embeddings":true,"torch_dtype":"float32","vocab_size":300}"#
        #expect(try Self.decode(oldGPT).family == .gpt2)
    }
}
