"""The layering of DESIGN.md §3, checked on the source: arrows point down only."""

from __future__ import annotations

import ast
from pathlib import Path

HORDE = Path(__file__).resolve().parents[2] / "horde"
# Lowest first: a group may import from itself and from the groups before it.
DOMAIN_GROUPS = ("moderation", "accounts", "workers", "queue", "status", "community", "openai")
SHARED_LEAVES = {"errors", "model_reference", "profanity", "aliases", "events"}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _modules(folder: str):
    for path in sorted((HORDE / folder).rglob("*.py")):
        yield path.relative_to(HORDE).with_suffix("").parts, _imports(path)


def test_domain_never_imports_the_web_layers():
    for parts, imports in _modules("domain"):
        bad = {i for i in imports if i.split(".")[0] in ("flask", "flask_restx", "werkzeug")}
        bad |= {i for i in imports if i.startswith(("horde.api", "horde.web", "horde.jobs", "horde.cli"))}
        assert not bad, f"{'/'.join(parts)} imports {sorted(bad)}"


def test_models_never_import_the_rules():
    for parts, imports in _modules("models"):
        bad = {i for i in imports if i.startswith(("horde.domain", "horde.api", "horde.web"))}
        assert not bad, f"{'/'.join(parts)} imports {sorted(bad)}"


def test_domain_groups_import_only_downwards():
    for parts, imports in _modules("domain"):
        group = parts[1] if len(parts) > 2 else None
        for name in imports:
            if not name.startswith("horde.domain."):
                continue
            target = name.split(".")[2]
            if target in SHARED_LEAVES or target == group:
                continue
            assert target in DOMAIN_GROUPS, f"{'/'.join(parts)} imports {name}, which is in no group"
            if group in SHARED_LEAVES or group is None:
                raise AssertionError(f"shared leaf {'/'.join(parts)} imports {name}")
            assert DOMAIN_GROUPS.index(target) < DOMAIN_GROUPS.index(group), (
                f"{'/'.join(parts)} ({group}) imports {name} ({target}): groups import only downwards"
            )
