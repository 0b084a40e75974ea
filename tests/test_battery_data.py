"""The data-path commands under broken, hostile and unbounded inputs (issue 28).

Commands: similarity, measures, interactions, critical-period, analyze (a run), causal-plane
on a run. Each bad case must exit 2 with one line naming the problem, create no output folder,
leave no temporary file and never hang; the contract is ``test_battery.check_contract``.
Classes of issue 28: 1 outputs created before validation; 2 the user's input reported as an
internal error; 3 bad input accepted; 4 unbounded work from one option or file; 5 validated
late; 7 blocking files (FIFOs in a run).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.test_battery import REPO, Case, check_contract, invoke, listing

FAST = ["--probe-size", "40"]
#: a case that would run (nearly) without end, or allocate without bound, if accepted runs in a
#: child process with a deadline and its peak memory measured (``Case.slow`` is not used here)
DEADLINE = 30.0
#: peak resident memory of a child on a hostile input: the interpreter with torch and the
#: libraries is about 0.4-0.6 GB; the bound of issue 28
PEAK_RSS = 1 << 30
#: the snapshot of the "fifo" run that is a FIFO
FIFO_NAME = "step00001_layer0_epoch0001.safetensors"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A 64-6-10 MLP run on digits, and broken copies of it."""
    from netsci_dl.datasets import load_digits
    from netsci_dl.models.mlp import MLPConfig, train_mlp

    root = tmp_path_factory.mktemp("data_battery")
    d = load_digits()
    good = root / "run"
    train_mlp(
        d.X[:120], d.y[:120], MLPConfig(layers=(64, 6, 10), epochs=2, learning_rate=0.5), good
    )

    def copy(name: str) -> Path:
        dst = root / name
        shutil.copytree(good, dst)
        return dst

    side = sorted((good / "snapshots").glob("*.json"))[1].name
    for name, key, value in [
        ("step_str", "step", "three"),
        ("step_huge", "step", 10**400),
        ("epoch_neg", "epoch", -5),
    ]:
        r = copy(name)
        doc = json.loads((r / "snapshots" / side).read_text())
        doc[key] = value
        (r / "snapshots" / side).write_text(
            json.dumps(doc) if value != 10**400 else json.dumps(doc)
        )
    r = copy("config_garbage")
    (r / "config.json").write_text("{not json")
    r = copy("config_list")
    (r / "config.json").write_text("[1, 2, 3]")
    r = copy("fifo")  # a snapshot (with its sidecar) that is a FIFO
    fifo = r / "snapshots" / FIFO_NAME
    fifo.unlink()
    os.mkfifo(fifo)
    r = copy("snapshot_corrupt")  # a snapshot whose header declares more than the file
    snap = sorted((r / "snapshots").glob("*0001.safetensors"))[0]
    snap.write_bytes((10**12).to_bytes(8, "little") + b"{}")
    mn = root / "badmnist"
    mn.mkdir()
    (mn / "train-images-idx3-ubyte").write_bytes(b"x" * 16)
    rng = np.random.default_rng(0)
    X = rng.integers(0, 255, (30, 28, 28), dtype=np.uint8)  # 28x28 for a 64-input model
    y = np.arange(30) % 10
    np.savez(root / "big.npz", X=X, y=y)
    np.savez(root / "one.npz", X=X[:1, :8, :8], y=y[:1])
    np.savez(root / "empty.npz", X=np.zeros((0, 8, 8), np.float32), y=np.zeros(0, np.int64))
    nan = rng.random((30, 64)).astype(np.float32)
    nan[7, 3] = np.nan
    np.savez(root / "nan.npz", X=nan, y=y)
    inf = nan.copy()
    inf[7, 3] = np.inf
    np.savez(root / "inf.npz", X=inf, y=y)
    np.savez(root / "labels.npz", X=nan[:5] * 0, y=np.array([0, 1, 2, 3, 40]))
    return {p.name: p for p in root.iterdir()} | {"root": root}


@pytest.fixture
def out(tmp_path):
    from tests.test_battery import CANARY, CANARY_TEXT

    d = tmp_path / "out"
    d.mkdir()
    (d / CANARY).write_text(CANARY_TEXT)
    return d


def _cmd(kind: str, run: str) -> list[str]:
    return {
        "similarity": ["similarity", run, "-o", "{out}/o", *FAST, "--no-within"],
        "measures": ["measures", run, "-o", "{out}/o", *FAST, "--measures", "ei,similarity", "--no-plots"],
        "interactions": ["interactions", run, "-o", "{out}/o", "--players", "2x2", "--explain", "1", "--iterations", "5", "--no-plots"],
        "critical-period": ["critical-period", "--arch", "mlp", "--epochs", "1", "--onsets", "0", "--window", "1", "--n-train", "60", "--probe-size", "20", "--no-plots", "-o", "{out}/o"],
        "analyze": ["analyze", run, "-o", "{out}/o"],
        "causal-plane": ["causal-plane", run, "-o", "{out}/o", "--ei-samples", "100", "--sensitivity-samples", "5", "--bins", "4"],
        "prune": ["prune", run, "-o", "{out}/o", "--fractions", "0:0.5:3", *FAST, "--no-plots"],
        "motifs": ["motifs", "@run/model.safetensors", "-o", "{out}/o", "--n-null", "2"],
        "sweep": ["sweep", "@run/model.safetensors", "-o", "{out}/o", "--n-cuts", "2", "--no-plots"],
    }[kind]  # fmt: skip


#: data given to the commands, and what the one error line must name
BAD_DATA = {
    "mnist-bad-magic": ("mnist:@badmnist", "magic"),
    "mnist-missing": ("mnist:@nothere", "nothere"),
    "shape": ("npz:@big.npz", "takes 64 values"),  # 28x28 for a 64-input model
    "one": ("npz:@one.npz", "at least 2"),
    "empty": ("npz:@empty.npz", "empty|no examples|0 example|no pixels"),
    "nan": ("npz:@nan.npz", "nan"),
    "inf": ("npz:@inf.npz", "inf"),
}
#: broken copies of the run: what the error line must name
BAD_RUNS = {
    "step_str": "'step'",
    "step_huge": "'step'",
    "epoch_neg": "'epoch'",
    "config_garbage": "config.json: not valid json",
    "config_list": "config.json: holds a json list",
    "fifo": "not a regular file",
    "snapshot_corrupt": "safetensors",
}
#: option values past their stated bound (command, option, value, name in the message); the
#: unbounded ones (work or memory that grows with the value) are run in a child process.
#: ``--probe-size`` and ``--n-train`` above the data's size take the whole set (documented).
BOUNDS = [
    ("similarity", "--probe-size", "0", "probe"),
    ("similarity", "--seed", "-1", "seed"),
    ("similarity", "--batch-size", "0", "batch"),
    ("measures", "--probe-size", "0", "probe"),
    ("measures", "--ei-samples", "0", "samples"),
    ("measures", "--ei-samples", "10000000000", "samples"),
    ("measures", "--sensitivity-samples", "10000000000", "samples"),
    ("measures", "--bins", "0", "bins"),
    ("measures", "--lanczos-iter", "1000000000", "lanczos"),
    ("measures", "--hutchinson-probes", "1000000000", "hutchinson"),
    ("measures", "--hutchinson-probes", "-1", "hutchinson"),
    ("interactions", "--explain", "0", "explain"),
    ("interactions", "--explain", "-1", "explain"),
    ("interactions", "--explain", "10000000000", "explain"),
    ("interactions", "--iterations", "1000000000", "iterations"),
    ("interactions", "--iterations", "-1", "iterations"),
    ("interactions", "--players", "8x8", "players|coalitions"),
    ("interactions", "--players", "features:0-1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", "players"),
    ("interactions", "--seed", "-1", "seed"),
    ("causal-plane", "--ei-samples", "10000000000", "samples"),
    ("causal-plane", "--sensitivity-samples", "10000000000", "samples"),
    ("causal-plane", "--bins", "0", "bins"),
    ("prune", "--probe-size", "0", "probe"),
    ("prune", "--fractions", "0:1:100000000", "fractions"),
    ("prune", "--fractions", "0:1:1", "fractions"),
    ("critical-period", "--window", "1000000000", "window"),
    ("motifs", "--n-null", "1000000000", "n-null"),
    ("motifs", "--n-null", "-1", "n-null"),
    ("sweep", "--n-null", "1000000000", "n-null"),
    ("sweep", "--n-cuts", "1000000000", "n-cuts"),
    ("sweep", "--n-cuts", "0", "n-cuts"),
    ("sweep", "--cuts", ",".join(["0.1"] * 5000), "cuts"),
    ("critical-period", "--epochs", "1000000000", "epochs"),
    ("critical-period", "--lanczos-iter", "1000000000", "lanczos"),
    ("critical-period", "--n-train", "0", "n-train|n_train"),
    ("critical-period", "--seed", "-1", "seed"),
]  # fmt: skip
#: values that, accepted, would run or allocate without bound: a child with a deadline
UNBOUNDED = {"10000000000", "1000000000", "0:1:100000000", "8x8"}
#: child-process cases (about 10 s each under load) that repeat a class another core case
#: covers: ``slow`` (one per command stays in the default run)
SLOW = {
    "interactions--players-8x8",
    "interactions--explain-10000000000",
    "measures--sensitivity-samples-10000000000",
    "measures--hutchinson-probes-1000000000",
    "causal-plane--ei-samples-10000000000",
    "causal-plane--sensitivity-samples-10000000000",
    "critical-period--epochs-1000000000",
}


def _cases() -> list[Case]:
    """The generated cases: every command on every bad data set and broken run, and every
    option past its bound."""
    c: list[Case] = []
    add = c.append
    for kind in ("similarity", "measures", "interactions", "analyze", "prune"):
        run = "@run" if kind != "prune" else "@run"
        for name, (spec, msg) in BAD_DATA.items():
            add(Case(f"{kind}-data-{name}", (*_cmd(kind, run), "--data", spec), msg=msg))
    for kind in ("measures", "interactions", "prune"):
        add(
            Case(
                f"{kind}-labels-out-of-range",
                (*_cmd(kind, "@run"), "--data", "npz:@labels.npz", "--measures", "fisher")
                if kind == "measures"
                else (*_cmd(kind, "@run"), "--data", "npz:@labels.npz"),
                msg="[0, 9]",
            )
        )
    for kind in ("similarity", "measures", "interactions", "analyze", "causal-plane"):
        for run, msg in BAD_RUNS.items():
            add(Case(f"{kind}-run-{run}", tuple(_cmd(kind, f"@{run}")), msg=msg))
    add(Case("cp-mnist-bad-magic", (*_cmd("critical-period", ""), "--data", "mnist:@badmnist"), msg="magic"))  # fmt: skip
    add(Case("cp-blur-0", (*_cmd("critical-period", ""), "--deficit", "blur", "--blur-factor", "0"), msg="blur"))  # fmt: skip
    add(Case("cp-window-0-no-control", (*_cmd("critical-period", ""), "--window", "0", "--no-control"), msg="window"))  # fmt: skip
    for kind, opt, value, msg in BOUNDS:
        cmd = _cmd(kind, "@run")
        if opt in cmd:  # replace the fast setting
            i = cmd.index(opt)
            cmd = cmd[:i] + cmd[i + 2 :]
        add(Case(f"{kind}{opt}-{value[:24]}", (*cmd, opt, value), msg=msg))
    return c


CASES = _cases()


def _expand(args, runs, out):
    res = []
    for a in args:
        if "@" in a:
            head, _, name = a.partition("@")
            res.append(head + str(runs.get(name, runs["root"] / name)))
        else:
            res.append(a.replace("{out}", str(out)))
    return res


@dataclass
class _Child:
    """What check_contract reads of a CliRunner result, from a child process."""

    exit_code: int
    stdout: str
    stderr: str
    max_rss: int  # bytes

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_child(args: list[str], timeout: float = DEADLINE) -> _Child:
    """The CLI in a child process, killed at ``timeout`` (the test then fails: a hang); its
    peak resident memory from ``wait4``'s rusage."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "netsci_dl.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"},
    )
    killed = threading.Event()

    def kill() -> None:
        killed.set()
        proc.kill()

    timer = threading.Timer(timeout, kill)
    timer.start()
    try:
        out, err = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert not killed.is_set(), f"{args[0]} still running after {timeout:.0f} s: killed"
    return _Child(proc.returncode, out.decode(), err.decode(), usage.ru_maxrss * 1024)


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, id=c.id, marks=[pytest.mark.slow] if c.id in SLOW else []) for c in CASES],
)
def test_bad_input(case, runs, out):
    """Exit 2, one line naming the problem, no output folder, nothing left, no hang; a case
    that would be unbounded runs in a child with a deadline and peak memory under 1 GB."""
    before = listing(out)
    args = _expand(case.args, runs, out)
    if case.args[-1] in UNBOUNDED:
        r = run_child(args)
        assert r.max_rss < PEAK_RSS, f"peak RSS {r.max_rss / 2**20:.0f} MiB"
    else:
        fifos = [Path(a) / "snapshots" / FIFO_NAME for a in args if a.endswith("fifo")]
        r = invoke(args, unblock=fifos, timeout=DEADLINE)
    check_contract(r, case.code, out, before, case.msg)
    assert not (out / "o").exists()
