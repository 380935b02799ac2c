"""No module of emulator/ imports, even only for type hints, a module that imports it back.

Every import counts: at the top, inside a function, under `if TYPE_CHECKING:`. A part the
Emulator owns (methods, users, control) says what it needs of it in a Protocol of its own.
"""

from __future__ import annotations

import ast
from pathlib import Path

import emulator

PACKAGE = Path(emulator.__file__).resolve().parent


def module_name(path: Path, package: Path) -> str:
    """`emulator.server` for emulator/server.py, `emulator` for emulator/__init__.py."""
    parts = [package.name, *path.relative_to(package).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module -> the modules of the same package it imports, as read from the source."""
    paths = {module_name(path, package): path for path in package.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in paths}
    for name, path in paths.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".")
                    base = base[: len(base) - node.level + (1 if is_package else 0)]
                    source = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    source = node.module or ""
                # `from . import users` names a module; `from .server import Emulator` a value.
                targets = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in paths
                           else source for alias in node.names]
            for target in targets:
                while target and target not in paths:  # the package's deepest module named
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node):], node]
        if node in done:
            return None
        for target in sorted(graph[node]):
            if cycle := visit(target, [*path, node]):
                return cycle
        done.add(node)
        return None

    for start in sorted(graph):
        if cycle := visit(start, []):
            return cycle
    return None


def test_the_graph_sees_every_kind_of_import(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("from .a import A\n")
    (package / "a.py").write_text("from typing import TYPE_CHECKING\n"
                                  "if TYPE_CHECKING:\n    from .b import B\nclass A: ...\n")
    (package / "b.py").write_text("def f():\n    from pkg import sub\n")
    (package / "c.py").write_text("import pkg.e\nimport json\n")
    (package / "e.py").write_text("E = 1\n")
    (package / "sub" / "__init__.py").write_text("from . import d\n")
    (package / "sub" / "d.py").write_text("from .. import c, e\nfrom ..e import E\n")
    assert import_graph(package) == {
        "pkg": {"pkg.a"},
        "pkg.a": {"pkg.b"},
        "pkg.b": {"pkg.sub"},
        "pkg.c": {"pkg.e"},
        "pkg.e": set(),
        "pkg.sub": {"pkg.sub.d"},
        "pkg.sub.d": {"pkg.c", "pkg.e"},
    }
    assert find_cycle(import_graph(package)) is None
    (package / "b.py").write_text("from typing import TYPE_CHECKING\n"
                                  "if TYPE_CHECKING:\n    from .a import A\n")
    assert find_cycle(import_graph(package)) == ["pkg.a", "pkg.b", "pkg.a"]


def test_the_emulator_has_no_import_cycle() -> None:
    graph = import_graph(PACKAGE)
    assert {"emulator.state", "emulator.users"} <= graph["emulator.server"]  # it reads them
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])
