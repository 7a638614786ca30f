"""The pipeline of ``gsocseq run`` and :func:`gsocseq.run`: the whole GSOCseq chain on the
rasters of a configuration, block by block.

Peak memory is bounded by the block size, not the raster size: every input is read one window
at a time, the core runs all phases for the window's modelled pixels, and the window's results
are saved as a block checkpoint (:mod:`gsocseq.checkpoint`). Once every block exists, the layers
are assembled into tiled GeoTIFFs and converted to Cloud Optimized GeoTIFFs, each under a
temporary name renamed when complete; the run summary is written last. Blocks are the unit of
resumption (a killed run continues where it stopped), of tiling (``--tile i/N``) and of
distribution (Dask).
"""

from __future__ import annotations

import json
import os
import platform
import signal
import sys
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Union

import numpy as np
import rasterio
from rasterio.windows import Window

from gsocseq import __version__, maps, model
from gsocseq.checkpoint import (
    Checkpoint,
    CorruptBlock,
    changes,
    config_fingerprint,
    fingerprint,
    input_hashes,
)
from gsocseq.config import Config, ConfigError, load, with_options
from gsocseq.folder import FolderLock, OutputError, check_names, remove_stale, write_errors
from gsocseq.forward import scenario_table
from gsocseq.inputs import Block, Inputs
from gsocseq.rasters import InputError, windows
from gsocseq.survey import check_inputs


@dataclass
class RunSummary:
    """What a run did: options, inputs, pixel counts per rule, warnings, layers and timings."""

    name: str
    mode: str
    output: str
    layers: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)
    version: str = __version__
    status: str = "complete"

    @property
    def modelled(self) -> int:
        return self.counts.get("modelled", 0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Interrupted(KeyboardInterrupt):
    """A signal that stops a run as Ctrl-C does (the CLI raises it for SIGTERM)."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signum)
        self.signum = int(signum)


class RunInterrupted(Interrupted):
    """A run stopped by a signal, its temporaries removed: ``kept`` of ``total`` blocks are
    kept, and running the same command again continues from them."""

    def __init__(self, signum: int, kept: int, total: int) -> None:
        super().__init__(signum)
        self.kept = kept
        self.total = total

    def __str__(self) -> str:
        return (
            f"interrupted: {self.kept} of {self.total} blocks kept; run the same command "
            "again to continue"
        )


def _prepare_output(config: Config) -> Path:
    out = config.run.output
    try:
        out.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InputError(f"{out}: cannot create the output folder (a file is in the way)") from None
    except OSError as exc:
        raise InputError(f"{out}: cannot create the output folder ({exc.strerror})") from None
    if not out.is_dir():
        raise InputError(f"{out}: the output path is not a folder")
    probe = out / f".gsocseq-write-test-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InputError(f"{out}: the output folder is not writable ({exc.strerror})") from None
    return out


def _json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


#: temporaries of this module's writers (a process that died without removing them leaves
#: them; the exclusive holder of the folder removes them): {prefix} is the run name
STALE = (
    ".{prefix}_GSOCseq_*.part.tif",
    ".{prefix}_GSOCseq_run.json.part",
    ".gsocseq-{prefix}/.manifest.*.part",
    ".gsocseq-{prefix}/blocks/.block_*.part.npz",
)
#: files of ``gsocseq report`` in ``{output}/report`` (a run replaced with --overwrite removes
#: them: a report of the layers replaced would look valid)
REPORT_FILES = ("report.html", "{prefix}_GSOCseq_statistics.csv", "{prefix}_GSOCseq_stac.json")


class Plan:
    """An opened run: configuration, inputs, layers, blocks and checkpoint; its output folder
    held (:class:`~gsocseq.folder.FolderLock`) until :meth:`close`.

    ``mode``: "run" (the folder held exclusively), "tile" (held shared: tiles of one run are
    computed side by side), "assemble" (exclusive) or "worker" (a Dask worker of a run whose
    client holds the folder: the manifest must have the ``fingerprint`` given, nothing else
    is checked or changed).

    A folder whose manifest has another fingerprint (configuration or input contents) is
    refused (:class:`~gsocseq.folder.OutputError`) unless ``overwrite``: then the earlier run's
    summary, layers and report are removed before anything is computed.

    ``defer_fingerprint``: where there is no earlier checkpoint to resume (a new output folder),
    the inputs are hashed on a thread of their own while the blocks compute and the fingerprint
    is written into the manifest when known (:meth:`settle_fingerprint` waits for it); until
    then the manifest has none, so a run killed before that starts over."""

    def __init__(
        self,
        config: Config,
        defer_fingerprint: bool = False,
        *,
        mode: str = "run",
        wait: bool = False,
        notify: Optional[Callable[[str], None]] = None,
        fingerprint: Optional[str] = None,
    ) -> None:
        self.config = config
        self.mode = mode
        self._fingerprint: Optional[Future] = None
        self._lock: Optional[FolderLock] = None
        self.notes: list[str] = []
        self.resumed = 0
        self.scenarios, _, self.uncertain = scenario_table(config)
        self.inputs = Inputs(config)
        try:
            self.out_dir = _prepare_output(config)
            if mode != "worker":
                self._lock = FolderLock(
                    self.out_dir, shared=mode == "tile", wait=wait, what=mode, notify=notify
                )
                self._lock.acquire()
            self.t0_year = 2000 + self.inputs.years
            self.layers = maps.layers(config, self.scenarios, self.t0_year)
            self.prefix = config.run.name
            m = self.inputs.master.dataset
            self.windows: list[Window] = list(windows(m.height, m.width, config.run.block_size))
            self.summary_path = self.out_dir / f"{self.prefix}_GSOCseq_run.json"
            self.outputs = [layer.file_name(self.prefix) for layer in self.layers]
            self.outputs += [f"{self.prefix}_GSOCseq_LandUse.tif", self.summary_path.name]
            self.checkpoint = Checkpoint(self.out_dir, self.prefix)
            if mode == "worker":
                self.complete = False
                if self.checkpoint.load_manifest().get("fingerprint") != fingerprint:
                    raise OutputError(
                        f"{self.checkpoint.folder}: the manifest is not the one of this run "
                        "(another run took the folder)"
                    )
                return
            self._check_names()
            self._check_inputs_are_not_outputs()
            with write_errors(self.out_dir, self.need_bytes):
                if mode != "tile":  # the folder is this process's alone
                    remove_stale(self.out_dir, [p.format(prefix=self.prefix) for p in STALE])
                with FolderLock(
                    self.checkpoint.folder.parent,
                    name=".gsocseq.manifest.lock",
                    wait=True,
                    what="manifest",
                ):
                    self.complete = self._open_checkpoint(defer_fingerprint)
        except BaseException:
            self.close()
            raise

    def _check_names(self) -> None:
        longest = [f".{name}.cog.part.tif" for name in self.outputs]
        longest.append(f".{self.summary_path.name}.part")
        check_names(self.out_dir, longest, self.prefix)
        check_names(self.out_dir, [self.checkpoint.folder.name], self.prefix)

    def _check_inputs_are_not_outputs(self) -> None:
        written = {os.path.normcase((self.out_dir / o).resolve()) for o in self.outputs}
        inside = os.path.normcase(self.checkpoint.folder.resolve())
        for key, spec in self.config.inputs.items():
            path = os.path.normcase(Path(spec.path).resolve())
            if path in written or path.startswith(inside + os.sep):
                raise OutputError(
                    f"{spec.path}: input {key} is an output of this run (run {self.prefix!r} "
                    f"writes it in {self.out_dir}); copy it out of the folder, or write this run "
                    "into another output folder (-o) or under another [run] name"
                )

    def need_bytes(self) -> int:
        """Space the run needs at most in its folder, bytes: the layers (float32 and the int16
        land use) twice (temporary and COG, uncompressed at worst) and the block checkpoints."""
        m = self.inputs.master.dataset
        per_pixel = 4 * sum(layer.bands for layer in self.layers) + 2
        return 3 * m.width * m.height * per_pixel

    def _open_checkpoint(self, defer_fingerprint: bool) -> bool:
        cp = self.checkpoint
        manifest = cp.load_manifest()
        configuration = config_fingerprint(self.config)
        owned = set(manifest.get("outputs", []))
        # nothing to resume (no manifest), so nothing waits for the hashes
        defer = defer_fingerprint and not manifest and self.mode == "run"
        hashes = None if defer else input_hashes(self.config)
        current = None if hashes is None else fingerprint(configuration, hashes)
        if manifest and current is not None and manifest.get("fingerprint") == current:
            if manifest.get("complete") and all((self.out_dir / o).exists() for o in self.outputs):
                return True
            if self.mode != "tile":
                self.summary_path.unlink(missing_ok=True)  # written again, last
            self.resumed = cp.done_count(len(self.windows))
            return False
        if manifest:
            self._refuse_or_clear(manifest, configuration, hashes or {})
        elif not self.config.run.overwrite:
            foreign = [o for o in self.outputs if (self.out_dir / o).exists() and o not in owned]
            if foreign:
                raise OutputError(
                    f"{self.out_dir / foreign[0]}: exists already and was not written by this "
                    f"run ({len(foreign)} such files); use --overwrite (or [run] overwrite = "
                    "true) to replace them"
                )
        if self.mode == "assemble":  # nothing to assemble: the tiles come first
            return False
        self.summary_path.unlink(missing_ok=True)
        cp.write_manifest(
            {
                "fingerprint": current,
                "configuration": configuration,
                "input_hashes": hashes,
                "complete": False,
                "outputs": sorted(set(self.outputs)),
                "blocks": len(self.windows),
                "version": __version__,
            }
        )
        cp.reset()
        if defer:

            def record() -> None:
                # on one thread: the blocks use the cores
                hashes = input_hashes(self.config, 1)
                manifest = cp.load_manifest()
                manifest.update(fingerprint=fingerprint(configuration, hashes), input_hashes=hashes)
                cp.write_manifest(manifest)

            hashing = ThreadPoolExecutor(1, thread_name_prefix="gsocseq-hash")
            self._fingerprint = hashing.submit(record)
            hashing.shutdown(wait=False)
        return False

    def _refuse_or_clear(
        self, manifest: dict[str, Any], configuration: dict[str, Any], hashes: dict[str, str]
    ) -> None:
        """The folder holds a run of another fingerprint: refused (nothing removed) unless
        ``overwrite``, which removes that run's summary, layers and report."""
        before = manifest.get("configuration")
        known = manifest.get("fingerprint") is not None
        if not known and before == configuration and not manifest.get("complete"):
            return  # killed before its inputs were hashed: its blocks cannot be checked
        what = changes(before or {}, configuration)
        old = manifest.get("input_hashes") or {}
        what += [
            f"input {k} {'changed' if k in old else 'added'}"
            for k in sorted(hashes)
            if old.get(k) != hashes[k]
        ]
        what += [f"input {k} removed" for k in sorted(old) if k not in hashes]
        if not what:
            what = ["an earlier version of the manifest"]
        done = self.checkpoint.done_count(int(manifest.get("blocks") or 0))
        written = [o for o in manifest.get("outputs", []) if (self.out_dir / Path(o).name).exists()]
        if self.mode == "run" and not (manifest.get("complete") or done or written):
            return  # nothing of it to lose or to mix with (it stopped before its first block)
        kind = (
            "a finished run"
            if manifest.get("complete")
            else f"an unfinished run ({done} of {manifest.get('blocks')} blocks computed)"
        )
        if not self.config.run.overwrite or self.mode != "run":
            fix = (
                "use --overwrite to replace it, or choose another output folder (-o)"
                if self.mode == "run"
                else "compute every tile with one configuration and the same inputs, or "
                "choose another output folder (-o)"
            )
            shown = "; ".join(what[:4]) + (f"; and {len(what) - 4} more" if len(what) > 4 else "")
            raise OutputError(
                f"{self.out_dir}: holds {kind} {self.prefix!r} of another configuration or "
                f"other inputs ({shown}); {fix}"
            )
        # --overwrite: the earlier run goes, its summary first (the folder never looks finished)
        self.summary_path.unlink(missing_ok=True)
        for name in manifest.get("outputs", []):
            (self.out_dir / Path(name).name).unlink(missing_ok=True)
        report = self.out_dir / "report"
        for name in REPORT_FILES:
            (report / name.format(prefix=self.prefix)).unlink(missing_ok=True)
        figures = report / "figures"
        if figures.is_dir():
            for png in figures.glob("*.png"):
                png.unlink(missing_ok=True)
        for folder in (figures, report):
            try:
                folder.rmdir()  # only when nothing else is in it
            except OSError:
                pass
        self.notes.append(f"replaced {kind} of another configuration: " + "; ".join(what[:4]))

    def settle_fingerprint(self) -> None:
        """Wait until the fingerprint hashed meanwhile (``defer_fingerprint``) is in the
        manifest (it is written there as soon as it is known: from then on the blocks done
        can be resumed)."""
        if self._fingerprint is not None:
            self._fingerprint.result()
            self._fingerprint = None

    def pending(self, indices: Optional[Sequence[int]] = None) -> list[int]:
        chosen = range(len(self.windows)) if indices is None else indices
        return [i for i in chosen if not self.checkpoint.done(i)]

    def verify(self, indices: Optional[Sequence[int]] = None) -> list[int]:
        """Remove corrupt block checkpoints among ``indices`` (all by default), noting them:
        they are computed again."""
        chosen = range(len(self.windows)) if indices is None else indices
        bad = self.checkpoint.verify(chosen)
        for i in bad:
            self.notes.append(f"block {i}: its checkpoint was damaged and was computed again")
        self.resumed -= len(bad)
        return bad

    def close(self) -> None:
        if self._fingerprint is not None:
            try:
                self._fingerprint.result()
            except Exception:  # pragma: no cover - the run reports its own error
                pass
            self._fingerprint = None
        self.inputs.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> Plan:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_block(plan: Plan, index: int, threads: Optional[int] = None) -> tuple[Block, float]:
    """The inputs of block ``index`` read, checked and gathered; and the seconds it took."""
    a = time.perf_counter()
    threads = plan.config.run.threads if threads is None else threads
    block = plan.inputs.read_block(plan.windows[index], threads)
    return block, time.perf_counter() - a


def compute_block(
    plan: Plan,
    index: int,
    threads: Optional[int] = None,
    read: Optional[tuple[Block, float]] = None,
) -> None:
    """Run every phase for block ``index`` (read now, or as ``read`` by :func:`read_block`)
    and save its checkpoint."""
    cfg = plan.config
    block, read_s = read_block(plan, index, threads) if read is None else read
    b = time.perf_counter()
    arrays: dict[str, np.ndarray] = {
        "rows": block.rows.astype(np.int32),
        "cols": block.cols.astype(np.int32),
        "land_use": block.land_use,
    }
    flags: dict[str, int] = {}
    if block.n:
        sim = model.simulate(cfg, block.arrays, threads=threads)
        for bit, text in model.FLAGS.items():
            hit = int(np.count_nonzero(sim["flags"] & bit))
            if hit:
                flags[text] = hit
        values = maps.compute(cfg, plan.scenarios, plan.uncertain, sim, plan.t0_year, block.counts)
        if cfg.run.qa_mask:
            maps.apply_qa(plan.layers, values, block.counts)
        for key, v in values.items():
            arrays[f"layer{key}"] = v.astype(np.float32)
    block.release()  # its buffers serve a later block
    c = time.perf_counter()
    meta = {
        "counts": {k: int(v) for k, v in block.counts.items() if v},
        "flags": flags,
        "timings": {"read_s": read_s, "model_s": c - b},
    }
    plan.checkpoint.save_block(index, arrays, meta)


def compute_blocks(
    plan: Plan,
    todo: Sequence[int],
    progress: Optional[Callable[[], None]] = None,
    assembly: Optional[Assembly] = None,
) -> None:
    """:func:`compute_block` for every block of ``todo`` in order, the next block read while
    this one computes (GDAL and the core release the GIL, so reading overlaps the model).
    With ``assembly``, every block done (and every earlier one) is written into the layers
    meanwhile, on a thread of its own."""
    if not todo:
        return
    ahead = ThreadPoolExecutor(1, thread_name_prefix="gsocseq-read-ahead")
    writes = ThreadPoolExecutor(1, thread_name_prefix="gsocseq-write")
    try:
        upcoming = ahead.submit(read_block, plan, todo[0])
        queued = assembly.written if assembly is not None else 0
        written: list[Future] = []
        for k, index in enumerate(todo):
            read = upcoming.result()
            if k + 1 < len(todo):
                upcoming = ahead.submit(read_block, plan, todo[k + 1])
            compute_block(plan, index, read=read)
            if assembly is not None:
                # blocks before this one are done too (``todo`` is in block order)
                written += [writes.submit(assembly.add, j) for j in range(queued, index + 1)]
                queued = index + 1
            if progress is not None:
                progress()
        for done in written:
            done.result()
    finally:
        # stopped (a signal, an error): the writes not started are dropped, not waited for
        ahead.shutdown(wait=True, cancel_futures=True)
        writes.shutdown(wait=True, cancel_futures=True)


class Assembly:
    """The layers of a run being written from its block checkpoints, block after block in
    block order (into temporary tiled files; :meth:`finish` converts them to COGs)."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.counts: Counter = Counter()
        self.flags: Counter = Counter()
        self.timings: Counter = Counter()
        self.written = 0  # blocks written: the next one to write
        self.write_s = 0.0
        self.writer = maps.LayerWriter(
            plan.out_dir,
            plan.prefix,
            plan.inputs.master.dataset,
            plan.layers,
            tile=plan.config.run.block_size,
        )

    def add(self, index: int) -> None:
        """Write block ``index`` (the next one in order) from its checkpoint."""
        assert index == self.written, "blocks are written in order"
        a = time.perf_counter()
        try:
            arrays, meta = self.plan.checkpoint.load_block(index)
        except CorruptBlock as exc:  # damaged since it was checked: the next run computes it
            self.plan.checkpoint.block_path(index).unlink(missing_ok=True)
            raise OutputError(f"{exc}; run the same command again to compute it anew") from None
        values = {k[len("layer") :]: v for k, v in arrays.items() if k.startswith("layer")}
        window = self.plan.windows[index]
        self.writer.write(window, arrays["rows"], arrays["cols"], values, arrays["land_use"])
        self.counts.update(meta["counts"])
        self.flags.update(meta["flags"])
        self.timings.update(meta["timings"])
        self.written += 1
        self.write_s += time.perf_counter() - a

    def abort(self) -> None:
        self.writer.abort()


def assemble(
    plan: Plan, started: Optional[float] = None, assembly: Optional[Assembly] = None
) -> RunSummary:
    """Build the layers from the block checkpoints (all must exist; those not yet written by
    ``assembly``, when given), then the summary."""
    missing = plan.pending()
    if missing:
        if assembly is not None:
            assembly.abort()
        raise InputError(
            f"{plan.checkpoint.folder}: {len(missing)} of {len(plan.windows)} blocks are not "
            f"computed yet (first: block {missing[0]}); run the missing tiles first"
        )
    started = time.perf_counter() if started is None else started
    assembly = Assembly(plan) if assembly is None else assembly
    try:
        for index in range(assembly.written, len(plan.windows)):
            assembly.add(index)
        b = time.perf_counter()
        written = assembly.writer.finish()
    except BaseException:
        assembly.abort()
        raise
    counts, flags, timings = assembly.counts, assembly.flags, assembly.timings
    cfg = plan.config
    warnings = list(plan.inputs.warnings) + plan.notes
    for text, k in sorted(flags.items()):
        warnings.append(f"{k} pixels: {text}")
        counts[f"flag:{text}"] = k
    summary = RunSummary(
        name=cfg.run.name,
        mode=cfg.run.mode,
        output=str(plan.out_dir),
        layers=[p.name for p in written],
        counts={k: int(v) for k, v in sorted(counts.items()) if v},
        warnings=warnings,
        timings={
            "read_s": round(timings["read_s"], 3),
            "model_s": round(timings["model_s"], 3),
            "write_blocks_s": round(assembly.write_s, 3),
            "cog_s": round(time.perf_counter() - b, 3),
            "total_s": round(time.perf_counter() - started, 3),
        },
        options={k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg.run).items()},
        inputs={k: str(v.path) for k, v in cfg.inputs.items()},
    )
    summary.options["scenarios"] = {k: list(v) for k, v in cfg.scenarios.items()}
    summary.options["modelled_classes"] = list(cfg.modelled)
    summary.options["platform"] = (
        f"{platform.system()} {platform.machine()} Python {sys.version.split()[0]}"
    )
    _json_atomic(plan.summary_path, summary.to_dict())
    manifest = plan.checkpoint.load_manifest()
    manifest["complete"] = True
    plan.checkpoint.write_manifest(manifest)
    plan.checkpoint.remove_blocks()
    return summary


#: GDAL settings of a run (a user's own settings win): a bounded block cache, so that memory
#: does not grow with the area. GDAL_NUM_THREADS is left to the user: the inputs of a block are
#: already read side by side while the model computes, and on 2 cores GDAL's own threads cost
#: more CPU than they save (2x the CPU for uncompressed inputs, measured). (GTIFF_DIRECT_IO=YES
#: reads uncompressed inputs faster, but then a truncated file reads as zeros without an error.)
GDAL_ENV = (("GDAL_CACHEMAX", 256),)


def gdal_env() -> dict[str, Any]:
    """The GDAL settings of :data:`GDAL_ENV` that the environment does not set already."""
    return {k: v for k, v in GDAL_ENV if k not in os.environ}


def parse_tile(tile: str) -> tuple[int, int]:
    """'i/N' -> (i, N) with 1 <= i <= N."""
    try:
        i, n = (int(v) for v in tile.split("/"))
    except ValueError:
        raise ConfigError(f"--tile: expected i/N such as 2/8, got {tile!r}") from None
    if not 1 <= i <= n:
        raise ConfigError(f"--tile: expected 1 <= i <= N, got {tile!r}")
    return i, n


def tile_blocks(count: int, tile: tuple[int, int]) -> list[int]:
    """Blocks of tile i of N: a contiguous run of the block order."""
    i, n = tile
    return list(range((i - 1) * count // n, i * count // n))


def _existing_summary(plan: Plan) -> RunSummary:
    data = json.loads(plan.summary_path.read_text(encoding="utf-8"))
    data["status"] = "up to date"
    return RunSummary(**{k: v for k, v in data.items() if k in RunSummary.__dataclass_fields__})


def run(
    config: Union[str, os.PathLike, dict, Config],
    *,
    quiet: bool = True,
    progress: Optional[Callable[[int, int], None]] = None,
    tile: Optional[str] = None,
    scheduler: Optional[str] = None,
    wait: bool = False,
    notify: Optional[Callable[[str], None]] = None,
    **overrides: Any,
) -> RunSummary:
    """Run the GSOCseq chain for a configuration (path, mapping or :class:`Config`).

    ``overrides`` change [run] options (e.g. ``threads=1``, ``qa_mask=False``). Returns the run
    summary, also written as ``{name}_GSOCseq_run.json`` in the output folder, last. Running a
    finished run again with unchanged inputs (by content) and configuration does nothing; a run
    that was interrupted continues where it stopped; a folder holding a run of another
    configuration or other inputs is refused unless ``overwrite=True``. ``tile="i/N"`` computes
    only tile i of N (then :func:`assemble_run`); ``scheduler`` ("local:N" or a
    dask.distributed address) spreads the blocks over a Dask cluster. The output folder is held
    by one run at a time: ``wait`` waits for another holder to finish (``notify`` is told
    once) instead of raising :class:`~gsocseq.folder.FolderInUse`. ``progress(done, total)``
    is called once before the first block (``done`` > 0: a resumed run) and after each block.
    Raises :class:`~gsocseq.config.ConfigError` or :class:`~gsocseq.rasters.InputError` (and
    its :class:`~gsocseq.folder.OutputError` for the folder: in use, names too long, a write
    failure such as a full disk) for what the user can fix; :class:`RunInterrupted` when
    stopped by Ctrl-C (or :class:`Interrupted`), temporaries removed.
    """
    started = time.perf_counter()
    cfg = load(config)
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if overrides:
        cfg = with_options(cfg, **overrides)
    scheduler = scheduler or cfg.run.scheduler
    if tile and scheduler:
        raise ConfigError("--tile and --scheduler exclude each other")
    chosen_tile = parse_tile(tile) if tile else None
    local = not (tile or scheduler)
    mode = "tile" if tile else "run"
    with rasterio.Env(**gdal_env()):
        check_inputs(cfg)  # the units, before any computation (METHOD.md 2)
    with (
        rasterio.Env(**gdal_env()),
        Plan(cfg, defer_fingerprint=local, mode=mode, wait=wait, notify=notify) as plan,
    ):
        if plan.complete:
            return _existing_summary(plan)
        chosen = tile_blocks(len(plan.windows), chosen_tile) if chosen_tile else None
        with write_errors(plan.out_dir, plan.need_bytes):
            if plan.resumed:
                plan.verify(chosen)
            todo = plan.pending(chosen)
            total = len(chosen) if chosen is not None else len(plan.windows)
            done = total - len(todo)
            if progress is not None:
                progress(done, total)
            assembly: Optional[Assembly] = None
            try:
                if scheduler:
                    from gsocseq.distributed import compute_on_dask

                    compute_on_dask(cfg, plan, todo, scheduler, progress=progress)
                else:

                    def one_more() -> None:
                        nonlocal done
                        done += 1
                        if progress is not None:
                            progress(done, total)

                    # the layers are written while the blocks compute (not for a tile of a run)
                    assembly = None if tile or not todo else Assembly(plan)
                    try:
                        compute_blocks(plan, todo, one_more, assembly)
                        plan.settle_fingerprint()
                    except BaseException:
                        if assembly is not None:
                            assembly.abort()
                        raise
                if tile:
                    return RunSummary(
                        name=cfg.run.name,
                        mode=cfg.run.mode,
                        output=str(plan.out_dir),
                        status=f"tile {tile} computed ({total} blocks); run gsocseq assemble "
                        "when all tiles exist",
                    )
                return assemble(plan, started, assembly)
            except KeyboardInterrupt as exc:
                raise _interrupted(plan, exc, chosen) from None


def _interrupted(plan: Plan, exc: KeyboardInterrupt, chosen: Optional[Sequence[int]]) -> Any:
    """The :class:`RunInterrupted` of a run stopped by ``exc`` (its temporaries removed by
    then): the fingerprint hashed meanwhile is waited for, so that the blocks kept count."""
    try:
        plan.settle_fingerprint()
    except Exception:  # pragma: no cover - then the next run starts over
        pass
    indices = range(len(plan.windows)) if chosen is None else chosen
    kept = sum(1 for i in indices if plan.checkpoint.done(i))
    signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
    return RunInterrupted(signum, kept, len(indices))


def assemble_run(
    config: Union[str, os.PathLike, dict, Config],
    *,
    wait: bool = False,
    notify: Optional[Callable[[str], None]] = None,
    **overrides: Any,
) -> RunSummary:
    """Assemble the layers of a tiled run once every tile has been computed (a damaged block
    checkpoint is computed again). Refused for a configuration or inputs other than the
    tiles'."""
    cfg = load(config)
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if overrides:
        cfg = with_options(cfg, **overrides)
    with rasterio.Env(**gdal_env()), Plan(cfg, mode="assemble", wait=wait, notify=notify) as plan:
        if plan.complete:
            return _existing_summary(plan)
        with write_errors(plan.out_dir, plan.need_bytes):
            try:
                bad = plan.verify()
                if bad and not plan.pending([i for i in range(len(plan.windows)) if i not in bad]):
                    compute_blocks(plan, bad)
                return assemble(plan)
            except KeyboardInterrupt as exc:
                raise _interrupted(plan, exc, None) from None


__all__ = [
    "ConfigError",
    "InputError",
    "Interrupted",
    "OutputError",
    "RunInterrupted",
    "RunSummary",
    "assemble_run",
    "run",
]
