#!/usr/bin/env python3
"""The PyTorch side of scripts/bench-train: the same GPT-2-style model as swift-rlhf's configs S
and M, timed the way a PyTorch user would run it (eager, float32 or bf16 autocast, AdamW).

    python3 scripts/lib/torch_peer.py train --config S --threads 2 [--steps 6 --warmup 2] [--bf16]
    python3 scripts/lib/torch_peer.py gen --config M --threads 2 [--new 256]

Prints one JSON line. The model: token and position embeddings, pre-LayerNorm blocks, causal
attention through scaled_dot_product_attention, a 4x GELU MLP, biases, an LM head tied to the
token embedding. Model FLOPs per token: 6·N (N without the position table) + 6·L·T·d (attention).
"""
import argparse
import json
import statistics
import time

SIZES = {  # vocab, layers, heads, width, context, batch
    "S": (4096, 4, 4, 256, 256, 16),
    "M": (8192, 6, 6, 384, 256, 16),
}

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("mode", choices=["train", "gen"])
parser.add_argument("--config", choices=sorted(SIZES), default="S")
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--steps", type=int, default=6, help="timed training steps")
parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
parser.add_argument("--bf16", action="store_true", help="forward under torch.autocast(cpu, bfloat16)")
parser.add_argument("--new", type=int, default=256, help="tokens to generate")
options = parser.parse_args()

import torch  # noqa: E402  (after argument parsing, so --help is instant)
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

torch.set_num_threads(options.threads)
torch.manual_seed(0)
VOCAB, LAYERS, HEADS, WIDTH, CONTEXT, BATCH = SIZES[options.config]


class SelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(WIDTH, 3 * WIDTH)
        self.out = nn.Linear(WIDTH, WIDTH)

    def forward(self, x, cache=None):
        b, t, c = x.shape
        q, k, v = (z.view(b, t, HEADS, c // HEADS).transpose(1, 2) for z in self.qkv(x).split(c, dim=2))
        causal = True
        if cache is not None:  # preallocated (B, H, CONTEXT, D) keys and values, filled up to cache["n"]
            n = cache["n"]
            cache["k"][:, :, n:n + t] = k
            cache["v"][:, :, n:n + t] = v
            k, v = cache["k"][:, :, :n + t], cache["v"][:, :, :n + t]
            cache["n"] = n + t
            causal = t > 1 and n == 0
        y = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        return self.out(y.transpose(1, 2).reshape(b, t, c))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(WIDTH), nn.LayerNorm(WIDTH)
        self.attention = SelfAttention()
        self.up, self.down = nn.Linear(WIDTH, 4 * WIDTH), nn.Linear(4 * WIDTH, WIDTH)

    def forward(self, x, cache=None):
        x = x + self.attention(self.norm1(x), cache)
        return x + self.down(F.gelu(self.up(self.norm2(x))))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.tokens, self.positions = nn.Embedding(VOCAB, WIDTH), nn.Embedding(CONTEXT, WIDTH)
        self.blocks = nn.ModuleList(Block() for _ in range(LAYERS))
        self.norm = nn.LayerNorm(WIDTH)
        self.head = nn.Linear(WIDTH, VOCAB, bias=False)
        self.head.weight = self.tokens.weight
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)

    def forward(self, ids, start=0, caches=None):
        x = self.tokens(ids) + self.positions(torch.arange(start, start + ids.shape[1]))
        for i, block in enumerate(self.blocks):
            x = block(x, None if caches is None else caches[i])
        return self.head(self.norm(x))


def parameter_count(model):
    return sum(p.numel() for p in model.parameters()) - model.positions.weight.numel()


def train():
    model = GPT()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.95), weight_decay=0.1)
    data = torch.randint(0, VOCAB, (options.warmup + options.steps, BATCH, CONTEXT + 1),
                         generator=torch.Generator().manual_seed(1))
    seconds = []
    for step in range(options.warmup + options.steps):
        inputs, targets = data[step, :, :-1], data[step, :, 1:]
        started = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=options.bf16):
            logits = model(inputs)
        loss = F.cross_entropy(logits.float().reshape(-1, VOCAB), targets.reshape(-1))
        loss.backward()
        optimizer.step()
        if step >= options.warmup:
            seconds.append(time.perf_counter() - started)
    median = statistics.median(seconds)
    tokens_per_second = BATCH * CONTEXT / median
    flops = 6 * parameter_count(model) + 6 * LAYERS * CONTEXT * WIDTH
    return dict(mode="train", config=options.config, bf16=options.bf16, threads=options.threads,
                torch=torch.__version__, ms_step_median=median * 1e3, tokens_per_s=tokens_per_second,
                model_gflops=flops * tokens_per_second / 1e9, loss_last=float(loss))


@torch.inference_mode()
def generate():
    model = GPT().eval()
    assert options.new <= CONTEXT, f"--new {options.new} exceeds the context {CONTEXT}"

    def run(count):
        caches = [dict(k=torch.zeros(1, HEADS, CONTEXT, WIDTH // HEADS),
                       v=torch.zeros(1, HEADS, CONTEXT, WIDTH // HEADS), n=0) for _ in range(LAYERS)]
        token = torch.zeros(1, 1, dtype=torch.long)
        for position in range(count):
            token = model(token, start=position, caches=caches)[:, -1].argmax(-1, keepdim=True)

    run(16)
    seconds = []
    for _ in range(3):
        started = time.perf_counter()
        run(options.new)
        seconds.append(time.perf_counter() - started)
    median = statistics.median(seconds)
    return dict(mode="gen", config=options.config, threads=options.threads, torch=torch.__version__,
                new_tokens=options.new, tokens_per_s=options.new / median, ms_per_token=median / options.new * 1e3)


result = train() if options.mode == "train" else generate()
print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()}))
