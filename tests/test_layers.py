"""The dependency rule of docs/architecture.md, enforced: each layer (a folder of `broadcaster/`)
imports only the layers listed for it, nothing imports the CLI, and the pure core imports no
adapter. Lazy imports inside functions count too: a rule that held only at module level would
let the next subsystem reach into the daemon after all."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "broadcaster"

SHARED = {"errors", "i18n", "files", "programs", "database"}
"""Used by every layer: the one error type, translated messages, atomic writes and containment,
the helper programs (ffmpeg, espeak-ng) found safely."""
ALLOWED: dict[str, set[str]] = {
    "core": {"errors", "i18n"},
    "audio": {"core", *SHARED},
    "speech": {"core", *SHARED},
    "control": {"core", *SHARED},
    "station": {"core", "audio", *SHARED},
    "broadcast": {"core", "station", "speech", "audio", *SHARED},
    "relay": {"core", "audio", *SHARED},
    "onair": {"core", "station", "speech", "audio", "broadcast", "control", "relay", *SHARED},
    "system": {
        "core",
        "station",
        "speech",
        "audio",
        "broadcast",
        "control",
        "relay",
        "monitor",
        *SHARED,
    },
    "province": {"core", "station", "audio", "broadcast", "control", "onair", *SHARED},
    "monitor": {"core", "station", "audio", "control", "onair", "relay", *SHARED},
    "web": {
        "core",
        "station",
        "audio",
        "speech",
        "broadcast",
        "control",
        "onair",
        "system",
        "province",
        "relay",
        "monitor",
        *SHARED,
    },
    "cli": {
        "core",
        "station",
        "speech",
        "audio",
        "broadcast",
        "control",
        "onair",
        "system",
        "province",
        "web",
        "relay",
        "monitor",
        *SHARED,
    },
    "launch": {"cli", *SHARED},
    "__main__": {"launch"},
    "errors": {"i18n"},
    "files": {"errors", "i18n"},
    "database": {"errors"},
    "programs": set(),
    "i18n": set(),
    "__init__": set(),
}
"""Layer → the layers it may import. A new subsystem gets a row when it arrives: control, onair's
events and the station's read models, never cli/."""


def layer_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def is_module(name: str) -> bool:
    return (PACKAGE / name).is_dir() or (PACKAGE / f"{name}.py").is_file()


def imported_layers(path: Path) -> dict[str, int]:
    """Each broadcaster layer `path` imports, with the first line that does."""
    found: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = (
                [node.module]
                if node.module != "broadcaster"
                else [f"broadcaster.{alias.name}" for alias in node.names if is_module(alias.name)]
            )
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "broadcaster" and len(parts) > 1:
                found.setdefault(parts[1], node.lineno)
    return found


SOURCES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_each_module_imports_only_the_layers_below_it(path: Path) -> None:
    layer = layer_of(path)
    assert layer in ALLOWED, f"{path}: layer {layer!r} has no row in ALLOWED"
    wrong = {
        f"{path.relative_to(PACKAGE.parent)}:{line} imports broadcaster.{target}"
        for target, line in imported_layers(path).items()
        if target != layer and target not in ALLOWED[layer]
    }
    assert not wrong, sorted(wrong)


def test_the_rule_sees_a_forbidden_import(tmp_path: Path) -> None:
    """The checker itself can fail: a core module importing the as-run store is caught."""
    module = tmp_path / "leak.py"
    module.write_text("def f():\n    from broadcaster.onair.asrun import AsRunLog\n")
    assert imported_layers(module) == {"onair": 2}
    assert "onair" not in ALLOWED["core"]


def test_nothing_imports_the_cli() -> None:
    importers = [layer for layer, allowed in ALLOWED.items() if "cli" in allowed]
    assert importers == ["launch"]
