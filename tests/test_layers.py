"""The import drawing of server/ (README, "Architecture"): its folders depend on each other
one way only, core/ depends on no other folder, and signaling/ knows nothing of server/."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVER = ROOT / "server"


def folder_of(module: str) -> str:
    """``server.ws.call`` → ``server.ws``; a module at the top of server/ → ``server``."""
    parts = module.split(".")
    if len(parts) >= 2 and (ROOT / parts[0] / parts[1]).is_dir():
        return ".".join(parts[:2])
    return parts[0]


def imported(path: Path) -> set[str]:
    """The modules of server/ that ``path`` imports (``from server import x`` names x)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "server":
                found |= {f"server.{alias.name}" for alias in node.names}
            elif node.module.startswith("server."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "server"}
    return found


def arrows() -> dict[tuple[str, str], set[str]]:
    """(from folder, to folder) → the modules that import across."""
    drawn: dict[tuple[str, str], set[str]] = defaultdict(set)
    for path in SERVER.rglob("*.py"):
        if path == SERVER / "__main__.py":
            continue  # `python -m server`: the command's entry point, above everything
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        source = folder_of(module)
        for target in map(folder_of, imported(path)):
            if target != source:
                drawn[(source, target)].add(module)
    return drawn


def test_no_two_way_arrows_between_the_folders_of_server() -> None:
    drawn = arrows()
    both_ways = {
        f"{a} ⇄ {b}: {sorted(drawn[(a, b)])} and {sorted(drawn[(b, a)])}"
        for (a, b) in drawn
        if (b, a) in drawn and a < b
    }
    assert not both_ways, both_ways


def test_core_builds_on_nothing_else_of_server() -> None:
    outward = {k: v for k, v in arrows().items() if k[0] == "server.core"}
    assert not outward, outward


def test_signaling_knows_nothing_of_server() -> None:
    users = [p for p in (ROOT / "signaling").rglob("*.py") if imported(p)]
    assert not users, users
