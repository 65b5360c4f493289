#!/usr/bin/env python3
"""The PyTorch side of docs/results.md: the LoRA paper's E2E recipe on the same small GPT-2 base, the same data
split and the same hyper-parameters as `lora4j train`, written from the papers' and PEFT's/loralib's formulas (no
lora4j code). One method per run:

  lora   loralib MergedLinear on c_attn, enable_lora=[True, False, True] (q and v), A kaiming-uniform, B zero
  dora   PEFT LoRA on all of c_attn with use_dora: W' = m * (W0 + s*B*A) / ||W0 + s*B*A|| (norm detached)
  edora  EDoRA: B = U_r, A = S_r V_r^T from the SVD of W0 (frozen), a trainable r x r R ~ N(0, 1e-5), and DoRA's m
  full   every weight trains

The model is GPT-2 as lora4j runs it: gelu_new, dropout 0.1 on the embeddings and both residual branches, none on
the attention probabilities. Each example is context + " " + reference + <|endoftext|>; the loss (label smoothing
0.1) counts the reference and the end token. After training the update is merged and the model written as a
Hugging Face directory (float32), so `lora4j generate` and `lora4j score` decode and score both frameworks' models
the same way. Prints one JSON line: trainable parameters, validation loss (plain cross-entropy, per predicted
token), wall time of training plus that validation pass.

  OPENBLAS_NUM_THREADS=2 /usr/bin/python3 scripts/e2e/torch_e2e.py --method lora --base models/tiny-gpt2-sst2 \
      --train RUN/train-split.txt --valid RUN/valid-split.txt --out OUT
"""
import argparse
import json
import math
import os
import random
import shutil
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import safetensors_io  # noqa: E402
from gpt2_bpe import END_OF_TEXT, encoder  # noqa: E402


def kaiming_uniform(rows, fan_in, g):
    """nn.init.kaiming_uniform_(a=sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in)), from a seeded generator."""
    return (torch.rand(rows, fan_in, generator=g) * 2 - 1) / math.sqrt(fan_in)


class Adapted(nn.Module):
    """GPT-2's Conv1D c_attn (weight in x out) with one of the update methods."""

    def __init__(self, weight, bias, method, r, alpha, dropout, g):
        super().__init__()
        n_in, n_out = weight.shape
        self.weight, self.bias = nn.Parameter(weight, requires_grad=False), nn.Parameter(bias, requires_grad=False)
        self.method, self.r, self.s, self.drop = method, r, alpha / r, nn.Dropout(dropout)
        if method == "lora":                                    # q and v groups
            self.part = n_out // 3
            a = kaiming_uniform(2 * r, n_in, g)
            self.lora_A, self.lora_B = nn.Parameter(a), nn.Parameter(torch.zeros(2 * self.part, r))
            return
        w_out_in = weight.t()
        if method == "dora":
            a = kaiming_uniform(r, n_in, g)
            self.lora_A, self.lora_B = nn.Parameter(a), nn.Parameter(torch.zeros(n_out, r))
            self.R = None
        else:                                                   # edora
            u, sv, vh = torch.linalg.svd(w_out_in.double(), full_matrices=False)
            self.lora_B = nn.Parameter(u[:, :r].float(), requires_grad=False)
            self.lora_A = nn.Parameter((sv[:r, None] * vh[:r]).float(), requires_grad=False)
            self.R = nn.Parameter(torch.randn(r, r, generator=g) * 1e-5)
        self.m = nn.Parameter((w_out_in + self.s * self.delta()).norm(dim=1).detach())

    def delta(self):                                            # (out, in)
        a = self.lora_A if self.R is None else self.R @ self.lora_A
        return self.lora_B @ a

    def forward(self, x):
        base = x @ self.weight + self.bias
        xd = self.drop(x)
        if self.method == "lora":
            h = xd @ self.lora_A.t()
            q = h[..., :self.r] @ self.lora_B[:self.part].t()
            v = h[..., self.r:] @ self.lora_B[self.part:].t()
            return base + self.s * torch.cat([q, torch.zeros_like(q), v], dim=-1)
        norm = (self.weight.t() + self.s * self.delta()).norm(dim=1).detach()
        scale = self.m / norm
        lora = (xd @ (self.lora_A if self.R is None else self.R @ self.lora_A).t()) @ self.lora_B.t()
        return base + (scale - 1) * (xd @ self.weight) + scale * lora * self.s

    def merged_weight(self):                                    # (in, out)
        with torch.no_grad():
            if self.method == "lora":
                d = torch.zeros(self.weight.shape[1], self.weight.shape[0])
                d[:self.part] = self.lora_B[:self.part] @ self.lora_A[:self.r]
                d[2 * self.part:] = self.lora_B[self.part:] @ self.lora_A[self.r:]
                return self.weight + self.s * d.t()
            w = self.weight.t() + self.s * self.delta()
            return (self.m[:, None] * w / w.norm(dim=1, keepdim=True)).t()


class Block(nn.Module):
    def __init__(self, w, i, cfg, args, g):
        super().__init__()
        p = f"h.{i}."
        self.H, eps, pd = cfg["n_head"], cfg.get("layer_norm_epsilon", 1e-5), cfg.get("resid_pdrop", 0.1)
        C = cfg["n_embd"]
        self.ln_1, self.ln_2 = nn.LayerNorm(C, eps=eps), nn.LayerNorm(C, eps=eps)
        for ln, n in ((self.ln_1, "ln_1"), (self.ln_2, "ln_2")):
            ln.weight.data, ln.bias.data = w[p + n + ".weight"], w[p + n + ".bias"]
        cw, cb = w[p + "attn.c_attn.weight"], w[p + "attn.c_attn.bias"]
        self.c_attn = Adapted(cw, cb, args.method, args.r, args.alpha, args.dropout, g) if args.method != "full" else None
        if self.c_attn is None:
            self.c_attn_w, self.c_attn_b = nn.Parameter(cw), nn.Parameter(cb)
        self.attn_proj_w, self.attn_proj_b = nn.Parameter(w[p + "attn.c_proj.weight"]), nn.Parameter(w[p + "attn.c_proj.bias"])
        self.fc_w, self.fc_b = nn.Parameter(w[p + "mlp.c_fc.weight"]), nn.Parameter(w[p + "mlp.c_fc.bias"])
        self.mlp_proj_w, self.mlp_proj_b = nn.Parameter(w[p + "mlp.c_proj.weight"]), nn.Parameter(w[p + "mlp.c_proj.bias"])
        self.drop1, self.drop2 = nn.Dropout(pd), nn.Dropout(pd)

    def forward(self, x, mask):
        B, T, C = x.shape
        h = self.ln_1(x)
        qkv = self.c_attn(h) if self.c_attn is not None else h @ self.c_attn_w + self.c_attn_b
        q, k, v = (t.view(B, T, self.H, C // self.H).transpose(1, 2) for t in qkv.split(C, dim=2))
        att = ((q @ k.transpose(-2, -1)) / math.sqrt(C // self.H)).masked_fill(mask[:T, :T], float("-inf")).softmax(-1)
        x = x + self.drop1((att @ v).transpose(1, 2).reshape(B, T, C) @ self.attn_proj_w + self.attn_proj_b)
        h = F.gelu(self.ln_2(x) @ self.fc_w + self.fc_b, approximate="tanh")
        return x + self.drop2(h @ self.mlp_proj_w + self.mlp_proj_b)

    def export(self, i):
        p = f"h.{i}."
        w = self.c_attn.merged_weight() if self.c_attn is not None else self.c_attn_w
        b = self.c_attn.bias if self.c_attn is not None else self.c_attn_b
        return {p + "ln_1.weight": self.ln_1.weight, p + "ln_1.bias": self.ln_1.bias, p + "ln_2.weight": self.ln_2.weight,
                p + "ln_2.bias": self.ln_2.bias, p + "attn.c_attn.weight": w, p + "attn.c_attn.bias": b,
                p + "attn.c_proj.weight": self.attn_proj_w, p + "attn.c_proj.bias": self.attn_proj_b,
                p + "mlp.c_fc.weight": self.fc_w, p + "mlp.c_fc.bias": self.fc_b,
                p + "mlp.c_proj.weight": self.mlp_proj_w, p + "mlp.c_proj.bias": self.mlp_proj_b}


class Gpt2(nn.Module):
    def __init__(self, w, cfg, args, g):
        super().__init__()
        C = cfg["n_embd"]
        self.wte, self.wpe = nn.Parameter(w["wte.weight"]), nn.Parameter(w["wpe.weight"])
        self.h = nn.ModuleList([Block(w, i, cfg, args, g) for i in range(cfg["n_layer"])])
        self.ln_f = nn.LayerNorm(C, eps=cfg.get("layer_norm_epsilon", 1e-5))
        self.ln_f.weight.data, self.ln_f.bias.data = w["ln_f.weight"], w["ln_f.bias"]
        self.drop = nn.Dropout(cfg.get("embd_pdrop", 0.1))
        P = cfg["n_positions"]
        self.register_buffer("mask", torch.ones(P, P, dtype=torch.bool).triu(1), persistent=False)

    def forward(self, ids):
        x = self.drop(self.wte[ids] + self.wpe[:ids.shape[1]])
        for b in self.h:
            x = b(x, self.mask)
        return self.ln_f(x) @ self.wte.t()

    def export(self):
        out = {"wte.weight": self.wte, "wpe.weight": self.wpe, "ln_f.weight": self.ln_f.weight, "ln_f.bias": self.ln_f.bias}
        for i, b in enumerate(self.h):
            out.update(b.export(i))
        return {"transformer." + k: v for k, v in out.items()}


def read_examples(path, encode, max_length):
    out = []
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if not line:
            continue
        context, reference = (s.strip() for s in line.split("||", 1))      # as lora4j's reader
        prompt = encode(context)
        ids = (prompt + encode(" " + reference) + [END_OF_TEXT])[:max_length]
        out.append((ids, len(prompt)))
    return out


def batch(examples):
    T = max(len(ids) for ids, _ in examples)
    x = torch.full((len(examples), T), END_OF_TEXT, dtype=torch.long)
    y = torch.full((len(examples), T), -100, dtype=torch.long)
    for i, (ids, start) in enumerate(examples):
        x[i, :len(ids)] = torch.tensor(ids)
        for p in range(max(1, start), len(ids)):
            y[i, p - 1] = ids[p]                    # position p-1 predicts token p: the reference and the end token
    return x, y


def main():
    ap = argparse.ArgumentParser()
    for name, kind, default in (("method", str, "lora"), ("base", str, None), ("train", str, None), ("valid", str, None),
                                ("out", str, None), ("r", int, 4), ("alpha", float, 32), ("dropout", float, 0.1),
                                ("lr", float, 2e-4), ("weight-decay", float, 0.01), ("warmup-steps", int, 500),
                                ("max-steps", int, 0), ("epochs", int, 5), ("batch-size", int, 8),
                                ("label-smoothing", float, 0.1), ("seed", int, 110), ("max-length", int, 512)):
        ap.add_argument("--" + name, type=kind, default=default)
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    g = torch.Generator().manual_seed(args.seed)
    cfg = json.load(open(os.path.join(args.base, "config.json")))
    weights = {k.removeprefix("transformer."): v for k, v in safetensors_io.read(os.path.join(args.base, "model.safetensors")).items()}
    model = Gpt2(weights, cfg, args, g)
    if args.method != "full":
        for n, p in model.named_parameters():
            p.requires_grad_(n.endswith(("lora_A", "lora_B", ".R", ".m")) and p.requires_grad)
    params = [p for p in model.parameters() if p.requires_grad]
    encode = encoder()
    max_length = min(args.max_length, cfg["n_positions"])
    train, valid = read_examples(args.train, encode, max_length), read_examples(args.valid, encode, max_length)
    steps_per_epoch = math.ceil(len(train) / args.batch_size)
    total = args.max_steps if args.max_steps > 0 else steps_per_epoch * args.epochs
    opt = torch.optim.AdamW(params, lr=args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=args.weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: (s + 1) / args.warmup_steps if s < args.warmup_steps
                                                 else max(0.0, (total - s) / max(1, total - args.warmup_steps)))
    rng = random.Random(args.seed)
    order, step, tokens, t0 = [], 0, 0, time.time()
    model.train()
    while step < total:
        if not order:
            order = list(range(len(train)))
            rng.shuffle(order)
        rows, order = order[:args.batch_size], order[args.batch_size:]
        x, y = batch([train[i] for i in rows])
        logits = model(x)
        loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), y.view(-1), ignore_index=-100, label_smoothing=args.label_smoothing)
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
        step += 1
        tokens += int((y >= 0).sum())
        if step % 50 == 0 or step == total:
            print(f"step {step}/{total} loss {loss.item():.4f} {tokens / (time.time() - t0):.0f} predicted tokens/s", file=sys.stderr)
    model.eval()
    loss_sum, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(valid), args.batch_size):
            x, y = batch(valid[i:i + args.batch_size])
            logits = model(x)
            n = int((y >= 0).sum())
            loss_sum += F.cross_entropy(logits.view(-1, logits.shape[-1]), y.view(-1), ignore_index=-100).item() * n
            count += n
        seconds = time.time() - t0                  # training and the validation pass, as lora4j's train reports it
        os.makedirs(args.out, exist_ok=True)
        shutil.copy(os.path.join(args.base, "config.json"), os.path.join(args.out, "config.json"))
        safetensors_io.write(os.path.join(args.out, "model.safetensors"), {k: v.detach().float() for k, v in model.export().items()},
                             {"format": "pt"})
    print(json.dumps({"framework": "pytorch", "method": args.method, "trainable_params": sum(p.numel() for p in params),
                      "valid_loss": loss_sum / count, "train_seconds": seconds, "steps": total}))


if __name__ == "__main__":
    main()
