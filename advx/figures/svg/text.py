"""Values and labels: plotly's arrays and numbers read back, hover templates filled in, label markup made safe
HTML."""

from __future__ import annotations

import html as _html
import math
import re

import numpy as np

from advx.figures import maps as M


def as_list(value) -> list:
    """A trace's array (a list, a NumPy array or plotly's base64 typed array) as a plain list."""
    if value is None:
        return []
    if isinstance(value, dict) and "bdata" in value:
        return M.as_array(value).tolist()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return list(value) if isinstance(value, (list, tuple)) else [value]


def as_number(value) -> float | None:
    """``value`` as a finite float, or None (a string that is not a number, None, NaN)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def numeric(values: list) -> bool:
    """Whether plotly would place ``values`` on a numeric axis (every one a number or a numeric string)."""
    present = [v for v in values if v is not None]
    return all(as_number(v) is not None or (isinstance(v, float) and math.isnan(v)) for v in present)


def category_key(value) -> str:
    """A value as a category's name (``1.0`` and ``"1"`` are the same category)."""
    number = as_number(value)
    if number is not None and not isinstance(value, str) and number == int(number):
        return str(int(number))
    return str(value)


def format_value(value, spec: str = "") -> str:
    """``value`` formatted by a d3 format ``spec`` as plotly does for the specs the figures use (``.1%``, ``.3f``,
    ``.3g``, ``,d``, ``~``-trimmed); a value that is not a number is shown as it is."""
    number = as_number(value)
    if number is None:
        return "" if value is None else str(value)
    trim = spec.startswith("~") or "~" in spec
    spec = spec.replace("~", "")
    if not spec:
        text = str(int(number)) if number == int(number) and abs(number) < 1e15 else f"{number:.4g}"
    else:
        try:
            text = format(int(round(number)) if spec.endswith("d") else number, spec)
        except (ValueError, TypeError):
            text = f"{number:.4g}"
    if trim and "." in text and "e" not in text:
        suffix = "%" if text.endswith("%") else ""
        text = (text[:-1] if suffix else text).rstrip("0").rstrip(".") + suffix
    return text.replace("-", "−") if text.startswith("-") else text


_FIELD = re.compile(r"%\{([A-Za-z_.]+)(?:\[(\d+)\])?(?::([^}]*))?\}")
_TAGS_KEPT = ("b", "i", "sup", "sub")


def fill_template(template: str, values: dict) -> str:
    """A plotly ``hovertemplate`` (or ``texttemplate``) with ``%{name}``, ``%{name[i]}`` and ``%{name:format}``
    filled in from ``values``, its ``<extra>`` part dropped, as plain text (``<br>`` a line break)."""
    template = re.sub(r"<extra>.*?</extra>", "", str(template), flags=re.S)

    def one(match):
        name, index, spec = match.group(1), match.group(2), match.group(3) or ""
        value = values.get(name)
        if index is not None:
            value = value[int(index)] if isinstance(value, (list, tuple)) and int(index) < len(value) else None
        return format_value(value, spec)

    return plain(_FIELD.sub(one, template), breaks="\n")


def plain(text, breaks: str = " ") -> str:
    """Plotly's label markup as plain text: ``<br>`` as ``breaks``, other tags dropped."""
    text = re.sub(r"<br\s*/?>", "\x00", str(text or ""), flags=re.I)
    text = _html.unescape(re.sub(r"<[^>]+>", "", text))
    return text.replace("\x00", breaks).strip()


def rich(text) -> str:
    """Plotly's label markup as safe HTML: ``<br>``, ``<b>``, ``<i>``, ``<sup>``, ``<sub>`` kept, the rest escaped or
    dropped."""
    text = re.sub(r"<br\s*/?>", "\x00", str(text or ""), flags=re.I)
    kept = {f"<{t}>": f"\x01{t}\x02" for t in _TAGS_KEPT} | {f"</{t}>": f"\x01/{t}\x02" for t in _TAGS_KEPT}
    for tag, mark in kept.items():
        text = text.replace(tag, mark)
    text = _html.escape(_html.unescape(re.sub(r"<[^>]+>", "", text)), quote=False)
    return text.replace("\x00", "<br>").replace("\x01", "<").replace("\x02", ">")


def title_text(title) -> str:
    if isinstance(title, dict):
        return str(title.get("text") or "")
    return str(title or "")


def tip_text(text: str) -> str:
    """A tooltip's text for a ``title`` attribute: escaped, its line breaks as character references."""
    return _html.escape(text, quote=True).replace("\n", "&#10;")
