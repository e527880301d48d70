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
