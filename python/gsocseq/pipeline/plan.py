"""An opened run (:class:`Plan`): its configuration, inputs, chain, layers, blocks and
checkpoint, its output folder held; and what a run did (:class:`RunSummary`).
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from rasterio.windows import Window

from gsocseq import __version__, products
from gsocseq.chain import Chain, Modelled
from gsocseq.checkpoint import (
    Checkpoint,
    changed_layers,
    changes,
    config_fingerprint,
    fingerprint,
    input_hashes,
    input_signatures,
    moved,
    without_input_paths,
)
from gsocseq.config import Config, InputSpec, check_zone_codes, practice_warnings, zone_tables
from gsocseq.errors import InputError, OutputError
from gsocseq.folder import FolderLock, check_names, remove_stale, write_errors
from gsocseq.inputs import Inputs
from gsocseq.rasters import windows


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
    # the Annex II QA protocol on the national layers (gsocseq.qa_protocol.Protocol.to_dict)
    qa_protocol: dict[str, Any] = field(default_factory=dict)
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


def write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


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
        self.inputs = Inputs(config, Modelled(config))
        try:
            # the files the run opened: an input rewritten or replaced while the run reads it
            # is refused (check_unchanged), its blocks would mix two contents
            self.opened = input_signatures(config) if mode != "worker" else {}
            self.out_dir = _prepare_output(config)
            if mode != "worker":
                self._lock = FolderLock(
                    self.out_dir, shared=mode == "tile", wait=wait, what=mode, notify=notify
                )
                self._lock.acquire()
            self.chain = Chain(config, self.inputs.years)
            self.layers = self.chain.layers
            # the map layers whose values at the excluded pixels go to the FAO delivery
            self.excluded_layers = (
                [layer for layer in self.layers if not layer.intermediate]
                if config.exclusions.enabled
                else []
            )
            self.prefix = config.run.name
            m = self.inputs.master.dataset
            self.windows: list[Window] = list(windows(m.height, m.width, config.run.block_size))
            self.summary_path = self.out_dir / products.summary_file(self.prefix)
            self.outputs = [layer.file_name(self.prefix) for layer in self.layers]
            self.outputs += [
                products.land_use_file(self.prefix),
                products.exclusion_mask_file(self.prefix),
                self.summary_path.name,
            ]
            if self.excluded_layers:
                self.outputs.append(products.excluded_values_file(self.prefix))
            if config.run.flags:
                self.outputs.append(products.flags_file(self.prefix))
            # the QGIS styles beside the single-band layers
            self.outputs += [
                products.style_file(name)
                for name in [
                    *(lay.file_name(self.prefix) for lay in self.layers if lay.bands == 1),
                    products.land_use_file(self.prefix),
                    products.exclusion_mask_file(self.prefix),
                ]
            ]
            self.checkpoint = Checkpoint(self.out_dir, self.prefix)
            if mode != "worker":  # before anything is computed
                self.notes += practice_warnings(config)
                if zone_tables(config) and "zone" in config.inputs:
                    self.notes += _zone_notes(config, config.inputs["zone"])
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
                    remove_stale(
                        self.out_dir, [p.format(prefix=self.prefix) for p in products.STALE]
                    )
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

    def pixels(self, indices: Iterable[int]) -> int:
        """Pixels of the grid in the blocks ``indices``."""
        return sum(int(self.windows[i].height) * int(self.windows[i].width) for i in indices)

    def need_bytes(self) -> int:
        """Space the run needs at most in its folder, bytes: the layers (float32, the int16
        land use, the uint8 exclusion mask, the values of excluded pixels) twice (temporary and
        COG, uncompressed at worst) and the block checkpoints."""
        m = self.inputs.master.dataset
        bands = sum(layer.bands for layer in self.layers) + len(self.excluded_layers)
        per_pixel = 4 * bands + 2 + 1
        return 3 * m.width * m.height * per_pixel

    def _open_checkpoint(self, defer_fingerprint: bool) -> bool:
        cp = self.checkpoint
        manifest = cp.load_manifest()
        configuration = config_fingerprint(self.config)
        owned = set(manifest.get("outputs", []))
        # nothing to resume (no manifest), so nothing waits for the hashes
        defer = defer_fingerprint and not manifest and self.mode == "run"
        hashes = None if defer else input_hashes(self.config)
        if hashes is not None:
            self.check_unchanged(forget=False)  # the contents hashed are the ones opened
        current = None if hashes is None else fingerprint(configuration, hashes)
        if (
            manifest
            and current is not None
            and manifest.get("fingerprint") != current
            and moved(manifest, configuration, hashes or {})
        ):
            # the same run, its inputs elsewhere now: it was refused as another configuration
            manifest.update(fingerprint=current, configuration=configuration)
            cp.write_manifest(manifest)
        if manifest and current is not None and manifest.get("fingerprint") == current:
            if manifest.get("complete") and all((self.out_dir / o).exists() for o in self.outputs):
                changed = changed_layers(manifest, self.out_dir)
                if not changed:
                    return True
                self.notes.append(
                    (
                        f"{changed[0]} and {len(changed) - 1} more layers changed after the run "
                        "wrote them"
                        if len(changed) > 1
                        else f"{changed[0]} changed after the run wrote it"
                    )
                    + " (edited, replaced, damaged): the run's layers were computed and "
                    "written again"
                )
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
                if self.changed_inputs():
                    return  # not the contents read: no fingerprint, a resume starts over
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
        old = manifest.get("input_hashes") or {}
        # what differs in contents first; where the inputs lie last (moved inputs of the same
        # contents alone are the same run: checkpoint.moved)
        what = [
            f"input {k} {'changed' if k in old else 'added'}"
            for k in sorted(hashes)
            if old.get(k) != hashes[k]
        ]
        what += [f"input {k} removed" for k in sorted(old) if k not in hashes]
        unplaced = changes(without_input_paths(before or {}), without_input_paths(configuration))
        what += unplaced + [
            c for c in changes(before or {}, configuration) if c.split(":")[0].endswith(".path")
        ]
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
        for name in products.REPORT_FILES:
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

    def changed_inputs(self) -> list[str]:
        """The inputs whose file was rewritten or replaced since the run opened it."""
        now = input_signatures(self.config)
        return [k for k, sig in self.opened.items() if now.get(k) != sig]

    def check_unchanged(self, forget: bool = True) -> None:
        """:class:`InputError` if an input was rewritten or replaced since the run opened it (a
        gsocseq prepare --overwrite meanwhile, say): the blocks computed may mix its old and
        new contents, and the contents hashed may not be those read. With ``forget``, the
        manifest loses its fingerprint and the blocks go first, so that the next run starts
        over."""
        changed = self.changed_inputs()
        if not changed:
            return
        if forget:
            with FolderLock(
                self.checkpoint.folder.parent,
                name=".gsocseq.manifest.lock",
                wait=True,
                what="manifest",
            ):
                manifest = self.checkpoint.load_manifest()
                if manifest:
                    manifest.update(fingerprint=None, input_hashes=None, complete=False)
                    self.checkpoint.write_manifest(manifest)
                # (tiles too: an assembly finds them missing instead of mixing two contents)
                self.checkpoint.remove_blocks()
        key = changed[0]
        more = f" (and {len(changed) - 1} more)" if len(changed) > 1 else ""
        raise InputError(
            f"{self.config.inputs[key].path}: input {key}{more} was rewritten or replaced while "
            "the run read it (a gsocseq prepare --overwrite meanwhile?): its results would mix "
            "the old and the new contents; run again once the inputs are final (the run then "
            "starts over)"
        )

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


def _zone_notes(config: Config, spec: InputSpec) -> list[str]:
    """The zone raster's codes against the practice tables' (:func:`check_zone_codes`), read
    block by block: a code that is not a whole number is an InputError naming the file and
    the pixel; the warnings for table codes the raster does not hold."""
    import numpy as np
    import rasterio

    codes: set[int] = set()
    with rasterio.open(spec.path) as ds:
        band = spec.bands[0] if spec.bands else 1
        for window in windows(ds.height, ds.width, config.run.block_size):
            raw = ds.read(band, window=window, masked=True)
            values = raw.astype(np.float64) * spec.scale + spec.offset
            valid = ~np.ma.getmaskarray(values) & np.isfinite(values.filled(np.nan))
            v = values.filled(np.nan)
            bad = np.argwhere(valid & (v != np.floor(v)))
            if len(bad):
                r, c = bad[0]
                raise InputError(
                    f"{spec.path}: pixel (row {window.row_off + r}, column {window.col_off + c}) "
                    f"holds zone {v[r, c]:g}: zones are whole-number codes (the codes of the "
                    "practice tables' zones = { ... })"
                )
            codes.update(int(x) for x in np.unique(v[valid]))
    return check_zone_codes(config, codes, str(spec.path))
