"""Widgets shared by the neuron pages (Activations, Effective weights, Dataset
averages, Compare neurons). The sentences these pages build from the numbers are in
``advx.text.neurons``.

Neurons in links are written ``L1:5`` (Layer_1 neuron 5), ``L2:5`` and ``output:3``, comma-separated,
e.g. ``?neurons=L1:0,L2:5,output:3``. A bad entry is corrected to the nearest valid neuron (an
out-of-range index is clamped into its layer; an unknown layer falls back to the default) with a note.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from advx import neurons
from advx.text import neurons as words
from ui import links

note = links.note  # record a link correction so that ``links.show_notes()`` displays it


# --------------------------------------------------------------------------------------------
# Widgets. Each reads its first value from the URL; pages call ``links.sync`` after them.


def epoch_slider(run, key: str) -> int:
    """The training scrubber: 0 is the random initialisation, ``run.n_epochs`` the end (default)."""
    links.seed(key, links.url_int("epoch", run.n_epochs, 0, run.n_epochs))
    st.session_state[key] = min(max(int(st.session_state[key]), 0), run.n_epochs)  # another run may be shorter
    return st.slider("Training epoch (0 = random initialisation)", 0, run.n_epochs, key=key,
                     help="Scrub through the parameters stored after every epoch of training.")


def default_neurons(widths: dict[str, int], per_layer: int = 3) -> list[str]:
    """The post's view: the first ``per_layer`` neurons of every layer."""
    return [neurons.neuron_code(layer, i) for layer, w in widths.items() for i in range(min(per_layer, w))]


def url_neurons(name: str, default: list[str], widths: dict[str, int], min_len: int, max_len: int) -> list[str]:
    """Neuron codes from the URL parameter ``name``, each corrected to the nearest valid neuron."""
    raw = links.url_text(name)
    if not raw:
        return list(default)
    codes: list[str] = []
    for item in raw.split(","):
        code, message = neurons.nearest_neuron(item.strip(), widths, default[0])
        if message:
            note(f"`{name}`: {message}.")
        if code not in codes:
            codes.append(code)
    if len(codes) > max_len:
        note(f"`{name}` lists {len(codes)} neurons; keeping the first {max_len}.")
        codes = codes[:max_len]
    if len(codes) < min_len:
        note(f"`{name}` needs at least {min_len} different neurons; adding defaults.")
        codes += [c for c in default if c not in codes][: min_len - len(codes)]
    return codes


def _set_state(key: str, value) -> None:
    st.session_state[key] = value


def neuron_picker(widths: dict[str, int], default: list[str], key: str, *, min_len: int = 1,
                  max_len: int = 30, name: str = "neurons") -> list[str]:
    """A multiselect over every neuron (``L2:5`` codes shown as ``Layer_2 #5``), plus presets."""
    options = neurons.all_neuron_codes(widths)
    links.seed(key, url_neurons(name, default, widths, min_len, max_len))
    valid = set(options)
    st.session_state[key] = [c for c in st.session_state[key] if c in valid][:max_len] or list(default)
    st.multiselect(f"Neurons ({min_len}–{max_len}, from any layer)", options, key=key, max_selections=max_len,
                   format_func=lambda c: neurons.neuron_label(*neurons.parse_neuron(c, widths)),
                   help="Type a name such as “Layer_2 #5”. In the link, neurons are written L1:5, L2:5, output:3.")
    b1, b2, b3 = st.columns(3)
    n_out = widths["output"]
    if n_out <= max_len:
        b1.button(f"All {n_out} output neurons", key=f"{key}_all_output", on_click=_set_state,
                  args=(key, [neurons.neuron_code("output", i) for i in range(n_out)]))
    b2.button("First 3 of every layer", key=f"{key}_post_view", on_click=_set_state,
              args=(key, default_neurons(widths)[:max_len]))
    selected = list(st.session_state[key])
    if len(selected) < min_len:
        st.info(f"Pick at least {min_len} neurons; showing the default ones meanwhile.")
        selected = list(default)
    return selected


def by_layer(codes: list[str], widths: dict[str, int]) -> dict[str, list[int]]:
    """``["L1:0", "output:3", "L1:2"]`` -> ``{"Layer_1": [0, 2], "output": [3]}`` in forward order."""
    grouped: dict[str, list[int]] = {layer: [] for layer in widths}
    for code in codes:
        layer, index = neurons.parse_neuron(code, widths)
        grouped[layer].append(index)
    return {layer: idx for layer, idx in grouped.items() if idx}


def layer_tabs(chosen: dict[str, list[int]], key: str) -> tuple[dict, str]:
    """One tab per layer of ``chosen`` (``by_layer``'s result), tracked so that only the open one need be drawn:
    ``({layer: tab}, the open layer)``. The output layer (the last) opens first, or the layer in the link's
    ``layer``; if the neurons change and the open layer has none left, the last layer opens."""
    layers = list(chosen)
    links.seed(key, links.url_choice("layer", layers[-1], layers))
    if st.session_state[key] not in chosen:
        st.session_state[key] = layers[-1]
    tabs = dict(zip(layers, st.tabs(layers, key=key, on_change="rerun")))
    return tabs, next((layer for layer, tab in tabs.items() if tab.open), layers[-1])


def example_of_digit(labels: np.ndarray, digit: int, draw: int) -> int:
    """A random test image of ``digit``; ``draw`` seeds the choice so a link reopens the same one."""
    return int(np.random.default_rng(draw).choice(np.flatnonzero(np.asarray(labels) == digit)))


def image_picker(labels: np.ndarray, key: str) -> tuple[int, dict]:
    """Pick a test image by index, or a random example of a digit. Returns ``(index, url values)``."""
    n = len(labels)
    links.seed(f"{key}_mode", links.url_choice("pick", "index", ["index", "digit"]))
    links.seed(f"{key}_index", links.url_int("image", 0, 0, n - 1))
    links.seed(f"{key}_digit", links.url_int("digit", 7, 0, 9))
    links.seed(f"{key}_draw", links.url_int("draw", 0, 0, 10**6))
    c1, c2, c3 = st.columns([1, 1, 1])
    mode = c1.radio("Pick a test image", ["index", "digit"], key=f"{key}_mode", horizontal=True,
                    format_func={"index": "by index", "digit": "by digit"}.get)
    if mode == "index":
        index = int(c2.number_input(f"Test image (0–{n - 1})", 0, n - 1, step=1, key=f"{key}_index"))
        return index, dict(pick="index", image=index, digit=None, draw=None)
    digit = int(c2.selectbox("Digit", list(range(10)), key=f"{key}_digit"))
    c3.button("Another example", key=f"{key}_another", on_click=_set_state,
              args=(f"{key}_draw", int(st.session_state[f"{key}_draw"]) + 1))
    index = example_of_digit(labels, digit, int(st.session_state[f"{key}_draw"]))
    return index, dict(pick="digit", image=None, digit=digit, draw=int(st.session_state[f"{key}_draw"]))


def threshold_picker(key: str) -> tuple[str, float, float]:
    """The definition of "highly activated" and the two thresholds. Returns ``(definition, high, mild)``."""
    definition = links.url_choice("def", "neuron_max", list(neurons.DEFINITIONS))
    high = links.url_float("high", neurons.DEFAULT_HIGH, 0.01, 1.0)
    mild = links.url_float("mild", neurons.DEFAULT_MILD, 0.0, 0.99)
    if not mild < high:
        note(f"`mild={mild:g}` must be below `high={high:g}`; using {neurons.DEFAULT_MILD:g} and "
             f"{neurons.DEFAULT_HIGH:g}.")
        high, mild = neurons.DEFAULT_HIGH, neurons.DEFAULT_MILD
    links.seed(f"{key}_def", definition)
    links.seed(f"{key}_range", (round(mild, 2), round(high, 2)))
    c1, c2 = st.columns([3, 2])
    definition = c1.radio("“Highly activated” means a high…", list(neurons.DEFINITIONS), key=f"{key}_def",
                          format_func=neurons.DEFINITION_TITLES.get)
    mild, high = c2.slider("Mild from … high from (share)", 0.0, 1.0, step=0.01, key=f"{key}_range",
                           help="Inactive below the first value (or exactly 0), mild up to the second, high above.")
    if not mild < high:
        high = max(high, 0.01)
        mild = round(high - 0.01, 2)
        st.warning(f"The mild threshold must be below the high one; using mild from {mild:.2f}.")
    return definition, float(high), float(mild)


def measures_table(codes: list[str], widths: dict[str, int], now: dict, init: dict, epoch: int) -> list[dict]:
    """One row per neuron: the noise-versus-digit measures now and at initialisation (``advx.neurons.measures_rows``,
    to three decimals)."""
    from ui import charts

    return charts.rows_of(words.measures_rows(codes, widths, now, init, epoch), digits=3)
