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

# The rooms, lowest level first: (room, level, module prefixes). The longest matching prefix
# names a module's room. Modules of one room may import each other; rooms of one level may not.
ROOMS: list[tuple[str, int, tuple[str, ...]]] = [
    # 0: the graph object and what every room may use (errors, arrays, safe files, thresholds)
    (
        "core",
        0,
        (
            "netsci_dl.errors",
            "netsci_dl._array",
            "netsci_dl._args",
            "netsci_dl._sanitize",
            "netsci_dl._tables",
            "netsci_dl._results",
            "netsci_dl._files",
            "netsci_dl._graph_checks",
            "netsci_dl.graph",
            "netsci_dl._threshold_core",
            "netsci_dl._threshold_blocks",
            "netsci_dl.threshold",
            "netsci_dl.convert",
        ),
    ),
    # 1: one kind of input each: graph files, data, parallel jobs, the run-folder format
    ("io", 1, ("netsci_dl.io",)),
    ("datasets", 1, ("netsci_dl.datasets",)),
    ("parallel", 1, ("netsci_dl.parallel",)),
    ("runs.format", 1, ("netsci_dl.runs.format",)),
    # 2: models and checkpoints -> graphs (load() also opens graph files, so it sits on io)
    ("export", 2, ("netsci_dl.export",)),
    # 3: pure analyses; 4: trainers; 5: the only code that runs a model
    ("analysis", 3, ("netsci_dl.analysis",)),
    ("models", 4, ("netsci_dl.models",)),
    ("activations", 5, ("netsci_dl.activations",)),
    # 6: per-snapshot pipelines over run folders
    ("runs", 6, ("netsci_dl.runs",)),
    # 7: figures; 8: the report (draws with plot); 9: the demo; 10: the CLI
    ("plot", 7, ("netsci_dl.plot",)),
    ("report", 8, ("netsci_dl.report",)),
    ("demo", 9, ("netsci_dl.demo",)),
    ("cli", 10, ("netsci_dl.cli",)),
    # the public facade re-exports every room
    ("facade", 11, ("netsci_dl",)),
]
LEVELS = {prefix: (room, level) for room, level, prefixes in ROOMS for prefix in prefixes}

# Modules allowed to import a module whose name is computed at run time.
DYNAMIC = {
    "netsci_dl._array",  # optional dependencies (torch, ...) by name, never netsci_dl
    "netsci_dl.export.module",  # the user's own --model pkg.module:Class
    "netsci_dl.cli",  # the command table (netsci_dl.cli.<command>)
}


def room_of(module: str) -> tuple[str, int] | None:
    """(room, level) of a module name, or None outside netsci_dl."""
    parts = module.split(".")
    for i in range(len(parts), 0, -1):
        prefix = ".".join(parts[:i])
        if prefix in LEVELS:
            return LEVELS[prefix]
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
_PACKAGES: set[str] = set()  # the packages among them


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
                if full in _MODULES:
                    out.append((node.lineno, full, "from"))
                elif a.name.startswith("_") and not a.name.startswith("__"):
                    out.append((node.lineno, full, "private name"))
                else:
                    out.append((node.lineno, target, "from"))
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
        if is_pkg:
            _PACKAGES.add(mod)
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
            if how == "private name":  # _name of module m is private to m's package
                parent = target.rsplit(".", 1)[0]
                owner = private_owner(parent) or (
                    parent if parent in _PACKAGES else parent.rsplit(".", 1)[0]
                )
            if owner is not None and not (mod == owner or mod.startswith(owner + ".")):
                problems.append(f"{where}: {mod} imports {target}, private to {owner}")
            (src_name, src_level), (dst_name, dst_level) = src_room, dst_room
            if dst_name == src_name:
                continue
            if dst_level >= src_level:
                what = "up" if dst_level > src_level else "across"
                problems.append(
                    f"{where}: {mod} (level {src_level}, {src_name}) imports {target} "
                    f"(level {dst_level}, {dst_name}): imports run down only, not {what}"
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
