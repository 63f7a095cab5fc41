#!/usr/bin/env python3
"""Reference timings measured in the same run as `paml bench`: numpy sgemm and PyTorch CPU layers.

Usage: reference.py sgemm M,K,N [M,K,N ...]            -> JSON {"M,K,N": gflops}
       reference.py transformer-layer B T C H F         -> JSON {"forward_backward_ms": ..., "torch": version} (needs torch)
       reference.py seq2seq B S T V LAYERS C H D F E THREADS BEAM STEPS [PARAMS]
                                                        -> JSON {"target_tokens_per_s", "beam_ms", ...} (needs torch;
                                                           asserts the parameter count PARAMS when given)
Timing rule (same as the Swift side): repeat until at least `min_seconds` have passed, report the best of 5 such runs.
"""
import json
import sys
import time


def best_time(fn, min_seconds=0.3, rounds=5):
    fn()  # warm-up
    best = float("inf")
    for _ in range(rounds):
        n, start = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds:
                break
        best = min(best, elapsed / n)
    return best


def sgemm(shapes):
    import numpy as np
    rng = np.random.default_rng(0)
    out = {}
    for shape in shapes:
        m, k, n = (int(x) for x in shape.split(","))
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        seconds = best_time(lambda: a @ b)
        out[shape] = 2.0 * m * n * k / seconds / 1e9
    out["numpy"] = np.__version__
    return out


def transformer_layer(batch, time_steps, width, heads, ffn):
    """One pre-norm Transformer encoder layer (PyTorch's own, norm_first=True, ReLU, no dropout) forward + backward."""
    import torch
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(width, heads, ffn, dropout=0.0, batch_first=True, norm_first=True)
    x = torch.randn(batch, time_steps, width, requires_grad=True)

    def step():
        layer.zero_grad(set_to_none=True)
        y = layer(x)
        y.sum().backward()

    seconds = best_time(step)
    return {"forward_backward_ms": seconds * 1e3, "torch": torch.__version__, "threads": torch.get_num_threads()}


def seq2seq(batch, source_len, target_len, vocab, layers, width, heads, depth, ffn, emb, threads, beam_size, steps,
            expected_params):
    """The PAML dialogue model (Sources/Dialogue/Seq2Seq.swift) in PyTorch: a training step (forward,
    label-smoothed loss, backward, Adam) on a fixed synthetic batch, and beam / greedy generation latency
    for one source of `source_len` tokens, `steps` steps with EOS forbidden (every run takes all of them),
    decoding with a KV cache (self-attention keys/values appended per step, cross-attention memory projected once)."""
    import math
    import torch
    import torch.nn.functional as F
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    pad, eos, sos = 1, 2, 3

    def positions(count, start=0):
        # tensor2tensor timing signal: [sin(t inv_i), cos(t inv_i)] halves, as sinusoidalPositions
        n = width // 2
        inv = torch.exp(-torch.arange(n, dtype=torch.float64) * math.log(1.0e4) / max(n - 1, 1))
        angle = torch.arange(start, start + count, dtype=torch.float64)[:, None] * inv[None, :]
        signal = torch.cat([torch.sin(angle), torch.cos(angle)], dim=1).float()
        return F.pad(signal, (0, width - 2 * n))                                   # [T, C]

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.q, self.k, self.v = (nn.Linear(width, depth, bias=False) for _ in range(3))
            self.o = nn.Linear(depth, width, bias=False)

        def split(self, x):                                                        # [B, T, D] -> [B, H, T, D/H]
            return x.view(x.shape[0], x.shape[1], heads, depth // heads).transpose(1, 2)

        def forward(self, x, memory=None, allowed=None, cache=None):
            q = self.split(self.q(x))
            if memory is not None:                                                 # cross-attention
                if cache is not None and "k" in cache:
                    k, v = cache["k"], cache["v"]
                else:
                    k, v = self.split(self.k(memory)), self.split(self.v(memory))
            else:
                k, v = self.split(self.k(x)), self.split(self.v(x))
                if cache is not None and "k" in cache:
                    k, v = torch.cat([cache["k"], k], dim=2), torch.cat([cache["v"], v], dim=2)
            if cache is not None:
                cache["k"], cache["v"] = k, v
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)         # [B, H, Tq, D/H]
            return self.o(y.transpose(1, 2).reshape(x.shape[0], x.shape[1], depth))

    class FeedForward(nn.Module):
        def __init__(self):
            super().__init__()
            self.input, self.output = nn.Linear(width, ffn), nn.Linear(ffn, width)

        def forward(self, x):
            return self.output(F.relu(self.input(x)))

    class EncoderLayer(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm1, self.attention = nn.LayerNorm(width), Attention()
            self.norm2, self.feedForward = nn.LayerNorm(width), FeedForward()

        def forward(self, x, allowed):
            x = x + self.attention(self.norm1(x), allowed=allowed)
            return x + self.feedForward(self.norm2(x))

    class DecoderLayer(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm1, self.selfAttention = nn.LayerNorm(width), Attention()
            self.norm2, self.crossAttention = nn.LayerNorm(width), Attention()
            self.norm3, self.feedForward = nn.LayerNorm(width), FeedForward()

        def forward(self, x, memory, self_allowed, cross_allowed, cache=None):
            x = x + self.selfAttention(self.norm1(x), allowed=self_allowed, cache=None if cache is None else cache[0])
            x = x + self.crossAttention(self.norm2(x), memory=memory, allowed=cross_allowed,
                                        cache=None if cache is None else cache[1])
            return x + self.feedForward(self.norm3(x))

    class Seq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocab, emb, padding_idx=pad)
            nn.init.normal_(self.embedding.weight, std=emb ** -0.5)
            self.encoderInput = nn.Linear(emb, width, bias=False)
            self.encoder = nn.ModuleList(EncoderLayer() for _ in range(layers))
            self.encoderNorm = nn.LayerNorm(width)
            self.decoderInput = nn.Linear(emb, width, bias=False)
            self.decoder = nn.ModuleList(DecoderLayer() for _ in range(layers))
            self.decoderNorm = nn.LayerNorm(width)
            self.outputProjection = nn.Linear(width, emb, bias=False)

        def encode(self, source):                                                  # [B, S] -> [B, S, C]
            allowed = (source != pad)[:, None, None, :]                            # [B, 1, 1, S]
            h = self.encoderInput(self.embedding(source)) + positions(source.shape[1])
            for layer in self.encoder:
                h = layer(h, allowed)
            return self.encoderNorm(h), allowed

        def decode(self, target, memory, cross_allowed, cache=None, start=0):      # [B, T] -> logits [B, T, V]
            t = target.shape[1]
            keys = start + t
            self_allowed = torch.ones(t, keys, dtype=torch.bool).tril(diagonal=start)  # query i sees keys <= start + i
            h = self.decoderInput(self.embedding(target)) + positions(t, start)
            for i, layer in enumerate(self.decoder):
                h = layer(h, memory, self_allowed, cross_allowed, None if cache is None else cache[i])
            return (self.outputProjection(self.decoderNorm(h))) @ self.embedding.weight.T

    model = Seq2Seq()
    count = sum(p.numel() for p in model.parameters())
    assert expected_params is None or count == expected_params, f"torch model has {count} parameters, ours {expected_params}"

    g = torch.Generator().manual_seed(0)
    source = torch.randint(4, vocab, (batch, source_len), generator=g)
    responses = torch.randint(4, vocab, (batch, target_len - 1), generator=g)
    target_in = torch.cat([torch.full((batch, 1), sos), responses], dim=1)      # SOS + response
    target_out = torch.cat([responses, torch.full((batch, 1), eos)], dim=1)     # response + EOS
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)

    def train_step():
        optimizer.zero_grad(set_to_none=True)
        memory, allowed = model.encode(source)
        logits = model.decode(target_in, memory, allowed)
        loss = F.cross_entropy(logits.reshape(-1, vocab), target_out.reshape(-1), ignore_index=pad, label_smoothing=0.1)
        loss.backward()
        optimizer.step()

    train_seconds = best_time(train_step)

    def generate(beam):
        with torch.inference_mode():
            memory, allowed = model.encode(source[:1])                             # [1, S, C]
            cache = [({}, {}) for _ in range(layers)]
            tokens = torch.full((1, 1), sos)
            scores = torch.zeros(1)
            for step in range(steps):
                logits = model.decode(tokens[:, -1:], memory.expand(tokens.shape[0], -1, -1),
                                      allowed.expand(tokens.shape[0], -1, -1, -1), cache, start=step)
                logp = F.log_softmax(logits[:, -1], dim=-1)                         # [beams, V]
                logp[:, [pad, sos, eos]] = -math.inf                                # EOS forbidden: all steps run
                total = (scores[:, None] + logp).reshape(-1)
                scores, flat = total.topk(beam)                                     # greedy: beam 1
                parents, next_tokens = flat // vocab, flat % vocab
                tokens = torch.cat([tokens[parents], next_tokens[:, None]], dim=1)
                for layer_cache in cache:                                           # both caches follow the parents
                    for c in layer_cache:
                        c["k"], c["v"] = c["k"][parents], c["v"][parents]
            return tokens

    beam_seconds = best_time(lambda: generate(beam_size))
    greedy_seconds = best_time(lambda: generate(1))
    return {"parameters": count, "train_step_ms": train_seconds * 1e3,
            "target_tokens_per_s": batch * target_len / train_seconds,
            "tokens_per_s": batch * (source_len + target_len) / train_seconds,
            "beam_ms": beam_seconds * 1e3, "greedy_ms": greedy_seconds * 1e3,
            "torch": torch.__version__, "threads": torch.get_num_threads()}


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "sgemm":
        print(json.dumps(sgemm(sys.argv[2:])))
    elif mode == "transformer-layer":
        b, t, c, h, f = (int(x) for x in sys.argv[2:7])
        print(json.dumps(transformer_layer(b, t, c, h, f)))
    elif mode == "seq2seq":
        b, s, t, v, n, c, h, d, f, e, threads, beam, steps = (int(x) for x in sys.argv[2:15])
        expected = int(sys.argv[15]) if len(sys.argv) > 15 else None
        print(json.dumps(seq2seq(b, s, t, v, n, c, h, d, f, e, threads, beam, steps, expected)))
    else:
        sys.exit(f"unknown mode {mode}")
