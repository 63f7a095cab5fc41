"""Golden values for Tests/NNTests/LayerTests.swift, computed in float64 numpy.

Run once: `python3 Tests/NNTests/References/layer_reference.py`; the printed arrays are pasted into
LayerTests.swift. Inputs and weights come from `pattern` (the same formula is in the Swift test), so no
random generator has to agree across languages.
"""
import numpy as np


def pattern(shape, phase, scale=1.0):
    n = int(np.prod(shape))
    return (scale * np.sin(np.arange(n) * 0.7 + phase)).reshape(shape)


def show(name, a):
    flat = ", ".join(f"{v:.7g}" for v in np.asarray(a).reshape(-1))
    print(f"// {name} {list(np.shape(a))}\n[{flat}]\n")


def linear(x, w, b):
    return x @ w.T + (0 if b is None else b)


def layer_norm(x, g, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def timing_signal(length, channels, start=0, min_timescale=1.0, max_timescale=1.0e4):
    """tensor2tensor get_timing_signal_1d (the copy in PAML's common/layers.py)."""
    position = np.arange(start, start + length, dtype=np.float64)
    num_timescales = channels // 2
    log_increment = np.log(max_timescale / min_timescale) / max(num_timescales - 1, 1)
    inv = min_timescale * np.exp(np.arange(num_timescales) * -log_increment)
    scaled = position[:, None] * inv[None, :]
    signal = np.concatenate([np.sin(scaled), np.cos(scaled)], axis=1)
    return np.pad(signal, [[0, 0], [0, channels % 2]])


def split_heads(x, h):
    b, t, c = x.shape
    return x.reshape(b, t, h, c // h).transpose(0, 2, 1, 3)


def attention(x, prefix, heads, padding, causal):
    q = split_heads(linear(x, prefix["query.weight"], prefix["query.bias"]), heads)
    k = split_heads(linear(x, prefix["key.weight"], prefix["key.bias"]), heads)
    v = split_heads(linear(x, prefix["value.weight"], prefix["value.bias"]), heads)
    scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(q.shape[-1])   # [B,H,T,T]
    b, _, t, _ = scores.shape
    masked = np.zeros_like(scores, dtype=bool)
    masked |= padding.reshape(b, 1, 1, t)
    if causal:
        masked |= np.triu(np.ones((t, t), dtype=bool), 1)
    scores = np.where(masked, -np.inf, scores)
    p = np.exp(scores - scores.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    o = (p @ v).transpose(0, 2, 1, 3).reshape(b, t, -1)
    return linear(o, prefix["output.weight"], prefix["output.bias"])


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def gru(x, h, wih, whh, bih, bhh, lengths):
    hd = h.shape[1]
    outs = []
    for t in range(x.shape[1]):
        gi = x[:, t] @ wih.T + bih
        gh = h @ whh.T + bhh
        r = sigmoid(gi[:, :hd] + gh[:, :hd])
        z = sigmoid(gi[:, hd:2 * hd] + gh[:, hd:2 * hd])
        n = np.tanh(gi[:, 2 * hd:] + r * gh[:, 2 * hd:])
        new = (1 - z) * n + z * h
        active = (t < np.array(lengths))[:, None]
        h = np.where(active, new, h)
        outs.append(h)
    return np.stack(outs, 1), h


# Linear: x [2,3,4], W [5,4], b [5].
x = pattern([2, 3, 4], 0.1)
show("linear", linear(x, pattern([5, 4], 0.2, 0.5), pattern([5], 0.3, 0.1)))

# LayerNorm: x [2,3,6] (offset and scaled rows), weight and bias [6].
x = pattern([2, 3, 6], 0.4, 3.0) + 1.5
show("layerNorm", layer_norm(x, 1 + pattern([6], 0.5, 0.2), pattern([6], 0.6, 0.1)))

# Timing signal, odd width and an offset start.
show("positions", timing_signal(3, 7, start=2))

# Self-attention, C = 4, 2 heads, key and value depth 4, with biases, padding and causal mask.
params = {
    "query.weight": pattern([4, 4], 1.0, 0.5), "query.bias": pattern([4], 1.1, 0.1),
    "key.weight": pattern([4, 4], 1.2, 0.5), "key.bias": pattern([4], 1.3, 0.1),
    "value.weight": pattern([4, 4], 1.4, 0.5), "value.bias": pattern([4], 1.5, 0.1),
    "output.weight": pattern([4, 4], 1.6, 0.5), "output.bias": pattern([4], 1.7, 0.1),
}
x = pattern([2, 3, 4], 0.8)
padding = np.array([False, False, False, False, False, True])
show("attention", attention(x, params, 2, padding, causal=True))

# GRU: B = 2, T = 3, In = 3, Hd = 2, initial state given, lengths [3, 2].
outs, last = gru(pattern([2, 3, 3], 2.0), pattern([2, 2], 2.1, 0.5),
                 pattern([6, 3], 2.2, 0.6), pattern([6, 2], 2.3, 0.6),
                 pattern([6], 2.4, 0.2), pattern([6], 2.5, 0.2), [3, 2])
show("gru outputs", outs)
show("gru last", last)
