/// Which `config.json` keys may be ignored. A key the decoder does not read is accepted only if
/// it is listed here as harmless (metadata, training-only dropout, generation defaults, fields
/// the family's `transformers` code never reads); any other key is refused by name, so a field
/// that changes the computation can never be silently dropped. Keys that are harmless only at
/// certain values are checked by the decoder itself (`sliding_window`, `use_sliding_window`,
/// `layer_types`, `partial_rotary_factor`, `scale_attn_weights`, ...).
extension ModelConfig {
    /// Ignored for every family.
    static let harmlessKeys: Set<String> = [
        // Provenance and bookkeeping.
        "architectures", "transformers_version", "_name_or_path", "auto_map", "custom_pipelines",
        "_attn_implementation_autoset", "_commit_hash", "use_cache", "initializer_range", "torchscript",
        "return_dict", "output_attentions", "output_hidden_states", "use_return_dict", "pruned_heads",
        "tf_legacy_loss", "use_bfloat16", "chunk_size_feed_forward", "tokenizer_class", "prefix",
        "finetuning_task", "id2label", "label2id", "num_labels", "problem_type", "task_specific_params",
        "sep_token_id", "decoder_start_token_id", "tie_encoder_decoder", "cross_attention_hidden_size",
        // Tensor-parallel slicing of the same products (Llama 2's `pretraining_tp`).
        "pretraining_tp",
        // Dropout acts only in training; this project trains without it.
        "attention_dropout", "resid_pdrop", "embd_pdrop", "attn_pdrop", "summary_first_dropout",
        // Sequence-classification head settings (GPT-2), unused by a language model.
        "summary_type", "summary_use_proj", "summary_activation", "summary_proj_to_labels",
        // GPT-2's float32 upcast inside attention: we compute in Float32 throughout.
        "reorder_and_upcast_attn",
        // Generation defaults that old configs carry (generation_config.json's job).
        "bad_words_ids", "begin_suppress_tokens", "diversity_penalty", "do_sample", "early_stopping",
        "encoder_no_repeat_ngram_size", "exponential_decay_length_penalty", "forced_bos_token_id",
        "forced_eos_token_id", "length_penalty", "max_length", "min_length", "no_repeat_ngram_size",
        "num_beam_groups", "num_beams", "num_return_sequences", "output_scores", "remove_invalid_values",
        "repetition_penalty", "return_dict_in_generate", "suppress_tokens", "temperature", "top_k", "top_p",
        "typical_p",
    ]

    /// Ignored for one family only, because its `transformers` modeling code never reads them.
    static func familyHarmlessKeys(_ family: Family) -> Set<String> {
        switch family {
        case .llama: []
        // Qwen2's and Mistral's projections have fixed biases; both ignore these flags.
        case .mistral, .qwen2: ["attention_bias", "mlp_bias"]
        case .qwen3: ["mlp_bias"]
        case .gpt2: []
        }
    }

    /// Keys whose presence (with a non-null value) always means an unimplemented computation.
    static let refusedKeys: [String: String] = [
        "quantization_config": "quantized weights are not supported",
        "attn_logit_softcapping": "attention logit soft-capping is not implemented",
        "final_logit_softcapping": "final logit soft-capping is not implemented",
        "add_cross_attention": "cross-attention is not implemented",
        "is_encoder_decoder": "encoder-decoder models are not supported",
        "is_decoder": "encoder-decoder models are not supported",
    ]
}

extension JSONValue {
    var isNull: Bool { self == .null }

    /// Short rendering for error messages.
    var text: String {
        switch self {
        case .null: "null"
        case .bool(let b): "\(b)"
        case .integer(let i): "\(i)"
        case .unsignedInteger(let u): "\(u)"
        case .number(let d): "\(d)"
        case .string(let s): "\"\(s)\""
        case .array(let a): "[" + a.map(\.text).joined(separator: ", ") + "]"
        case .object(let o):
            "{" + o.keys.sorted().map { "\"\($0)\": \(o[$0]!.text)" }.joined(separator: ", ") + "}"
        }
    }
}
