#!/usr/bin/env python3
"""Reference forward passes of tiny transformers, written independently in NumPy (float64).

Writes Tests/ModelsTests/Fixtures/tiny-{llama,gpt2}.json: the config, every weight under its
Hugging Face name and layout, a batch of tokens, and the logits the model must produce. The Swift
test loads the weights into `Transformer` and compares its logits with these.

Usage: python3 scripts/make-fixtures.py   (needs only numpy; deterministic)
"""
import json
import os

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "ModelsTests", "Fixtures")


def f32(a):
    """Round to float32 (what the Swift model stores), keep computing in float64."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def softmax(x, axis=-1):
    x = x - x.max(axis=axis, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


def causal_attention(q, k, v):
    """q: (H,T,D), k/v: (H,T,D) -> (T, H*D)."""
    h, t, d = q.shape
    scores = q @ k.transpose(0, 2, 1) / np.sqrt(d)
    mask = np.triu(np.ones((t, t), dtype=bool), 1)
    scores = np.where(mask, -np.inf, scores)
    out = softmax(scores) @ v  # (H,T,D)
    return out.transpose(1, 0, 2).reshape(t, h * d)


def rms_norm(x, w, eps):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def rotate_half(x):
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)


def llama_forward(cfg, W, tokens):
    C, H, KV = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    D = C // H
    eps = cfg["rms_norm_eps"]
    T = len(tokens)
    inv_freq = 1.0 / (cfg["rope_theta"] ** (np.arange(0, D, 2) / D))
    freqs = np.outer(np.arange(T), inv_freq)
    emb = np.concatenate([freqs, freqs], axis=-1)  # (T, D)
    cos, sin = np.cos(emb), np.sin(emb)
    x = W["model.embed_tokens.weight"][tokens]
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rms_norm(x, W[p + "input_layernorm.weight"], eps)
        q = (h @ W[p + "self_attn.q_proj.weight"].T).reshape(T, H, D).transpose(1, 0, 2)
        k = (h @ W[p + "self_attn.k_proj.weight"].T).reshape(T, KV, D).transpose(1, 0, 2)
        v = (h @ W[p + "self_attn.v_proj.weight"].T).reshape(T, KV, D).transpose(1, 0, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = np.repeat(k, H // KV, axis=0)
        v = np.repeat(v, H // KV, axis=0)
        x = x + causal_attention(q, k, v) @ W[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, W[p + "post_attention_layernorm.weight"], eps)
        g = h @ W[p + "mlp.gate_proj.weight"].T
        u = h @ W[p + "mlp.up_proj.weight"].T
        x = x + (g / (1 + np.exp(-g)) * u) @ W[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, W["model.norm.weight"], eps)
    head = W.get("lm_head.weight", W["model.embed_tokens.weight"])
    return x @ head.T


def gelu_new(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


def gpt2_forward(cfg, W, tokens):
    C, H = cfg["n_embd"], cfg["n_head"]
    D = C // H
    eps = cfg["layer_norm_epsilon"]
    T = len(tokens)
    x = W["transformer.wte.weight"][tokens] + W["transformer.wpe.weight"][np.arange(T)]
    for l in range(cfg["n_layer"]):
        p = f"transformer.h.{l}."
        h = layer_norm(x, W[p + "ln_1.weight"], W[p + "ln_1.bias"], eps)
        qkv = h @ W[p + "attn.c_attn.weight"] + W[p + "attn.c_attn.bias"]
        q, k, v = (qkv[:, i * C:(i + 1) * C].reshape(T, H, D).transpose(1, 0, 2) for i in range(3))
        x = x + causal_attention(q, k, v) @ W[p + "attn.c_proj.weight"] + W[p + "attn.c_proj.bias"]
        h = layer_norm(x, W[p + "ln_2.weight"], W[p + "ln_2.bias"], eps)
        m = gelu_new(h @ W[p + "mlp.c_fc.weight"] + W[p + "mlp.c_fc.bias"])
        x = x + m @ W[p + "mlp.c_proj.weight"] + W[p + "mlp.c_proj.bias"]
    x = layer_norm(x, W["transformer.ln_f.weight"], W["transformer.ln_f.bias"], eps)
    return x @ W["transformer.wte.weight"].T


def llama_shapes(cfg):
    C, H, KV, I, V = (cfg[k] for k in ("hidden_size", "num_attention_heads", "num_key_value_heads",
                                       "intermediate_size", "vocab_size"))
    D = C // H
    s = {"model.embed_tokens.weight": [V, C]}
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        s.update({p + "input_layernorm.weight": [C], p + "self_attn.q_proj.weight": [H * D, C],
                  p + "self_attn.k_proj.weight": [KV * D, C], p + "self_attn.v_proj.weight": [KV * D, C],
                  p + "self_attn.o_proj.weight": [C, H * D], p + "post_attention_layernorm.weight": [C],
                  p + "mlp.gate_proj.weight": [I, C], p + "mlp.up_proj.weight": [I, C],
                  p + "mlp.down_proj.weight": [C, I]})
    s["model.norm.weight"] = [C]
    if not cfg["tie_word_embeddings"]:
        s["lm_head.weight"] = [V, C]
    return s


def gpt2_shapes(cfg):
    C, V, P = cfg["n_embd"], cfg["vocab_size"], cfg["n_positions"]
    s = {"transformer.wte.weight": [V, C], "transformer.wpe.weight": [P, C]}
    for l in range(cfg["n_layer"]):
        p = f"transformer.h.{l}."
        s.update({p + "ln_1.weight": [C], p + "ln_1.bias": [C], p + "attn.c_attn.weight": [C, 3 * C],
                  p + "attn.c_attn.bias": [3 * C], p + "attn.c_proj.weight": [C, C], p + "attn.c_proj.bias": [C],
                  p + "ln_2.weight": [C], p + "ln_2.bias": [C], p + "mlp.c_fc.weight": [C, 4 * C],
                  p + "mlp.c_fc.bias": [4 * C], p + "mlp.c_proj.weight": [4 * C, C], p + "mlp.c_proj.bias": [C]})
    s["transformer.ln_f.weight"] = [C]
    s["transformer.ln_f.bias"] = [C]
    return s


def make(name, family, cfg, shapes, forward, seed):
    rng = np.random.default_rng(seed)
    W = {}
    for k, shape in shapes.items():
        gain = k.endswith("norm.weight") or ".ln_" in k and k.endswith(".weight")
        W[k] = f32((1 + 0.2 * rng.standard_normal(shape)) if gain else 0.4 * rng.standard_normal(shape))
    tokens = rng.integers(0, cfg["vocab_size"], size=(2, 7))
    logits = np.stack([forward(cfg, W, row) for row in tokens])
    doc = {
        "family": family,
        "config": cfg,
        "tokens": tokens.reshape(-1).tolist(),
        "batch": 2,
        "length": 7,
        "weights": {k: {"shape": list(shapes[k]), "data": W[k].reshape(-1).astype(np.float32).tolist()} for k in W},
        "logits": logits.reshape(-1).tolist(),
    }
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(doc, f)


llama_cfg = {"vocab_size": 17, "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 4,
             "num_key_value_heads": 2, "intermediate_size": 20, "max_position_embeddings": 16,
             "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": False}
gpt2_cfg = {"vocab_size": 17, "n_embd": 12, "n_layer": 2, "n_head": 3, "n_positions": 16,
            "layer_norm_epsilon": 1e-5}

make("tiny-llama.json", "llama", llama_cfg, llama_shapes(llama_cfg), llama_forward, 1)
make("tiny-gpt2.json", "gpt2", gpt2_cfg, gpt2_shapes(gpt2_cfg), gpt2_forward, 2)
print("wrote", OUT)
