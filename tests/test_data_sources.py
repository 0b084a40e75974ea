"""netsci_dl.datasets.load: every source from files written here, the scaling rule,
normalize / resize / limit, the torch Dataset/DataLoader adapter, and refusals naming the file."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from netsci_dl.datasets import as_arrays, load
from netsci_dl.errors import InputError


@pytest.fixture
def rgb():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (6, 3, 4, 5)).astype(np.uint8), rng.integers(0, 3, 6)


def test_idx_through_load(tmp_path):
    imgs = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(
        struct.pack(">IIII", 2051, 2, 3, 4) + imgs.tobytes()
    )
    d = load(f"mnist:{tmp_path}")
    np.testing.assert_allclose(d.X, imgs.reshape(2, -1) / 255.0, rtol=1e-6)
    assert d.spec == f"mnist:{tmp_path.resolve()}"
    np.testing.assert_array_equal(load(d.spec).X, d.X)  # the spec loads it again


def test_npz_any_shape_and_float_kept(tmp_path, rgb):
    X, y = rgb
    Xf = X.astype(np.float64) / 127.5  # max 2.0: kept as given
    np.savez(tmp_path / "d.npz", X=Xf, y=y)
    d = load(f"npz:{tmp_path / 'd.npz'}")
    assert d.image_shape == (3, 4, 5) and d.X.dtype == np.float32
    np.testing.assert_allclose(d.inputs(), Xf, rtol=1e-6)  # float32 of the given values
    assert float(d.X.max()) == pytest.approx(Xf.max(), rel=1e-6) and Xf.max() > 1.5
    np.testing.assert_array_equal(d.y, y)
    assert "floats kept as given" in d.describe()
    np.savez(tmp_path / "u.npz", X=X)  # uint8 -> / 255, no labels
    u = load(f"npz:{tmp_path / 'u.npz'}")
    np.testing.assert_allclose(u.inputs(), X / 255.0, rtol=1e-6)
    assert not u.has_labels and "uint8 values / 255" in u.describe()


def test_pt_tensors(tmp_path, rgb):
    import torch

    X, y = rgb
    torch.save({"X": torch.from_numpy(X), "y": torch.from_numpy(y)}, tmp_path / "d.pt")
    d = load(f"pt:{tmp_path / 'd.pt'}")
    np.testing.assert_allclose(d.inputs(), X / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(d.y, y)
    torch.save((torch.ones(4, 2) * 3, torch.tensor([0, 1, 0, 1])), tmp_path / "pair.pt")
    np.testing.assert_array_equal(load(f"pt:{tmp_path / 'pair.pt'}").X, np.full((4, 2), 3.0))
    torch.save({"X": object()}, tmp_path / "obj.pt")  # not loadable with weights_only
    with pytest.raises(InputError, match="obj.pt"):
        load(f"pt:{tmp_path / 'obj.pt'}")


def _write_folder(root, imgs, y, mode):
    from PIL import Image

    for i, (im, c) in enumerate(zip(imgs, y, strict=True)):
        d = root / f"class_{c}"
        d.mkdir(parents=True, exist_ok=True)
        a = im.transpose(1, 2, 0) if mode == "RGB" else im[0]
        Image.fromarray(a, mode).save(d / f"{i:03d}.png")


def test_image_folder_rgb_classes_sorted(tmp_path, rgb):
    X, y = rgb
    _write_folder(tmp_path / "imgs", X, y, "RGB")
    d = load(f"folder:{tmp_path / 'imgs'}")
    assert d.image_shape == (3, 4, 5)
    order = np.lexsort((np.arange(len(y)), y))  # files in class order, then by name
    np.testing.assert_allclose(d.inputs(), X[order] / 255.0, rtol=1e-6)  # PNG is lossless
    np.testing.assert_array_equal(d.y, np.sort(y))
    from PIL import Image

    Image.fromarray(np.zeros((7, 7, 3), np.uint8)).save(tmp_path / "imgs" / "class_0" / "z.png")
    with pytest.raises(InputError, match="different sizes"):
        load(f"folder:{tmp_path / 'imgs'}")
    r = load(f"folder:{tmp_path / 'imgs'}", resize=(8, 6))
    assert r.image_shape == (3, 8, 6) and len(r) == 7 and "resize" in r.describe()


def test_cifar10_binary(tmp_path, rgb):
    X, _ = rgb
    X = np.random.default_rng(1).integers(0, 256, (5, 3, 32, 32)).astype(np.uint8)
    y = np.array([0, 9, 3, 3, 1], np.uint8)
    rec = np.concatenate([y[:, None], X.reshape(5, -1)], axis=1)
    rec[:3].tofile(tmp_path / "data_batch_1.bin")
    rec[3:].tofile(tmp_path / "data_batch_2.bin")
    rec[:1].tofile(tmp_path / "test_batch.bin")
    d = load(f"cifar10:{tmp_path}")
    np.testing.assert_allclose(d.inputs(), X / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(d.y, y)
    assert len(load(f"cifar10-test:{tmp_path}")) == 1
    (tmp_path / "bad.bin").write_bytes(b"\x00" * 100)
    with pytest.raises(InputError, match=r"bad.bin.*3073"):
        load(f"cifar10:{tmp_path / 'bad.bin'}")


def test_tokens(tmp_path):
    ids = np.array([[101, 7, 8, 102], [101, 9, 102, 0]], np.int32)
    mask = (ids > 0).astype(np.int8)
    np.savez(tmp_path / "t.npz", input_ids=ids, attention_mask=mask, y=[1, 0])
    d = load(f"tokens:{tmp_path / 't.npz'}")
    assert d.X.dtype == np.int64 and d.image_shape == (4,)
    np.testing.assert_array_equal(d.X, ids)
    np.testing.assert_array_equal(d.attention_mask, mask)
    np.testing.assert_array_equal(d.take([1]).attention_mask, mask[1:])
    np.savez(tmp_path / "f.npz", input_ids=np.zeros((2, 3), np.float32))
    with pytest.raises(InputError, match="f.npz.*integers"):
        load(f"tokens:{tmp_path / 'f.npz'}")


def test_normalize_resize_limit(tmp_path, rgb):
    X, y = rgb
    np.savez(tmp_path / "d.npz", X=X, y=y)
    spec = f"npz:{tmp_path / 'd.npz'}"
    mean, std = [0.1, 0.2, 0.3], [0.5, 0.25, 2.0]
    d = load(spec, normalize=(mean, std), limit=4)
    ref = (X[:4] / 255.0 - np.reshape(mean, (1, 3, 1, 1))) / np.reshape(std, (1, 3, 1, 1))
    np.testing.assert_allclose(d.inputs(), ref, rtol=1e-5, atol=1e-6)  # float32 arithmetic
    assert "limit: the first 4" in d.describe() and "per channel (axis 1)" in d.describe()
    import torch

    for size in ((8, 10), (3, 2), (7, 13)):  # up, down, uneven: torch's bilinear is the oracle
        r = load(spec, resize=size)
        ref = torch.nn.functional.interpolate(
            torch.from_numpy(X / np.float32(255)).float(), size=size, mode="bilinear"
        )
        assert r.image_shape == (3, *size)
        np.testing.assert_allclose(r.inputs(), ref.numpy(), atol=1e-6)  # float32 rounding
    np.savez(tmp_path / "c.npz", X=np.full((2, 3, 4, 5), 0.25, np.float32))
    np.testing.assert_allclose(load(f"npz:{tmp_path / 'c.npz'}", resize=(7, 3)).X, 0.25, rtol=1e-6)
    same = load(spec, resize=(4, 5))  # the same size: values unchanged
    np.testing.assert_allclose(same.X, X.reshape(6, -1) / 255.0, rtol=1e-6)
    with pytest.raises(InputError, match="2 mean values for 3 channel"):
        load(spec, normalize=([0.1, 0.2], [1.0]))
    with pytest.raises(InputError, match="std must be > 0"):
        load(spec, normalize=(0.0, 0.0))


@pytest.mark.parametrize(
    ("spec", "match"),
    [("cifar", "digits"), ("npz:", "KIND:PATH"), ("parquet:/x", "KIND:PATH")],
)
def test_bad_specs(spec, match):
    with pytest.raises(InputError, match=match):
        load(spec)


def test_bad_files_name_the_file(tmp_path):
    (tmp_path / "x.npz").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="x.npz"):
        load(f"npz:{tmp_path / 'x.npz'}")
    np.savez(tmp_path / "noX.npz", a=np.zeros(3))
    with pytest.raises(InputError, match=r"noX.npz: no array 'X'"):
        load(f"npz:{tmp_path / 'noX.npz'}")
    with pytest.raises(FileNotFoundError):
        load(f"npz:{tmp_path / 'missing.npz'}")


def test_torch_dataset_and_dataloader():
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    Xt, yt = torch.randn(10, 3, 2, 2), torch.arange(10)
    ds = TensorDataset(Xt, yt)
    for data in (ds, DataLoader(ds, batch_size=3), DataLoader(ds, batch_size=None)):
        X, y = as_arrays(data)
        torch.testing.assert_close(X, Xt)
        torch.testing.assert_close(y, yt)
    X, y = as_arrays(np.zeros((3, 2)))
    assert y is None and X.shape == (3, 2)


def test_cli_data_options_reach_the_pipeline(tmp_path):
    """--data npz:PATH with --normalize/--resize/--limit: the run records the joined spec, and
    that spec loads the same examples the trainer saw."""
    import json

    from click.testing import CliRunner

    from netsci_dl.cli import cli

    X = np.random.default_rng(0).integers(0, 256, (40, 1, 4, 4)).astype(np.uint8)
    np.savez(tmp_path / "d.npz", X=X, y=np.arange(40) % 3)
    out = tmp_path / "run"
    args = ["-q", "train-dbn", "--sizes", "16,4", "--epochs", "1", "-o", str(out)]
    data = ["--data", f"npz:{tmp_path / 'd.npz'}", "--limit", "30", "--normalize", "0,2"]
    r = CliRunner().invoke(cli, [*args, *data])
    assert r.exit_code == 0, r.output
    spec = json.loads((out / "config.json").read_text())["data"]
    assert spec == f"npz:{(tmp_path / 'd.npz').resolve()}?normalize=0,2&limit=30"
    d = load(spec)
    np.testing.assert_allclose(d.X, X[:30].reshape(30, -1) / 255.0 / 2, rtol=1e-5)


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--data", "parquet:/x"], "KIND:PATH"),
        (["--data", "npz:/no/such.npz"], "no/such.npz"),
        (["--data", "digits", "--normalize", "1,2,3"], "MEAN,STD"),
        (["--data", "digits", "--resize", "32"], "HxW"),
        (["--data", "digits", "--limit", "0"], "at least 1"),
    ],
)
def test_cli_bad_data_exits_2(tmp_path, extra, match):
    from click.testing import CliRunner

    from netsci_dl.cli import cli

    out = tmp_path / "run"
    r = CliRunner().invoke(
        cli, ["train-dbn", "--sizes", "64,4", "--epochs", "1", "-o", str(out), *extra]
    )
    assert r.exit_code == 2, r.output
    assert match in r.output and "Traceback" not in r.output
    assert not out.exists()


def test_data_path_functions_take_a_dataloader():
    """fisher_trace and layer_activations on a DataLoader / our Dataset equal the arrays' result
    (the same examples in the same order: an exact oracle)."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from netsci_dl.activations import fisher_trace, layer_activations

    d = load("digits", limit=40)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(64, 6), torch.nn.Tanh(), torch.nn.Linear(6, 10))
    ref = fisher_trace(net, d.X, d.y, kind="empirical")
    loader = DataLoader(TensorDataset(torch.from_numpy(d.X), torch.from_numpy(d.y)), batch_size=7)
    for data in (loader, d):
        got = fisher_trace(net, data, kind="empirical")
        np.testing.assert_allclose(got.total, ref.total, rtol=1e-6)
    a = layer_activations(net, loader)
    b = layer_activations(net, d.X)
    for name in b:
        np.testing.assert_allclose(np.asarray(a[name]), np.asarray(b[name]), rtol=1e-6)


def test_subset_refuses_a_negative_seed():
    """Issue 28 (2): --seed -1 reached numpy's SeedSequence (an internal error)."""
    from netsci_dl.datasets import load_digits
    from netsci_dl.errors import InputError

    with pytest.raises(InputError, match="seed=-1"):
        load_digits().subset(10, seed=-1)
