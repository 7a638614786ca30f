"""Scale-out on Dask: the blocks of a run as tasks of a dask.distributed cluster.

Each task reads its block's inputs directly from the shared paths, runs all phases in the Rust
core with one thread, and saves the block checkpoint under a temporary name renamed when
complete; the client only assembles the layers at the end and never holds whole rasters. A
worker killed mid-block is retried by Dask; the block file is either whole or absent, so the
result is bit-identical to a single-machine run.

``pip install gsocseq[dask]``; ``--scheduler local:N`` starts a LocalCluster of N worker
processes (spawned, not forked: the core uses rayon), any other value is a scheduler address.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Callable, Optional

from gsocseq import __version__
from gsocseq.config import Config
from gsocseq.errors import ConfigError
from gsocseq.pipeline.local import compute_block
from gsocseq.pipeline.plan import Plan

_PLANS: dict[str, Any] = {}


def _block_task(config: Config, index: int, fingerprint: str, version: str) -> int:
    """Worker side: compute one block (the opened inputs are kept per worker process). The
    client holds the output folder; the manifest must still be the one of its run, and the
    worker's gsocseq the client's ``version`` (a worker of another version would compute its
    blocks by other code, numbers the run's fingerprint does not record)."""
    _crash_for_tests(index)
    if version != __version__:
        import socket

        raise ConfigError(
            f"--scheduler: the Dask worker on {socket.gethostname()} (process {os.getpid()}) "
            f"runs gsocseq {__version__}, the run gsocseq {version}: its blocks would be "
            f"computed by other code; install gsocseq {version} where the workers run (the "
            "same environment on every machine of the cluster)"
        )
    key = repr((config, fingerprint))
    plan = _PLANS.get(key)
    if plan is None:
        plan = Plan(config, mode="worker", fingerprint=fingerprint)
        _PLANS.clear()
        _PLANS[key] = plan
    if not plan.checkpoint.done(index):
        compute_block(plan, index, threads=1)
    return index


def _crash_for_tests(index: int) -> None:
    """Test aid: GSOCSEQ_TEST_KILL_WORKER="INDEX:MARKER" kills the worker process abruptly at
    block INDEX once (the marker file records that it happened)."""
    spec = os.environ.get("GSOCSEQ_TEST_KILL_WORKER")
    if not spec:
        return
    at, _, marker = spec.partition(":")
    if int(at) == index and not os.path.exists(marker):
        with open(marker, "w") as f:
            f.write("killed")
        os._exit(1)


def _client(scheduler: str) -> Any:
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError(
            "--scheduler needs Dask: pip install 'gsocseq[dask]' (dask and distributed)"
        ) from None
    if scheduler.startswith("local"):
        _, _, count = scheduler.partition(":")
        try:
            workers = int(count) if count else 2
        except ValueError:
            raise ConfigError(f"--scheduler: expected local:N, got {scheduler!r}") from None
        if workers < 1:
            raise ConfigError(f"--scheduler: expected local:N with N >= 1, got {scheduler!r}")
        import dask

        dask.config.set({"distributed.worker.multiprocessing-method": "spawn"})
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        return Client(cluster)
    try:
        return Client(scheduler, timeout="30s")
    except OSError as exc:
        raise ConfigError(f"--scheduler: cannot reach {scheduler!r} ({exc})") from None


def compute_on_dask(
    config: Config,
    plan: Plan,
    todo: Sequence[int],
    scheduler: str,
    advance: Optional[Callable[[int], None]] = None,
) -> None:
    """Compute the blocks ``todo`` of ``plan`` on a Dask cluster; ``advance(pixels)`` told
    the pixels of each block done."""
    from dask.distributed import as_completed

    fingerprint = plan.checkpoint.load_manifest().get("fingerprint")
    client = _client(scheduler)
    try:
        futures = [
            client.submit(
                _block_task,
                config,
                i,
                fingerprint,
                __version__,
                key=f"gsocseq-block-{i}",
                pure=False,
                retries=3,
            )
            for i in todo
        ]
        for future in as_completed(futures):
            index = future.result()
            if advance is not None:
                advance(plan.pixels([index]))
    finally:
        cluster = getattr(client, "cluster", None)
        client.close()
        if cluster is not None and scheduler.startswith("local"):
            cluster.close()
