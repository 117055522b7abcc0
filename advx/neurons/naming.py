"""Layers and neurons by name: layer widths, the link codes ``L1:5`` / ``L2:5`` / ``output:3``, and the
typed errors for names that do not exist.

``Layer_2:5`` and ``out:3`` are accepted too. On figures neurons are labelled ``Layer_2 #5``.
"""

from __future__ import annotations

from advx.model import param_layer_names


class NeuronError(ValueError):
    """Base class for the neuron package's errors."""


class UnknownLayerError(NeuronError):
    """A layer name that the parameters do not have."""


class UnknownNeuronError(NeuronError):
    """A neuron reference that cannot be parsed or is out of range."""


def layer_widths(params: dict) -> dict[str, int]:
    """``{layer: number of neurons}`` in forward order, output included."""
    return {name: int(params[name]["kernel"].shape[1]) for name in param_layer_names(params)}


def hidden_layer_names(params: dict) -> list[str]:
    """The hidden layers, in forward order (``Layer_1``, ``Layer_2``, ...)."""
    return param_layer_names(params)[:-1]


def check_layer(params: dict, layer: str) -> None:
    """Raise ``UnknownLayerError`` unless ``layer`` is one of the layers of ``params``."""
    names = param_layer_names(params)
    if layer not in names:
        raise UnknownLayerError(f"unknown layer {layer!r}; the layers are {', '.join(names)}")


def check_neuron(params: dict, layer: str, neuron: int) -> None:
    """Raise ``UnknownLayerError`` / ``UnknownNeuronError`` unless ``layer`` has neuron number ``neuron``."""
    check_layer(params, layer)
    width = layer_widths(params)[layer]
    if not 0 <= int(neuron) < width:
        raise UnknownNeuronError(f"{layer} has neurons 0 to {width - 1}; got {neuron}")


def neuron_label(layer: str, index: int) -> str:
    """The label used on figures, e.g. ``"Layer_2 #5"``."""
    return f"{layer} #{int(index)}"


def neuron_code(layer: str, index: int) -> str:
    """The short form used in links: ``L2:5`` for ``Layer_2`` neuron 5, ``output:3``."""
    short = "output" if layer == "output" else "L" + layer.split("_", 1)[1]
    return f"{short}:{int(index)}"


def _layer_from_short(short: str, widths: dict[str, int]) -> str:
    s = short.strip()
    if s.lower() in ("output", "out"):
        return "output"
    if s[:1] in "Ll" and s[1:].isdigit():
        s = f"Layer_{int(s[1:])}"
    if s.lower().startswith("layer_") and s[6:].isdigit():
        s = f"Layer_{int(s[6:])}"
    if s not in widths:
        raise UnknownLayerError(f"unknown layer {short!r}; the layers are "
                                + ", ".join(neuron_code(n, 0).split(":")[0] for n in widths))
    return s


def parse_neuron(code: str, widths: dict[str, int]) -> tuple[str, int]:
    """``"L2:5"`` -> ``("Layer_2", 5)``; raises ``UnknownLayerError`` / ``UnknownNeuronError``.

    ``widths`` is ``layer_widths(params)``.
    """
    if not isinstance(code, str) or code.count(":") != 1:
        raise UnknownNeuronError(f"a neuron is written layer:index, e.g. L2:5 or output:3; got {code!r}")
    short, idx = code.split(":")
    layer = _layer_from_short(short, widths)
    try:
        index = int(idx.strip())
    except ValueError:
        raise UnknownNeuronError(f"neuron index {idx!r} in {code!r} is not a whole number") from None
    if not 0 <= index < widths[layer]:
        raise UnknownNeuronError(f"{layer} has neurons 0 to {widths[layer] - 1}; got {index} in {code!r}")
    return layer, index


def nearest_neuron(code: str, widths: dict[str, int], default: str) -> tuple[str, str | None]:
    """The valid neuron code closest to ``code``, and a sentence saying what was changed (or None).

    An out-of-range index is clamped into the layer; an unknown layer or unreadable text falls back
    to ``default`` (a valid code).
    """
    try:
        return neuron_code(*parse_neuron(code, widths)), None  # accepted spellings need no note
    except UnknownNeuronError as exc:
        try:
            short, idx = str(code).split(":")
            layer = _layer_from_short(short, widths)
            index = int(float(idx.strip()))
        except (ValueError, UnknownLayerError):
            return default, f"{exc}; showing {default} instead"
        fixed = neuron_code(layer, min(max(index, 0), widths[layer] - 1))
        return fixed, f"{exc}; showing {fixed} instead"
    except UnknownLayerError as exc:
        return default, f"{exc}; showing {default} instead"


def all_neuron_codes(widths: dict[str, int]) -> list[str]:
    """Every neuron of the network as a link code, layer by layer."""
    return [neuron_code(layer, i) for layer, w in widths.items() for i in range(w)]
