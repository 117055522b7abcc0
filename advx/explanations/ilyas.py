"""Ilyas et al. 2019, "Adversarial Examples Are Not Bugs, They Are Features", on this network.

The "non-robust" training set: targeted L2 PGD from every training image ``x`` (label ``y``) toward a target
``t``, and the result labelled ``t``. ``t = (y + 1) mod 10`` (their deterministic set) or a random other class
(their random set). To a person each image is still a ``y`` and its label is wrong; if the perturbations carry
features that predict ``t`` in general, a fresh network trained only on this set does well on the clean test
set. The perturbations are also split inside and outside the data subspace and a network trained on each part
alone (the image plus that part, labelled ``t``): which part carries what generalises.

Shapes: images ``(n, 784)`` float32; labels ``(n,)`` int32. The attack runs in chunks of ``CHUNK`` images,
each one call of the jitted ``advx.attacks.pgd`` (one compilation for the whole set).
"""

from __future__ import annotations

import tempfile
from typing import Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np

from advx import attacks as A
from advx import paths
from advx import subspace as S
from advx.config import TrainConfig
from advx.data import MNIST
from advx.explanations.splits import part_from_coordinates, split_parts, subspace_coordinates, targets_for
from advx.model import device_rows, to_pixels
from advx.train import train

ILYAS_EPS = 2.0  # L2: about a fifth of a digit's norm; PGD reaches the target on most training images
ILYAS_STEPS = 10  # PGD steps of ε/4 (Madry et al.'s CIFAR-10 schedule is 7 of ε/4): the 60,000 images in < 60 s
ILYAS_REL_STEP = 0.25
CHUNK = 10000  # images per call of the attack, and rows per step of the elementwise work on the whole set
TARGET_KINDS = ("shifted", "random")
VARIANTS = ("shifted", "random", "shifted inside", "shifted outside")

Report = Callable[[Optional[float], str], None]  # as advx.experiments.spec's: (share done or None, text)


def silent(fraction: Optional[float] = None, text: str = "") -> None:
    """A ``Report`` that says nothing."""


def relabel_targets(labels, kind: str, key: jax.Array) -> np.ndarray:
    """``(n,)`` targets: ``(y + 1) mod 10`` (``"shifted"``) or a uniformly random class other than ``y``
    (``"random"``, from ``key``)."""
    labels = np.asarray(labels, np.int32)
    if kind == "shifted":
        return targets_for(labels)
    if kind != "random":
        raise ValueError(f"kind must be one of {TARGET_KINDS}, got {kind!r}")
    return (labels + np.asarray(jax.random.randint(key, labels.shape, 1, 10))) % 10


class NonRobustSet(NamedTuple):
    """``images (n, 784)`` float32 in [0, 1]: the attacked training images; ``labels (n,)``: their targets;
    ``success``: the share the attacked network reads as their target."""

    images: np.ndarray
    labels: np.ndarray
    success: float


def non_robust_set(params: dict, images, targets, key: jax.Array, *, eps: float = ILYAS_EPS,
                   steps: int = ILYAS_STEPS, report: Report = silent) -> NonRobustSet:
    """Targeted L2 PGD (``steps`` of ``ILYAS_REL_STEP * eps``, a random start from ``key``) from each of
    ``images`` toward ``targets (n,)``, each result labelled with its target: ``(n, 784)`` float32.

    ``images``: pixels as ``advx.model.to_pixels`` takes them, e.g. MNIST's ``(n, 28, 28)`` uint8 (scaled one
    chunk at a time, so the whole float32 set is never held beside the result)."""
    model_fn = A.as_model_fn(params)
    targets = np.asarray(targets, np.int32)
    out, hits = np.empty((len(images), 784), np.float32), 0
    for start in range(0, len(images), CHUNK):
        part = slice(start, start + CHUNK)
        adversarial = A.pgd(model_fn, to_pixels(np.asarray(images[part])), targets[part], eps,
                            jax.random.fold_in(key, start), norm="l2", targeted=True, steps=steps,
                            rel_step_size=ILYAS_REL_STEP)
        out[part] = np.asarray(adversarial)
        hits += int(jnp.sum(jnp.argmax(model_fn(adversarial), -1) == targets[part]))
        report(min(1.0, (start + CHUNK) / len(images)), f"attacked {min(start + CHUNK, len(images)):,} images")
    return NonRobustSet(out, targets, hits / len(images))


def part_set(sub: S.DataSubspace, clean, attacked: NonRobustSet, k: int, part: str) -> NonRobustSet:
    """The clean images plus only the ``part`` (``"inside"`` or ``"outside"`` the top-``k`` subspace) of each
    perturbation, with the attacked set's labels."""
    clean = np.asarray(clean, np.float32)
    inside, outside = split_parts(sub, attacked.images - clean, k)
    return attacked._replace(images=clean + (inside if part == "inside" else outside))


def train_and_test(config: TrainConfig, images, labels, mnist: MNIST) -> np.ndarray:
    """``(epochs,)`` the clean test accuracy after each epoch of a fresh network of ``config`` trained on
    ``images (n, 784)`` float32 labelled ``labels (n,)``; a JAX array is trained on where it is."""
    images = images if isinstance(images, jax.Array) else np.asarray(images, np.float32)
    data = MNIST(train_images=images, train_labels=np.asarray(labels, np.int32),
                 test_images=mnist.test_images, test_labels=mnist.test_labels, source="a non-robust training set",
                 sha=f"non-robust-{mnist.sha}")
    return train(config, data).history["test_acc"]


class IlyasResult(NamedTuple):
    """``accuracy (V, epochs)``: clean test accuracy after each epoch of a network trained on each of ``VARIANTS``
    (the final column is the result); ``success (2,)``: the share of each of ``TARGET_KINDS``' attacked images the
    original network reads as their target; ``standard``: the original network's own test accuracy; ``k``: the
    split; ``eps``: the attack's L2 size."""

    accuracy: np.ndarray
    success: np.ndarray
    standard: float
    k: int
    eps: float


def _rows(n: int):
    return (slice(start, start + CHUNK) for start in range(0, n, CHUNK))


def _minus_clean(attacked, mnist: MNIST) -> np.ndarray:
    """``attacked - clean`` ``(60000, 784)`` float32 (the perturbations), ``CHUNK`` rows at a time: the values of
    the whole-array difference without the whole clean set beside it."""
    out = np.empty((len(attacked), 784), np.float32)
    for rows in _rows(len(out)):
        np.subtract(attacked[rows], to_pixels(mnist.train_images[rows]), out=out[rows])
    return out


def _plus_clean(part: np.ndarray, mnist: MNIST) -> np.ndarray:
    """``part + clean`` in place in ``part (60000, 784)`` (a view such as a transpose will do), ``CHUNK`` rows at a
    time; the same values as ``clean + part``."""
    for rows in _rows(len(part)):
        part[rows] += to_pixels(mnist.train_images[rows])
    return part


class _Spilled:
    """An array kept in a temporary file of the cache folder until it is read back once, so that it does not hold
    memory meanwhile; kept in memory where the folder cannot be written."""

    def __init__(self, array: np.ndarray):
        self._array, self._file = None, None
        try:
            self._file = tempfile.TemporaryFile(dir=paths.cache_dir(), prefix="spill-")
            np.save(self._file, array, allow_pickle=False)
        except OSError:
            if self._file is not None:
                self._file.close()
            self._array, self._file = array, None

    def read(self) -> np.ndarray:
        if self._file is None:
            return self._array
        with self._file:
            self._file.seek(0)
            return np.load(self._file, allow_pickle=False)


def ilyas_experiment(params: dict, sub: S.DataSubspace, k: int, mnist: MNIST, config: TrainConfig, key: jax.Array,
                     standard: float, report: Optional[Report] = None) -> IlyasResult:
    """The whole experiment (see the module's text) on MNIST's 60,000 training images: an ``IlyasResult``.

    Each set is trained on as soon as it is made and dropped after, so that at most two copies of the training
    set (188 MB each) are held at once: the shifted set, then its inside and outside parts (from the subspace
    coordinates of its perturbations, made on the whole array, the same products as ``part_set``'s), then the
    random set. The clean images are scaled ``CHUNK`` rows at a time, a set is trained on from its one device
    copy, and the coordinates wait in a temporary file while the inside part trains. Each set's random keys come
    from ``key`` by ``fold_in``, so the order changes no result; the results equal the plain composition of
    ``non_robust_set``, ``part_set`` and ``train_and_test`` bit for bit (``tests/test_explanations.py``).
    """
    report = report or silent
    accuracy, success = {}, {}

    def attacked(i: int) -> tuple[jax.Array, np.ndarray]:
        kind = TARGET_KINDS[i]
        targets = relabel_targets(mnist.train_labels, kind, jax.random.fold_in(key, 1))
        start = 0 if i == 0 else 5.5
        built = non_robust_set(params, mnist.train_images, targets, jax.random.fold_in(key, 2 + i),
                               report=lambda f, text: report((start + (f or 0)) / 8, f"the {kind} set: {text}"))
        success[kind] = built.success
        return device_rows(built.images), built.labels

    def trained_on(variant: str, images: jax.Array, labels: np.ndarray, at: float) -> None:
        report(at / 8, f"training on the {variant} set")
        accuracy[variant] = train_and_test(config, images, labels, mnist)

    images, labels = attacked(0)  # on the device only: the host copy is dropped
    trained_on("shifted", images, labels, 1)
    delta = _minus_clean(np.asarray(images), mnist)  # the perturbations, in place of the set
    del images
    coords = subspace_coordinates(sub, delta)
    del delta
    kept = _Spilled(coords)  # for the outside part, on disk while the inside part trains
    for part, at in (("inside", 2.5), ("outside", 4)):
        coords = kept.read() if coords is None else coords
        images = _plus_clean(part_from_coordinates(sub, coords, k, part), mnist)
        coords = None
        images = device_rows(images)
        trained_on(f"shifted {part}", images, labels, at)
        del images
    images, labels = attacked(1)
    trained_on("random", images, labels, 6.5)
    del images
    return IlyasResult(accuracy=np.stack([accuracy[v] for v in VARIANTS]),
                       success=np.array([success[t] for t in TARGET_KINDS]), standard=float(standard), k=int(k),
                       eps=float(ILYAS_EPS))
