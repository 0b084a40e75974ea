"""Broken inputs on the data path named before any work (issue 28): IDX files whose header
declares more than the file holds, a run folder's ``config.json`` of the wrong shape."""

from __future__ import annotations

import gzip
import json
import struct
import tracemalloc

import numpy as np
import pytest

from netsci_dl.datasets import load_mnist, read_idx
from netsci_dl.errors import InputError
from netsci_dl.runs.format import read_run_config, snapshot_sources

#: peak Python allocation while an IDX file declaring gigabytes is refused: the header and a
#: few buffers (KiB); 8 MiB is far below any allocation of the declared size
PEAK = 8 << 20


def _idx(magic: int, dims: tuple[int, ...], payload: bytes) -> bytes:
    return struct.pack(f">I{len(dims)}I", magic, *dims) + payload


def _refused_small(fn, *args, match: str) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match=match):
            fn(*args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < PEAK, peak


@pytest.mark.parametrize("dims", [(60000, 28, 28), (2**32 - 1, 2**32 - 1, 2**32 - 1)])
def test_idx_declared_larger_than_file(tmp_path, dims):
    p = tmp_path / "train-images-idx3-ubyte"
    p.write_bytes(_idx(2051, dims, bytes(100)))
    _refused_small(read_idx, p, match=r"declares shape .* file has 100 bytes")


def test_idx_gzip_declared_past_the_bound(tmp_path):
    p = tmp_path / "train-images-idx3-ubyte.gz"
    with gzip.open(p, "wb") as f:  # declares 4 GiB; a small file may not decompress to that
        f.write(_idx(2051, (2**16, 2**8, 2**8), bytes(1000)))
    _refused_small(read_idx, p, match="gzip file of this size may hold at most")


def test_idx_gzip_bomb_stops_at_the_declared_size(tmp_path):
    """A gzip file of zeros past its header's size is refused after reading the declared
    bytes and one more, never the whole stream."""
    p = tmp_path / "train-images-idx3-ubyte.gz"
    with gzip.open(p, "wb") as f:
        f.write(_idx(2051, (10, 8, 8), bytes(640 + 50_000_000)))
    _refused_small(read_idx, p, match="bytes after the data")


def test_idx_labels_count_differs(tmp_path):
    imgs = np.zeros((3, 4, 4), np.uint8)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(_idx(2051, imgs.shape, imgs.tobytes()))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx(2049, (1000,), bytes(1000)))
    with pytest.raises(InputError, match="3 images but 1000 labels"):
        load_mnist(tmp_path)


def test_idx_good_file_still_reads(tmp_path):
    """The bound checks keep a valid file (raw and gzip) readable, bit for bit."""
    imgs = np.random.default_rng(0).integers(0, 256, (7, 5, 3), dtype=np.uint8)
    raw = _idx(2051, imgs.shape, imgs.tobytes())
    (tmp_path / "a-idx3-ubyte").write_bytes(raw)
    with gzip.open(tmp_path / "b-idx3-ubyte.gz", "wb") as f:
        f.write(raw)
    for name in ("a-idx3-ubyte", "b-idx3-ubyte.gz"):
        np.testing.assert_array_equal(read_idx(tmp_path / name, ndim=3), imgs)


# ---- config.json ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2, 3]", "holds a JSON list, not an object"),
        ('"a string"', "holds a JSON str"),
        ('{"data": 3}', "key 'data' is 3"),
        ('{"config": [1]}', "key 'config' is \\[1\\]"),
        ('{"model_kind": true}', "key 'model_kind' is True"),
        ('{"image_shape": [8, "x"]}', "key 'image_shape'"),
        ('{"image_shape": [8, -1]}', "key 'image_shape'"),
        ('{"image_shape": 8}', "key 'image_shape'"),
    ],
)
def test_config_refused(tmp_path, text, match):
    (tmp_path / "config.json").write_text(text)
    with pytest.raises(InputError, match=match) as e:
        read_run_config(tmp_path)
    assert "config.json" in str(e.value)


def test_config_good_and_absent(tmp_path):
    assert read_run_config(tmp_path) is None
    doc = {"config": {"layers": [4, 2]}, "data": None, "image_shape": [2, 2], "model_kind": "mlp"}
    (tmp_path / "config.json").write_text(json.dumps(doc))
    assert read_run_config(tmp_path) == doc


def test_run_folder_with_broken_config(tmp_path):
    """A run folder's snapshots are not read past a broken config.json."""
    from netsci_dl.datasets import load_digits
    from netsci_dl.models.mlp import MLPConfig, train_mlp

    d = load_digits()
    run = tmp_path / "run"
    train_mlp(d.X[:40], d.y[:40], MLPConfig(layers=(64, 3, 10), epochs=1), run)
    assert len(snapshot_sources(run)) == 2
    (run / "config.json").write_text("[1, 2]")
    with pytest.raises(InputError, match="config.json: holds a JSON list"):
        snapshot_sources(run)


# ---- the model against its data, one forward pass before any output ----------------------
@pytest.fixture(scope="module")
def mlp_run(tmp_path_factory):
    from netsci_dl.datasets import load_digits
    from netsci_dl.models.mlp import MLPConfig, train_mlp

    root = tmp_path_factory.mktemp("agree")
    d = load_digits()
    train_mlp(d.X[:60], d.y[:60], MLPConfig(layers=(64, 4, 10), epochs=1), root / "run")
    X = np.random.default_rng(0).integers(0, 255, (12, 28, 28), dtype=np.uint8)
    np.savez(root / "big.npz", X=X, y=np.arange(12) % 10)
    return root


def _cli(args):
    from click.testing import CliRunner

    from netsci_dl.cli import cli

    return CliRunner().invoke(cli, [str(a) for a in args])


def test_shape_mismatch_names_both_shapes_and_the_remedy(mlp_run, tmp_path):
    out = tmp_path / "o"
    args = ["similarity", mlp_run / "run", "-o", out, "--data", f"npz:{mlp_run / 'big.npz'}"]
    r = _cli(args)
    assert r.exit_code == 2, r.output
    line = r.stderr.strip()
    assert "\n" not in line
    for part in ("28x28 (784 values)", "takes 64 values per example", "--resize", "--input-shape"):
        assert part in line, line
    assert not out.exists()
    # the remedy it names works: the same data resized to the model's 8x8
    r = _cli([*args, "--resize", "8x8", "--no-within", "--probe-size", "12"])
    assert r.exit_code == 0, r.output
    assert (out / "similarity.csv").is_file()


def test_labels_beyond_the_models_classes(mlp_run, tmp_path):
    """The model has 10 outputs (its last layer); a label 12 is named with the range."""
    X = np.zeros((6, 64), np.float32)
    np.savez(tmp_path / "lab.npz", X=X, y=np.array([0, 1, 2, 3, 4, 12]))
    out = tmp_path / "o"
    data = f"npz:{tmp_path / 'lab.npz'}"
    r = _cli(["prune", mlp_run / "run", "-o", out, "--data", data, "--no-plots"])
    assert r.exit_code == 2, r.output
    assert "lab.npz" in r.stderr and "[0, 9]" in r.stderr and "found 12" in r.stderr
    assert not out.exists()
    np.savez(tmp_path / "lab.npz", X=X, y=np.array([0, 1, 2, 3, 4, 9]))  # in range: runs
    r = _cli(["prune", mlp_run / "run", "-o", out, "--data", data, "--no-plots"])
    assert r.exit_code == 0, r.output


NETS = """
import torch.nn as nn


def _mlp(n_in, n_out):
    return [nn.Flatten(), nn.Linear(n_in, 16), nn.Sigmoid(), nn.Linear(16, n_out)]


class Big(nn.Sequential):  # takes 28x28 images
    def __init__(self):
        super().__init__(*_mlp(784, 10))


class Few(nn.Sequential):  # 3 outputs for 10 classes
    def __init__(self):
        super().__init__(*_mlp(64, 3))


class Good(nn.Sequential):
    def __init__(self):
        super().__init__(*_mlp(64, 10))
"""


@pytest.mark.parametrize(
    ("cls", "match"),
    [("Big", "takes 784 values per example"), ("Few", r"\[0, 2\] for the model's 3 outputs")],
)
def test_critical_period_user_model_checked_before_any_run(tmp_path, monkeypatch, cls, match):
    import re

    (tmp_path / "cp28_nets.py").write_text(NETS)
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "o"
    args = ["critical-period", "--model", f"cp28_nets:{cls}", "--epochs", "1", "--onsets", "0",
            "--window", "1", "--n-train", "60", "--probe-size", "20", "--no-plots", "-o", out]  # fmt: skip
    r = _cli(args)
    assert r.exit_code == 2, r.output
    assert re.search(match, r.stderr), r.stderr
    assert not out.exists()


def test_critical_period_user_model_that_fits_passes_the_check(tmp_path, monkeypatch):
    from netsci_dl.cli.critical_period import _check_user_model
    from netsci_dl.runs.critical import CriticalPeriodOptions

    (tmp_path / "cp28_nets.py").write_text(NETS)
    monkeypatch.syspath_prepend(str(tmp_path))
    _check_user_model("digits", CriticalPeriodOptions(model="cp28_nets:Good"))
