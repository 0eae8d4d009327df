"""The proxy model of blend-proxy-train, written in PyTorch for the benchmark: the same
shape (tied embeddings, pre-norm RMSNorm blocks, causal attention with RoPE's half rotation,
SwiGLU MLP), the same optimizer (AdamW with decay on matrices only, betas 0.9/0.95, global
norm clipping at 1.0, warmup + cosine) and the same batch shape, on random Zipf tokens.

    python torch_step.py preset=regmix-1m vocab=4096 seq=256 batch=16 steps=30 warmup=3 \
        device=cpu compile=0 threads=2

Prints one JSON line: tokens/s over the steps after `warmup`, peak resident memory, and on
CUDA peak GPU memory and MFU (bf16 autocast there, as blend's CUDA path).
"""
import json
import math
import resource
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

PRESETS = {"tiny": (2, 4, 64, 128), "regmix-1m": (2, 8, 256, 512)}


class Block(torch.nn.Module):
    def __init__(self, d, heads, hidden, layers):
        super().__init__()
        self.heads = heads
        self.attention_norm = torch.nn.Parameter(torch.ones(d))
        self.qkv = torch.nn.Linear(d, 3 * d, bias=False)
        self.attention_out = torch.nn.Linear(d, d, bias=False)
        self.mlp_norm = torch.nn.Parameter(torch.ones(d))
        self.gate = torch.nn.Linear(d, hidden, bias=False)
        self.up = torch.nn.Linear(d, hidden, bias=False)
        self.down = torch.nn.Linear(hidden, d, bias=False)
        residual_std = 0.02 / math.sqrt(2 * layers)
        for linear, std in [(self.qkv, 0.02), (self.attention_out, residual_std),
                            (self.gate, 0.02), (self.up, 0.02), (self.down, residual_std)]:
            torch.nn.init.normal_(linear.weight, std=std)

    def forward(self, x, cos, sin):
        b, t, d = x.shape
        h = rms_norm(x, self.attention_norm)
        q, k, v = self.qkv(h).split(d, dim=-1)
        shape = (b, t, self.heads, d // self.heads)
        q, k, v = (z.view(shape).transpose(1, 2) for z in (q, k, v))
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        context = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.attention_out(context.transpose(1, 2).reshape(b, t, d))
        h = rms_norm(x, self.mlp_norm)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


def rms_norm(x, weight, eps=1e-5):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def rope(x, cos, sin):
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos + rotated * sin


class Gpt(torch.nn.Module):
    def __init__(self, vocab, layers, heads, d, hidden, seq):
        super().__init__()
        self.embedding = torch.nn.Parameter(torch.randn(vocab, d) * 0.02)
        self.blocks = torch.nn.ModuleList(Block(d, heads, hidden, layers) for _ in range(layers))
        self.final_norm = torch.nn.Parameter(torch.ones(d))
        head_dim = d // heads
        frequencies = 10000.0 ** (-torch.arange(0, head_dim, 2).float() / head_dim)
        angles = torch.outer(torch.arange(seq).float(), frequencies)
        angles = torch.cat((angles, angles), dim=-1)
        self.register_buffer("cos", angles.cos())
        self.register_buffer("sin", angles.sin())

    def forward(self, ids, targets):
        x = self.embedding[ids]
        for block in self.blocks:
            x = block(x, self.cos, self.sin)
        logits = rms_norm(x, self.final_norm) @ self.embedding.t()
        return F.cross_entropy(logits.view(-1, logits.shape[-1]).float(), targets.reshape(-1))


def main():
    args = dict(a.split("=", 1) for a in sys.argv[1:] if "=" in a)
    preset = args.get("preset", "regmix-1m")
    vocab, seq, batch = int(args.get("vocab", 4096)), int(args.get("seq", 256)), int(args.get("batch", 16))
    steps, warmup = int(args.get("steps", 30)), int(args.get("warmup", 3))
    device = args.get("device", "cpu")
    compile_model = args.get("compile", "0") == "1"
    torch.set_num_threads(int(args.get("threads", torch.get_num_threads())))
    torch.manual_seed(0)
    layers, heads, d, hidden = PRESETS[preset]
    model = Gpt(vocab, layers, heads, d, hidden, seq).to(device)
    parameters = sum(p.numel() for p in model.parameters())
    matrices = [p for p in model.parameters() if p.dim() == 2]
    vectors = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": matrices, "weight_decay": 0.1},
                                   {"params": vectors, "weight_decay": 0.0}],
                                  lr=3e-3, betas=(0.9, 0.95), eps=1e-8)
    step_fn = torch.compile(model) if compile_model else model
    ranks = np.arange(1, vocab + 1, dtype=np.float64)
    probabilities = ranks ** -1.1
    probabilities /= probabilities.sum()
    rng = np.random.default_rng(1)
    tokens = torch.from_numpy(rng.choice(vocab, size=2_000_000, p=probabilities).astype(np.int64))
    warmup_steps = max(1, steps // 10)

    def lr_at(step):
        if step < warmup_steps:
            return 3e-3 * (step + 1) / warmup_steps
        progress = min(1.0, (step - warmup_steps) / max(1, steps - warmup_steps))
        return 3e-3 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))

    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.startswith("cuda") else None
    synchronize = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    timer_start = None
    loss = None
    for step in range(steps):
        starts = torch.randint(0, tokens.numel() - seq - 1, (batch,))
        windows = torch.stack([tokens[s:s + seq + 1] for s in starts.tolist()]).to(device)
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step)
        if autocast is not None:
            with autocast:
                loss = step_fn(windows[:, :-1], windows[:, 1:])
        else:
            loss = step_fn(windows[:, :-1], windows[:, 1:])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if step + 1 == warmup:
            synchronize()
            timer_start = time.perf_counter()
    synchronize()
    seconds = time.perf_counter() - timer_start
    timed = steps - warmup
    tokens_per_second = timed * batch * seq / seconds
    non_embedding = parameters - vocab * d
    flops_per_token = 6 * (non_embedding + vocab * d) + 6 * layers * seq * d * 2
    result = {
        "impl": "pytorch " + ("compile" if compile_model else "eager"),
        "torch": torch.__version__,
        "device": device,
        "preset": preset,
        "parameters": parameters,
        "vocab": vocab, "seq": seq, "batch": batch, "steps": steps, "warmup": warmup,
        "threads": torch.get_num_threads(),
        "tokens_per_second": tokens_per_second,
        "ms_per_step": 1e3 * seconds / timed,
        "gflops": flops_per_token * tokens_per_second / 1e9,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "final_loss": loss.item(),
    }
    if device.startswith("cuda"):
        result["peak_gpu_mib"] = torch.cuda.max_memory_allocated() / 2**20
    print(json.dumps(result))


if __name__ == "__main__":
    main()
