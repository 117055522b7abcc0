"""Peer trainer: the 784-64-64-10 ReLU MLP in PyTorch, eager mode on the CPU, Adam.

Run by ``bench/run.py`` with the peer environment's interpreter:
``.venv-bench/bin/python bench/peers/torch_mlp.py DATA.npz --lr 1e-3 --batch 128 --seed 0``; then driven
one epoch at a time through ``protocol.serve``.

An epoch is the usual eager loop over tensors already in memory: a fresh ``randperm`` each epoch, batches
of 128 gathered by index, the last partial batch dropped (as advx does: 468 steps), ``zero_grad``,
forward, ``cross_entropy``, ``backward``, ``Adam.step`` (torch's defaults: betas 0.9/0.999, eps 1e-8,
the same as optax.adam). The weights start from the parent's initial parameters (advx's initialisation).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "2")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from protocol import THREADS, load_npz, serve  # noqa: E402


def build_model(arrays: dict[str, np.ndarray]) -> nn.Sequential:
    """``Linear(784, 64) - ReLU - Linear(64, 64) - ReLU - Linear(64, 10)`` with the given weights
    (``w*`` are ``(in, out)``; torch stores ``(out, in)``)."""
    model = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    with torch.no_grad():
        for layer, (w, b) in zip((model[0], model[2], model[4]), (("w1", "b1"), ("w2", "b2"), ("w3", "b3"))):
            layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(arrays[w].T)))
            layer.bias.copy_(torch.from_numpy(arrays[b]))
    return model


class TorchTrainer:
    def __init__(self, arrays: dict[str, np.ndarray], lr: float, batch: int, seed: int):
        torch.set_num_threads(THREADS)
        torch.set_num_interop_threads(1)
        torch.manual_seed(seed)
        self.x = torch.from_numpy(arrays["x_train"].astype(np.float32) / 255.0)  # (60000, 784)
        self.y = torch.from_numpy(arrays["y_train"].astype(np.int64))
        self.x_test = torch.from_numpy(arrays["x_test"].astype(np.float32) / 255.0)
        self.y_test = torch.from_numpy(arrays["y_test"].astype(np.int64))
        self.model = build_model(arrays)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr)
        self.batch = batch
        self.generator = torch.Generator().manual_seed(seed)

    def info(self) -> dict:
        return {"framework": "PyTorch", "version": torch.__version__, "mode": "eager",
                "intra_op_threads": torch.get_num_threads(), "inter_op_threads": torch.get_num_interop_threads(),
                "steps_per_epoch": len(self.x) // self.batch, "optimizer": repr(self.optimizer.defaults)}

    def epoch(self) -> float:
        start = time.perf_counter()
        self.model.train()
        n_batches = len(self.x) // self.batch
        order = torch.randperm(len(self.x), generator=self.generator)
        for i in range(n_batches):
            idx = order[i * self.batch:(i + 1) * self.batch]
            self.optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(self.model(self.x[idx]), self.y[idx])
            loss.backward()
            self.optimizer.step()
        return time.perf_counter() - start

    @torch.no_grad()
    def evaluate(self) -> tuple[float, float]:
        self.model.eval()
        logits = self.model(self.x_test)
        return (F.cross_entropy(logits, self.y_test).item(),
                (logits.argmax(1) == self.y_test).float().mean().item())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=None, help="unused: the parent asks for each epoch")
    args = parser.parse_args()
    serve(TorchTrainer(load_npz(args.data), args.lr, args.batch, args.seed))


if __name__ == "__main__":
    main()
