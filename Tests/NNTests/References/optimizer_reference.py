"""Golden values for Tests/NNTests/OptimizerTests.swift, from torch.optim (CPU, float32).

Run: python3 Tests/NNTests/References/optimizer_reference.py   (needs torch; printed with torch 2.x)
The inputs (parameters, per-step gradients) are literals repeated in the Swift test; the printed
parameters after each run are hard-coded there.
"""
import torch

W0 = [[0.5, -1.0, 2.0], [0.25, 0.0, -0.75]]
B0 = [0.1, -0.2, 0.3]
GRADS = [  # (dW, dB) per step
    ([[0.1, -0.2, 0.3], [-0.4, 0.5, 0.0]], [1.0, -1.0, 0.5]),
    ([[0.05, 0.0, -0.1], [0.2, -0.3, 0.4]], [0.5, 0.25, -0.5]),
    ([[-0.3, 0.1, 0.2], [0.0, 0.6, -0.2]], [-0.1, 0.2, 0.3]),
]


def noam(step, model_size, warmup, factor):
    return factor * model_size ** -0.5 * min(step ** -0.5, step * warmup ** -1.5)


def run(name, make, schedule=None):
    w = torch.tensor(W0, dtype=torch.float32, requires_grad=True)
    b = torch.tensor(B0, dtype=torch.float32, requires_grad=True)
    opt = make([w, b])
    for step, (gw, gb) in enumerate(GRADS, start=1):
        if schedule is not None:  # PAML's NoamOpt: set the rate, then step
            for group in opt.param_groups:
                group["lr"] = schedule(step)
        w.grad = torch.tensor(gw, dtype=torch.float32)
        b.grad = torch.tensor(gb, dtype=torch.float32)
        opt.step()
    fmt = lambda t: ", ".join(f"{x:.9g}" for x in t.detach().flatten().tolist())
    print(f"{name}:\n  w: [{fmt(w)}]\n  b: [{fmt(b)}]")


run("sgd lr=0.1", lambda p: torch.optim.SGD(p, lr=0.1))
run("sgd lr=0.1 momentum=0.9", lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9))
run("adam lr=0.01", lambda p: torch.optim.Adam(p, lr=0.01))
run("adam lr=0.01 betas=(0.9,0.98) eps=1e-9 weight_decay=0.1",
    lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.9, 0.98), eps=1e-9, weight_decay=0.1))
run("adam noam(d=4, warmup=2, factor=0.5) betas=(0.9,0.98) eps=1e-9",
    lambda p: torch.optim.Adam(p, lr=0, betas=(0.9, 0.98), eps=1e-9),
    schedule=lambda s: noam(s, 4, 2, 0.5))
print("noam d=300 warmup=4000 factor=1:",
      {s: f"{noam(s, 300, 4000, 1.0):.9g}" for s in [1, 2, 100, 3999, 4000, 4001, 10000, 100000]})
