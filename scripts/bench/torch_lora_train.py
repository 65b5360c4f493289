#!/usr/bin/env python3
"""PyTorch side of `lora4j bench train`: the same two LoRA training configurations, measured the same way.

  (a) gpt2:   GPT-2 small shape (12 layers, 768 wide, 12 heads, vocab 50257, random weights), LoRA r=4, alpha=32
              on q and v of c_attn (loralib MergedLinear, enable_lora=[True, False, True], fan_in_fan_out),
              batch 4 x 128, next-token cross-entropy over the full vocabulary, AdamW.
  (b) minilm: all-MiniLM-L6-v2 shape (6 layers, 384 wide, 12 heads, intermediate 1536, vocab 30522), LoRA r=8,
              alpha=16 on query and value, classifier head trained, batch 32 x 64, mean pooling, AdamW, and the
              model's hidden dropout of 0.1 where lora4j's BertForSequenceClassification applies it (after the
              embeddings, on both residual branches of every layer, before the classifier), as in the demo.

Run with Debian's python3-torch on OpenBLAS (libopenblas0-pthread installed), 2 threads:
  /usr/bin/python3 scripts/bench/torch_lora_train.py gpt2 --steps 6
Prints one JSON line: tokens/s over the timed steps (after --warmup untimed steps, 3 as lora4j's) and peak RSS.
"""
import argparse
import json
import math
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class MergedLoRA(nn.Module):
    """loralib.MergedLinear over a Conv1D-layout weight (in, out): base + zero-padded B_g A_g x for enabled groups."""

    def __init__(self, n_in, n_out, r, alpha, enable):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_in, n_out) * 0.02, requires_grad=False)
        self.bias = nn.Parameter(torch.zeros(n_out), requires_grad=False)
        self.enable, self.part, self.r, self.s = enable, n_out // len(enable), r, alpha / r
        g = sum(enable)
        self.lora_A = nn.Parameter(torch.randn(r * g, n_in) * 0.02)
        self.lora_B = nn.Parameter(torch.zeros(self.part * g, r))

    def forward(self, x):
        y = x @ self.weight + self.bias
        h = x @ self.lora_A.t()
        outs, gi = [], 0
        for i, e in enumerate(self.enable):
            if e:
                outs.append(h[..., gi * self.r:(gi + 1) * self.r] @ self.lora_B[gi * self.part:(gi + 1) * self.part].t() * self.s)
                gi += 1
            else:
                outs.append(torch.zeros(*x.shape[:-1], self.part))
        return y + torch.cat(outs, dim=-1)


class LoRALinear(nn.Module):
    def __init__(self, n_in, n_out, r, alpha):
        super().__init__()
        self.base = nn.Linear(n_in, n_out)
        self.base.requires_grad_(False)
        self.lora_A = nn.Parameter(torch.randn(r, n_in) * 0.02)
        self.lora_B = nn.Parameter(torch.zeros(n_out, r))
        self.s = alpha / r

    def forward(self, x):
        return self.base(x) + (x @ self.lora_A.t() @ self.lora_B.t()) * self.s


def frozen_linear(n_in, n_out):
    m = nn.Linear(n_in, n_out)
    m.requires_grad_(False)
    return m


class Gpt2Block(nn.Module):
    def __init__(self, C, H):
        super().__init__()
        self.H = H
        self.ln_1, self.ln_2 = nn.LayerNorm(C), nn.LayerNorm(C)
        self.c_attn = MergedLoRA(C, 3 * C, 4, 32, [True, False, True])
        self.c_proj, self.c_fc, self.mlp_proj = frozen_linear(C, C), frozen_linear(C, 4 * C), frozen_linear(4 * C, C)
        for m in (self.ln_1, self.ln_2):
            m.requires_grad_(False)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.H, C // self.H).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // self.H)
        att = att.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf")).softmax(-1)
        x = x + self.c_proj((att @ v).transpose(1, 2).reshape(B, T, C))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class Gpt2(nn.Module):
    def __init__(self, V=50257, P=1024, C=768, L=12, H=12):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, C), nn.Embedding(P, C)
        nn.init.normal_(self.wte.weight, std=0.02)
        nn.init.normal_(self.wpe.weight, std=0.01)
        self.h = nn.ModuleList([Gpt2Block(C, H) for _ in range(L)])
        self.ln_f = nn.LayerNorm(C)
        for m in (self.wte, self.wpe, self.ln_f):
            m.requires_grad_(False)

    def forward(self, ids):
        x = self.wte(ids) + self.wpe(torch.arange(ids.shape[1]))
        for b in self.h:
            x = b(x)
        return self.ln_f(x) @ self.wte.weight.t()


class BertLayer(nn.Module):
    def __init__(self, C, H, I, p):
        super().__init__()
        self.H = H
        self.drop1, self.drop2 = nn.Dropout(p), nn.Dropout(p)
        self.query, self.value = LoRALinear(C, C, 8, 16), LoRALinear(C, C, 8, 16)
        self.key, self.attn_out = frozen_linear(C, C), frozen_linear(C, C)
        self.inter, self.out = frozen_linear(C, I), frozen_linear(I, C)
        self.ln1, self.ln2 = nn.LayerNorm(C), nn.LayerNorm(C)
        for m in (self.ln1, self.ln2):
            m.requires_grad_(False)

    def forward(self, x, mask):
        B, T, C = x.shape
        q, k, v = (t.view(B, T, self.H, C // self.H).transpose(1, 2) for t in (self.query(x), self.key(x), self.value(x)))
        att = ((q @ k.transpose(-2, -1)) / math.sqrt(C // self.H) + mask).softmax(-1)
        x = self.ln1(x + self.drop1(self.attn_out((att @ v).transpose(1, 2).reshape(B, T, C))))
        return self.ln2(x + self.drop2(self.out(F.gelu(self.inter(x)))))


class MiniLM(nn.Module):
    def __init__(self, V=30522, C=384, L=6, H=12, I=1536, p=0.1):
        super().__init__()
        self.word, self.pos, self.token_type = nn.Embedding(V, C), nn.Embedding(512, C), nn.Embedding(2, C)
        self.ln = nn.LayerNorm(C)
        self.drop_emb, self.drop_cls = nn.Dropout(p), nn.Dropout(p)
        self.layers = nn.ModuleList([BertLayer(C, H, I, p) for _ in range(L)])
        self.classifier = nn.Linear(C, 2)
        for m in (self.word, self.pos, self.token_type, self.ln):
            m.requires_grad_(False)

    def forward(self, ids, mask):
        T = ids.shape[1]
        x = self.drop_emb(self.ln(self.word(ids) + self.pos(torch.arange(T)) + self.token_type(torch.zeros_like(ids))))
        ext = (1.0 - mask[:, None, None, :]) * -1e4
        for layer in self.layers:
            x = layer(x, ext)
        pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
        return self.classifier(self.drop_cls(pooled))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("config", choices=["gpt2", "minilm"])
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first, as lora4j bench train --warmup")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if a.config == "gpt2":
        model, B, T = Gpt2(), 4, 128
        ids = torch.randint(0, 50257, (B, T))
        step_loss = lambda: F.cross_entropy(model(ids)[:, :-1].reshape(-1, 50257), ids[:, 1:].reshape(-1))
    else:
        model, B, T = MiniLM(), 32, 64
        ids = torch.randint(0, 30522, (B, T))
        mask = torch.ones(B, T)
        labels = torch.randint(0, 2, (B,))
        step_loss = lambda: F.cross_entropy(model(ids, mask), labels)
    model.train()   # dropout active, as in training
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01)
    times = []
    for s in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = step_loss()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    timed = times[a.warmup:]
    print(json.dumps({"impl": "pytorch " + torch.__version__, "config": a.config, "batch": B, "seq": T,
                      "trainable_params": sum(p.numel() for p in params),
                      "tokens_per_second": B * T * len(timed) / sum(timed), "seconds_per_step": sum(timed) / len(timed),
                      "warmup_steps": a.warmup,
                      "step_seconds": [round(t, 3) for t in times],   # the warm-up steps first
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "loss": loss.item()}))


if __name__ == "__main__":
    main()
