"""What the server prepares as it starts, before a visitor arrives (``st.App``'s lifespan, see ``streamlit_app.py``).

A restarted server's first visit used to wait about a second for its imports: JAX and Flax, then the library. The
server now imports them in a background thread as soon as it starts, while the visitor's browser is still loading
Streamlit's front end; a page that runs before they are done waits only for what is left (Python's import lock).
Nothing is computed here: every result is still the page's or its jobs' own.
"""

from __future__ import annotations

import contextlib
import threading


def imports() -> None:
    """Import what every page of the library side needs, after the start-up settings (the compilation cache)."""
    from ui import startup

    startup.configure()
    import advx.attacks  # noqa: F401  (JAX, Flax and the model)
    import advx.experiments  # noqa: F401  (every experiment: runs, neurons, subspace, overlay, robust, population)
    import advx.neurons  # noqa: F401


@contextlib.asynccontextmanager
async def lifespan(app):
    """Start ``imports`` in the background; the server serves at once."""
    threading.Thread(target=imports, name="advx-imports", daemon=True).start()
    yield
