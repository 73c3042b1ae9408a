#!/usr/bin/env python3
"""Plain-PyTorch reference for `ite bench train`: the same two TARNets and the same loop.

Runs where torch is installed (CPU); prints one JSON line like `ite bench train`, so the two
programs can be compared on one machine:

    python3 benches/reference/tarnet_pytorch.py --net paper --steps 20000
    python3 benches/reference/tarnet_pytorch.py --net ihdp --steps 2000
    cargo run --release -p ite-cli -- bench train --net paper --steps 20000
    cargo run --release -p ite-cli -- bench train --net ihdp --steps 2000

Networks (as in `ite_nets::bench::BenchNet`):
  paper: 5 -> 20 -> 20 -> 20 (ReLU), heads 20 -> 10 -> 10 -> 1, batch 32, no L2
  ihdp:  25 -> 200 -> 200 -> 200 (ELU), heads 200 -> 100 -> 100 -> 100 -> 1, batch 100, L2 1e-4 on head weights

Step: gather a minibatch from a fixed synthetic sample (shuffled order, every row each epoch),
forward Phi and both heads, factual squared error (+ L2), backward, Adam (lr 1e-3).
Threads default to 1, as `ite` runs one fit per thread.
"""

import argparse
import json
import time

import torch
from torch import nn

NETS = {
    "paper": dict(p=5, phi=[20, 20, 20], heads=[10, 10], act=nn.ReLU, batch=32, l2=0.0),
    "ihdp": dict(p=25, phi=[200, 200, 200], heads=[100, 100, 100], act=nn.ELU, batch=100, l2=1e-4),
}


def mlp(widths, act, activate_last):
    layers = []
    for k, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(a, b))
        if k < len(widths) - 2 or activate_last:
            layers.append(act())
    return nn.Sequential(*layers)


class TarNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.phi = mlp([cfg["p"]] + cfg["phi"], cfg["act"], True)
        head = [cfg["phi"][-1]] + cfg["heads"] + [1]
        self.h0 = mlp(head, cfg["act"], False)
        self.h1 = mlp(head, cfg["act"], False)

    def forward(self, x):
        r = self.phi(x)
        return self.h0(r).squeeze(1), self.h1(r).squeeze(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--net", choices=sorted(NETS), default="paper")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--warmup", type=int, default=None)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    cfg = NETS[args.net]
    batch = args.batch or cfg["batch"]
    steps = args.steps or (20000 if args.net == "paper" else 2000)
    warmup = args.warmup if args.warmup is not None else max(steps // 10, 10)
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)

    n = 50 * batch
    x = torch.randn(n, cfg["p"])
    t = (torch.rand(n) < 0.5).float()
    y = x.sum(1) * 0.3 + t * (1 + 0.05 * x.sum(1)) + torch.randn(n)
    net = TarNet(cfg)
    head_weights = [m.weight for h in (net.h0, net.h1) for m in h if isinstance(m, nn.Linear)]
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)

    def run(n_steps):
        done = 0
        while done < n_steps:
            order = torch.randperm(n)
            for s in range(0, n, batch):
                if done == n_steps:
                    return
                idx = order[s : s + batch]
                xb, tb, yb = x[idx], t[idx], y[idx]
                h0, h1 = net(xb)
                pred = h0 + tb * (h1 - h0)
                loss = ((yb - pred) ** 2).mean()
                if cfg["l2"] > 0:
                    loss = loss + cfg["l2"] * sum((w**2).sum() for w in head_weights)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                loss.item()  # the loop reads the loss every step, as ite's does
                done += 1

    run(warmup)
    start = time.perf_counter()
    run(steps)
    secs = time.perf_counter() - start
    print(
        json.dumps(
            {
                "net": args.net,
                "batch": batch,
                "steps": steps,
                "steps_per_sec": round(steps / secs, 1),
                "threads": args.threads,
                "framework": f"pytorch {torch.__version__}",
            }
        )
    )


if __name__ == "__main__":
    main()
