#!/usr/bin/env python3
"""Reference timings measured in the same run as `paml bench`: numpy sgemm and PyTorch CPU layers.

Usage: reference.py sgemm M,K,N [M,K,N ...]            -> JSON {"M,K,N": gflops}
       reference.py transformer-layer B T C H F         -> JSON {"forward_backward_ms": ..., "torch": version} (needs torch)
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


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "sgemm":
        print(json.dumps(sgemm(sys.argv[2:])))
    elif mode == "transformer-layer":
        b, t, c, h, f = (int(x) for x in sys.argv[2:7])
        print(json.dumps(transformer_layer(b, t, c, h, f)))
    else:
        sys.exit(f"unknown mode {mode}")
