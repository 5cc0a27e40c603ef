"""Which module may import which: the survey definition is a leaf, content storage does not
reach into answering or results (there was a cycle store ↔ surveys/analytics, closed at run
time by a registry and imports inside functions)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imports(module: str) -> set[str]:
    """Every app module `module` imports, at the top or inside a function."""
    tree = ast.parse((ROOT / (module.replace(".", "/") + ".py")).read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("app"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("app"))
    return found


def test_the_survey_definition_reads_only_models():
    assert {
        m for m in imports("app.services.survey_definition") if not m.startswith("app.models")
    } == set()


def test_storing_content_does_not_import_answering_or_results():
    reached = imports("app.content.store")
    assert not {
        m for m in reached if m.startswith(("app.services.surveys", "app.services.analytics"))
    }
