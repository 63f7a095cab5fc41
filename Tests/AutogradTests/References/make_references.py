"""Forward reference values for Tests/AutogradTests (run once: python3 make_references.py).

Every input is wave(n, a, b, s)[i] = s * sin(i * a + b), computed in float64 here and in the Swift
tests (then rounded to float32 there), so both sides see the same numbers. The printed arrays were pasted
into ActivationTests, LayerNormTests, AttentionTests, LossTests and GRUCellTests. The formulas below follow
PyTorch's documented definitions (GELU exact erf form, LayerNorm with biased variance, scaled dot-product
attention with -inf masks, CrossEntropyLoss with label_smoothing and ignore_index, nn.GRUCell).
"""
import math
import numpy as np


def wave(n, a, b, s=1.0):
    return s * np.sin(np.arange(n) * a + b)


def show(name, values):
    flat = ", ".join(f"{v:.7g}" for v in np.asarray(values, dtype=np.float64).ravel())
    print(f"let {name}: [Float] = [{flat}]")


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# Activations: x = wave(8, 0.9, 0.1, 3).
x = wave(8, 0.9, 0.1, 3)
show("geluReference", 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2))))
show("sigmoidReference", sigmoid(x))
show("tanhReference", np.tanh(x))
show("softmaxReference", softmax(x.reshape(2, 4)))

# LayerNorm: x [2,5] = wave(10, 0.7, 0.3, 2), gamma = wave(5, 1.1, 0.2), beta = wave(5, 0.5, 1.0, 0.5).
x = wave(10, 0.7, 0.3, 2).reshape(2, 5)
gamma, beta = wave(5, 1.1, 0.2), wave(5, 0.5, 1.0, 0.5)
mean = x.mean(-1, keepdims=True)
var = ((x - mean) ** 2).mean(-1, keepdims=True)
show("layerNormReference", (x - mean) / np.sqrt(var + 1e-5) * gamma + beta)

# Attention: B=2, H=2, Tq=3, Tk=4, D=2; q = wave(24, 0.37, 0.1, 1.5), k = wave(32, 0.53, 0.7, 1.5),
# v = wave(32, 0.29, 1.3, 1.0); key padding (batch 0: last key, batch 1: keys 1 and 3) and causal with a
# cache (query i sees keys 0...(Tk - Tq + i)).
B, H, Tq, Tk, D = 2, 2, 3, 4, 2
q = wave(B * H * Tq * D, 0.37, 0.1, 1.5).reshape(B, H, Tq, D)
k = wave(B * H * Tk * D, 0.53, 0.7, 1.5).reshape(B, H, Tk, D)
v = wave(B * H * Tk * D, 0.29, 1.3, 1.0).reshape(B, H, Tk, D)
padding = np.array([[False, False, False, True], [False, True, False, True]])
scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(D)
allowed = ~padding[:, None, None, :] & (np.arange(Tk)[None, :] <= (Tk - Tq + np.arange(Tq))[:, None])[None, None]
scores = np.where(allowed, scores, -np.inf)
show("attentionReference", softmax(scores) @ v)

# Cross-entropy: logits [4,5] = wave(20, 0.61, 0.2, 2), targets [1, 4, 0, 2], ignore index 0 (row 2),
# label smoothing 0.1, mean over the 3 kept rows.
logits = wave(20, 0.61, 0.2, 2).reshape(4, 5)
targets = np.array([1, 4, 0, 2])
logp = logits - logits.max(-1, keepdims=True)
logp = logp - np.log(np.exp(logp).sum(-1, keepdims=True))
keep = targets != 0
nll = -logp[np.arange(4), targets]
smooth = -logp.mean(-1)
eps = 0.1
show("crossEntropyReference", [((1 - eps) * nll[keep] + eps * smooth[keep]).mean()])
show("logSoftmaxReference", logp)

# GRU cell: B=2, In=3, Hd=2; x = wave(6, 0.8, 0.3), h = wave(4, 1.3, 0.5, 0.8), W_ih = wave(18, 0.45, 0.9, 0.6),
# W_hh = wave(12, 0.71, 0.2, 0.6), b_ih = wave(6, 1.7, 0.4, 0.3), b_hh = wave(6, 0.9, 1.1, 0.3).
x = wave(6, 0.8, 0.3).reshape(2, 3)
h = wave(4, 1.3, 0.5, 0.8).reshape(2, 2)
w_ih = wave(18, 0.45, 0.9, 0.6).reshape(6, 3)
w_hh = wave(12, 0.71, 0.2, 0.6).reshape(6, 2)
b_ih, b_hh = wave(6, 1.7, 0.4, 0.3), wave(6, 0.9, 1.1, 0.3)
gi, gh = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
r = sigmoid(gi[:, 0:2] + gh[:, 0:2])
z = sigmoid(gi[:, 2:4] + gh[:, 2:4])
n = np.tanh(gi[:, 4:6] + r * gh[:, 4:6])
show("gruReference", (1 - z) * n + z * h)
