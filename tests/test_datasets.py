"""Datasets: digits, MNIST from tiny IDX files (raw and .gz) and npz, with clear errors."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from netsci_dl.datasets import load_dataset, load_digits, load_mnist, read_idx


def _idx_images(imgs: np.ndarray) -> bytes:
    n, r, c = imgs.shape
    return struct.pack(">IIII", 2051, n, r, c) + imgs.astype(np.uint8).tobytes()


def _idx_labels(y: np.ndarray) -> bytes:
    return struct.pack(">II", 2049, len(y)) + y.astype(np.uint8).tobytes()


@pytest.fixture
def tiny():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (5, 3, 4)).astype(np.uint8), rng.integers(0, 10, 5).astype(np.uint8)


def _write(folder, imgs, y, *, gz=False, prefix="train"):
    op = gzip.open if gz else open
    suf = ".gz" if gz else ""
    with op(folder / f"{prefix}-images-idx3-ubyte{suf}", "wb") as f:
        f.write(_idx_images(imgs))
    with op(folder / f"{prefix}-labels-idx1-ubyte{suf}", "wb") as f:
        f.write(_idx_labels(y))


@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder(tmp_path, tiny, gz):
    imgs, y = tiny
    _write(tmp_path, imgs, y, gz=gz)
    d = load_mnist(tmp_path)
    assert d.X.shape == (5, 12)
    assert d.image_shape == (3, 4)
    assert d.X.dtype == np.float32
    np.testing.assert_allclose(d.X, imgs.reshape(5, -1) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(d.y, y)
    assert load_dataset(f"mnist:{tmp_path}").X.shape == (5, 12)


def test_single_images_file_and_test_split(tmp_path, tiny):
    imgs, y = tiny
    _write(tmp_path, imgs, y, prefix="t10k")
    d = load_mnist(tmp_path / "t10k-images-idx3-ubyte")
    np.testing.assert_array_equal(d.y, y)
    assert load_mnist(tmp_path, split="test").X.shape == (5, 12)
    with pytest.raises(FileNotFoundError, match="train-images"):
        load_mnist(tmp_path)


def test_npz(tmp_path, tiny):
    imgs, y = tiny
    np.savez(tmp_path / "mnist.npz", x_train=imgs, y_train=y, x_test=imgs[:2], y_test=y[:2])
    d = load_mnist(tmp_path / "mnist.npz")
    assert d.X.shape == (5, 12)
    assert float(d.X.max()) <= 1.0
    assert len(load_mnist(tmp_path / "mnist.npz", split="test")) == 2
    np.savez(tmp_path / "bad.npz", x_train=imgs, y_train=y[:3])
    with pytest.raises(ValueError, match="5 images but 3 labels"):
        load_mnist(tmp_path / "bad.npz")


def test_wrong_magic(tmp_path, tiny):
    imgs, y = tiny
    p = tmp_path / "train-images-idx3-ubyte"
    p.write_bytes(b"\x01\x02" + _idx_images(imgs)[2:])
    with pytest.raises(ValueError, match="wrong magic number"):
        load_mnist(p)
    p.write_bytes(_idx_labels(y))  # a labels file where images are expected
    with pytest.raises(ValueError, match="wrong magic number 2049"):
        load_mnist(p)


def test_truncated(tmp_path, tiny):
    imgs, y = tiny
    p = tmp_path / "x-idx3-ubyte"
    p.write_bytes(_idx_images(imgs)[:-7])
    with pytest.raises(ValueError, match="truncated"):
        read_idx(p)
    p.write_bytes(_idx_images(imgs)[:10])
    with pytest.raises(ValueError, match="truncated"):
        read_idx(p)
    p.write_bytes(b"\x00")
    with pytest.raises(ValueError, match="truncated"):
        read_idx(p)


def test_count_mismatch(tmp_path, tiny):
    imgs, y = tiny
    _write(tmp_path, imgs, y[:4])
    with pytest.raises(ValueError, match="5 images but 4 labels"):
        load_mnist(tmp_path)


def test_specs_and_digits():
    d = load_digits()
    assert d.image_shape == (8, 8)
    with pytest.raises(ValueError, match="digits"):
        load_dataset("cifar")
    with pytest.raises(FileNotFoundError):
        load_dataset("mnist:/nonexistent/folder")


def _idx_float_images(imgs: np.ndarray) -> bytes:
    n, r, c = imgs.shape
    return b"\x00\x00\x0d\x03" + struct.pack(">III", n, r, c) + imgs.astype(">f4").tobytes()


@pytest.mark.parametrize(
    ("value", "match"),
    [(np.nan, "NaN"), (-np.inf, "NaN or Inf")],
)
def test_values_that_are_not_numbers_are_refused(tmp_path, value, match):
    from netsci_dl.errors import InputError

    imgs = np.random.default_rng(1).random((4, 3, 3)).astype(np.float32)
    imgs[2, 1, 1] = value
    (tmp_path / "x-images-idx3-ubyte").write_bytes(_idx_float_images(imgs))
    with pytest.raises(InputError, match=match):
        load_mnist(tmp_path / "x-images-idx3-ubyte")
    np.savez(tmp_path / "m.npz", x_train=imgs, y_train=np.zeros(4))
    with pytest.raises(InputError, match=match):
        load_mnist(tmp_path / "m.npz")


@pytest.mark.parametrize("hi", [1.0, 2.0, 300.0, -0.5])
def test_scaling_rule(tmp_path, hi):
    """uint8 is divided by 255; floats are kept as given, whatever their range (max 2.0 stays
    2.0: never divided silently)."""
    a = np.array([[[0.0, 0.5], [hi, 0.25]]], np.float32)
    np.savez(tmp_path / "a.npz", x_train=a, y_train=[3])
    d = load_mnist(tmp_path / "a.npz")
    np.testing.assert_array_equal(d.X, a.reshape(1, -1))
    assert "floats kept as given" in d.describe()
    b = np.array([[[0, 51], [255, 102]]], np.uint8)
    np.savez(tmp_path / "b.npz", x_train=b, y_train=[3])
    d = load_mnist(tmp_path / "b.npz")
    np.testing.assert_allclose(d.X, [[0, 0.2, 1, 0.4]], rtol=1e-6)
    assert "uint8 values / 255" in d.describe()


@pytest.mark.parametrize("labels", [[0, 1, np.nan], [0, 1.5, 2], [0, -1, 2]])
def test_bad_labels_are_refused(tmp_path, labels):
    from netsci_dl.errors import InputError

    np.savez(tmp_path / "m.npz", x_train=np.zeros((3, 2, 2)), y_train=np.array(labels))
    with pytest.raises(InputError, match="labels"):
        load_mnist(tmp_path / "m.npz")


def test_hostile_files(tmp_path, tiny):
    import os

    from netsci_dl.errors import InputError

    imgs, _ = tiny
    p = tmp_path / "train-images-idx3-ubyte.gz"
    p.write_bytes(gzip.compress(_idx_images(imgs))[:-12])  # cut inside the gzip stream
    with pytest.raises(InputError):
        read_idx(p)
    p.write_bytes(b"\x1f\x8b not gzip at all")
    with pytest.raises(InputError, match="not a readable IDX"):
        read_idx(p)
    fifo = tmp_path / "fifo-idx3-ubyte"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        load_mnist(fifo)  # refused, never opened (opening a FIFO would block)
    big = tmp_path / "big-idx3-ubyte"  # the header declares 4 GB; the file has 16 bytes of it
    big.write_bytes(struct.pack(">IIII", 2051, 1000, 2000, 2000) + b"\x00" * 16)
    with pytest.raises(InputError, match="truncated"):
        read_idx(big)
    (tmp_path / "obj.npz").write_bytes(b"PK\x03\x04 nonsense")
    with pytest.raises(InputError):
        load_mnist(tmp_path / "obj.npz")
