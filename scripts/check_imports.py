#!/usr/bin/env python3
"""The import contract of netsci_dl: imports run down the levels only, and a private module is
imported only inside its own package.

Run by ``make lint`` (and so by CI) and by ``tests/test_architecture.py``::

    python scripts/check_imports.py [PACKAGE_DIR]

Every import is read from the source (``ast``), the ones inside functions too (a lazy import is
still an arrow). Rules:

1. **Levels.** Each module belongs to a room, each room to a level (``LEVELS`` below, lowest
   first). A module may import from its own room and from rooms on lower levels, never from a
   room on its level or above.
2. **Privacy.** ``a.b._c`` (or anything under it) is imported only by modules inside ``a.b``.
3. **No detours.** ``importlib.import_module`` / ``__import__`` with a literal ``netsci_dl``
   name is refused (it would hide an arrow); a computed name is allowed only in ``DYNAMIC``
   (loading a user's own ``pkg.module:Class``, and the CLI's command table).

Exit status 0 when the contract holds, 1 with one line per violation otherwise.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = "netsci_dl"

# (room prefix, level). The longest matching prefix names a module's room.
LEVELS: dict[str, int] = {
    # 0: core. The graph object and what every room may use.
    "netsci_dl.errors": 0,
    "netsci_dl._array": 0,
    "netsci_dl._sanitize": 0,
    "netsci_dl._files": 0,
    "netsci_dl._graph_checks": 0,
    "netsci_dl.graph": 0,
    "netsci_dl._threshold_core": 0,
    "netsci_dl.threshold": 0,
    "netsci_dl.convert": 0,
    # 1: one kind of input each: graph files, models/checkpoints, data, parallel jobs, run folders
    "netsci_dl.io": 1,
    "netsci_dl.export": 1,
    "netsci_dl.datasets": 1,
    "netsci_dl.parallel": 1,
    "netsci_dl.runs.format": 1,
    # 2: pure analyses
    "netsci_dl.analysis": 2,
    # 3: trainers
    "netsci_dl.models": 3,
    # 4: the only code that runs a model
    "netsci_dl.activations": 4,
    # 5: per-snapshot pipelines over run folders
    "netsci_dl.runs": 5,
    # 6: figures, 7: the report (draws with plot), 8: the demo, 9: the CLI
    "netsci_dl.plot": 6,
    "netsci_dl.report": 7,
    "netsci_dl.demo": 8,
    "netsci_dl.cli": 9,
    # the public facade re-exports every room
    "netsci_dl": 10,
}

# Modules allowed to import a module whose name is computed at run time.
DYNAMIC = {
    "netsci_dl._array",  # optional dependencies (torch, ...) by name, never netsci_dl
    "netsci_dl.export.module",  # the user's own --model pkg.module:Class
    "netsci_dl.cli",  # the command table (netsci_dl.cli.<command>)
}


def room_of(module: str) -> str | None:
    """The room (a key of LEVELS) of a module name, or None outside netsci_dl."""
    parts = module.split(".")
    for i in range(len(parts), 0, -1):
        prefix = ".".join(parts[:i])
        if prefix in LEVELS:
            return prefix
    return None


def private_owner(module: str) -> str | None:
    """The package a private module belongs to (``a.b`` for ``a.b._c.d``), or None."""
    parts = module.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:i])
    return None


def module_name(path: Path, base: Path) -> tuple[str, bool]:
    rel = path.relative_to(base.parent).with_suffix("")
    parts = list(rel.parts)
    is_pkg = parts[-1] == "__init__"
    if is_pkg:
        parts = parts[:-1]
    return ".".join(parts), is_pkg


def _resolve(node: ast.ImportFrom, mod: str, is_pkg: bool) -> str:
    if not node.level:
        return node.module or ""
    pkg = mod.split(".") if is_pkg else mod.split(".")[:-1]
    base = pkg[: len(pkg) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


_MODULES: set[str] = set()  # every module of the package, filled by check()


def imports_of(path: Path, mod: str, is_pkg: bool) -> list[tuple[int, str, str]]:
    """(line, imported module, how) for every import in a file, lazy ones included."""
    tree = ast.parse(path.read_text(), filename=str(path))
    out: list[tuple[int, str, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, a.name, "import") for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(node, mod, is_pkg)
            for a in node.names:
                # `from pkg import sub` imports the submodule when it is one
                full = f"{target}.{a.name}"
                out.append((node.lineno, full if full in _MODULES else target, "from"))
        elif isinstance(node, ast.Call):
            fn = node.func
            name = (
                fn.attr
                if isinstance(fn, ast.Attribute)
                else fn.id
                if isinstance(fn, ast.Name)
                else ""
            )
            if name in ("import_module", "__import__"):
                arg = node.args[0] if node.args else None
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    out.append((node.lineno, arg.value, "importlib"))
                else:
                    out.append((node.lineno, "", "dynamic"))
    return out


def check(package_dir: Path) -> list[str]:
    """Every violation of the contract in ``package_dir`` (the ``netsci_dl`` folder)."""
    files = sorted(package_dir.rglob("*.py"))
    names = {}
    for f in files:
        mod, is_pkg = module_name(f, package_dir)
        names[f] = (mod, is_pkg)
        _MODULES.add(mod)
    problems: list[str] = []
    for f in files:
        mod, is_pkg = names[f]
        src_room = room_of(mod)
        rel = f.relative_to(package_dir.parent)
        for line, target, how in imports_of(f, mod, is_pkg):
            where = f"{rel}:{line}"
            if how == "dynamic":
                if mod not in DYNAMIC:
                    problems.append(f"{where}: a computed import_module/__import__ hides an arrow")
                continue
            if how == "importlib" and target.split(".")[0] == ROOT:
                problems.append(f"{where}: importlib detour to {target}: import it plainly")
            if target.split(".")[0] != ROOT:
                continue
            dst_room = room_of(target)
            if src_room is None or dst_room is None:
                continue
            owner = private_owner(target)
            if owner is not None and not (mod == owner or mod.startswith(owner + ".")):
                problems.append(f"{where}: {mod} imports {target}, private to {owner}")
            if dst_room == src_room or src_room == ROOT:
                continue
            if mod.startswith(dst_room + ".") and dst_room == ROOT:
                continue
            src_level, dst_level = LEVELS[src_room], LEVELS[dst_room]
            if dst_level >= src_level:
                what = "up" if dst_level > src_level else "across"
                problems.append(
                    f"{where}: {mod} (level {src_level}, {src_room}) imports {target} "
                    f"(level {dst_level}, {dst_room}): imports run down only, not {what}"
                )
    return problems


def main(argv: list[str]) -> int:
    package_dir = Path(argv[1]) if len(argv) > 1 else Path(__file__).parents[1] / ROOT
    problems = check(package_dir)
    for p in problems:
        print(p)
    if problems:
        print(f"import contract: {len(problems)} violation(s)", file=sys.stderr)
        return 1
    print("import contract: kept")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
