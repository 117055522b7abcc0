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
from advx.explanations.splits import coordinates_of_rows, part_of_rows, split_parts, targets_for
from advx.model import aligned_rows, device_rows, to_pixels
from advx.train import compile_training, train

ILYAS_EPS = 2.0  # L2: about a fifth of a digit's norm; PGD reaches the target on most training images
ILYAS_STEPS = 10  # PGD steps of ε/4 (Madry et al.'s CIFAR-10 schedule is 7 of ε/4): the 60,000 images in < 60 s
ILYAS_REL_STEP = 0.25
CHUNK = 10000  # images per call of the attack
BLOCK = 2500  # rows per step of the work on a whole set in place (its temporaries: 3 x 8 MB)
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
                   steps: int = ILYAS_STEPS, report: Report = silent, out: Optional[np.ndarray] = None) -> NonRobustSet:
    """Targeted L2 PGD (``steps`` of ``ILYAS_REL_STEP * eps``, a random start from ``key``) from each of
    ``images`` toward ``targets (n,)``, each result labelled with its target: ``(n, 784)`` float32.

    ``images``: pixels as ``advx.model.to_pixels`` takes them, e.g. MNIST's ``(n, 28, 28)`` uint8 (scaled one
    chunk at a time, so the whole float32 set is never held beside the result). ``out``: where to write the
    result, ``CHUNK`` rows at a time: an ``(n, 784)`` float32 array or anything of that ``shape`` and ``dtype``
    that takes ``out[rows] = values`` (default: a new array); ``images`` of the result is ``out``."""
    model_fn = A.as_model_fn(params)
    targets = np.asarray(targets, np.int32)
    out = np.empty((len(images), 784), np.float32) if out is None else out
    if out.shape != (len(images), 784) or out.dtype != np.float32:
        raise ValueError(f"out must be ({len(images)}, 784) float32, got {out.shape} {out.dtype}")
    hits = 0
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
    return (slice(start, start + BLOCK) for start in range(0, n, BLOCK))


def _to_coordinates(sub: S.DataSubspace, attacked: np.ndarray, mnist: MNIST) -> None:
    """``attacked (60000, 784)`` float32, in place, ``BLOCK`` rows at a time: minus the clean images (the
    perturbations, as ``part_set``'s whole-array difference), then their subspace coordinates
    (``coordinates_of_rows``)."""
    for rows in _rows(len(attacked)):
        np.subtract(attacked[rows], to_pixels(mnist.train_images[rows]), out=attacked[rows])
        attacked[rows] = coordinates_of_rows(sub, attacked[rows])


def _to_part(sub: S.DataSubspace, coords: np.ndarray, k: int, part: str, mnist: MNIST) -> None:
    """``coords (60000, 784)``, in place, ``BLOCK`` rows at a time: the clean images plus the ``part`` of each
    perturbation, the same values as ``part_set``'s ``clean + part``."""
    for rows in _rows(len(coords)):
        np.add(part_of_rows(sub, coords[rows], k, part), to_pixels(mnist.train_images[rows]), out=coords[rows])


class _RowFile:
    """``(n, features)`` float32 rows kept in a temporary file of the cache folder, written block by block
    (``rows[a:b] = values``, as into an array) and read back once (``read_into``), so that they hold no memory
    meanwhile. Where the folder cannot be written, or a write fails, the rows are kept in memory instead."""

    def __init__(self, n: int, features: int = 784):
        self.shape, self.dtype = (int(n), int(features)), np.dtype(np.float32)
        self._array, self._file = None, None
        try:
            self._file = tempfile.TemporaryFile(dir=paths.cache_dir(), prefix="spill-")
        except OSError:
            self._array = np.zeros(self.shape, np.float32)

    @classmethod
    def of(cls, array: np.ndarray) -> "_RowFile":
        """A copy of ``array (n, features)``, made ``BLOCK`` rows at a time."""
        kept = cls(*array.shape)
        for rows in _rows(len(array)):
            kept[rows] = array[rows]
        return kept

    def __len__(self) -> int:
        return self.shape[0]

    def __setitem__(self, rows: slice, values) -> None:
        start, stop, step = rows.indices(self.shape[0])
        values = np.ascontiguousarray(values, np.float32)
        if step != 1 or values.shape != (stop - start, self.shape[1]):
            raise ValueError(f"rows {start}:{stop} take ({stop - start}, {self.shape[1]}) values, got {values.shape}")
        if self._file is not None:
            try:
                self._file.seek(start * self.shape[1] * 4)
                if self._file.write(memoryview(values).cast("B")) != values.nbytes:
                    raise OSError("the file took only part of the rows")
                return
            except OSError:
                self._to_memory()
        self._array[rows] = values

    def _to_memory(self) -> None:
        """The rows written so far, into memory (a full disk, say): the file is dropped."""
        self._array = np.zeros(self.shape, np.float32)
        with self._file:
            self._file.seek(0)
            self._file.readinto(memoryview(self._array).cast("B"))
        self._file = None

    def read_into(self, out: np.ndarray) -> None:
        """Writes the rows into ``out`` (C-contiguous, of their shape) and forgets them."""
        if out.shape != self.shape or out.dtype != self.dtype or not out.flags.c_contiguous:
            raise ValueError(f"the rows are {self.shape} {self.dtype}, not {out.shape} {out.dtype}")
        if self._file is None:
            out[...], self._array = self._array, None
            return
        with self._file:
            self._file.seek(0)
            if self._file.readinto(memoryview(out).cast("B")) != out.nbytes:
                raise OSError("the temporary file of rows was cut short")
        self._file = None


def ilyas_experiment(params: dict, sub: S.DataSubspace, k: int, mnist: MNIST, config: TrainConfig, key: jax.Array,
                     standard: float, report: Optional[Report] = None) -> IlyasResult:
    """The whole experiment (see the module's text) on MNIST's 60,000 training images: an ``IlyasResult``.

    At most one copy of the training set (188 MB) is held in memory at a time. Each attack writes its set to a
    temporary file of the cache folder as it goes (``_RowFile``), so that the attack's own working memory
    (about 180 MB for a chunk of 10,000 images) never comes on top of a whole set; the set is then read into
    one host array, aligned so that training reads it in place on the CPU (``device_rows``). After the shifted
    set has been trained on, that array becomes, ``BLOCK`` rows at a time, its perturbations' subspace
    coordinates (copied to a file) and then the inside part; the outside part is made from the file's copy. The
    array is dropped before the random set's attack, and the training programs are compiled before any set is
    in memory (``advx.train.compile_training``). Each set's random keys come from ``key`` by ``fold_in``,
    so the order changes no result; the results equal the plain composition of ``non_robust_set``,
    ``part_set`` and ``train_and_test`` bit for bit (``tests/test_explanations.py``).
    """
    report = report or silent
    accuracy, success = {}, {}
    n = len(mnist.train_images)

    def attacked(i: int) -> tuple[np.ndarray, np.ndarray]:
        kind = TARGET_KINDS[i]
        targets = relabel_targets(mnist.train_labels, kind, jax.random.fold_in(key, 1))
        start = 0 if i == 0 else 5.5
        written = _RowFile(n)
        built = non_robust_set(params, mnist.train_images, targets, jax.random.fold_in(key, 2 + i), out=written,
                               report=lambda f, text: report((start + (f or 0)) / 8, f"the {kind} set: {text}"))
        success[kind] = built.success
        images = aligned_rows(n)
        written.read_into(images)
        return images, built.labels

    def trained_on(variant: str, images: np.ndarray, labels: np.ndarray, at: float) -> None:
        report(at / 8, f"training on the {variant} set")
        accuracy[variant] = train_and_test(config, device_rows(images), labels, mnist)  # the device array is
        # dropped on return, before the host array is written again

    report(0.0, "compiling the training")
    compile_training(config, n, np.float32, mnist.test_images)  # before any set is in memory
    report(0.0, f"the shifted set: attacking {n:,} images")
    images, labels = attacked(0)
    trained_on("shifted", images, labels, 1)
    report(2.4 / 8, "the shifted set's perturbations inside and outside the data subspace")
    _to_coordinates(sub, images, mnist)
    kept = _RowFile.of(images)  # for the outside part, on disk while the inside part trains
    _to_part(sub, images, k, "inside", mnist)
    trained_on("shifted inside", images, labels, 2.5)
    kept.read_into(images)
    _to_part(sub, images, k, "outside", mnist)
    trained_on("shifted outside", images, labels, 4)
    del images
    images, labels = attacked(1)
    trained_on("random", images, labels, 6.5)
    return IlyasResult(accuracy=np.stack([accuracy[v] for v in VARIANTS]),
                       success=np.array([success[t] for t in TARGET_KINDS]), standard=float(standard), k=int(k),
                       eps=float(ILYAS_EPS))
