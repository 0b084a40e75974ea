"""``netsci-dl ei``: effective information of a graph over random walks (and per layer block)."""

from __future__ import annotations

import json

import click

from netsci_dl.cli._common import LoaderOptions, loader_options, threshold_option


def _table(res: object) -> str:
    rows = [("graph", res)] + [(str(b.block_name or f"block {b.block}"), b) for b in res.blocks]  # type: ignore[attr-defined]
    width = max(10, *(len(n) for n, _ in rows))
    head = f"{'':{width}} {'EI':>9} {'eff':>7} {'det':>9} {'deg':>9} {'nodes':>8} {'sinks':>8} {'transitions':>12}"
    lines = [head]
    for name, r in rows:
        lines.append(
            f"{name:{width}} {r.ei:9.4f} {r.eff:7.4f} {r.determinism:9.4f} {r.degeneracy:9.4f} "
            f"{r.n_nodes:8d} {r.n_sinks:8d} {r.n_transitions:12d}"
        )
    w = "none" if res.weights is None else res.weights  # type: ignore[attr-defined]
    lines.append(f"bits; weights={w}, {'directed' if res.directed else 'undirected'}")  # type: ignore[attr-defined]
    return "\n".join(lines)


@click.command("ei")
@click.argument("source", metavar="GRAPH_OR_CHECKPOINT", type=click.Path(dir_okay=False))
@click.option(
    "--weights",
    type=click.Choice(["abs", "pos", "neg", "none"]),
    default="abs",
    show_default=True,
    help="Transition weight of the graph EI: |w|, positive part, |negative part|, or unweighted.",
)
@click.option(
    "--directed/--undirected",
    default=None,
    help="Treat edges as directed (walk only l -> l+1) or undirected (both ways). Default: "
    "the graph's meta (RBM/DBN undirected).",
)
@threshold_option("Use none for the full graph.")
@loader_options
@click.option(
    "--per-block", is_flag=True, help="Also the EI of every layer block's bipartite graph."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option(
    "-o",
    "--output",
    default=None,
    type=click.Path(dir_okay=False),
    help="Output file: the result as JSON.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing output.")
def ei(
    source: str,
    weights: str,
    directed: bool | None,
    threshold_spec: str,
    loader: LoaderOptions,
    per_block: bool,
    as_json: bool,
    output: str | None,
    force: bool,
) -> None:
    """Effective information (bits) of GRAPH_OR_CHECKPOINT over one-step random walks:
    EI, effectiveness, determinism, degeneracy (Klein & Hoel; einet's conventions)."""
    from netsci_dl import threshold
    from netsci_dl._files.atomic import atomic_path, check_writable
    from netsci_dl.analysis import effective_information
    from netsci_dl.cli._common import echo

    if output:
        check_writable(output, force=force)
    G = threshold.apply_spec(loader.load(source), threshold_spec)
    res = effective_information(
        G, weights=None if weights == "none" else weights, directed=directed, per_block=per_block
    )
    d = res.to_dict()
    d["source"] = str(source)
    d["threshold"] = threshold_spec
    text = json.dumps(d, indent=2)
    if as_json:
        click.echo(text)
    else:
        echo(_table(res))
    if output:
        with atomic_path(output) as tmp:
            tmp.write_text(text + "\n")
        if not as_json:
            echo(f"wrote {output}")
