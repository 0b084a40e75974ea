"""The house: imports run down the levels only, private modules stay in their package, no
function of cli/, report/ or export/ is longer than 80 lines (scripts/check_imports.py)."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "check_imports.py"


def run_check(package: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(package)], capture_output=True, text=True, check=False
    )


def test_the_contract_holds():
    r = run_check(ROOT / "netsci_dl")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "kept" in r.stdout


@pytest.mark.parametrize(
    ("file", "line", "expect"),
    [
        # a lazy import that runs up: core -> analysis
        (
            "graph.py",
            "def _wrong():\n    from netsci_dl.analysis import strength\n",
            "imports run down only, not up",
        ),
        # across one level: io -> export
        ("io/npz.py", "from netsci_dl.datasets import load_digits\n", "not across"),
        # a trainer reaching into another package's private module
        (
            "models/dbn.py",
            "from netsci_dl.activations._forward import layer_activations\n",
            "private to netsci_dl.activations",
        ),
        # a private name of another package's module
        (
            "report/modules.py",
            "from netsci_dl.analysis.fields.emd import _GROUNDS\n",
            "private to netsci_dl.analysis.fields",
        ),
        # an importlib detour
        (
            "analysis/structure/fits.py",
            "import importlib\n_m = importlib.import_module('netsci_dl.models.dbn')\n",
            "importlib detour",
        ),
        # the facade from inside the house
        ("plot/sweep.py", "import netsci_dl as nd\n", "level 11, facade"),
    ],
)
def test_a_wrong_way_import_fails(tmp_path, file, line, expect):
    pkg = tmp_path / "netsci_dl"
    shutil.copytree(ROOT / "netsci_dl", pkg, ignore=shutil.ignore_patterns("__pycache__"))
    target = pkg / file
    target.write_text(target.read_text() + "\n" + line)
    r = run_check(pkg)
    assert r.returncode == 1, r.stdout
    assert file in r.stdout and expect in r.stdout, r.stdout


def code_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines from the ``def`` to the end of the body, the docstring left out."""
    n = node.end_lineno - node.lineno + 1
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        n -= first.end_lineno - first.lineno + 1
    return n


def long_functions(folder: Path, limit: int = 80) -> list[str]:
    out = []
    for f in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = code_lines(node)
                if n > limit:
                    out.append(f"{f.relative_to(ROOT)}:{node.lineno} {node.name} ({n} lines)")
    return out


@pytest.mark.parametrize("room", ["cli", "report", "export"])
def test_no_long_functions(room):
    assert long_functions(ROOT / "netsci_dl" / room) == []


def test_cli_commands_are_thin():
    """A command is parse -> one library call -> write: about 40 lines (its signature in)."""
    import inspect

    from netsci_dl.cli import cli

    for name, cmd in cli.commands.items():
        fn = inspect.unwrap(cmd.callback)
        tree = ast.parse(Path(fn.__code__.co_filename).read_text())
        node = next(
            n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == fn.__name__
        )
        assert code_lines(node) <= 45, f"{name}: {code_lines(node)} lines"


def test_public_names_resolve_to_what_they_name():
    """Every name a package's ``__all__`` lists resolves, and a function's name is never hidden
    by a submodule of the same name (``runs.critical_period`` was the module once imported)."""
    import types

    import netsci_dl as nd
    import netsci_dl.runs.critical  # noqa: F401  (import the submodules first, as a user may)
    import netsci_dl.runs.files  # noqa: F401

    for pkg in (nd, nd.analysis, nd.activations, nd.runs):
        for name in pkg.__all__:
            obj = getattr(pkg, name)
            if name in ("analysis", "activations", "runs", "models", "datasets", "parallel",
                        "threshold"):  # fmt: skip
                continue
            assert not isinstance(obj, types.ModuleType), f"{pkg.__name__}.{name} is a module"


def test_analysis_reads_no_model_layout():
    """analysis/ takes graphs, arrays or callables: no isinstance test of a torch module, no
    call of a model (the layouts are export's, running a model is activations')."""
    import re

    pat = re.compile(r"isinstance\([^)]*nn\.(Module|Linear|Sequential|Conv)|\.named_parameters\(")
    found = [
        f"{f.relative_to(ROOT)}:{i}"
        for f in sorted((ROOT / "netsci_dl" / "analysis").rglob("*.py"))
        for i, line in enumerate(f.read_text().splitlines(), 1)
        if pat.search(line)
    ]
    assert found == []
