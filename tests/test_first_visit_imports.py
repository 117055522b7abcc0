"""A page's first visit does not wait for modules it does not need: the pages draw their tables from rows, so pandas
(about half a second to import) is not imported by the app's own code."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _modules_of(script: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(script.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_no_page_imports_pandas():
    scripts = [ROOT / "streamlit_app.py", *sorted((ROOT / "views").glob("*.py"))]
    modules = sorted(set().union(*map(_modules_of, scripts)))
    assert "pandas" not in modules and any(m.startswith("ui.") for m in modules)
    code = ("import importlib, sys\n"
            f"for name in {modules!r}:\n"
            "    try:\n"
            "        importlib.import_module(name)\n"
            "    except ModuleNotFoundError:\n"
            "        pass  # a name imported from a module, not a module itself\n"
            "print('pandas' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "False"
