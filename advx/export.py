"""Files to take away: a trained run as one zip, figures as standalone HTML, arrays as .npz or CSV.

Everything here is a pure function from in-memory objects to the bytes (or text) of a file, so a
notebook, a script or the app's download buttons (``ui.downloads``) produce identical files.

The run bundle (``run_bundle``) is a zip holding:

- ``config.json``: the training configuration, the run id, the data's SHA-256, the number of epochs
  and the final test accuracy;
- ``history.csv``: one row per epoch (``epoch, train_loss, train_acc, test_loss, test_acc,
  epoch_seconds``), full float precision;
- ``params/epoch_000.npz`` ... ``params/epoch_NNN.npz``: the parameters at initialisation (epoch 0)
  and after every epoch, keys ``"<layer>/kernel"`` and ``"<layer>/bias"`` (float32), readable with
  ``numpy.load(..., allow_pickle=False)``;
- ``README.txt``: this layout in words.

``read_bundle`` turns such a zip back into a ``Run``. The zip's timestamps are fixed, so one run
always gives the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile

import numpy as np

from advx.config import ConfigError, TrainConfig
from advx.train import Run

BUNDLE_FORMAT = 1
HISTORY_COLUMNS = ("train_loss", "train_acc", "test_loss", "test_acc", "epoch_seconds")
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)  # fixed, so identical runs give identical bundles

_README = """advx run bundle (format {format})

config.json              training configuration, run id, data SHA-256, epochs, final test accuracy
history.csv              per epoch: {columns}
params/epoch_EEE.npz     parameters at initialisation (epoch 000) and after every epoch;
                         keys "<layer>/kernel" (fan_in, fan_out) and "<layer>/bias" (fan_out,), float32.
                         Layers run Layer_1 ... Layer_n, output; the network is
                         logits = relu(...relu(x @ K1 + b1)...) @ K_out + b_out, x = pixels / 255, (n, 784).

Read the parameters with numpy.load(path, allow_pickle=False).
"""


class BundleError(ValueError):
    """Bytes that should be a run bundle are not one: unreadable zip, missing member or inconsistent content."""


def _params_npz(params: dict) -> bytes:
    arrays = {f"{layer}/{leaf}": np.asarray(value, np.float32)
              for layer, leaves in params.items() for leaf, value in leaves.items()}
    return arrays_npz(arrays)


def history_csv(history: dict) -> str:
    """One CSV row per epoch: ``epoch`` (1-based) and ``HISTORY_COLUMNS`` (those present), full precision."""
    columns = [c for c in HISTORY_COLUMNS if c in history]
    n = len(history[columns[0]]) if columns else 0
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["epoch", *columns])
    for i in range(n):
        writer.writerow([i + 1, *(repr(float(history[c][i])) for c in columns)])
    return out.getvalue()


def _write(archive: zipfile.ZipFile, name: str, data: bytes | str) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


def run_bundle(run: Run) -> bytes:
    """The zip bytes of ``run``: configuration, history and the parameters at every epoch (see the module doc)."""
    meta = {
        "format": BUNDLE_FORMAT,
        "run_id": run.run_id,
        "data_sha": run.data_sha,
        "epochs": run.n_epochs,
        "test_accuracy": run.test_accuracy,
        "config": run.config.to_dict(),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        _write(archive, "README.txt", _README.format(format=BUNDLE_FORMAT, columns=", ".join(HISTORY_COLUMNS)))
        _write(archive, "config.json", json.dumps(meta, indent=2, sort_keys=True) + "\n")
        _write(archive, "history.csv", history_csv(run.history))
        for epoch in range(run.n_epochs + 1):
            _write(archive, f"params/epoch_{epoch:03d}.npz", _params_npz(run.params_at(epoch)))
    return buffer.getvalue()


def _read_params(blob: bytes, name: str) -> dict:
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
            flat = {key: npz[key] for key in npz.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise BundleError(f"{name} cannot be read: {exc}") from exc
    params: dict = {}
    for key, value in flat.items():
        layer, _, leaf = key.partition("/")
        if not leaf:
            raise BundleError(f"{name} holds {key!r}, expected '<layer>/kernel' or '<layer>/bias'")
        params.setdefault(layer, {})[leaf] = value
    return params


def _read_history(text: str) -> dict:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or rows[0][:1] != ["epoch"]:
        raise BundleError("history.csv does not start with an 'epoch' column")
    header, body = rows[0], rows[1:]
    try:
        columns = list(zip(*body)) if body else [()] * len(header)
        return {name: np.asarray([float(v) for v in values], np.float64)
                for name, values in zip(header[1:], columns[1:])}
    except ValueError as exc:
        raise BundleError(f"history.csv holds a value that is not a number: {exc}") from exc


def read_bundle(blob: bytes) -> Run:
    """Parse the bytes of ``run_bundle(run)`` back into an equal ``Run`` (params as numpy arrays).

    Raises ``BundleError`` when the zip is unreadable, a member is missing, or the content disagrees
    with itself (epoch count, run id).
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(blob))
    except zipfile.BadZipFile as exc:
        raise BundleError(f"not a zip file: {exc}") from exc
    with archive:
        names = set(archive.namelist())
        for required in ("config.json", "history.csv"):
            if required not in names:
                raise BundleError(f"the bundle has no {required}")
        try:
            meta = json.loads(archive.read("config.json"))
            config = TrainConfig.from_dict(meta["config"])
            epochs = int(meta["epochs"])
        except (ValueError, KeyError, TypeError, ConfigError) as exc:
            raise BundleError(f"config.json is not a valid run description: {exc}") from exc
        if meta.get("format") != BUNDLE_FORMAT:
            raise BundleError(f"unknown bundle format {meta.get('format')!r}")
        param_names = [f"params/epoch_{e:03d}.npz" for e in range(epochs + 1)]
        missing = [n for n in param_names if n not in names]
        if missing:
            raise BundleError(f"the bundle lacks {', '.join(missing)}")
        try:
            history = _read_history(archive.read("history.csv").decode("utf-8"))
            params_history = tuple(_read_params(archive.read(n), n) for n in param_names)
        except (zipfile.BadZipFile, UnicodeDecodeError, OSError) as exc:  # a damaged member
            raise BundleError(f"a bundle member cannot be read: {exc}") from exc
    if any(len(values) != epochs for values in history.values()):
        raise BundleError(f"history.csv does not hold {epochs} epochs")
    run = Run(config=config, data_sha=str(meta.get("data_sha", "")), params_history=params_history, history=history)
    if run.run_id != meta.get("run_id"):
        raise BundleError("config.json's run id does not match its configuration and data hash")
    return run


def figure_html(fig, include_plotlyjs: bool | str = True) -> str:
    """A Plotly figure as a standalone HTML page.

    With ``include_plotlyjs=True`` (default) plotly.js is embedded, so the file opens offline (about
    4.7 MB); ``"cdn"`` gives a small file that loads plotly.js from its CDN when opened.
    """
    return fig.to_html(include_plotlyjs=include_plotlyjs, full_html=True)


def arrays_npz(arrays: dict[str, np.ndarray]) -> bytes:
    """Named arrays as the bytes of an uncompressed ``.npz`` (readable with ``allow_pickle=False``)."""
    converted = {}
    for name, value in arrays.items():
        array = np.asarray(value)
        if array.dtype == object:
            raise TypeError(f"array {name!r} holds Python objects; only numeric and string arrays can be saved")
        converted[name] = array
    buffer = io.BytesIO()
    np.savez(buffer, **converted)
    return buffer.getvalue()


def arrays_csv(arrays: dict[str, np.ndarray]) -> str:
    """Named arrays as CSV columns.

    Each 1-D array of length ``n`` is one column named after it; each 2-D array ``(n, m)`` gives
    ``m`` columns ``name[0]`` ... ``name[m-1]``. All arrays need the same first dimension ``n``.
    Raises ``ValueError`` for other shapes or mismatched lengths.
    """
    header: list[str] = []
    columns: list[np.ndarray] = []
    lengths = set()
    for name, value in arrays.items():
        array = np.asarray(value)
        if array.ndim == 1:
            header.append(name)
            columns.append(array)
        elif array.ndim == 2:
            header.extend(f"{name}[{j}]" for j in range(array.shape[1]))
            columns.extend(array[:, j] for j in range(array.shape[1]))
        else:
            raise ValueError(f"array {name!r} has shape {array.shape}; CSV takes 1-D or 2-D arrays (use .npz)")
        lengths.add(array.shape[0])
    if len(lengths) > 1:
        raise ValueError(f"CSV columns need one length; got {sorted(lengths)}")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in zip(*columns):
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def _cell(value) -> object:
    """A CSV cell: floats at full precision (``repr``), other numpy scalars as Python values."""
    if isinstance(value, np.floating):
        return repr(float(value))
    return value.item() if isinstance(value, np.generic) else value
