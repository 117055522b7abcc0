"""A page's view in the URL's query parameters.

Each ``url_*`` reader returns a valid value. An invalid parameter is corrected to the nearest valid
value (or the default when there is none) and a note is recorded; ``show_notes()`` displays them.
After its widgets, a page calls ``sync(...)`` so that the address bar always holds the current view.
"""

from __future__ import annotations

import math
from typing import Sequence

import streamlit as st

_NOTES = "_advx_link_notes"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _raw(name: str) -> str | None:
    value = st.query_params.get(name)
    return None if value is None else str(value).strip()


def url_text(name: str, default: str = "") -> str:
    """Parameter ``name`` as text (stripped), or ``default`` when absent."""
    raw = _raw(name)
    return default if raw is None else raw


def note(message: str) -> None:
    """Record a correction for `show_notes()` (for parameters read outside the `url_*` helpers)."""
    notes = st.session_state.setdefault(_NOTES, [])
    if message not in notes:
        notes.append(message)


def _parse_number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _url_number(name: str) -> tuple[str | None, float | None]:
    """``(raw, number)`` of parameter ``name``; ``(None, None)`` when it is absent or empty.

    A present value that is not a finite number gives ``(raw, None)``.
    """
    raw = _raw(name)
    if raw is None or raw == "":
        return None, None
    return raw, _parse_number(raw)


def _url_bounded(name: str, default, lo, hi, whole: bool):
    raw, number = _url_number(name)
    if number is None:
        if raw is not None:
            note(f"`{name}={raw}` is not a number; using {default}.")
        return default
    value = int(round(number)) if whole else number
    clamped = min(max(value, lo), hi)
    if clamped != value or value != number:
        note(f"`{name}={raw}` is outside {lo}–{hi}{' or not whole' if whole else ''}; using {clamped}.")
    return clamped


def url_int(name: str, default: int, lo: int, hi: int) -> int:
    """Integer parameter ``name`` in ``[lo, hi]``."""
    return _url_bounded(name, default, lo, hi, whole=True)


def url_float(name: str, default: float, lo: float, hi: float) -> float:
    """Float parameter ``name`` in ``[lo, hi]``."""
    return _url_bounded(name, default, lo, hi, whole=False)


def url_choice(name: str, default: str, choices: Sequence[str]) -> str:
    """One of ``choices`` (matched without regard to case)."""
    raw = _raw(name)
    if raw is None or raw == "":
        return default
    for choice in choices:
        if raw.lower() == str(choice).lower():
            return choice
    named = [str(c) for c in choices if str(c)]
    note(f"`{name}={raw}` is not one of {', '.join(named)}; using {default if str(default) else 'none'}.")
    return default


def url_eps(norm: str, norms: Sequence[str], default: float, lo: float, hi: float) -> tuple[str, float]:
    """``(parameter name, ε)`` from the link: an ε belongs to the link's ``norm=``, so after a switch of norm it
    is ``default``. Links made before the pages said ε carry it as ``strength``."""
    link_norm = url_text("norm", norm).lower()
    same_norm = link_norm == norm or link_norm not in norms
    name = "strength" if _raw("strength") is not None and _raw("eps") is None else "eps"
    return name, (url_float(name, default, lo, hi) if same_norm else default)


def url_bool(name: str, default: bool) -> bool:
    raw = _raw(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    note(f"`{name}={raw}` is not true or false; using {str(default).lower()}.")
    return default


def show_notes() -> None:
    """Show (then forget) the corrections made while reading this run's URL."""
    for message in st.session_state.pop(_NOTES, []):
        st.warning(f"Link corrected: {message}", icon=":material/link:")


def seed(key: str, value) -> None:
    """Give widget ``key`` its first value (from the URL) unless the session already holds one."""
    if key not in st.session_state:
        st.session_state[key] = value


def _encode(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(_encode(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def sync(**values) -> None:
    """Write the current view into the URL (``None`` removes a parameter)."""
    for name, value in values.items():
        if value is None:
            if name in st.query_params:
                del st.query_params[name]
            continue
        text = _encode(value)
        if st.query_params.get(name) != text:
            st.query_params[name] = text
