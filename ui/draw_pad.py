"""The drawing pad: a 280 px square canvas of our own (Streamlit Components v2), mouse, pen and touch.

The browser keeps the strokes; after every finished stroke, undo or clear it sends the ink as a
``RASTER × RASTER`` grey image (each value the ink coverage of a 2 × 2 block of the canvas, 0-255),
base64, with a running count so that two equal drawings still register as a change. Nothing is
loaded from a CDN: the script and style below are all there is.

``pad(key, start, start_version)`` mounts it. ``start`` (a ``(28, 28)`` float image in [0, 1], or
``None``) is painted under the strokes whenever ``start_version`` changes: an example, or a drawing from
a link, to draw on.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import streamlit as st

from advx import drawing as D

SIZE = 280  # the canvas, in CSS pixels
RASTER = 140  # what it sends: one value per 2 x 2 canvas pixels
PEN_WIDTH = 20  # canvas pixels: about 2 MNIST pixels once a digit is scaled into its 20 x 20 box

_HTML = f"""
<div class="advx-pad">
  <canvas width="{SIZE}" height="{SIZE}" role="img" tabindex="0"
          aria-label="Drawing pad: draw one digit with the mouse, a pen or a finger"></canvas>
  <div class="advx-pad-tools">
    <button type="button" class="advx-undo" aria-label="Undo the last stroke">↶ Undo</button>
    <button type="button" class="advx-clear" aria-label="Clear the pad">✕ Clear</button>
    <span class="advx-status" aria-live="polite"></span>
  </div>
</div>
"""

_CSS = f"""
.advx-pad {{ width: {SIZE}px; max-width: 100%; font-family: var(--st-font, sans-serif); }}
.advx-pad canvas {{ width: 100%; aspect-ratio: 1; background: #fff; border: 2px solid #888;
  border-radius: 6px; touch-action: none; cursor: crosshair; display: block; box-sizing: border-box; }}
.advx-pad canvas:focus-visible {{ outline: 3px solid var(--st-primary-color, #f63); }}
.advx-pad-tools {{ display: flex; gap: 8px; margin-top: 6px; align-items: center; }}
.advx-pad-tools button {{ font: inherit; padding: 4px 12px; border-radius: 6px; border: 1px solid #888;
  background: var(--st-secondary-background-color, #f0f2f6); color: var(--st-text-color, #222); cursor: pointer; }}
.advx-status {{ font-size: 0.85em; opacity: 0.7; }}
"""

_JS = f"""
export default function(component) {{
  const {{ data, setStateValue, parentElement }} = component;
  const root = parentElement.querySelector(".advx-pad");
  const canvas = root.querySelector("canvas");
  const ctx = canvas.getContext("2d", {{ willReadFrequently: true }});
  const S = {SIZE}, R = {RASTER}, W = {PEN_WIDTH};
  // Streamlit calls this function again when the data change, and mounts the pad afresh now and then (a new
  // canvas): the strokes live in the page, under the pad's widget key, and are drawn on whatever canvas is there.
  const pads = globalThis.__advxPads || (globalThis.__advxPads = new Map());
  const id = (data && data.key) || "pad";
  if (!pads.has(id)) pads.set(id, {{ strokes: [], start: null, version: null, sent: 0, live: null }});
  const st = pads.get(id);

  function paintStart() {{
    if (!st.start) return;
    const small = document.createElement("canvas");
    small.width = small.height = 28;
    const img = small.getContext("2d").createImageData(28, 28);
    for (let i = 0; i < 784; i++) {{ img.data[4 * i + 3] = st.start[i]; }}
    small.getContext("2d").putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(small, 0, 0, S, S);
  }}
  function line(points) {{
    ctx.lineWidth = W; ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.strokeStyle = "#000";
    ctx.beginPath();
    ctx.moveTo(points[0][0], points[0][1]);
    for (const p of points.slice(1)) ctx.lineTo(p[0], p[1]);
    if (points.length === 1) ctx.lineTo(points[0][0] + 0.01, points[0][1]);
    ctx.stroke();
  }}
  function redraw() {{
    ctx.clearRect(0, 0, S, S);
    paintStart();
    for (const s of st.strokes) line(s);
    const n = st.strokes.length;
    root.querySelector(".advx-status").textContent = n ? `${{n}} stroke${{n > 1 ? "s" : ""}}` : (st.start ? "" : "empty");
  }}
  function send() {{
    const px = ctx.getImageData(0, 0, S, S).data;
    const out = new Uint8Array(R * R);
    for (let y = 0; y < R; y++) for (let x = 0; x < R; x++) {{
      const a = 4 * (2 * y * S + 2 * x) + 3;
      out[y * R + x] = (px[a] + px[a + 4] + px[a + 4 * S] + px[a + 4 * S + 4] + 2) >> 2;
    }}
    let bin = "";
    for (let i = 0; i < out.length; i += 4096) bin += String.fromCharCode.apply(null, out.subarray(i, i + 4096));
    st.sent += 1;
    setStateValue("drawing", {{ ink: btoa(bin), size: R, strokes: st.strokes.length, sent: st.sent }});
  }}
  function at(e) {{
    const r = canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * S / r.width, (e.clientY - r.top) * S / r.height];
  }}

  if (data && data.version !== st.version) {{
    st.version = data.version;
    st.start = data.start || null;
    st.strokes = [];
  }}
  redraw();
  if (!canvas.__advxBound) {{
    canvas.__advxBound = true;
    canvas.addEventListener("pointerdown", (e) => {{
      e.preventDefault();
      canvas.setPointerCapture(e.pointerId);
      st.live = [at(e)];
      st.strokes.push(st.live);
      redraw();
    }});
    canvas.addEventListener("pointermove", (e) => {{
      if (!st.live) return;
      const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
      for (const c of (events.length ? events : [e])) st.live.push(at(c));
      redraw();
    }});
    const finish = () => {{ if (st.live) {{ st.live = null; send(); }} }};
    canvas.addEventListener("pointerup", finish);
    canvas.addEventListener("pointercancel", finish);
    root.querySelector(".advx-undo").addEventListener("click", () => {{
      if (st.strokes.length) st.strokes.pop(); else st.start = null;
      redraw(); send();
    }});
    root.querySelector(".advx-clear").addEventListener("click", () => {{
      st.strokes = []; st.start = null; redraw(); send();
    }});
  }}
}}
"""

_PAD = st.components.v2.component("advx_draw_pad", html=_HTML, css=_CSS, js=_JS)


def _start_levels(start: Optional[np.ndarray]) -> Optional[list[int]]:
    if start is None:
        return None
    return [int(v) for v in np.round(np.clip(np.asarray(start, np.float32), 0, 1) * 255).reshape(-1)]


def pad(key: str, start: Optional[np.ndarray] = None, start_version: int = 0) -> tuple[Optional[np.ndarray], int]:
    """Mount the pad (see the module's text). Returns ``(drawing, sent)``: the last drawing the pad sent,
    ``(RASTER, RASTER)`` float32 in [0, 1] (``None`` before the first), and how many it has sent, which
    changes with every stroke, undo or clear.

    A value the pad could not have sent (wrong size, not base64) is reported on the page and ignored.
    """
    result = _PAD(key=key, data={"key": key, "start": _start_levels(start), "version": int(start_version)},
                  on_drawing_change=lambda: None, width="content")
    sent = getattr(result, "drawing", None)
    if not isinstance(sent, dict):
        return None, 0
    try:
        return D.decode_raster(sent.get("ink", ""), int(sent.get("size", 0))), int(sent.get("sent", 0))
    except (D.DrawingError, TypeError, ValueError) as exc:
        st.warning(f"The pad sent a drawing that cannot be read ({exc}); draw again or clear the pad.",
                   icon=":material/draw:")
        return None, 0
