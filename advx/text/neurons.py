"""Sentences and labels built from the neuron numbers, for the neuron pages (markdown; no Streamlit).

Kept in the library's text layer, apart from the numbers they describe, so that what a page claims (e.g. whether
the post's "about 3 highly activated neurons" is reproduced) is a pure function that tests can check.
"""

from __future__ import annotations

import math

import numpy as np

from advx.neurons.activity import HIGH, INACTIVE, MILD, LayerSparsity
from advx.neurons.measures import HIGH_FREQUENCY_CUTOFF, NOISE_HIGH_FREQUENCY_SHARE, NOISE_ROUGHNESS
from advx.neurons.naming import neuron_label, parse_neuron
from advx.vocabulary import format_number
from advx.text import glossary

# The post's figures: about 3 highly and about 10 mildly activated neurons per image and hidden layer.
POST_HIGH, POST_MILD = 3, 10

OUTPUT_WEIGHTING_TITLES = {
    "softmax": "softmax probability of the class",
    "relu_logit": "ReLU of the class logit",
}

# The three views of Compare neurons, one tab each: the maps, the test images that drive each neuron hardest, and how
# its activation is spread over the test set; the keys name them in a link.
COMPARE_VIEWS = {"maps": "Effective weights and dataset averages", "top": "Top 9 test images",
                 "activations": "Activations on test images"}


def counts_as_dead(layer: str, stats, neuron: int) -> bool:
    """Whether ``neuron`` of ``layer`` never fires on a training image (``stats``: its layer's ``NeuronStats``); an
    output neuron never counts as dead: it always has a probability."""
    return bool(stats.dead[neuron]) and layer != "output"


def firing_sentence(layer: str, stats, neuron: int) -> str:
    """How often ``neuron`` fires on the training images (or has a positive logit, for an output neuron)."""
    if counts_as_dead(layer, stats, neuron):
        return "**dead**: never fires on a training image"
    what = "has a positive logit" if layer == "output" else "fires"
    return f"{what} on **{stats.firing_rate[neuron]:.1%}** of training images"


MEASURES_HELP = (
    "**HF**, the {hf_link} (noise or digit?): share of a picture's energy (mean removed) above {cutoff} cycles "
    "per pixel; pixel noise gives about {noise_hf:.2f}, a digit-like picture close to 0. **rough**, the "
    "{rough_link}: size of the pixel-to-pixel differences "
    "relative to the picture's own spread; noise gives about {noise_rough:.2f}, smooth strokes far less. "
    "**r**: correlation over the 784 pixels between a neuron's effective weights and its dataset average."
).format(cutoff=HIGH_FREQUENCY_CUTOFF, noise_hf=NOISE_HIGH_FREQUENCY_SHARE, noise_rough=NOISE_ROUGHNESS,
         hf_link=glossary.link("noise-measure", "fine-detail share"), rough_link=glossary.link("roughness", "roughness"))


def sparsity_sentence(s: LayerSparsity) -> str:
    """One layer's mean and median numbers of high, mild and inactive neurons per image."""
    return (f"**{s.layer}**: on average {s.mean(HIGH):.1f} high and {s.mean(MILD):.1f} mild "
            f"of {s.width} (medians {s.median(HIGH):g} and {s.median(MILD):g}); "
            f"{s.mean(INACTIVE):.1f} inactive.")


def near(value: float, target: float) -> bool:
    return target / 2 <= value <= target * 1.5


def post_verdict(layers: dict[str, LayerSparsity]) -> str:
    """Which of the post's figures (about 3 high, about 10 mild per image) the shown numbers reproduce."""
    parts = []
    for s in layers.values():
        high, mild = s.mean(HIGH), s.mean(MILD)
        said_high = "reproduces" if near(high, POST_HIGH) else "does not reproduce"
        said_mild = "reproduces" if near(mild, POST_MILD) else "does not reproduce"
        parts.append(f"{s.layer} {said_high} the ~{POST_HIGH} highly activated neurons ({high:.1f}) and "
                     f"{said_mild} the ~{POST_MILD} mildly activated ones ({mild:.1f})")
    return ("; ".join(parts) + ". (A figure counts as reproduced when it lies within half of the post's value "
            "either way, e.g. 1.5–4.5 for “about 3”.)")


def measure_note(m: dict, neuron: int, which: str) -> str:
    """Short measure line under a facet: ``which`` is "effective" or "average"; ``m`` one layer's maps."""
    hf, rough = m[f"{which}_high_frequency"][neuron], m[f"{which}_roughness"][neuron]
    text = f"HF {format_number(hf, 3)} · rough {format_number(rough)}"
    if which == "average":
        text += f" · r {format_number(m['correlation'][neuron])}"
    return text


def measures_rows(codes: list[str], widths: dict[str, int], now: dict, init: dict, epoch: int) -> list[dict]:
    """One row per neuron: the noise-versus-digit measures at ``epoch`` (``now``) and at initialisation (``init``).

    ``now`` / ``init``: ``{layer: {measure: (width,)}}`` as the neuron pages' maps hold them.
    """
    rows = []
    for code in codes:
        layer, neuron = parse_neuron(code, widths)
        m, m0 = now[layer], init[layer]
        rows.append({
            "neuron": neuron_label(layer, neuron),
            f"effective weights HF (epoch {epoch})": m["effective_high_frequency"][neuron],
            "effective weights HF (epoch 0)": m0["effective_high_frequency"][neuron],
            f"dataset average HF (epoch {epoch})": m["average_high_frequency"][neuron],
            f"effective weights roughness (epoch {epoch})": m["effective_roughness"][neuron],
            "effective weights roughness (epoch 0)": m0["effective_roughness"][neuron],
            f"dataset average roughness (epoch {epoch})": m["average_roughness"][neuron],
            f"r(effective, average) (epoch {epoch})": m["correlation"][neuron],
            "r(effective, average) (epoch 0)": m0["correlation"][neuron],
        })
    return rows


def _median(maps: dict, codes: list[str], widths: dict[str, int], field: str) -> float:
    values = [maps[layer][field][neuron] for layer, neuron in (parse_neuron(c, widths) for c in codes)]
    values = [v for v in values if math.isfinite(float(v))]
    return float(np.median(values)) if values else float("nan")


def noise_summary(codes: list[str], widths: dict[str, int], now: dict, init: dict, epoch: int) -> str:
    """The measured claim in words, for the neurons shown."""
    def med(maps, field):
        return format_number(_median(maps, codes, widths, field), 3 if "frequency" in field else 2)

    return (
        f"Median over the {len(codes)} neurons shown, at epoch {epoch}: the effective weights put "
        f"**{med(now, 'effective_high_frequency')}** of their energy at high spatial frequencies "
        f"(roughness {med(now, 'effective_roughness')}), the dataset averages "
        f"**{med(now, 'average_high_frequency')}** (roughness {med(now, 'average_roughness')}). "
        f"At initialisation the effective weights gave {med(init, 'effective_high_frequency')} "
        f"(roughness {med(init, 'effective_roughness')}); pure pixel noise gives about "
        f"{NOISE_HIGH_FREQUENCY_SHARE:.2f} (roughness {NOISE_ROUGHNESS:.2f}). "
        f"The effective weights correlate with their neuron's dataset average at a median "
        f"r = {med(now, 'correlation')} (epoch 0: {med(init, 'correlation')})."
    )


def sparsity_lead(layers: dict[str, LayerSparsity]) -> str:
    """The Activations page's opening numbers: the first hidden layer's means against the post's figures."""
    s = next(iter(layers.values()))
    return (f"an average test image switches on {s.mean(HIGH):.1f} of {s.width} {s.layer} neurons strongly and "
            f"{s.mean(MILD):.1f} mildly (the post: about {POST_HIGH} and {POST_MILD})")


def noise_lead(codes: list[str], widths: dict[str, int], now: dict, which: str = "effective") -> str:
    """The opening numbers of the maps pages: the shown maps' median share of fine, pixel-to-pixel detail."""
    hf = _median(now, codes, widths, f"{which}_high_frequency")
    what = "effective weights" if which == "effective" else "dataset averages"
    return (f"the {len(codes)} {what} shown put a median {format_number(hf, 2)} of their energy in fine, "
            f"pixel-to-pixel detail (pixel noise: about {NOISE_HIGH_FREQUENCY_SHARE:.2f}; a written digit: about 0.1)")
