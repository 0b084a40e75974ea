"""The pairwise EMD matrix on a Dask cluster: a LocalCluster here, the same code on SLURM.

    python examples/cluster_emd.py                   # 300 digits, 2 workers (~15 s on 2 cores)
    python examples/cluster_emd.py --n 1000 --workers 4 --checkpoint /tmp/emd_digits

The fields are scikit-learn's 8x8 digits (each image a distribution of ink). The EMD engine
cuts the upper triangle into tiles and sends them, through joblib, to whatever cluster the
``joblib.parallel_config(backend="dask")`` block points at; the fields are scattered to the
workers once. With ``--checkpoint`` each finished tile is written to that folder (it must be on
a file system the workers share), so a job stopped at any point (Ctrl-C, a lost worker, a
cancelled SLURM job) resumes with the missing tiles only: run the same command again.

On a SLURM cluster replace the LocalCluster by (see the README, "On a cluster")::

    from dask_jobqueue import SLURMCluster
    cluster = SLURMCluster(cores=8, processes=8, memory="16GB", walltime="02:00:00",
                           job_extra_directives=["--partition=cpu"],
                           local_directory="$TMPDIR",
                           job_script_prologue=["export OMP_NUM_THREADS=1"])
    cluster.scale(jobs=4)          # or cluster.adapt(minimum_jobs=0, maximum_jobs=10)

Workers are processes: the cluster is made under ``if __name__ == "__main__":`` only.
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=300, help="number of digit images")
    ap.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes")
    ap.add_argument("--checkpoint", default=None, help="folder for a resumable run")
    args = ap.parse_args()

    import joblib
    from dask.distributed import Client, LocalCluster

    import netsci_dl as nd
    from netsci_dl.datasets import load_digits

    F = load_digits().X[: args.n].reshape(-1, 8, 8)
    with (
        LocalCluster(n_workers=args.workers, threads_per_worker=1, dashboard_address=None) as cl,
        Client(cl) as client,
    ):
        print(
            f"cluster: {len(client.scheduler_info()['workers'])} workers at {cl.scheduler_address}"
        )
        t = time.perf_counter()
        with joblib.parallel_config(backend="dask"):
            r = nd.emd_matrix(F, checkpoint=args.checkpoint)
        dt = time.perf_counter() - t
    tm = r.timings
    print(
        f"{r.n} fields, {r.n_pairs} pairs ({tm['pairs_computed']} computed now) in {dt:.1f} s: "
        f"{tm['n_tiles']} tiles of {tm['tile_pairs']} pairs on {tm['n_jobs']} workers; "
        f"EMD mean {r.condensed.mean():.3f} px (upper bound, at most "
        f"{100 * r.error_bound:.3f}% over the exact Euclidean EMD)"
    )


if __name__ == "__main__":
    main()
