"""Issue 23, item 3: the export measured on faithful replicas of the public models the issue was
filed on (torchcrepe "tiny", MTCNN PNet and ONet, ResNet-18; written in
tests/test_export_replicas.py, no downloads). Prints one line per model: the counts against an
independent count, the conv -> linear block against the truth (and how far torch's NCHW guess
would be), what a bare state_dict does, the default cut's rule and its emptiest weight block, and
(``--report``) whether every report panel is the row of blocks.csv it names.

    PYTHONPATH=. python scripts/measure_issue23.py [--report]
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from pathlib import Path

import torch

import netsci_dl as nd
import netsci_dl.threshold as th
from netsci_dl.errors import InputError
from tests import test_export_replicas as R

MODELS = {
    "crepe_tiny": (R.CrepeTiny, (1, 1024), {"classifier": 64}, None),
    "pnet": (R.PNet, (1, 3, 12, 12), {}, None),
    "onet": (R.ONet, (1, 3, 48, 48), {"dense5": 128}, R.CHAINS["onet"]),
    "resnet18": (R.ResNet18, (1, 3, 64, 64), {}, None),
}


def bare(m: torch.nn.Module, chain: list[str] | None) -> str:
    try:
        G = nd.load(m.state_dict(), layers=chain)
    except InputError as e:
        why = "flatten order" if "flatten_order" in str(e) else str(e).split(":", 2)[1][:50]
        return f"refused ({why.strip()})"
    return "assumed" if G.meta.get("assumptions") else "exported"


def panels(G: nd.LayeredGraph) -> str:
    from netsci_dl.analysis.information.causal_plane import LayerEIOptions
    from netsci_dl.report import ei as report_ei
    from tests.test_report_dag import _check_panels, _report

    report_ei._CP = LayerEIOptions(n_samples=500, sensitivity_samples=20, device="cpu")
    with tempfile.TemporaryDirectory() as d, warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        folder, drawn = _report(G, Path(d) / "r")
        try:
            _check_panels(G, folder, drawn)
        except AssertionError as e:
            return f"MISMATCH {e}"
        empty = [str(x.message) for x in w if "keeps 0" in str(x.message)]
    return f"{len(drawn['weights'])} panels match" + (f"; warned: {empty}" if empty else "")


def main(report: bool) -> None:
    for name, (make, shape, flat, chain) in MODELS.items():
        torch.manual_seed(0)
        m = make().eval()
        G = nd.load(m, example_input=torch.randn(*shape))
        got, want = R.counts(G), R.independent_counts(m, flat)
        line = [f"{name}: counts {got} independent {want} {'OK' if got == want else 'DIFFER'}"]
        if name in R.FLATTEN_CASES:
            f = R.flatten_measure(name)
            line.append(
                f"{f['block']} max|export-truth| {f['max_abs_error']:.2e}, "
                f"Spearman(NCHW guess, truth) {f['spearman_nchw_vs_truth']:.2f}"
            )
        line.append(f"bare state_dict: {bare(m, chain)}")
        rule = th.default_rule(G)
        H = th.apply_spec(G, "auto")
        kept = [
            (n, e, g)
            for n, k, e, g in zip(G.block_names, G.block_kinds, H.block_n_edges, G.block_n_edges)
            if k == "weight"
        ]
        n0, e0, g0 = min(kept, key=lambda t: t[1] / t[2])
        zero = sum(e == 0 for _, e, _ in kept)
        line.append(f"auto={rule}: {zero} empty weight blocks, emptiest {n0} {e0}/{g0}")
        if report:
            line.append(panels(G))
        print(" | ".join(line), flush=True)


if __name__ == "__main__":
    main("--report" in sys.argv[1:])
