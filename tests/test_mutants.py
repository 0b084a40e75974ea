"""Tests that kill mutants which survived the suite (issue 29, item 5): one section per mutant,
a comment naming the mutation each test kills."""

from __future__ import annotations

import sys
import textwrap

import pytest

torch = pytest.importorskip("torch")
from click.testing import CliRunner  # noqa: E402

import netsci_dl as nd  # noqa: E402
from netsci_dl.cli import cli  # noqa: E402
from netsci_dl.errors import InputError  # noqa: E402

# ---- mutants: deleting the refusal of an index that selects some units, of an op that moves the
# batch axis, and of cat(h, h) along the unit axis (export/_dataflow_junctions.py,
# _dataflow_shapes.py). Each model really does the refused op in its forward pass; the "loop"
# variant has data-dependent control flow, so torch.fx cannot trace it and the recorder runs.
MODELS = textwrap.dedent(
    """
    import torch
    from torch import nn


    class _Base(nn.Module):
        loop = False

        def __init__(self, n_mid):
            super().__init__()
            self.a, self.b = nn.Linear(4, 6), nn.Linear(n_mid, 2)

        def forward(self, x):
            h = self.a(x)
            if self.loop:
                while h.abs().sum() > 1e6:  # data-dependent: fx cannot trace it
                    h = h / 2
            return self.b(self.refused(h))


    class Select(_Base):
        def __init__(self):
            super().__init__(3)

        def refused(self, h):
            return h[:, :3]


    class Batch(_Base):
        def __init__(self):
            super().__init__(4)

        def refused(self, h):
            return h.permute(1, 0)  # (6, batch): the batch axis among the units


    class CatTwice(_Base):
        def __init__(self):
            super().__init__(12)

        def refused(self, h):
            return torch.cat([h, h], 1)


    class BatchMean(_Base):
        def __init__(self):
            super().__init__(6)

        def refused(self, h):
            return h - h.mean(0, keepdim=True)  # centred over the batch: mixes the samples


    class SelectLoop(Select):
        loop = True


    class BatchLoop(Batch):
        loop = True


    class CatTwiceLoop(CatTwice):
        loop = True


    class BatchMeanLoop(BatchMean):
        loop = True
    """
)

# (class, what the message says about the op)
REFUSED = [
    ("Select", r"selects some of (its|the) units"),
    ("Batch", r"batch"),
    ("BatchMean", r"batch"),
    ("CatTwice", r"with itself|repeats the units"),
]


@pytest.fixture
def refused_models(tmp_path, monkeypatch):
    (tmp_path / "mut_refused.py").write_text(MODELS)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "mut_refused", raising=False)
    import mut_refused

    return mut_refused


def _check_refusal(msg: str, match: str, module: str, model: str | None = None) -> None:
    import re

    if model is not None and f"<{model}>" not in msg:
        raise AssertionError(f"the refusal does not name the model {model!r}: {msg}")

    if not re.search(match, msg):
        raise AssertionError(f"the refusal does not name the op ({match!r}): {msg}")
    if module not in msg:
        raise AssertionError(f"the refusal does not name the module {module!r}: {msg}")


@pytest.mark.parametrize("loop", [False, True], ids=["fx", "recorder"])
@pytest.mark.parametrize(("name", "match"), REFUSED)
def test_refused_op_in_a_forward_pass(refused_models, name, match, loop):
    model = getattr(refused_models, name + ("Loop" if loop else ""))()
    x = torch.randn(4, 4)
    model(x)  # the forward pass runs: the op is really there
    with pytest.raises(InputError) as e:
        nd.load(model, example_input=x)
    _check_refusal(str(e.value), match, "'a'", type(model).__name__)


@pytest.mark.parametrize(("name", "match"), [REFUSED[0], REFUSED[2], REFUSED[3]])
def test_refused_op_without_shapes(refused_models, name, match):
    """torch.fx without an example input: no shapes, the loose rules of the resolver refuse."""
    with pytest.raises(InputError) as e:
        nd.load(getattr(refused_models, name)())
    _check_refusal(str(e.value), match, "'a'", name)


@pytest.mark.parametrize(("name", "match"), REFUSED)
def test_refused_op_from_the_cli(refused_models, tmp_path, name, match):
    ckpt = tmp_path / "ckpt.pt"
    torch.save(getattr(refused_models, name)().state_dict(), ckpt)
    args = ["export", str(ckpt), "--model", f"mut_refused:{name}", "--input-shape", "4,4"]
    r = CliRunner().invoke(cli, [*args, "-o", str(tmp_path / "g.npz")])
    if r.exit_code != 2:
        raise AssertionError(f"exit {r.exit_code}, not 2: {r.output}")
    _check_refusal(" ".join(r.output.split()), match, "'a'")


# ---- mutants of threshold.to_density: the tie order (ties at the cut broken by edge order, block
# by block, row-major, the same for dense and sparse blocks), and to_density on a graph that is
# already thresholded (scores from the original weights, densities of the possible edges)
def _edges(H) -> list[tuple[int, int, int]]:
    import scipy.sparse as sp

    out = []
    for b, B in enumerate(H.blocks):
        C = sp.coo_array(B)
        out += sorted((b, int(i), int(j)) for i, j in zip(C.row, C.col))
    return out


def _same(a, b, what: str) -> None:
    if a != b:
        raise AssertionError(f"{what}: {a} != {b}")


@pytest.mark.parametrize("per_block", [False, True])
def test_to_density_breaks_ties_by_edge_order_dense_and_sparse(per_block):
    import numpy as np
    import scipy.sparse as sp

    from netsci_dl import LayeredGraph
    from netsci_dl.threshold import to_density

    # every weight ties (|w| = 1, both signs): the kept edges are the first ones in edge order
    W1 = np.array([[1, -1, 1], [-1, 1, 1]], dtype=np.float32)
    W2 = np.array([[-1, 1], [1, 1], [1, -1]], dtype=np.float32)
    order = [(0, i, j) for i in range(2) for j in range(3)] + [
        (1, i, j) for i in range(3) for j in range(2)
    ]
    for blocks in [(W1, W2), (sp.csr_array(W1), sp.csr_array(W2))]:
        H = to_density(LayeredGraph((2, 3, 2), blocks), 0.5, per_block=per_block)
        want = order[:3] + order[6:9] if per_block else order[:6]
        _same(_edges(H), want, f"ties (per_block={per_block}, {type(blocks[0]).__name__})")
    # many ties (an unstable sort would reorder them), some larger weights above the cut
    W = np.random.default_rng(0).choice([-1.0, 1.0], (20, 20)).astype(np.float32)
    W[17, 2] = W[19, 19] = 3.0  # past the cut in edge order
    for block in (W, sp.csr_array(W)):
        H = to_density(LayeredGraph((20, 20), (block,)), 0.3, per_block=per_block)
        want = [(0, e // 20, e % 20) for e in range(118)] + [(0, 17, 2), (0, 19, 19)]
        _same(_edges(H), want, f"many ties ({type(block).__name__})")


def test_to_density_on_a_thresholded_graph():
    import numpy as np

    from netsci_dl import LayeredGraph
    from netsci_dl.threshold import to_density

    rng = np.random.default_rng(3)
    # distinct |w| (no ties): the order by score is the oracle
    vals = rng.permutation(np.arange(1, 25)).astype(np.float32) * rng.choice([-1, 1], 24)
    G = LayeredGraph((3, 4, 3), (vals[:12].reshape(3, 4), vals[12:].reshape(4, 3)))
    H = to_density(G, 0.5)  # unweighted: every kept edge has weight 1
    again = to_density(H, 0.5)
    _same(_edges(again), _edges(H), "the same rule again")
    _same(again.meta["thresholds"][-1].get("noop"), True, "the same rule again is recorded a no-op")
    # a lower density on the thresholded graph: a fraction of G's possible edges, scored by the
    # original weights (H's blocks are all 1), so the same edges as from G
    K = to_density(H, 0.25)
    _same(K.n_edges, 6, "edges kept at density 0.25 of 24 possible")
    _same(_edges(K), _edges(to_density(G, 0.25)), "density 0.25 of H vs of G")
    top = sorted(range(24), key=lambda e: -abs(vals[e]))[:6]
    want = sorted((0, e // 4, e % 4) if e < 12 else (1, (e - 12) // 3, (e - 12) % 3) for e in top)
    _same(_edges(K), want, "the 6 largest |w|")


# ---- mutant of threshold.by_value: the cut is strict (|w| > t, not >=)
@pytest.mark.parametrize(
    ("weights", "want"),
    [("abs", [(0, 0, 2), (0, 1, 1)]), ("pos", [(0, 0, 2)]), ("neg", [(0, 1, 1)])],
)
def test_by_value_cut_is_strict_at_the_boundary(weights, want):
    import numpy as np

    from netsci_dl import LayeredGraph
    from netsci_dl.threshold import by_value

    W = np.array([[0.5, -0.5, 0.75], [0.25, -0.75, 0.0]], dtype=np.float32)  # exact in binary
    H = by_value(LayeredGraph((2, 3), (W,)), 0.5, weights=weights)
    _same(_edges(H), want, f"by_value(0.5, {weights}) at |w| = 0.5")


# ---- mutant of graph EI (analysis/information/_effective_information.py): skipping the sum of
# parallel blocks between the same two groups (a weight block and an identity block joining the
# same pair must add before the walk's probabilities are taken)
def _ei_by_hand(A) -> float:
    """EI of the walk on the dense matrix ``A`` (rows: out-weights), written out from the
    definition: H(W_in) - <H(W_i)> over the nodes with out-edges."""
    import numpy as np

    A = np.asarray(A, dtype=float)
    rows = [r / r.sum() for r in A if r.sum() > 0]

    def H(p):
        p = p[p > 0]
        return float(-(p * np.log2(p)).sum())

    return H(np.mean(rows, axis=0)) - float(np.mean([H(r) for r in rows]))


def test_graph_ei_sums_parallel_blocks():
    import networkx as nx
    import numpy as np

    from netsci_dl import LayeredGraph
    from netsci_dl.analysis import effective_information

    rng = np.random.default_rng(5)
    W01 = rng.normal(size=(3, 3)).astype(np.float32)
    P01 = np.eye(3, dtype=np.float32)  # a skip connection beside the weights (two weight
    # blocks on one pair are refused by LayeredGraph)
    W12 = rng.normal(size=(3, 2)).astype(np.float32)
    G = LayeredGraph(
        (3, 3, 2),
        (W01, P01, W12),
        block_src=(0, 0, 1),
        block_dst=(1, 1, 2),
        block_kinds=("weight", "identity", "weight"),
        meta={"directed": True},
    )
    A = np.zeros((8, 8))
    A[0:3, 3:6] = np.abs(W01.astype(float)) + np.abs(P01.astype(float))
    A[3:6, 6:8] = np.abs(W12.astype(float))
    want = _ei_by_hand(A)
    D = nx.from_numpy_array(A, create_using=nx.DiGraph)
    got = effective_information(G, include_identity=True).ei
    for what, ref in [("by hand", want), ("networkx", effective_information(D).ei)]:
        if not abs(got - ref) < 1e-9:
            raise AssertionError(f"EI {got} != {ref} ({what}, weight + identity block summed)")


# ---- mutant of the atomic writers (_files/atomic.py): output files left at mkstemp's mode 0600
# instead of the umask's mode (0644 under umask 022), as open() would leave them
@pytest.fixture(params=[0o022, 0o002, 0o077], ids=lambda m: f"umask{m:03o}")
def umask(request):
    import os

    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def _mode_is(path, want: int) -> None:
    import os
    import stat

    got = stat.S_IMODE(os.stat(path).st_mode)
    if got != want:
        raise AssertionError(f"{path} has mode {got:o}, not {want:o}")


def test_written_files_have_the_umask_mode(umask, tmp_path):
    import os

    from netsci_dl.report import write_report
    from tests.conftest import random_layered

    G = random_layered((5, 4, 3))
    want = 0o666 & ~umask
    with open(tmp_path / "plain.txt", "w") as f:  # the reference: what open() does
        f.write("x")
    _mode_is(tmp_path / "plain.txt", want)
    nd.save(G, tmp_path / "g.npz")
    _mode_is(tmp_path / "g.npz", want)
    nd.save(G, tmp_path / "g.graphml")
    _mode_is(tmp_path / "g.graphml", want)
    if umask == 0o022:  # the report (its csv tables, its figures written atomically): once
        write_report(G, tmp_path / "rep", threshold="density:0.5")
        files = [p for p in (tmp_path / "rep").rglob("*") if p.is_file()]
        if not {"layers.csv", "nodes.csv"} <= {p.name for p in files}:
            raise AssertionError(f"no report tables: {files}")
        for p in files:
            _mode_is(p, want)
        _mode_is(tmp_path / "rep", 0o777 & ~umask)
    # the command line: an output folder of csv and json files
    r = CliRunner().invoke(cli, ["centrality", str(tmp_path / "g.npz"), "-o", str(tmp_path / "c")])
    if r.exit_code != 0:
        raise AssertionError(r.output)
    names = sorted(os.listdir(tmp_path / "c"))
    if not names:
        raise AssertionError("the CLI wrote no files")
    for name in names:
        _mode_is(tmp_path / "c" / name, want)


# ---- mutant of atomic_outputs (_files/atomic.py): skipping the check of every target before
# moving any (the move is all or nothing): a file another process creates meanwhile is kept and
# none of this command's files is moved in, not even those before it in the list
@pytest.mark.parametrize("folder_exists", [True, False])
def test_atomic_outputs_all_or_nothing_under_a_race(tmp_path, folder_exists):
    import os

    from netsci_dl._files.atomic import atomic_outputs

    out = tmp_path / "res"
    if folder_exists:
        out.mkdir()
        (out / "old.txt").write_text("old")
    names = ["a.txt", "b.txt", "c.txt"]

    def run() -> None:
        with atomic_outputs(out, names) as stage:
            for n in names:
                (stage / n).write_text("ours " + n)
            out.mkdir(exist_ok=True)
            (out / "b.txt").write_text("theirs")  # another process, meanwhile

    with pytest.raises(FileExistsError, match="appeared"):
        run()
    _same((out / "b.txt").read_text(), "theirs", "the other process's file")
    want = ["b.txt", "old.txt"] if folder_exists else ["b.txt"]
    _same(sorted(os.listdir(out)), want, "files in the output folder (nothing half-moved)")
    _same([p for p in os.listdir(tmp_path) if p != "res"], [], "staging left behind")


# ---- mutant of pwcca (analysis/similarity/_cca.py): view="smaller" picking the larger view. The
# oracle: the PWCCA weights computed here from the definition, from each view
def _pwcca_by_hand(X, Y, view: str):
    """(rho, alpha): canonical correlations from orthonormal bases of the centred views, and the
    weights alpha_i ~ sum_j |<h_i, v_j>| over the centred units v_j of ``view``, h_i its i-th
    canonical variate."""
    import numpy as np

    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    Ux = np.linalg.svd(Xc, full_matrices=False)[0]
    Uy = np.linalg.svd(Yc, full_matrices=False)[0]
    P, rho, Qt = np.linalg.svd(Ux.T @ Uy, full_matrices=False)
    k = min(X.shape[1], Y.shape[1])
    H = Ux @ P[:, :k] if view == "x" else Uy @ Qt[:k].T
    V = Xc if view == "x" else Yc
    alpha = np.abs(H.T @ V).sum(1)
    return rho[:k], alpha / alpha.sum()


@pytest.mark.parametrize("smaller", ["x", "y"])
def test_pwcca_smaller_view_weights(smaller):
    import numpy as np

    from netsci_dl.analysis.similarity import pwcca

    rng = np.random.default_rng(11)
    A = rng.normal(size=(200, 7))
    B = A[:, :3] @ rng.normal(size=(3, 3)) + 0.8 * rng.normal(size=(200, 3))  # 3 units
    X, Y = (B, A) if smaller == "x" else (A, B)
    r = pwcca(X, Y, view="smaller")
    rho, want = _pwcca_by_hand(X, Y, smaller)
    other = _pwcca_by_hand(X, Y, "y" if smaller == "x" else "x")[1]
    if not np.abs(other - want).max() > 1e-3:
        raise AssertionError("the two views give the same weights: the test cannot tell them apart")
    for what, got, ref in [("weights", r.weights, want), ("coefficients", r.coefficients, rho)]:
        if not np.allclose(got, ref, atol=1e-10):
            raise AssertionError(f"{what} {got} != {ref} (from the smaller view, {smaller})")
    if not abs(r.value - float(want @ rho)) < 1e-10:
        raise AssertionError(f"value {r.value} != {float(want @ rho)}")
