"""The CLI contract under a battery of broken, hostile and unusual inputs (issues 18 and 12).

Every command and the Python API are run over every class of failure of issue 18, on small
files this module generates itself (tests/_battery_cases.py). For bad input each case checks:
exit code 2 (1 for an internal error), exactly one line on stderr, no traceback, nothing left
behind in the output folder (no partial file, no hidden temporary), and the canary file beside
the outputs untouched. Valid unusual inputs (odd names, bf16/f16, 1-unit layers, graph files
as input, a non-UTF-8 path) must work. Classes (issue 18):

1 tracebacks and exit 1 on bad input; 2 valid input refused; 3 bad input accepted; 4 messages
(torch's weights_only advice, float8); 5 partial outputs (also on SIGTERM/SIGINT); 6 outputs
that are not regular files, races, --force; 7 inputs that are not regular files; 8 malformed
and hostile GraphML/GEXF; 9 hostile names on a terminal, in a CSV, an HTML page, a figure;
10 scale (read_graphml's fast path, a large safetensors header).

No case is expected to fail. ``XFAIL_INPUT`` / ``XFAIL_FOLDER`` can mark a known failure
``xfail(strict=True)`` (with its owner in the reason) so that it flips when fixed; both are empty.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from netsci_dl.cli import cli
from netsci_dl.errors import InputError
from tests._battery_cases import ODD_NAMES, PWNED, make_inputs

CANARY = "canary.txt"
CANARY_TEXT = "do not touch\n"
REPO = Path(__file__).resolve().parents[1]


# ---- fixtures and helpers -------------------------------------------------------------------
@pytest.fixture(scope="module")
def inp(tmp_path_factory):
    return make_inputs(tmp_path_factory.mktemp("inputs"))


@pytest.fixture
def out(tmp_path):
    d = tmp_path / "out"
    d.mkdir()
    (d / CANARY).write_text(CANARY_TEXT)
    return d


def _expand(args: list[str], inp: dict[str, Path], out: Path) -> list[str]:
    res = []
    for a in args:
        if a.startswith("@"):
            res.append(str(inp[a[1:]]) if a[1:] in inp else str(inp["good.pt"].parent / a[1:]))
        else:
            res.append(a.replace("{out}", str(out)))
    return res


def invoke(args: list[str], *, timeout: float = 60.0, unblock: list[Path] = ()):
    """CliRunner in a thread with a watchdog: a command that blocks (on a FIFO) fails the
    test instead of hanging it (the FIFOs in ``unblock`` are then opened and closed)."""
    res: dict[str, object] = {}

    def target() -> None:
        res["r"] = CliRunner().invoke(cli, args)

    if not unblock:
        return CliRunner().invoke(cli, args)
    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        for f in unblock:  # let the blocked reader finish
            fd = os.open(f, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)
        t.join(10)
        pytest.fail(f"{args[0]} blocked on a FIFO")
    return res["r"]


def listing(d: Path) -> set[str]:
    return {str(p.relative_to(d)) for p in d.rglob("*")}


def check_contract(
    r, code: int, out: Path, before: set[str], msg: str | None = None, late: bool = False
) -> None:
    """Exit code, one stderr line (when failing), no traceback, nothing left, canary kept.

    ``msg``: alternatives separated by ``|``, one must be in the error line. ``late``: the
    failure comes after the work (e.g. a full disk), so warnings of that work may precede it.
    """
    err = r.stderr
    assert r.exit_code == code, (r.exit_code, r.output[-2000:])
    assert "Traceback" not in r.output, r.output[-2000:]
    if code != 0:
        lines = err.splitlines()
        assert err.endswith("\n") and lines, repr(err)
        if late:
            assert all(ln.startswith("netsci-dl: warning: ") for ln in lines[:-1]), repr(err)
        else:
            assert len(lines) == 1, repr(err)
        assert lines[-1].startswith("netsci-dl"), repr(err)
        assert "\x1b" not in err
        if msg is not None:
            assert any(m in lines[-1].lower() for m in msg.lower().split("|")), (msg, err)
        assert listing(out) == before, sorted(listing(out) ^ before)
    hidden = [n for n in listing(out) - before if Path(n).name.startswith(".")]
    assert not hidden, hidden
    assert (out / CANARY).read_text() == CANARY_TEXT


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    code: int = 2
    msg: str | None = None
    xfail: str | None = None
    setup: Callable | None = None  # (out, inp, monkeypatch) -> None
    after: Callable | None = None  # (out, inp, result) -> None, extra checks
    slow: bool = False
    leaves: tuple[str, ...] = ()  # names another party creates during the run
    late: bool = False  # fails after the work: its warnings may precede the error line
    marks: tuple = field(default=())


def params(cases: list[Case]) -> list:
    out = []
    for c in cases:
        marks = list(c.marks)
        if c.xfail:
            marks.append(pytest.mark.xfail(strict=True, reason=c.xfail))
        if c.slow:
            marks.append(pytest.mark.slow)
        out.append(pytest.param(c, id=c.id, marks=marks))
    return out


def run_case(case: Case, inp, out, monkeypatch) -> None:
    if case.setup is not None:
        case.setup(out, inp, monkeypatch)
    before = listing(out)
    args = _expand(list(case.args), inp, out)
    fifos = [Path(a) for a in args if "fifo" in a and os.path.exists(a)]
    r = invoke(args, unblock=fifos)
    check_contract(r, case.code, out, before | set(case.leaves), case.msg, case.late)
    if case.after is not None:
        case.after(out, inp, r)
    assert not (inp["good.pt"].parent / PWNED).exists(), "a pickled payload ran"


# ---- the commands and how each is given one input -------------------------------------------
CP = [
    "--ei-samples",
    "100",
    "--sensitivity-samples",
    "5",
    "--bins",
    "4",
    "--threads",
    "1",
    "--activation",
    "sigmoid",
]
READERS: dict[str, Callable[[str], list[str]]] = {
    "info": lambda c: ["info", c],
    "export": lambda c: ["export", c, "-o", "{out}/g.graphml"],
    "analyze": lambda c: ["analyze", c, "-o", "{out}/rep"],
    "ei": lambda c: ["ei", c, "-o", "{out}/ei.json"],
    "causal-plane": lambda c: ["causal-plane", c, "-o", "{out}/cp", *CP],
    "modules": lambda c: [
        "modules",
        c,
        "--image-shape",
        "4x4",
        "--k",
        "2",
        "--no-plots",
        "--jobs",
        "1",
        "-o",
        "{out}/mod",
    ],  # fmt: skip
    "communities": lambda c: ["communities", c, "--no-plots", "-o", "{out}/com"],
}

# input file -> (class, message part); each is given to every command above
BAD_INPUTS = {
    # class 1: broken files (tracebacks, KeyError: 101, SafetensorError...)
    **{f"{k}{s}": (1, None) for k in ("random", "text", "empty") for s in (".pt", ".npz")},
    **{f"{k}.safetensors": (1, "safetensors") for k in ("random", "text", "empty")},
    "cut.pt": (1, "truncated"),
    "cut.npz": (1, None),
    "cut.safetensors": (1, None),
    "huge.npz": (1, "declares"),
    "pickle.npz": (1, "unpickling"),
    "hugeheader.safetensors": (1, "header"),
    "offsets.safetensors": (1, "data_offsets"),
    "shape.safetensors": (1, "declares shape"),
    "badjson.safetensors": (1, "json"),
    "meta.pt": (1, "meta"),
    "expanded.pt": (1, "declares"),
    # class 3: bad values accepted
    "nan.pt": (3, "nan"),
    "overflow.pt": (3, None),
    "chain.pt": (3, "chain"),
    # class 4: messages
    "float8.pt": (4, "float8"),
    "float8.safetensors": (4, "float8"),
    "evil.pt": (4, "refused"),
    # class 7: not regular files
    "fifo.pt": (7, "fifo"),
    "fifo.safetensors": (7, "fifo"),
    "fifo.npz": (7, "fifo"),
    "fifo.graphml": (7, "fifo"),
    "folder.pt": (7, "folder|directory"),
    "dangling.pt": (7, "no such"),
    "missing.safetensors": (7, "no such"),
    # class 8: malformed or hostile graph files
    "billion.graphml": (8, "doctype"),
    "xxe.graphml": (8, "doctype"),
    "doctype.gexf": (8, "doctype"),
    **{
        f"nokey_{k}.graphml": (8, k)
        for k in ("layer_sizes", "blocks", "block_dtype", "meta", "node_attrs")
    },
    "unknownkey.graphml": (8, "never declared"),
    "unknownnode.graphml": (8, "not in the file"),
    "badlayer.graphml": (8, "outside"),
    "lie_v1.graphml": (8, "dense"),
    "lie_v2.graphml": (8, "dense"),
    **{f"{k}.graphml": (8, None) for k in ("random", "text", "empty", "cut")},
    "cut.graphml.gz": (8, "gzip"),
    **{f"{k}.gexf": (8, None) for k in ("random", "text", "empty")},
}

# (command, input) pairs that fail for reasons outside this module's files
XFAIL_INPUT: dict[tuple[str, str], str] = {}


def _reader_cases() -> list[Case]:
    cases = []
    for cmd, build in READERS.items():
        for f, (cls, msg) in BAD_INPUTS.items():
            if cmd == "causal-plane" and f.endswith((".graphml", ".gexf", ".gz")):
                continue  # causal-plane reads checkpoints and run folders only
            cases.append(
                Case(
                    f"c{cls}-{cmd}-{f}",
                    tuple(build("@" + f)),
                    msg=msg,
                    xfail=XFAIL_INPUT.get((cmd, f)),
                )
            )
    return cases


READER_CASES = _reader_cases()


@pytest.mark.parametrize("case", params(READER_CASES))
def test_bad_input(case, inp, out, monkeypatch):
    """Classes 1, 3, 4, 7, 8: every command refuses every broken or hostile input file."""
    run_case(case, inp, out, monkeypatch)


# ---- outputs ---------------------------------------------------------------------------------
def _mk(kind: str, name: str) -> Callable:
    def setup(out: Path, inp, mp) -> None:
        p = out / name
        if kind == "file":
            p.write_text("old\n")
        elif kind == "dir":
            p.mkdir()
        elif kind == "fifo":
            os.mkfifo(p)
        elif kind == "chardev":
            try:
                os.mknod(p, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # like /dev/null
            except PermissionError:
                pytest.skip("cannot make a device node here")
        elif kind == "dangling":
            os.symlink(out / "nowhere", p)
        elif kind == "link":
            os.symlink(out / CANARY, p)

    return setup


def _same_kind(name: str, test: Callable[[int], bool]) -> Callable:
    def after(out: Path, inp, r) -> None:
        assert test(os.lstat(out / name).st_mode), f"{name} was replaced"

    return after


def _oserror_at(target: str, err: int) -> Callable:
    """Make the first temporary file or folder fail with ``err`` (a read-only folder, a
    read-only file system, a full disk)."""

    def setup(out: Path, inp, mp) -> None:
        import tempfile

        def fail(*a, **k):
            raise OSError(err, os.strerror(err), str(out))

        mp.setattr(tempfile, target, fail)

    return setup


def _enospc_mid_write(out: Path, inp, mp) -> None:
    """The disk fills up while the edges are written: the temporary file exists by then."""
    from netsci_dl.io import graphml

    orig = graphml._write_edges

    def full(fh, *a, **k):
        orig(fh, *a, **k)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    mp.setattr(graphml, "_write_edges", full)


def _race(name: str) -> Callable:
    """Another process creates the output while this one writes it (after the check)."""

    def setup(out: Path, inp, mp) -> None:
        from netsci_dl.io import graphml

        orig = graphml._write_edges

        def racing(fh, *a, **k):
            orig(fh, *a, **k)
            if not (out / name).exists():
                (out / name).write_text("the other process\n")

        mp.setattr(graphml, "_write_edges", racing)

    return setup


def _kept(name: str, text: str) -> Callable:
    def after(out: Path, inp, r) -> None:
        assert (out / name).read_text() == text

    return after


def _readonly_folder(out: Path, inp, mp) -> None:
    """A read-only folder (or file system), seen by os.access: found before any work."""
    real = os.access

    def access(path, mode, *a, **k):
        if Path(path) == out and mode & os.W_OK:
            return False
        return real(path, mode, *a, **k)

    mp.setattr(os, "access", access)


LONG = "x" * 243  # + ".graphml" = 251 bytes: legal
TOO_LONG = "x" * 256


def _file_output_cases(cmd: str, build: Callable[[str], list[str]], suffix: str) -> list[Case]:
    """Every way a file output can be wrong, for a command writing one file."""
    name = "o" + suffix
    c = []
    add = c.append
    add(Case(f"c1-{cmd}-parent-is-file", tuple(build("{out}/" + CANARY + "/" + name)), msg="not a"))
    add(Case(f"c1-{cmd}-no-parent", tuple(build("{out}/nope/" + name)), msg="does not exist"))
    add(Case(f"c1-{cmd}-name-too-long", tuple(build("{out}/" + TOO_LONG + suffix))))
    add(
        Case(
            f"c1-{cmd}-readonly-early",
            tuple(build("{out}/" + name)),
            msg="read-only",
            setup=_readonly_folder,
        )
    )
    for err, eid in ((errno.EACCES, "eacces"), (errno.EROFS, "erofs"), (errno.ENOSPC, "enospc")):
        add(
            Case(
                f"c1-{cmd}-{eid}",
                tuple(build("{out}/" + name)),
                setup=_oserror_at("mkstemp", err),
                late=True,
            )
        )
    add(
        Case(
            f"c6-{cmd}-exists",
            tuple(build("{out}/" + name)),
            msg="--force",
            setup=_mk("file", name),
            after=_kept(name, "old\n"),
        )
    )
    add(
        Case(
            f"c6-{cmd}-is-dir",
            (*build("{out}/" + name), "--force"),
            msg="folder|directory",
            setup=_mk("dir", name),
        )
    )
    add(
        Case(
            f"c6-{cmd}-fifo-force",
            (*build("{out}/" + name), "--force"),
            msg="fifo",
            setup=_mk("fifo", name),
            after=_same_kind(name, stat.S_ISFIFO),
        )
    )
    add(
        Case(
            f"c6-{cmd}-chardev-force",
            (*build("{out}/" + name), "--force"),
            msg="character device",
            setup=_mk("chardev", name),
            after=_same_kind(name, stat.S_ISCHR),
        )
    )
    add(
        Case(
            f"c6-{cmd}-dangling-link",
            tuple(build("{out}/" + name)),
            msg="symlink",
            setup=_mk("dangling", name),
            after=_same_kind(name, stat.S_ISLNK),
        )
    )

    def link_replaced(out, inp, r):
        assert not os.path.islink(out / name) and (out / name).stat().st_size > 0

    add(
        Case(
            f"c6-{cmd}-link-force",
            (*build("{out}/" + name), "--force"),
            code=0,
            setup=_mk("link", name),
            after=link_replaced,
        )
    )
    add(
        Case(
            f"c2-{cmd}-long-legal-name",
            tuple(build("{out}/" + LONG + suffix)),
            code=0,
            after=lambda out, inp, r: (out / (LONG + suffix)).stat(),
        )
    )
    return c


EXPORT = lambda o: ["export", "@good.pt", "-o", o]  # noqa: E731
EI = lambda o: ["ei", "@good.pt", "-o", o]  # noqa: E731

OUTPUT_CASES = (
    _file_output_cases("export", EXPORT, ".graphml")
    + _file_output_cases("export-gz", EXPORT, ".graphml.gz")
    + _file_output_cases("export-gexf", EXPORT, ".gexf")
    + _file_output_cases("export-npz", EXPORT, ".npz")
    + _file_output_cases("ei", EI, ".json")
    + [
        Case(
            "c1-export-enospc-mid-write",
            tuple(EXPORT("{out}/g.graphml")),
            setup=_enospc_mid_write,
            late=True,
        ),
        Case(
            "c6-export-race",
            tuple(EXPORT("{out}/g.graphml")),
            msg="appeared",
            setup=_race("g.graphml"),
            leaves=("g.graphml",),
            after=_kept("g.graphml", "the other process\n"),
        ),
        Case("c6-export-bad-format", tuple(EXPORT("{out}/g.txt")), msg="format"),
    ]
)

FOLDERS: dict[str, Callable[[str], list[str]]] = {
    "analyze": lambda o: ["analyze", "@good.pt", "-o", o],
    "causal-plane": lambda o: ["causal-plane", "@good.pt", "@good_b.pt", "-o", o, *CP],
    "modules": lambda o: READERS["modules"]("@good.pt")[:-1] + [o],
    "communities": lambda o: ["communities", "@good.pt", "--no-plots", "-o", o],
    "train-dbn": lambda o: ["train-dbn", "--sizes", "64,4", "--epochs", "1", "-o", o],
    "demo": lambda o: ["demo", "-o", o],
}
XFAIL_FOLDER: dict[tuple[str, str], str] = {}


def _folder_cases() -> list[Case]:
    c = []
    for cmd, build in FOLDERS.items():

        def mk(tag, args, cmd=cmd, **kw):
            c.append(
                Case(
                    f"c{kw.pop('cls', 1)}-{cmd}-{tag}",
                    tuple(args),
                    xfail=XFAIL_FOLDER.get((cmd, tag)),
                    **kw,
                )
            )

        mk("parent-is-file", build("{out}/" + CANARY + "/res"), msg="not a")
        mk("is-file", build("{out}/" + CANARY), cls=6)
        mk("is-fifo", [*build("{out}/pipe"), "--force"], cls=6, setup=_mk("fifo", "pipe"))
        mk("name-too-long", build("{out}/" + TOO_LONG))
        mk("dangling-link", build("{out}/dl"), cls=6, setup=_mk("dangling", "dl"))
        if cmd not in ("train-dbn", "demo"):
            mk("readonly-early", build("{out}/res"), msg="read-only", setup=_readonly_folder)
        if cmd != "demo":
            mk("no-parent", build("{out}/nope/res"), msg="does not exist")
        if cmd in ("causal-plane", "modules", "communities"):
            for err, eid in (
                (errno.EACCES, "eacces"),
                (errno.EROFS, "erofs"),
                (errno.ENOSPC, "enospc"),
            ):
                mk(eid, build("{out}/res"), setup=_oserror_at("mkdtemp", err), late=True)
            mk("long-legal-name", build("{out}/" + "y" * 250), code=0, cls=2)
        if cmd == "analyze":
            mk("long-legal-name", build("{out}/" + "y" * 250), code=0, cls=2, slow=True)
    return c


FOLDER_CASES = _folder_cases()


@pytest.mark.parametrize("case", params(OUTPUT_CASES + FOLDER_CASES))
def test_bad_output(case, inp, out, monkeypatch):
    """Classes 1, 2, 6: outputs that cannot be written, are not regular files, or race."""
    run_case(case, inp, out, monkeypatch)


# ---- class 2: valid unusual input works ------------------------------------------------------
def _graph_of(path: Path):
    from netsci_dl.io.write_graph import read

    return read(path)


VALID = [
    *(
        Case(f"c2-{cmd}-odd-{key}", (cmd, f"@odd_{key}.pt", "-o", "{out}/g" + suf), code=0)
        for key in ODD_NAMES
        for cmd, suf in (("export", ".graphml"), ("export", ".gexf.gz"), ("export", ".npz"))
    ),
    *(Case(f"c2-info-odd-{key}", ("info", f"@odd_{key}.pt"), code=0) for key in ODD_NAMES),
    *(
        Case(f"c2-export-{f}", ("export", "@" + f, "-o", "{out}/g.graphml"), code=0)
        for f in (
            "bfloat16.pt",
            "float16.pt",
            "bfloat16.safetensors",
            "float16.safetensors",
            "one_unit.pt",
            "link.pt",
            "good.npz",
            *(f"graph{s}" for s in (".npz", ".graphml", ".graphml.gz", ".gexf", ".gexf.gz")),
        )
    ),
    *(
        Case(f"c2-{cmd}-graph{s}", tuple(READERS[cmd]("@graph" + s)), code=0)
        for cmd in ("info", "ei", "communities", "modules")
        for s in (".graphml", ".gexf.gz")
    ),
    Case("c2-ei-one-unit", ("ei", "@one_unit.pt"), code=0),
    Case("c2-communities-odd-xml", tuple(READERS["communities"]("@odd_xml.pt")), code=0),
    # (analyze on odd names: see hostile_report below, one run for classes 2 and 9)
    Case("c2-analyze-graphml", tuple(READERS["analyze"]("@graph.graphml")), code=0, slow=True),
]


@pytest.mark.parametrize("case", params(VALID))
def test_valid_unusual_input(case, inp, out, monkeypatch):
    """Class 2: odd names, bf16/f16, 1-unit layers, links, graph files as input all work."""
    run_case(case, inp, out, monkeypatch)


@pytest.mark.parametrize("key", list(ODD_NAMES))
def test_odd_names_round_trip(key, inp, tmp_path):
    """Names with XML-special characters, script text, escapes, bidi marks: written and read
    back unchanged in every format."""
    import netsci_dl as nd
    from netsci_dl.io.write_graph import read, write

    G = nd.load(inp[f"odd_{key}.pt"])
    assert ODD_NAMES[key] in G.layer_names
    for suf in (".npz", ".graphml", ".graphml.gz", ".gexf", ".gexf.gz"):
        H = read(write(G, tmp_path / ("g" + suf)))
        assert H.equals(G), suf


@pytest.mark.parametrize("dt", ["bfloat16", "float16"])
def test_half_precision_values_exact(dt, inp):
    import torch

    import netsci_dl as nd

    ref = torch.load(inp["good.pt"], weights_only=True)
    for suf in (".pt", ".safetensors"):
        G = nd.load(inp[f"{dt}{suf}"])
        want = ref["0.weight"].to(getattr(torch, dt)).float().numpy().T
        np.testing.assert_array_equal(G.blocks[0], want)


def test_non_utf8_path(inp, tmp_path):
    """A valid safetensors file whose path is not UTF-8 (opened through a file handle)."""
    raw = os.fsencode(tmp_path) + b"/w\xff\xfe.safetensors"
    with open(raw, "wb") as fh:
        fh.write(inp["good.safetensors"].read_bytes())
    outp = os.fsencode(tmp_path) + b"/g\xff.graphml"
    r = subprocess.run(
        [sys.executable, "-m", "netsci_dl.cli.__main__", "export", raw, "-o", outp],
        capture_output=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert os.path.exists(outp)
    assert b"\xff" not in r.stdout and b"\\xff" in r.stdout  # shown escaped


# ---- class 3 and 4: bad values accepted, messages ---------------------------------------------
def _graph_npz(tmp: Path, how: str) -> Path:
    """A saved graph (.npz) with a NaN block or an inconsistent CSR block."""
    from netsci_dl._files.npz_safe import read_npz
    from netsci_dl.io.npz import save_graph
    from tests.conftest import random_layered

    G = random_layered((16, 8, 4), seed=0, sparse_p=None if how == "nan" else 0.5)
    p = tmp / "g.npz"
    save_graph(G, p)
    z = read_npz(p)
    if how == "nan":
        key = next(k for k in z if k.startswith("block") and z[k].dtype.kind == "f")
        z[key].flat[0] = np.nan
    else:
        key = next(k for k in z if k.endswith(".indices"))
        z[key] = z[key][::-1].copy()  # unsorted indices within rows
    q = tmp / f"{how}.npz"
    np.savez(q, **z)
    return q


OPTION_CASES = [
    Case(
        "c1-export-topk-inf",
        ("export", "@good.pt", "-o", "{out}/g.npz", "--threshold", "topk:inf"),
    ),
    Case(
        "c1-export-topk-1e400",
        ("export", "@good.pt", "-o", "{out}/g.npz", "--threshold", "topk:1e400"),
    ),
    Case("c1-ei-topk-inf", ("ei", "@good.pt", "--threshold", "topk:inf")),
    Case("c1-export-bad-spec", ("export", "@good.pt", "-o", "{out}/g.npz", "--threshold", "bogus")),
    Case(
        "c1-communities-resolution-neg",
        ("communities", "@good.pt", "--resolution", "-1", "-o", "{out}/c"),
        msg="resolution",
    ),
    Case(
        "c3-communities-resolution-nan",
        ("communities", "@good.pt", "--resolution", "nan", "-o", "{out}/c"),
        msg="resolution",
    ),
    Case(
        "c3-communities-resolution-inf",
        ("communities", "@good.pt", "--resolution", "inf", "-o", "{out}/c"),
        msg="resolution",
    ),
    Case(
        "c1-causal-plane-threads-0",
        ("causal-plane", "@good.pt", "@good_b.pt", "-o", "{out}/cp", "--threads", "0"),
        msg="threads",
    ),
    Case(
        "c1-causal-plane-device",
        ("causal-plane", "@good.pt", "@good_b.pt", "-o", "{out}/cp", "--device", "warp9"),
        msg="warp9",
    ),
    Case(
        "c1-causal-plane-bins-0",
        ("causal-plane", "@good.pt", "@good_b.pt", "-o", "{out}/cp", "--bins", "0"),
    ),
    Case(
        "c1-modules-k-0",
        ("modules", "@good.pt", "--image-shape", "4x4", "--k", "0", "-o", "{out}/m"),
    ),
    Case(
        "c1-modules-jobs-0",
        ("modules", "@good.pt", "--image-shape", "4x4", "--k", "2", "--jobs", "0", "-o", "{out}/m"),
    ),
    Case(
        "c1-modules-layer-99",
        ("modules", "@good.pt", "--image-shape", "4x4", "--layer", "99", "-o", "{out}/m"),
    ),
    Case(
        "c1-modules-image-shape", ("modules", "@good.pt", "--image-shape", "5x5", "-o", "{out}/m")
    ),
    Case(
        "c1-export-image-shape", ("export", "@good.pt", "-o", "{out}/g.npz", "--image-shape", "0x4")
    ),
    Case(
        "c1-export-layers-graph",
        ("export", "@graph.graphml", "--layers", "0", "-o", "{out}/g.npz"),
        msg="graph file",
    ),
    Case(
        "c4-export-nothing-selected",
        ("export", "@float8.pt", "--layers", "nomatch", "-o", "{out}/g.npz"),
    ),
    Case(
        "c4-export-no-weights-message",
        ("export", "@bias_only.pt", "-o", "{out}/g.npz"),
        msg="no 2-d",
    ),
    Case(
        "c5-train-batch-0",
        ("train-dbn", "--sizes", "64,4", "--epochs", "1", "--batch-size", "0", "-o", "{out}/run"),
    ),
    Case(
        "c3-train-lr-inf",
        ("train-dbn", "--sizes", "64,4", "--epochs", "1", "--lr", "inf", "-o", "{out}/run"),
    ),
    Case(
        "c1-train-device",
        ("train-dbn", "--sizes", "64,4", "--epochs", "1", "--device", "warp9", "-o", "{out}/run"),
    ),
    Case(
        "c3-train-mnist-negative",
        (
            "train-dbn",
            "--data",
            "mnist:@neg_mnist.npz",
            "--sizes",
            "4,2",
            "--epochs",
            "1",
            "-o",
            "{out}/run",
        ),
    ),
    Case("c1-train-sizes", ("train-dbn", "--sizes", "64", "--epochs", "1", "-o", "{out}/run")),
    Case("c1-usage-missing-option", ("export", "@good.pt"), msg="missing option"),
    Case("c1-usage-unknown-command", ("frobnicate",), msg="no such command"),
    Case("c1-usage-bad-choice", ("export", "@good.pt", "-o", "{out}/g.npz", "--layout", "x")),
]


@pytest.fixture(scope="module")
def extra_inputs(inp):
    import torch

    d = inp["good.pt"].parent
    torch.save({"fc.bias": torch.ones(3)}, d / "bias_only.pt")
    np.savez(d / "neg_mnist.npz", x_train=-np.ones((10, 2, 2), np.float32), y_train=np.zeros(10))
    inp = dict(inp)
    inp["bias_only.pt"] = d / "bias_only.pt"
    inp["neg_mnist.npz"] = d / "neg_mnist.npz"
    return inp


def _expand_inline(args: tuple[str, ...], inp) -> tuple[str, ...]:
    return tuple(a.replace("mnist:@neg_mnist.npz", f"mnist:{inp['neg_mnist.npz']}") for a in args)


@pytest.mark.parametrize("case", params(OPTION_CASES))
def test_bad_option(case, extra_inputs, out, monkeypatch):
    """Classes 1, 3, 4: option values that used to leak tracebacks or be accepted."""
    from dataclasses import replace

    run_case(
        replace(case, args=_expand_inline(case.args, extra_inputs)), extra_inputs, out, monkeypatch
    )


@pytest.mark.parametrize("how", ["nan", "csr"])
@pytest.mark.parametrize("cmd", ["info", "export", "ei", "communities"])
def test_broken_saved_graph(how, cmd, inp, out, tmp_path, monkeypatch):
    """Class 3: a saved graph (.npz) with a NaN block or an inconsistent CSR is refused."""
    bad = _graph_npz(tmp_path, how)
    run_case(Case(f"{cmd}-{how}", tuple(READERS[cmd](str(bad)))), inp, out, monkeypatch)


@pytest.mark.parametrize("name", ["evil.pt", "text.pt", "random.pt"])
def test_no_weights_only_false_advice(name, inp):
    """Class 4: torch's advice to load with weights_only=False never reaches the user."""
    r = invoke(["info", str(inp[name])])
    assert r.exit_code == 2
    low = r.stderr.lower()
    assert "weights_only" not in low.replace("weights_only=true", "") and "trusted" not in low
    assert not (inp["good.pt"].parent / PWNED).exists()


# ---- class 5: nothing left behind, also when killed ------------------------------------------
HALFWAY = [
    pytest.param(
        "modules",
        ["modules", "@good.pt", "--image-shape", "4x4", "--k", "2", "--jobs", "1", "-o", "{out}/m"],
        "netsci_dl.plot.save_figure",
        id="modules",
    ),
    pytest.param(
        "communities",
        ["communities", "@good.pt", "-o", "{out}/c"],
        "netsci_dl.plot.save_figure",
        id="communities",
    ),
    pytest.param(
        "communities-graphml",
        ["communities", "@good.pt", "--no-plots", "-o", "{out}/c"],
        "netsci_dl.io.graphml.write_graphml",
        id="communities-graphml",
    ),
    pytest.param(
        "causal-plane",
        ["causal-plane", "@good.pt", "@good_b.pt", "-o", "{out}/cp", *CP],
        "netsci_dl.plot.ei.save_figure",
        id="causal-plane",
    ),
    pytest.param(
        "analyze",
        ["analyze", "@good.pt", "-o", "{out}/rep"],
        "netsci_dl.plot.save_figure",
        marks=pytest.mark.slow,
        id="analyze",
    ),
]


@pytest.mark.parametrize("exc", ["internal", "input"])
@pytest.mark.parametrize(("cmd", "args", "target"), HALFWAY)
def test_fails_halfway_leaves_nothing(cmd, args, target, exc, inp, out, monkeypatch):
    """Class 5: a command failing after its first files leaves none of them."""
    if cmd == "analyze" and exc == "input":
        pytest.skip("one analyze run is enough")
    mod, _, name = target.rpartition(".")
    import importlib

    m = importlib.import_module(mod)
    orig = getattr(m, name)
    calls = []

    def failing(*a, **k):
        calls.append(1)
        if len(calls) >= (2 if cmd in ("modules", "analyze", "causal-plane") else 1):
            raise RuntimeError("boom") if exc == "internal" else InputError("boom")
        return orig(*a, **k)

    monkeypatch.setattr(m, name, failing)
    before = listing(out)
    r = invoke(_expand(args, inp, out))
    check_contract(r, 1 if exc == "internal" else 2, out, before, "boom", late=True)
    assert calls, "the failure was never reached"
    if exc == "internal":
        assert "internal error" in r.stderr


def _big_checkpoint(tmp: Path, n: int = 1200) -> Path:
    import torch

    p = tmp / "big.pt"
    g = torch.Generator().manual_seed(0)
    torch.save({f"{i}.weight": torch.randn(n, n, generator=g) for i in range(2)}, p)
    return p


def _kill_when(pattern: str, folder: Path, proc: subprocess.Popen, sig: int, timeout=120) -> bool:
    """Send ``sig`` as soon as a name matching ``pattern`` appears in ``folder``."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout and proc.poll() is None:
        if any(folder.glob(pattern)):
            proc.send_signal(sig)
            return True
        time.sleep(0.005)
    return False


def _spawn(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "netsci_dl.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"},
    )


SIGNAL_CASES = [
    pytest.param("g.graphml", signal.SIGTERM, id="export-graphml-sigterm"),
    pytest.param("g.graphml.gz", signal.SIGTERM, id="export-gz-sigterm", marks=pytest.mark.slow),
    pytest.param("g.gexf", signal.SIGTERM, id="export-gexf-sigterm", marks=pytest.mark.slow),
    pytest.param("g.graphml", signal.SIGINT, id="export-graphml-sigint", marks=pytest.mark.slow),
]


@pytest.mark.parametrize(("name", "sig"), SIGNAL_CASES)
def test_signal_mid_export_leaves_nothing(name, sig, tmp_path, out):
    """Class 5: SIGTERM/SIGINT while the output is being written removes the temporary file."""
    big = _big_checkpoint(tmp_path)
    proc = _spawn(["export", str(big), "-o", str(out / name)])
    sent = _kill_when(f".{name}.*.tmp", out, proc, sig)
    _, err = proc.communicate(timeout=120)
    assert sent, f"the temporary file never appeared (exit {proc.returncode}): {err[-500:]!r}"
    assert proc.returncode == 128 + sig, err
    lines = [ln for ln in err.decode().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("netsci-dl: "), err
    assert b"Traceback" not in err
    assert listing(out) == {CANARY}, listing(out)
    assert (out / CANARY).read_text() == CANARY_TEXT


@pytest.mark.slow
def test_sigterm_mid_analyze_leaves_nothing(inp, out):
    """Class 5: SIGTERM while the report is being built removes its hidden folder."""
    proc = _spawn(["analyze", str(inp["good.pt"]), "-o", str(out / "rep")])
    sent = _kill_when(".rep.*", out, proc, signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert sent, err[-500:]
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert b"Traceback" not in err
    assert listing(out) == {CANARY}, listing(out)


# ---- class 6: --force means one thing ----------------------------------------------------------
def test_force_replaces_only_own_outputs(inp, out):
    """--force replaces this command's outputs, removes its own stale ones (figures of an
    earlier run when plots are now off), and never touches anything else."""
    args = ["modules", str(inp["good.pt"]), "--image-shape", "4x4", "--k", "2", "--jobs", "1"]
    res = out / "m"
    r = invoke([*args, "-o", str(res)])
    assert r.exit_code == 0, r.output
    (res / "notes.txt").write_text("mine\n")
    first = listing(res)
    assert "dendrogram.svg" in first and "graph.graphml" in first
    r = invoke([*args, "--no-plots", "--no-graphml", "-o", str(res)])
    assert r.exit_code == 2 and "--force" in r.stderr
    assert listing(res) == first
    r = invoke([*args, "--no-plots", "--no-graphml", "--force", "-o", str(res)])
    assert r.exit_code == 0, r.output
    assert listing(res) == {
        "labels.csv",
        "emd.npy",
        "module_stats.csv",
        "summary.json",
        "notes.txt",
    }
    assert (res / "notes.txt").read_text() == "mine\n"
    assert (out / CANARY).read_text() == CANARY_TEXT


def test_train_into_other_run_needs_force(out):
    run = out / "run"
    r = invoke(["train-dbn", "--sizes", "64,4", "--epochs", "1", "-o", str(run)])
    assert r.exit_code == 0, r.output
    (run / "config.json").unlink()  # another run's snapshots, without its config
    snaps = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    r = invoke(["train-dbn", "--sizes", "64,4", "--epochs", "1", "--seed", "1", "-o", str(run)])
    assert r.exit_code == 2
    assert all(p.read_bytes() == b for p, b in snaps.items())


def test_api_writers_refuse_special_files(tmp_path):
    """The library writers never replace a FIFO, a device or a folder, and leave no temp."""
    from netsci_dl.io.gexf import write_gexf
    from netsci_dl.io.graphml import write_graphml
    from netsci_dl.io.npz import save_graph
    from tests.conftest import random_layered

    G = random_layered((3, 2))
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "dir").mkdir()
    targets = ["fifo", "dir"]
    try:
        os.mknod(tmp_path / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
        targets.append("null")
    except PermissionError:
        pass
    for t in targets:
        for writer in (write_graphml, write_gexf, save_graph):
            with pytest.raises(OSError, match="folder|FIFO|device"):
                writer(G, tmp_path / t)
    assert sorted(os.listdir(tmp_path)) == sorted(targets)
    assert stat.S_ISFIFO(os.lstat(tmp_path / "fifo").st_mode)


def test_api_write_does_not_replace_what_appeared(tmp_path, monkeypatch):
    """A file that appears while the library writes the same path is kept (write_graph.write
    checked it was absent)."""
    from netsci_dl.io import graphml, write_graph
    from tests.conftest import random_layered

    target = tmp_path / "g.graphml"
    orig = graphml._write_edges

    def racing(fh, *a, **k):
        orig(fh, *a, **k)
        target.write_text("other")

    monkeypatch.setattr(graphml, "_write_edges", racing)
    with pytest.raises(FileExistsError, match="appeared"):
        write_graph.write(random_layered((3, 2)), target)
    assert target.read_text() == "other"
    assert os.listdir(tmp_path) == ["g.graphml"]


# ---- class 9: hostile names on a terminal, in CSV, HTML, SVG ----------------------------------
def test_terminal_output_escaped(inp):
    """`info` and `export` show control characters and bidi marks as escapes, never raw."""
    for args in (["info", str(inp["odd_esc.pt"])], ["info", str(inp["odd_bidi.pt"])]):
        r = invoke(args)
        assert r.exit_code == 0, r.output
        assert not any(c in r.stdout for c in "\x1b\x07\u202e"), repr(r.stdout)
        assert "\\x1b" in r.stdout or "\\u202e" in r.stdout
    r = invoke(["info", str(inp["good.pt"].parent / "no\x1b[2Jsuch.pt")])
    assert r.exit_code == 2 and "\x1b" not in r.stderr and "\\x1b[2J" in r.stderr


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    """One analyze run (class 2: it must work) on a net whose layers are named with
    XML-special characters, script text, and a CSV formula with control characters."""
    import torch

    d = tmp_path_factory.mktemp("hostile")
    names = [ODD_NAMES["xml"], ODD_NAMES["script"], ODD_NAMES["formula"] + "\x01\x0b\ufffe"]
    torch.manual_seed(0)
    sd = {f"{names[0]}.weight": torch.randn(6, 16), f"{names[1]}.weight": torch.randn(5, 6)}
    sd[f"{names[2]}.weight"] = torch.randn(3, 5)
    torch.save(sd, d / "h.pt")
    r = invoke(["analyze", str(d / "h.pt"), "-o", str(d / "rep")])
    assert r.exit_code == 0, r.output
    return d / "rep"


def test_report_html_escaped(hostile_report):
    page = (hostile_report / "index.html").read_text()
    assert "<script>alert(1)</script>" not in page


def test_report_csv_formula_safe(hostile_report):
    import csv

    for f in hostile_report.glob("*.csv"):
        for row in csv.reader(f.open()):
            for cell in row:
                if cell[:1] in ("=", "+", "@") or (cell[:1] == "-" and not _is_number(cell)):
                    raise AssertionError(f"{f.name}: {cell!r}")


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def test_report_svg_well_formed(hostile_report):
    import xml.etree.ElementTree as ET

    svgs = list(hostile_report.rglob("*.svg"))
    assert svgs
    bad = []
    for f in svgs:
        try:
            ET.parse(f)
        except ET.ParseError as e:
            bad.append(f"{f.name}: {e}")
    assert not bad, "; ".join(bad[:3])


# ---- class 10: scale ---------------------------------------------------------------------------
def test_read_graphml_fast_path(tmp_path, monkeypatch):
    """netsci_dl's own GraphML goes through the numpy fast path, within a few times the
    writer's CPU time, and with memory about the file's size."""
    import tracemalloc

    from netsci_dl.io import _graphml_read
    from netsci_dl.io.graphml import read_graphml, write_graphml
    from tests.conftest import random_layered

    G = random_layered((300, 400, 300), seed=0)  # 240k edges
    p = tmp_path / "g.graphml"
    t0 = time.process_time()
    write_graphml(G, p)
    t_write = time.process_time() - t0

    def no_general(*a, **k):
        raise AssertionError("the general XML parser was used for our own file")

    monkeypatch.setattr(_graphml_read, "_general_parse", no_general)
    t0 = time.process_time()
    H = read_graphml(p)
    t_read = time.process_time() - t0
    tracemalloc.start()  # (it slows Python down: timed above, without it)
    read_graphml(p)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert H.equals(G)
    size = p.stat().st_size
    assert peak < 4 * size, (peak, size)
    assert t_read < 8 * t_write + 0.5, (t_read, t_write)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_dense_header_checked_before_allocating(version, inp):
    """A small file whose header declares a dense 3000x3000 block (36 MB) that the body does
    not hold is refused without allocating it."""
    import tracemalloc

    from netsci_dl.io.graphml import read_graphml

    tracemalloc.start()
    with pytest.raises(InputError, match=r"\(dense|declared dense"):
        read_graphml(inp[f"lie_{version}.graphml"])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20e6, peak


def _many_keys(path: Path, n: int) -> None:
    names = [f"t{i:07d}" for i in range(n)]
    header = {
        k: {"dtype": "F32", "shape": [1], "data_offsets": [4 * i, 4 * i + 4]}
        for i, k in enumerate(names)
    }
    raw = json.dumps(header).encode()
    with open(path, "wb") as fh:
        fh.write(len(raw).to_bytes(8, "little") + raw + np.arange(n, dtype=np.float32).tobytes())


def test_safetensors_many_keys(tmp_path):
    """A header with 10^5 keys is read in about a second of CPU time."""
    from netsci_dl.export.checkpoint import read_checkpoint

    p = tmp_path / "many.safetensors"
    _many_keys(p, 100_000)
    t0 = time.process_time()
    ck = read_checkpoint(p)
    dt = time.process_time() - t0
    assert len(ck.tensors) == 100_000 and ck.tensors["t0000007"][0] == 7
    assert dt < 4.0, dt


@pytest.mark.slow
def test_safetensors_million_keys(tmp_path):
    """10^6 keys (33 s and 1.4 GB before): time and peak memory, in a fresh process."""
    p = tmp_path / "many.safetensors"
    _many_keys(p, 1_000_000)
    # peak RSS from VmHWM: ru_maxrss would carry over the forking parent's size
    code = (
        "import re, sys, time; from netsci_dl.export.checkpoint import read_checkpoint; "
        "t = time.process_time(); ck = read_checkpoint(sys.argv[1]); dt = time.process_time() - t; "
        "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1); "
        "print(len(ck.tensors), dt, int(hwm) * 1024)"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, str(p)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    n, dt, rss = r.stdout.split()
    assert int(n) == 1_000_000
    assert float(dt) < 25, dt
    assert int(rss) < 1.0e9, (
        rss
    )  # 711 MB and 10.7 s measured (the safetensors package: 1179 MB, 30.7 s)


# ---- the contract itself: error classes, -q/--debug anywhere, warnings ------------------------
@pytest.fixture
def probe():
    """A throw-away command on the real group that warns, logs, and raises what it is told."""
    import logging
    import warnings

    import click

    @click.command("probe")
    @click.argument("what")
    def probe_cmd(what: str) -> None:
        warnings.warn("first line\nsecond line", UserWarning, stacklevel=1)
        warnings.warn("first line\nsecond line", UserWarning, stacklevel=1)
        warnings.warn("old name", DeprecationWarning, stacklevel=1)
        logging.getLogger("netsci_dl.probe").warning("careful \x1b[31m")
        logging.getLogger("netsci_dl.probe").info("progress")
        errors = {
            "input": InputError("bad value 'x'"),
            "perm": PermissionError(errno.EACCES, "Permission denied", "/ro/out.npz"),
            "rofs": OSError(errno.EROFS, "Read-only file system", "/ro/out.npz"),
            "enospc": OSError(errno.ENOSPC, "No space left on device"),
            "notdir": NotADirectoryError(errno.ENOTDIR, "Not a directory", "/f/x"),
            "import": ModuleNotFoundError("No module named 'igraph'", name="igraph"),
            "ownimport": ImportError("cannot import name 'x'", name="netsci_dl.analysis"),
            "key": KeyError(101),
            "type": TypeError("unsupported operand"),
            "value": ValueError("a bare ValueError is a bug in netsci_dl"),
            "memory": MemoryError(),
        }
        if what in errors:
            raise errors[what]

    cli.add_command(probe_cmd)
    yield
    cli.commands.pop("probe")


ERROR_CLASSES = [
    ("input", 2, "bad value"),
    ("perm", 2, "/ro/out.npz: permission denied"),
    ("rofs", 2, "read-only"),
    ("enospc", 2, "no space"),
    ("notdir", 2, "not a directory"),
    ("import", 2, "igraph"),
    ("ownimport", 1, "internal error"),
    ("key", 1, "internal error: keyerror: 101"),
    ("type", 1, "internal error: typeerror"),
    ("value", 1, "internal error: valueerror"),
    ("memory", 1, "internal error: memoryerror"),
]


@pytest.mark.parametrize(("what", "code", "msg"), ERROR_CLASSES, ids=[e[0] for e in ERROR_CLASSES])
@pytest.mark.parametrize("quiet", [True, False], ids=["q", "loud"])
def test_error_classes(what, code, msg, quiet, probe):
    """Issue 12 item 7: input errors exit 2, anything else is an internal error (exit 1);
    one line each; -q also silences the warnings."""
    r = invoke(["probe", what, *(["-q"] if quiet else [])])
    assert r.exit_code == code, r.output
    lines = r.stderr.splitlines()
    assert msg in lines[-1].lower(), lines
    assert "Traceback" not in r.stderr
    if quiet:
        assert len(lines) == 1, lines
    else:  # each warning once, one line, no source echo; then the error
        assert lines[:-1] == [
            "netsci-dl: warning: first line second line",
            "netsci-dl: warning: careful \\x1b[31m",
            "progress",  # info messages go to stderr too (stdout is for results)
        ], lines


@pytest.mark.parametrize("where", ["before", "after", "end"])
def test_debug_anywhere(where, probe):
    """Issue 12 item 8: --debug (and -q) before or after the command; the traceback with it."""
    args = {"before": ["--debug", "-q", "probe", "key"], "after": ["probe", "--debug", "key", "-q"]}
    args["end"] = ["-q", "probe", "key", "--debug"]
    r = invoke(args[where])
    assert r.exit_code == 1
    assert "Traceback" in r.stderr and r.stderr.splitlines()[-1].startswith("netsci-dl: internal")
    assert "warning" not in r.stderr


def test_quiet_after_command_real(inp, out):
    r = invoke(["export", str(inp["good.pt"]), "-o", str(out / "g.npz"), "-q"])
    assert r.exit_code == 0 and r.stderr == ""
    r = invoke(["export", str(inp["text.pt"]), "--debug", "-o", str(out / "h.npz")])
    assert r.exit_code == 2 and "Traceback" in r.stderr
    assert r.stderr.splitlines()[-1].startswith("netsci-dl: error: ")


def test_missing_optional_dependency(inp, out, monkeypatch):
    """A missing optional dependency is the user's environment: one line, exit 2."""
    monkeypatch.setitem(sys.modules, "igraph", None)
    monkeypatch.setitem(sys.modules, "leidenalg", None)
    r = invoke(["communities", str(inp["good.pt"]), "--no-plots", "-o", str(out / "c")])
    check_contract(r, 2, out, {CANARY}, "igraph|leidenalg")


def test_help_and_version():
    for args in (["--help"], ["export", "--help"], ["--version"]):
        r = invoke(args)
        assert r.exit_code == 0 and r.stdout


# ---- the Python API over the same files ------------------------------------------------------
API_BAD = [f for f in BAD_INPUTS if not f.startswith(("nan.", "overflow.", "chain."))]


@pytest.mark.parametrize("name", API_BAD)
def test_api_bad_input(name, inp):
    """Classes 1, 4, 7, 8: the API raises InputError or an OSError about the path, nothing
    else (no KeyError, IndexError, SafetensorError, UnpicklingError), and never blocks."""
    import netsci_dl as nd
    from netsci_dl.export import inspect
    from netsci_dl.io.write_graph import is_graph_file, read

    p = inp.get(name, inp["good.pt"].parent / name)
    graph = name.endswith((".graphml", ".gexf", ".gz"))
    calls = [read] if graph else [nd.load, inspect]
    for f in calls:
        res: dict[str, BaseException | None] = {}

        def target(f=f, res=res):
            try:
                f(p)
                res["e"] = None
            except BaseException as exc:  # noqa: BLE001
                res["e"] = exc

        t = threading.Thread(target=target, daemon=True)
        t.start()
        t.join(30)
        if t.is_alive():
            os.close(os.open(p, os.O_WRONLY | os.O_NONBLOCK))
            pytest.fail(f"{f.__name__}({name}) blocked")
        e = res["e"]
        assert isinstance(e, (InputError, OSError)), (f.__name__, type(e), e)
        assert "weights_only=False" not in str(e) and "trusted source" not in str(e)
    assert not (inp["good.pt"].parent / PWNED).exists()
    if graph and not name.startswith("fifo"):
        assert is_graph_file(p)


def test_tensor_order_unchanged(tmp_path):
    """The numpy safetensors reader keeps the order safetensors' own keys() gives."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import save_file

    from netsci_dl.export.checkpoint import read_checkpoint

    d = {k: torch.ones(2, 2) for k in ("z.weight", "a.weight", "B.bias", "é", "10", "9")}
    save_file(d, str(tmp_path / "o.safetensors"))
    with safe_open(str(tmp_path / "o.safetensors"), "np") as f:
        want = list(f.keys())
    assert list(read_checkpoint(tmp_path / "o.safetensors").tensors) == want
