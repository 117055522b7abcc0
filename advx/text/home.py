"""Home's words: the hook under its three pictures, and the findings at a glance."""

from __future__ import annotations

from advx.attacks import EPS_GRID
from advx.findings import FAINT_EPS, VERDICT_LABELS
from advx.vocabulary import pct

BADGES = {"holds": ":green-badge[holds]", "partly": ":orange-badge[partly]", "fails": ":red-badge[fails]",
          None: ":gray-badge[not computed yet]"}
WHOSE = {"post": "the post", "lab": "the lab's test"}


def hook_titles(h) -> list[str]:
    """The three pictures' titles."""
    return [f"test image #{h.image}, a {h.label}", f"output neuron {h.target}'s effective weights",
            f"the sum: the network says {h.prediction}"]


def hook_sentence(h) -> str:
    """What the three pictures show, with the run's own numbers and the scale of ε."""
    if h.eps is None:
        return (f"On this run no ε up to {EPS_GRID['linf'][-1]:g} makes the network say {h.target} with 90% confidence "
                f"(at the largest: {pct(h.probability)}).")
    faint = ("a faint change" if h.eps <= FAINT_EPS else
             "a change you can see (the 7 turns grey), larger than the post's \"faint\"")
    return (f"Adding the pattern at ε = {h.eps:g} (each pixel moves by at most {h.eps:g} of full ink: {faint}) "
            f"makes the network answer **{h.target}** with **{pct(h.probability)}** confidence; before, it gave "
            f"{h.target} a probability of {pct(h.clean, 2)}. This is the smallest ε of the overlay page's grid that reaches 90%.")


def finding_line(row: dict, link: str) -> str:
    """One finding as markdown: its verdict badge, the claim, whose it is, the key number and where it is shown."""
    whose = WHOSE.get(row["whose"], row["whose"])
    number = f" — {row['number']}." if row["number"] else " Computed on its page; open it to fill this in."
    return f"{BADGES[row['verdict']]} {row['claim']} *({whose})*{number} → {link}"


def tally_sentence(counts: dict) -> str:
    """How many findings hold, partly hold and fail, and how many are still to compute."""
    parts = [f"{counts[v]} {VERDICT_LABELS[v]}" for v in ("holds", "partly", "fails")]
    text = f"On this run: {', '.join(parts)}."
    if counts.get(None):
        text += f" {counts[None]} not computed yet: they fill in once their page has computed them."
    return text
