"""The one front end for parallel jobs: independent tasks through joblib, locally or on Dask.

Every embarrassingly parallel job of the package (the EMD matrix, the per-snapshot analyses of
a run, the layers of a causal plane, ...) writes its per-item work as a plain top-level function
of one task and hands the list of tasks to :func:`map_tasks` (or :func:`imap_tasks`). Nothing
else in the package starts processes.

Where the tasks run
-------------------
- ``n_jobs=1``: in this process, one after the other (always, even inside a
  ``parallel_config``).
- ``n_jobs=None`` (the default of most functions): 1, unless a ``joblib.parallel_config``
  around the call says otherwise.
- ``n_jobs=k > 1`` or ``-1`` (all cores, ``-2`` all but one, ...): joblib's ``loky`` process pool
  on this machine.
- Inside ``with joblib.parallel_config(backend="dask"):`` and a ``dask.distributed.Client``
  (a ``LocalCluster``, a ``dask_jobqueue.SLURMCluster``, or a running scheduler), the same
  tasks go to the cluster's workers, without changing any code; there ``n_jobs`` is ignored
  (all workers are used) unless it is 1. :func:`use_scheduler` opens such a block from a
  scheduler address (the CLI's ``--scheduler``).

The contract
------------
- Results come back in task order (:func:`map_tasks`) or as ``(index, result)`` as soon as each
  task finishes (:func:`imap_tasks`); the numbers never depend on where or in which order the
  tasks ran: a task that draws random numbers seeds its generator from its own arguments (its
  index, a seed it carries), never from generator state shared between tasks.
- ``shared`` inputs (arrays, options) are sent to each worker once, not embedded in every
  task: memory-mapped from one temporary file for loky (when over 1 MB), scattered once by
  joblib's Dask backend. ``fn`` receives them as its second argument; a worker can build an
  expensive object from them once with :func:`worker_cache`.
- One thread per worker for BLAS, OpenMP and torch (joblib's ``inner_max_num_threads=1`` for
  loky; in every worker process ``OMP_NUM_THREADS`` & co. are set to 1, loaded BLAS pools are
  limited with threadpoolctl and torch gets ``set_num_threads(1)``), so processes do not
  oversubscribe the cores. Tasks in this process keep the caller's settings.
- One level of parallelism: inside a worker, nested calls run serially.
- A progress bar (tqdm) when ``progress`` is not False and stderr is a terminal.
- Large results should be written to disk by the task itself (atomically, as the EMD tiles
  are), returning only a small record.

Dask workers are processes: create clusters only inside functions or under
``if __name__ == "__main__":``, never at import time.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any
from uuid import uuid4

from netsci_dl.errors import InputError

__all__ = ["map_tasks", "imap_tasks", "effective_n_jobs", "worker_cache", "use_scheduler"]

_THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
_MEMMAP_BYTES = 1 << 20  # shared inputs above this go to a memory-mapped file for loky
_CACHE: OrderedDict[Any, Any] = OrderedDict()
_CACHE_SIZE = 4
_ONE_THREAD = False


# ---- where the tasks run ---------------------------------------------------------------------
def _check_n_jobs(n_jobs: Any) -> int | None:
    if n_jobs is None:
        return None
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0:
        raise InputError(
            f"n_jobs={n_jobs!r}: pass a positive number of processes, -1 for all cores "
            "(-2 all but one, ...), or None"
        )
    return int(n_jobs)


def effective_n_jobs(n_jobs: int | None = None) -> int:
    """How many tasks run at once for this ``n_jobs`` under the active joblib configuration.

    1 for ``n_jobs=1`` and for ``None`` outside a ``parallel_config``; the number of cores for
    -1 (loky); the number of worker threads of the cluster inside a Dask block.

    Examples
    --------
    >>> effective_n_jobs(1), effective_n_jobs(None), effective_n_jobs(2)
    (1, 1, 2)
    >>> import joblib
    >>> with joblib.parallel_config(n_jobs=2):
    ...     effective_n_jobs(None)
    2
    """
    n_jobs = _check_n_jobs(n_jobs)
    if n_jobs == 1:
        return 1
    from joblib.parallel import get_active_backend

    backend, config_n = get_active_backend()
    n = config_n if n_jobs is None else n_jobs
    if n is None:
        n = backend.default_n_jobs
    return max(1, int(backend.effective_n_jobs(n)))


def _backend_name() -> str:
    from joblib.parallel import get_active_backend

    return type(get_active_backend()[0]).__name__


def _one_thread() -> None:
    """In a worker process: one thread for BLAS / OpenMP / torch (once per process)."""
    global _ONE_THREAD
    if _ONE_THREAD:
        return
    _ONE_THREAD = True
    for v in _THREAD_VARS:  # libraries loaded later in this process (torch reads OMP_NUM_THREADS)
        os.environ[v] = "1"
    with contextlib.suppress(ImportError):
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


# ---- inputs sent once ------------------------------------------------------------------------
def _nbytes(value: Any, depth: int = 0) -> int:
    nb = getattr(value, "nbytes", None)
    if isinstance(nb, int):
        return nb
    if depth > 4:
        return 0
    if isinstance(value, dict):
        return sum(_nbytes(v, depth + 1) for v in value.values())
    if isinstance(value, list | tuple):
        return sum(_nbytes(v, depth + 1) for v in value)
    if hasattr(value, "__dict__"):
        return sum(_nbytes(v, depth + 1) for v in vars(value).values())
    return 0


class _Inline:
    """Shared inputs pickled with the task batch; joblib's Dask backend scatters objects whose
    size (``sys.getsizeof``, i.e. ``__sizeof__``) is over 1 kB once per call."""

    __slots__ = ("value", "nbytes", "__weakref__")

    def __init__(self, value: Any) -> None:
        self.value = value
        self.nbytes = _nbytes(value)

    def __sizeof__(self) -> int:
        return 64 + self.nbytes

    def __getstate__(self) -> tuple:
        return (self.value, self.nbytes)

    def __setstate__(self, state: tuple) -> None:
        self.value, self.nbytes = state

    def get(self) -> Any:
        return self.value


class _OnDisk:
    """Shared inputs in one joblib file, memory-mapped once by each worker process."""

    __slots__ = ("path", "token", "__weakref__")

    def __init__(self, path: str, token: str) -> None:
        self.path, self.token = path, token

    def __getstate__(self) -> tuple:
        return (self.path, self.token)

    def __setstate__(self, state: tuple) -> None:
        self.path, self.token = state

    def get(self) -> Any:
        import joblib

        return worker_cache(("shared", self.token), lambda: joblib.load(self.path, mmap_mode="r"))


def worker_cache(key: Any, make: Callable[[], Any]) -> Any:
    """The object ``make()`` built once per process and ``key`` (a small LRU of 4 entries).

    For tasks that need an expensive object derived from their shared inputs (an EMD solver,
    a loaded model): ``solver = worker_cache(("emd", fingerprint), lambda: build(shared))``.
    The key must identify the inputs (a content hash), since workers outlive one call. Entries
    made by tasks run in the calling process are dropped when the call ends.

    Examples
    --------
    >>> worker_cache("demo-key", lambda: [1, 2]) is worker_cache("demo-key", lambda: [3])
    True
    """
    try:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    except KeyError:
        pass
    obj = make()
    _CACHE[key] = obj
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return obj


class _Call:
    """Runs one task; in a worker process: one thread, nested parallel calls serial."""

    def __init__(self, fn: Callable[..., Any], parent_pid: int, has_shared: bool) -> None:
        self.fn, self.parent_pid, self.has_shared = fn, parent_pid, has_shared

    def __call__(self, i: int, task: Any, shared: Any) -> tuple[int, Any]:
        if os.getpid() == self.parent_pid:
            return i, self._run(task, shared)
        _one_thread()
        import joblib

        with joblib.parallel_config(backend="sequential"):
            return i, self._run(task, shared)

    def _run(self, task: Any, shared: Any) -> Any:
        if not self.has_shared:
            return self.fn(task)
        return self.fn(task, shared.get() if isinstance(shared, _Inline | _OnDisk) else shared)


# ---- the front end ---------------------------------------------------------------------------
def imap_tasks(
    fn: Callable[..., Any],
    tasks: Iterable[Any],
    *,
    shared: Any = None,
    n_jobs: int | None = None,
    desc: str | None = None,
    progress: bool | None = None,
    unit: str = "task",
) -> Iterator[tuple[int, Any]]:
    """Run ``fn`` on every task; yield ``(index, result)`` as each task finishes.

    The same as :func:`map_tasks` (see there for every argument), but streaming: the caller can
    store each result as it arrives (the EMD engine writes its tiles this way). Closing the
    iterator, or an exception in the caller's loop, cancels the tasks not yet started.

    Examples
    --------
    >>> sorted(imap_tasks(abs, [-3, 1, -2]))
    [(0, 3), (1, 1), (2, 2)]
    """
    tasks = list(tasks)
    n_jobs = _check_n_jobs(n_jobs)
    from tqdm.auto import tqdm

    bar = tqdm(total=len(tasks), desc=desc, unit=unit, disable=True if progress is False else None)
    try:
        if not tasks:
            return
        workers = effective_n_jobs(n_jobs)
        if workers == 1 or len(tasks) == 1:
            results = _serial(fn, tasks, shared)
        else:
            results = _joblib(fn, tasks, shared, n_jobs)
        try:
            for i, r in results:
                bar.update(1)
                yield i, r
        finally:
            results.close()
    finally:
        bar.close()


def map_tasks(
    fn: Callable[..., Any],
    tasks: Iterable[Any],
    *,
    shared: Any = None,
    n_jobs: int | None = None,
    desc: str | None = None,
    progress: bool | None = None,
    unit: str = "task",
) -> list:
    """Run ``fn`` on every task, in parallel through joblib; the results in task order.

    Parameters
    ----------
    fn : callable
        ``fn(task)``, or ``fn(task, shared)`` when ``shared`` is given. A top-level function
        (picklable) for anything but ``n_jobs=1``. Its exceptions reach the caller.
    tasks : iterable
        One item per task: small (indices, parameters, file paths); big inputs common to all
        tasks go in ``shared``.
    shared : object, optional
        Inputs every task needs (arrays, options): sent once to each worker, memory-mapped
        (loky) or scattered (Dask), never pickled into every task.
    n_jobs : int, optional
        1: in this process. None: 1 unless a ``joblib.parallel_config`` says otherwise (inside
        ``parallel_config(backend="dask")`` all workers of the cluster). ``k``: ``k`` loky
        processes; -1 all cores.
    desc, unit : str
        Label and unit of the progress bar.
    progress : bool, optional
        False: no bar. Otherwise a bar on stderr when it is a terminal.

    Returns
    -------
    list
        ``[fn(t) for t in tasks]`` (or ``fn(t, shared)``), in task order, whatever ran where.

    Notes
    -----
    Each worker process runs with one BLAS / OpenMP / torch thread and nested parallel calls
    serial; tasks run in this process keep the caller's settings. To run on a cluster::

        from dask.distributed import Client, LocalCluster
        import joblib
        if __name__ == "__main__":
            with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster):
                with joblib.parallel_config(backend="dask"):
                    out = map_tasks(fn, tasks)

    Examples
    --------
    >>> map_tasks(pow, [1, 2, 3], shared=2)
    [1, 4, 9]
    >>> map_tasks(abs, [-1, 2, -3], n_jobs=2)
    [1, 2, 3]
    """
    tasks = list(tasks)
    out: list = [None] * len(tasks)
    for i, r in imap_tasks(
        fn, tasks, shared=shared, n_jobs=n_jobs, desc=desc, progress=progress, unit=unit
    ):
        out[i] = r
    return out


def _serial(fn: Callable[..., Any], tasks: Sequence[Any], shared: Any) -> Iterator[tuple[int, Any]]:
    call = _Call(fn, os.getpid(), shared is not None)
    before = set(_CACHE)
    try:
        for i, t in enumerate(tasks):
            yield call(i, t, shared)
    finally:
        for k in [k for k in _CACHE if k not in before]:
            del _CACHE[k]


@contextlib.contextmanager
def _workers_ignore_sigint(active: bool) -> Iterator[None]:
    """Worker processes started in this block ignore SIGINT for life (an ignored signal is
    inherited through ``exec``): Ctrl-C, which the terminal sends to the whole process group,
    then reaches only this process, which stops the pool; no worker prints a
    KeyboardInterrupt traceback. A Ctrl-C while the workers start (this block) is dropped."""
    if not active or threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        if old is not None:
            signal.signal(signal.SIGINT, old)


def _joblib(
    fn: Callable[..., Any], tasks: Sequence[Any], shared: Any, n_jobs: int | None
) -> Iterator[tuple[int, Any]]:
    import joblib

    call = _Call(fn, os.getpid(), shared is not None)
    backend = _backend_name()
    tmp = None
    with contextlib.ExitStack() as stack:
        if backend == "LokyBackend":
            from joblib.parallel import get_active_backend

            if get_active_backend()[0].inner_max_num_threads is None:
                stack.enter_context(joblib.parallel_config(backend="loky", inner_max_num_threads=1))
        box: Any = None
        if shared is not None:
            box = _Inline(shared)
            if backend in ("LokyBackend", "MultiprocessingBackend") and box.nbytes > _MEMMAP_BYTES:
                tmp = tempfile.mkdtemp(
                    prefix="netsci_dl-shared-", dir=os.environ.get("JOBLIB_TEMP_FOLDER")
                )
                path = os.path.join(tmp, "shared.joblib")
                joblib.dump(shared, path)
                box = _OnDisk(path, uuid4().hex)
        try:
            par = joblib.Parallel(n_jobs=n_jobs, return_as="generator_unordered")
            with _workers_ignore_sigint(backend == "LokyBackend"):  # loky starts them here
                gen = par(joblib.delayed(call)(i, t, box) for i, t in enumerate(tasks))
            try:
                yield from gen
            finally:
                gen.close()
        finally:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def use_scheduler(
    address: str | None = None, *, client: Any = None, wait_for_workers: float = 60.0
) -> Iterator[Any]:
    """Send every parallel job inside the block to a Dask cluster.

    Parameters
    ----------
    address : str, optional
        A running scheduler, ``"tcp://host:8786"``, or the path of its scheduler file (JSON,
        ``dask scheduler --scheduler-file PATH``). The client made here is closed at the end.
    client : dask.distributed.Client, optional
        An existing client instead (kept open).
    wait_for_workers : float
        Seconds to wait for a first worker (an adaptive SLURM cluster starts with none).

    Yields
    ------
    dask.distributed.Client
        The client; inside the block ``map_tasks``/``emd_matrix``/... use its workers.

    Raises
    ------
    ImportError
        Without ``dask[distributed]`` (``pip install netsci_dl[cluster]``).
    InputError
        Neither or both of ``address`` and ``client``.
    """
    if (address is None) == (client is None):
        raise InputError("use_scheduler: give a scheduler address or a client (one of them)")
    try:
        import joblib
        from distributed import Client
    except ImportError as e:  # pragma: no cover - the cluster extra is installed in CI
        raise ImportError(
            "a Dask scheduler needs dask.distributed: pip install 'netsci_dl[cluster]'"
        ) from e
    own = client is None
    if own:
        assert address is not None
        if os.path.isfile(address):
            client = Client(scheduler_file=address, set_as_default=False)
        else:
            client = Client(address, set_as_default=False)
    try:
        with joblib.parallel_config(
            backend="dask", client=client, wait_for_workers_timeout=wait_for_workers
        ):
            yield client
    finally:
        if own:
            client.close()
