"""Deficits: blur, vflip, label permutation, noise; the window; lr_reset."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from netsci_dl.errors import InputError
from netsci_dl.models.classifier import ArchConfig, ClassifierConfig, train_classifier
from netsci_dl.models.deficits import (
    Deficit,
    blur,
    label_permutation,
    noise_like,
    schedule_epoch,
    vflip,
)


@pytest.mark.parametrize(
    ("shape", "factor"), [((8, 8), 2), ((8, 8), 4), ((28, 28), 4), ((3, 6, 9), 3)]
)
def test_blur_of_constant_image_is_that_image(shape, factor) -> None:
    X = np.full((3, int(np.prod(shape))), 0.37)
    np.testing.assert_allclose(blur(X, shape, factor), X, rtol=0, atol=1e-14)


def test_blur_removes_detail_below_its_scale_and_keeps_the_mean() -> None:
    checker = (np.indices((8, 8)).sum(0) % 2).astype(np.float64).reshape(1, 64)
    np.testing.assert_allclose(blur(checker, (8, 8), 2), np.full((1, 64), 0.5), atol=1e-14)
    rng = np.random.default_rng(0)
    X = rng.random((5, 64))
    B = blur(X, (8, 8), 2)
    np.testing.assert_allclose(B.mean(1), X.mean(1), rtol=1e-12)
    assert not np.allclose(B, X)
    # a hand-computed row: 2x2 means (2.5, 4.5) upsampled bilinearly, half-pixel centres
    a = blur(np.arange(16.0).reshape(1, 16), (4, 4), 2).reshape(4, 4)
    np.testing.assert_allclose(a[0], [2.5, 3.0, 4.0, 4.5])
    t = torch.as_tensor(X)
    assert isinstance(blur(t, (8, 8), 2), torch.Tensor)
    np.testing.assert_allclose(blur(t, (8, 8), 2).numpy(), B)


def test_vflip() -> None:
    X = np.random.default_rng(1).random((4, 2 * 5 * 3))
    F = vflip(X, (2, 5, 3))
    np.testing.assert_array_equal(F.reshape(4, 2, 5, 3), X.reshape(4, 2, 5, 3)[:, :, ::-1, :])
    np.testing.assert_array_equal(vflip(F, (2, 5, 3)), X)


def test_label_permutation_is_a_fixed_derangement() -> None:
    for seed in range(5):
        p = label_permutation(10, seed)
        assert sorted(p.tolist()) == list(range(10)) and (p != np.arange(10)).all()
        np.testing.assert_array_equal(p, label_permutation(10, seed))
    assert not np.array_equal(label_permutation(10, 0), label_permutation(10, 1))
    d = Deficit("label_permutation", start=2, length=3, seed=4)
    y = np.arange(10).repeat(3)
    maps = []
    for i in range(7):
        _, yi = d.apply(None, y, image_shape=(1, 1), n_classes=10, epoch_index=i)
        maps.append(yi)
    for i in (0, 1, 5, 6):
        np.testing.assert_array_equal(maps[i], y)
    for i in (2, 3, 4):
        np.testing.assert_array_equal(maps[i], label_permutation(10, 4)[y])


def test_noise_is_fresh_per_epoch_and_reproducible() -> None:
    X = torch.zeros(6, 16)
    a, b = noise_like(X, seed=0, epoch=1), noise_like(X, seed=0, epoch=2)
    assert a.dtype == X.dtype and a.shape == X.shape
    assert not torch.equal(a, b)
    torch.testing.assert_close(a, noise_like(X, seed=0, epoch=1), rtol=0, atol=0)
    assert float(a.min()) >= 0 and float(a.max()) <= 1


def test_window_and_schedule_epoch() -> None:
    d = Deficit("blur", start=3, length=2)
    assert [i for i in range(10) if d.active(i)] == [3, 4] and d.end == 5
    assert [schedule_epoch(i, d, lr_reset=True) for i in range(8)] == [0, 1, 2, 3, 4, 0, 1, 2]
    assert not any(Deficit("blur", start=3, length=0).active(i) for i in range(10))
    with pytest.raises(InputError, match="deficit"):
        Deficit("rotate")
    with pytest.raises(InputError, match=">= 0"):
        Deficit("blur", start=-1, length=2)
    with pytest.raises(InputError, match="factor"):
        Deficit("blur", factor=1.0)
    assert Deficit.from_dict(d.state(4)) == d


def test_window_boundaries_in_training() -> None:
    rng = np.random.default_rng(0)
    X = rng.random((40, 16)).astype(np.float32)
    y = rng.integers(0, 3, 40)
    d = Deficit("label_permutation", start=2, length=3, seed=1)
    cfg = ClassifierConfig(
        ArchConfig("mlp", (4, 4), 3, hidden=(5,)),
        epochs=8,
        deficit=d,
        schedule="exponential",
        gamma=0.5,
        learning_rate=0.1,
        lr_reset=True,
        batch_size=20,
    )
    _, hist = train_classifier((X, y), cfg)
    # training epoch e (1-based) has index e - 1: active for e in 3, 4, 5
    assert [r["epoch"] for r in hist if r["deficit_active"]] == [3, 4, 5]
    lrs = [r["lr"] for r in hist[1:]]
    np.testing.assert_allclose(lrs, [0.1, 0.05, 0.025, 0.0125, 0.00625, 0.1, 0.05, 0.025])
    no_reset = cfg.replace(lr_reset=False)
    np.testing.assert_allclose(no_reset.lr_at(5), 0.1 * 0.5**5)
