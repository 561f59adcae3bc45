"""The house rules the layout depends on: the library never imports its tests or the pytest
plugin, and the plugin is what the package registers with pytest."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_library_imports_neither_the_claims_nor_the_plugin():
    outside = ("claims", "fixtures", "memsuite_claims", "memsuite_fixtures")
    offending = {str(p.relative_to(ROOT)): sorted(n for n in _imports(p)
                                                  if n.split(".")[0] in outside)
                 for p in (ROOT / "suite").rglob("*.py")}
    assert not {k: v for k, v in offending.items() if v}


def test_claim_tests_import_from_the_library_only():
    for path in (ROOT / "claims").glob("test_*.py"):
        assert not {n for n in _imports(path)
                    if n.split(".")[0] in ("fixtures", "memsuite_fixtures")}, path.name


def test_the_plugin_is_registered_through_the_pytest11_entry_point():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["pytest11"] == {"memsuite": "memsuite_fixtures.plugin"}
    assert "pytest_plugins" not in (ROOT / "conftest.py").read_text()  # loaded once, by pytest


def test_every_item_mean_in_a_claim_declares_its_bounds():
    """An item mean without bounds falls back to the percentile bootstrap, which no claim's
    items need (they are shares and their differences) and which misses the level for skewed
    or sparse items at about 100 (statistics version 7, docs/CALIBRATION.md)."""
    import ast

    for path in sorted((ROOT / "claims").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("ItemMean", "Difference")):
                assert any(k.arg == "bounds" for k in node.keywords), \
                    f"{path.name}:{node.lineno}: {node.func.id} without bounds="
