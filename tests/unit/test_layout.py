"""The house's one rule (ARCHITECTURE.md): imports point down the tiers only, and no room imports a
private name of another. Read from the source with ast, so a lazy import inside a function counts too."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Lowest first. A room may import its own modules, the ground and rooms of a lower tier; rooms of the
# same tier do not import each other.
TIERS = (
    ("wardwatch",),
    ("ingest", "threatfeeds"),
    ("sigmarules",),
    ("detectors",),
    ("bus",),
    ("store",),
    ("hunt",),
    ("notify", "dashboards"),
    ("report", "console"),  # they use notify: the e-mail channel, acknowledgements
    ("tools", "service"),
    ("cli",),
)
TIER = {room: i for i, rooms in enumerate(TIERS) for room in rooms}


def rooms_from_setup() -> dict[str, str]:
    tree = ast.parse((ROOT / "setup.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "ROOMS":
            return dict(ast.literal_eval(node.value))
    raise AssertionError("setup.py has no ROOMS")


ROOMS = rooms_from_setup()  # module -> folder


def room_of_module(module: str) -> str | None:
    """The room (folder) a dotted ``wardwatch…`` module lives in, or None for another package."""
    parts = module.split(".")
    if parts[0] != "wardwatch":
        return None
    if len(parts) > 1 and f"wardwatch.{parts[1]}" in ROOMS:
        return ROOMS[f"wardwatch.{parts[1]}"]
    return "wardwatch"


def imports(path: Path, module: str) -> list[tuple[int, str, list[str]]]:
    """(line, absolute module, names imported from it) for every import in a file."""
    out: list[tuple[int, str, list[str]]] = []
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, a.name, []) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")
                up = up[: len(up) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            out.append((node.lineno, base, [a.name for a in node.names]))
    return out


def module_name(path: Path, folder: str, module: str) -> str:
    rel = path.relative_to(ROOT / folder).with_suffix("")
    parts = [*module.split("."), *rel.parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def violations() -> list[str]:
    found = []
    for module, folder in ROOMS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            me = module_name(path, folder, module)
            for line, target, names in imports(path, me):
                room = room_of_module(target)
                if room is None or room == folder:
                    continue
                where = f"{path.relative_to(ROOT)}:{line}"
                if TIER[room] >= TIER[folder]:
                    found.append(f"{where}: {folder}/ imports {target} from {room}/, which is not below it")
                private = [p for p in target.split(".") if p.startswith("_") and not p.startswith("__")]
                private += [n for n in names if n.startswith("_") and not n.startswith("__")]
                if private:
                    found.append(f"{where}: {folder}/ imports private {', '.join(private)} of {room}/")
    return found


def test_every_room_has_a_tier():
    assert set(ROOMS.values()) == set(TIER), "a room in setup.py is missing from TIERS (or the reverse)"


def test_imports_point_down_and_stay_public():
    assert violations() == []


def test_the_checker_sees_an_upward_and_a_private_import(tmp_path, monkeypatch):
    # A check that finds nothing must be able to find something: plant both faults in a copy.
    fake = tmp_path / "ingest"
    fake.mkdir()
    (fake / "bad.py").write_text(
        "from wardwatch.cli import main\nfrom wardwatch.threatfeeds.index import _private\n"
        "def f():\n    import wardwatch.store.writer\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    found = violations()
    assert any("imports wardwatch.cli" in v for v in found)
    assert any("wardwatch.store.writer" in v for v in found)
    assert any("private _private" in v for v in found)
    # same tier is not "below" either
    assert any("threatfeeds" in v and "not below" in v for v in found)
