"""Home.py under the pages' import contract. import-linter (.importlinter, run by
tests/run_all.sh) checks pages/ and core/, but it reads packages only, and Home.py is a module."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("storage", "core.render", "core.brief.runtime", "core.queue")


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_home_reaches_storage_and_models_only_through_services():
    imported = imported_modules(ROOT / "Home.py")
    assert "core.services.gallery" in imported  # the check reads the real imports
    bad = sorted(m for m in imported if any(m == f or m.startswith(f + ".") for f in FORBIDDEN))
    assert not bad, f"Home.py imports {bad}; call core.services instead"


def test_settings_and_pure_packages_import_without_torch():
    """Reading settings, building a prompt or a recipe must not pay torch's import (seconds,
    and gigabytes for a web host with no GPU). Run in a fresh interpreter: this test process
    has torch loaded already."""
    import subprocess
    import sys

    code = (
        "import sys; import core.settings, core.access, core.prompt.builder, core.recipe, core.render.memory, core.text.check; "
        "print(sorted(m for m in ('torch', 'diffusers', 'transformers', 'streamlit') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
