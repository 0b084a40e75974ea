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
from pathlib import Path

import numpy as np
import pytest

from tests.test_battery import Case, check_contract, invoke, listing

FAST = ["--probe-size", "40"]
FIFO = "step00009_layer0_epoch0009.safetensors"
#: cases that would run (nearly) without end if accepted: run in a child process with a deadline
UNBOUNDED = {
    "interactions-explain-10000000000",
    "interactions-iterations-huge",
    "interactions-players-huge",
    "cp-window-huge",
    "cp-epochs-huge",
    "cp-lanczos-huge",
}


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
    r = copy("fifo")
    os.mkfifo(r / "snapshots" / FIFO)
    r = copy("state_corrupt")
    for p in (r / "snapshots").glob("*.state.safetensors"):
        p.write_bytes(b"\xff" * 8 + b"{}")
    mn = root / "badmnist"
    mn.mkdir()
    (mn / "train-images-idx3-ubyte").write_bytes(b"x" * 16)
    big = root / "mnist28"  # 28x28 images for a 64-input model
    big.mkdir()
    X = np.random.default_rng(0).integers(0, 255, (30, 28, 28), dtype=np.uint8)
    y = np.arange(30, dtype=np.uint8) % 10
    np.savez(big / "mnist.npz", x_train=X, y_train=y, x_test=X, y_test=y)
    one = root / "mnist1"
    one.mkdir()
    np.savez(
        one / "mnist.npz", x_train=X[:1, :8, :8], y_train=y[:1], x_test=X[:1, :8, :8], y_test=y[:1]
    )
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
    }[kind]  # fmt: skip


def _cases() -> list[Case]:
    c: list[Case] = []
    add = c.append
    # 1/2: bad data, bad options, each refused before the output folder exists
    for kind in ("similarity", "measures", "interactions", "analyze"):
        add(
            Case(
                f"{kind}-mnist-bad-magic",
                (*_cmd(kind, "@run"), "--data", "mnist:@badmnist"),
                msg="magic",
            )
        )
        add(
            Case(
                f"{kind}-mnist-missing",
                (*_cmd(kind, "@run"), "--data", "mnist:@nothere"),
                msg="nothere",
            )
        )
        add(
            Case(
                f"{kind}-data-shape",
                (*_cmd(kind, "@run"), "--data", "mnist:@mnist28"),
                msg="64|784|shape",
            )
        )
        for run in (
            "step_str",
            "step_huge",
            "config_garbage",
            "config_list",
            "fifo",
            "state_corrupt",
        ):
            add(
                Case(
                    f"{kind}-{run}",
                    tuple(_cmd(kind, f"@{run}")),
                    msg="step|config|fifo|regular|json|safetensors|header|not a",
                )
            )
    for kind in ("similarity", "measures"):
        add(Case(f"{kind}-probe-0", (*_cmd(kind, "@run"), "--probe-size", "0"), msg="probe"))
        add(
            Case(
                f"{kind}-mnist-one",
                (*_cmd(kind, "@run"), "--data", "mnist:@mnist1"),
                msg="example|sample|one",
            )
        )
    add(Case("similarity-seed-neg", (*_cmd("similarity", "@run"), "--seed", "-1"), msg="seed"))
    add(Case("similarity-batch-0", (*_cmd("similarity", "@run"), "--batch-size", "0"), msg="batch"))
    add(
        Case(
            "measures-ei-samples-0", (*_cmd("measures", "@run"), "--ei-samples", "0"), msg="samples"
        )
    )
    add(Case("measures-bins-0", (*_cmd("measures", "@run"), "--bins", "0"), msg="bins"))
    for v in ("0", "-1", "10000000000"):
        add(
            Case(
                f"interactions-explain-{v}",
                (*_cmd("interactions", "@run"), "--explain", v),
                msg="explain",
            )
        )
    add(
        Case(
            "interactions-iterations-huge",
            (*_cmd("interactions", "@run"), "--iterations", "1000000000"),
            msg="iterations",
        )
    )
    add(
        Case(
            "interactions-players-huge",
            (*_cmd("interactions", "@run"), "--players", "8x8"),
            msg="players|coalitions",
        )
    )
    add(Case("interactions-seed-neg", (*_cmd("interactions", "@run"), "--seed", "-1"), msg="seed"))
    cp = _cmd("critical-period", "")
    add(Case("cp-mnist-bad-magic", (*cp, "--data", "mnist:@badmnist"), msg="magic"))
    add(Case("cp-blur-0", (*cp, "--deficit", "blur", "--blur-factor", "0"), msg="blur"))
    add(Case("cp-n-train-0", (*cp, "--n-train", "0"), msg="n-train|n_train"))
    add(Case("cp-seed-neg", (*cp, "--seed", "-1"), msg="seed"))
    add(Case("cp-window-0", (*cp, "--window", "0", "--no-control"), msg="window"))
    add(Case("cp-window-huge", (*cp, "--window", "1000000000"), msg="window"))
    add(Case("cp-epochs-huge", (*cp, "--epochs", "1000000000"), msg="epochs"))
    add(Case("cp-lanczos-huge", (*cp, "--lanczos-iter", "1000000000"), msg="lanczos"))
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


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_bad_input(case, runs, out):
    before = listing(out)
    args = _expand(case.args, runs, out)
    fifos = [
        Path(a) / "snapshots" / "step00009_layer0_epoch0009.safetensors"
        for a in args
        if a.endswith("fifo")
    ]
    r = invoke(args, unblock=fifos, timeout=30)
    check_contract(r, case.code, out, before, case.msg)
    assert not (out / "o").exists()
