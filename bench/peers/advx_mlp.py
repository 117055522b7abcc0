"""advx's epoch and its variants as a peer process, so that ``XLA_FLAGS`` (set per process) can be raced.

Run by ``bench/run.py`` with the app's interpreter and the ``XLA_FLAGS`` under test:
``XLA_FLAGS=... .venv/bin/python bench/peers/advx_mlp.py DATA.npz --variants '["scan (as advx)", "unroll=4"]'``.
Each variant (``advx_variants.VARIANTS``) trains its own copy of the network from the parent's initial
parameters; ``{"cmd": "epoch", "variant": name}`` trains one epoch of that copy (the first one compiles).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from advx.config import TrainConfig  # noqa: E402
from advx.train import _epoch_fn, evaluate  # noqa: E402
from bench.peers.advx_variants import VARIANTS, epoch_variant  # noqa: E402
from protocol import load_npz, serve  # noqa: E402


class AdvxVariants:
    def __init__(self, arrays: dict, variants: list[str], lr: float, batch: int):
        config = TrainConfig(learning_rate=lr, schedule="constant", batch_size=batch)
        n = len(arrays["x_train"])
        self.x8 = jnp.asarray(arrays["x_train"])  # (60000, 784) uint8
        self.x32 = self.x8.astype(jnp.float32) / 255.0
        self.y = jnp.asarray(arrays["y_train"], jnp.int32)
        self.x_test = jnp.asarray(arrays["x_test"], jnp.float32) / 255.0
        self.y_test = jnp.asarray(arrays["y_test"], jnp.int32)
        init = {name: {"kernel": jnp.asarray(arrays[w]), "bias": jnp.asarray(arrays[b])}
                for name, w, b in (("Layer_1", "w1", "b1"), ("Layer_2", "w2", "b2"), ("output", "w3", "b3"))}
        self.state = {}
        for name in variants:
            options = VARIANTS[name]
            optimizer, epoch = (_epoch_fn(config, n) if not options else epoch_variant(config, n, **options))
            x = self.x32 if options.get("float32") else self.x8
            self.state[name] = {"epoch": epoch, "params": init, "opt_state": optimizer.init(init), "x": x, "done": 0}

    def info(self) -> dict:
        return {"framework": "advx (JAX)", "version": jax.__version__, "xla_flags": os.environ.get("XLA_FLAGS", ""),
                "devices": str(jax.devices()), "variants": list(self.state)}

    def epoch(self, variant: str) -> float:
        s = self.state[variant]
        s["done"] += 1
        start = time.perf_counter()
        out = s["epoch"](s["params"], s["opt_state"], jax.random.PRNGKey(s["done"]), s["x"], self.y)
        s["params"], s["opt_state"] = out[0], out[1]
        jax.block_until_ready(s["params"])
        return time.perf_counter() - start

    def evaluate(self, variant: str) -> tuple[float, float]:
        return evaluate(self.state[variant]["params"], self.x_test, self.y_test)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("--variants", required=True, help="a JSON list of names from advx_variants.VARIANTS")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    serve(AdvxVariants(load_npz(args.data), json.loads(args.variants), args.lr, args.batch))


if __name__ == "__main__":
    main()
