"""One Python vocabulary (DESIGN.md, Conventions): ``weights=`` with one value set, ``progress=``
never ``quiet=``, options objects passed as ``options=``, no deprecation shims. Read from the
source (``ast``), so every function counts, the ones of modules that import torch too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "netsci_dl"

#: the one value set of ``weights=`` (DESIGN.md), plus "auto" (as the graph's meta says) where a
#: function documents it
WEIGHTS = {"abs", "pos", "neg", "signed", "auto", None}

#: keywords that are gone: the old spellings of weights=, progress=, options=, and the shims
GONE = {
    "quiet": "progress",
    "on": "weights",
    "weighted": "weights",
    "per_layer": "per_block",
    "emd_options": "options",
    "emd_kwargs": "options",
    "strength_direction": "direction",
    "strength_kind": "weights",
    "n_probe": "probe_size",
}

#: where a keyword of GONE means something else (a dataset split is not an options object)
ALLOWED = {("datasets.py", "split")}

#: ``*_kwargs`` that are not options objects: the keyword arguments of a user's own class (the
#: CLI's ``--model-kwargs``), passed to its constructor
CONSTRUCTOR_KWARGS = {"model_kwargs"}


def _functions() -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every public function and method of the Python API (the CLI's commands mirror their
    options, with the global -q/--quiet, and are left out)."""
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = str(path.relative_to(PACKAGE))
        if rel.startswith("cli"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not (
                node.name.startswith("_") and node.name != "__init__"
            ):
                out.append((rel, node))
    return out


FUNCTIONS = _functions()


def _allowed(rel: str, name: str) -> bool:
    return any(rel.startswith(where) and name == what for where, what in ALLOWED)


def _keywords(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[tuple[str, ast.expr | None]]:
    a = fn.args
    pos = a.posonlyargs + a.args
    pos_defaults: list[ast.expr | None] = [None] * (len(pos) - len(a.defaults)) + list(a.defaults)
    return [(p.arg, d) for p, d in zip(pos, pos_defaults)] + [
        (p.arg, d) for p, d in zip(a.kwonlyargs, a.kw_defaults)
    ]


def test_the_scan_sees_the_package():
    names = {fn.name for _, fn in FUNCTIONS}
    assert {"effective_information", "strength", "emd_matrix", "train_mlp", "by_quantile"} <= names


def test_no_old_keyword_and_no_catch_all():
    bad = []
    for rel, fn in FUNCTIONS:
        for name, _ in _keywords(fn):
            if name in GONE and not _allowed(rel, name):
                bad.append(f"{rel}:{fn.lineno} {fn.name}({name}=): use {GONE[name]}=")
            if name.endswith(("_options", "_kwargs")) and name not in CONSTRUCTOR_KWARGS:
                bad.append(f"{rel}:{fn.lineno} {fn.name}({name}=): an options object is options=")
        if fn.args.kwarg is not None and fn.args.kwarg.arg in ("legacy", "kwargs", "kw"):
            if fn.name != "communities":  # communities: sbm's keywords
                bad.append(f"{rel}:{fn.lineno} {fn.name}(**{fn.args.kwarg.arg})")
    assert not bad, "\n".join(bad)


def test_weights_defaults_are_in_the_one_value_set():
    seen, bad = 0, []
    for rel, fn in FUNCTIONS:
        for name, default in _keywords(fn):
            if name != "weights" or not isinstance(default, ast.Constant):
                continue
            seen += 1
            if default.value not in WEIGHTS:
                bad.append(f"{rel}:{fn.lineno} {fn.name}(weights={default.value!r})")
    assert seen >= 20 and not bad, "\n".join(bad)


@pytest.mark.parametrize("literal", ['"raw"', "'raw'", '"weight", "abs"', '"sign", None'])
def test_no_old_weights_value_is_accepted(literal):
    """The 0.2 values of weights= ("raw" of EI, "weight" of adjacency) are gone from the code."""
    hits = [
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if literal in p.read_text() and "weights" in p.read_text()
    ]
    assert not hits, hits


def test_no_deprecation_shim_is_left():
    hits = [
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if "DeprecationWarning" in p.read_text()
        and not str(p.relative_to(PACKAGE)).startswith("cli")
    ]
    # activations/_curvature.py only silences torch's own warning about torch.jit.script
    assert hits == ["activations/_curvature.py"], hits
