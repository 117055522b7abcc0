"""Peer trainer: the 784-64-64-10 ReLU MLP in Keras 3 on TensorFlow (CPU), trained with ``model.fit``.

Run by ``bench/run.py`` with the peer environment's interpreter:
``.venv-bench/bin/python bench/peers/keras_mlp.py DATA.npz --epochs 10 --lr 1e-3 --batch 128 --seed 0``.

One ``model.fit(x, y, batch_size=128, epochs=N, shuffle=True)`` call trains every epoch, as a Keras user
would; a callback holds each epoch until the parent asks for it (so epochs of different frameworks can be
interleaved) and times it from ``on_epoch_begin`` to ``on_epoch_end``. That window includes what ``fit``
does per epoch (the shuffled batches' iterator, the steps, the loss tracker), and nothing between epochs.
``compile`` keeps Keras' defaults (``jit_compile="auto"``, ``steps_per_execution=1``) and tracks the loss
only. Adam with epsilon 1e-8 (Keras' default is 1e-7; optax and torch use 1e-8). The weights start from
the parent's initial parameters (advx's initialisation). Keras keeps the last partial batch (469 steps of
which the last has 96 images, against 468 full ones for advx and PyTorch: 0.2% more images per epoch).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("OMP_NUM_THREADS", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from protocol import THREADS, answer, load_npz, serve  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(THREADS)
tf.config.threading.set_inter_op_parallelism_threads(1)

import keras  # noqa: E402


class _Quit(Exception):
    pass


class KerasTrainer:
    def __init__(self, arrays: dict[str, np.ndarray], epochs: int, lr: float, batch: int, seed: int):
        keras.utils.set_random_seed(seed)
        self.x = arrays["x_train"].astype(np.float32) / 255.0  # (60000, 784)
        self.y = arrays["y_train"].astype(np.int32)
        self.x_test = arrays["x_test"].astype(np.float32) / 255.0
        self.y_test = arrays["y_test"].astype(np.int32)
        self.epochs, self.batch = epochs, batch
        self.model = keras.Sequential([
            keras.Input((784,)),
            keras.layers.Dense(64, activation="relu", name="Layer_1"),
            keras.layers.Dense(64, activation="relu", name="Layer_2"),
            keras.layers.Dense(10, name="output"),
        ])
        self.model.set_weights([arrays[k] for k in ("w1", "b1", "w2", "b2", "w3", "b3")])
        self.model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr, epsilon=1e-8),
                           loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    def info(self) -> dict:
        return {"framework": "Keras", "version": keras.__version__, "tensorflow": tf.__version__,
                "backend": keras.backend.backend(), "mode": "model.fit",
                "jit_compile": str(getattr(self.model, "jit_compile", "unknown")),
                "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
                "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
                "steps_per_epoch": -(-len(self.x) // self.batch)}

    def epoch(self) -> float:
        raise RuntimeError(f"model.fit was started for {self.epochs} epochs and has finished them")

    def evaluate(self) -> tuple[float, float]:
        logits = self.model(self.x_test, training=False)
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(self.y_test, logits)
        return float(loss), float(np.mean(np.argmax(np.asarray(logits), axis=1) == self.y_test))

    def fit(self) -> None:
        trainer = self

        class Gate(keras.callbacks.Callback):
            """Wait for the parent before each epoch; answer with the epoch's wall time after it."""

            def on_epoch_begin(self, epoch, logs=None):
                if serve(trainer, until_epoch=True) != "epoch":
                    raise _Quit()
                self.start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                answer({"seconds": time.perf_counter() - self.start})

        try:
            self.model.fit(self.x, self.y, batch_size=self.batch, epochs=self.epochs, shuffle=True, verbose=0,
                           callbacks=[Gate()])
        except _Quit:
            return
        serve(self)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    KerasTrainer(load_npz(args.data), args.epochs, args.lr, args.batch, args.seed).fit()


if __name__ == "__main__":
    main()
