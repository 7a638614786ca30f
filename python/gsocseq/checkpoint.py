"""Block checkpoints: what makes a run resumable, tileable and safe to repeat.

Every block's results are saved as one file in ``{output}/.gsocseq-{name}/blocks/`` under a
temporary name and renamed when complete, so a block file either exists whole or not at all.
The manifest records the fingerprint of the run (configuration, the BLAKE3 of every input's
contents, version; never file sizes and times alone) and the outputs the run owns; every block
file carries the digest of its contents, checked when it is read back (a block damaged by a
storage fault is computed again). A run killed at any point is resumed by running it again: blocks
already done are skipped, and the layers are assembled from the block files in a fixed order,
so the outputs are bit-identical to an uninterrupted run. A changed input or configuration
changes the fingerprint: the folder is then refused unless ``--overwrite`` is given.
"""

from __future__ import annotations

import json
import mmap
import os
import shutil
import threading
import uuid
import zipfile
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import blake3
import numpy as np

from gsocseq import __version__, products
from gsocseq.config import Config

#: a file is hashed through a memory map this many bytes at a time: the window's pages count in
#: the run's resident memory while it is hashed, and the inputs are hashed while the first blocks
#: compute (64 MiB put a 10^7-pixel run at 489 MiB under the 512M budget; docs/scaling.md)
HASH_WINDOW = 16 << 20


def _digest(path: Path, threads: int = 0) -> str:
    """BLAKE3 of the file's contents on ``threads`` threads (0: every core; several GB/s: a
    run's inputs are hashed in a fraction of its time). Memory-mapped and hashed a window at a
    time, each window's pages dropped from the process once hashed (they stay in the page
    cache), so that memory does not grow with the file; read in chunks where a file cannot be
    mapped."""
    h = blake3.blake3(max_threads=threads or blake3.blake3.AUTO)
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        try:
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else None
        except (OSError, ValueError):  # not mappable (a pipe, some network file systems)
            for chunk in iter(lambda: f.read(16 << 20), b""):
                h.update(chunk)
            return h.hexdigest()
        if mm is not None:
            with mm, memoryview(mm) as view:
                for start in range(0, size, HASH_WINDOW):
                    h.update(view[start : start + HASH_WINDOW])
                    if hasattr(mm, "madvise"):
                        mm.madvise(mmap.MADV_DONTNEED, start, min(HASH_WINDOW, size - start))
    return h.hexdigest()


def file_hashes(paths: list[Path], threads: int = 0) -> list[str]:
    """Content hash of each file: its size and the BLAKE3 of its contents, on ``threads``
    threads (0 for every core). Always of the contents: a file rewritten with its size and
    modification time restored is seen as changed."""
    return [f"{path.stat().st_size}:{_digest(path, threads)}" for path in paths]


def file_signature(path: Path) -> tuple[int, int, int, int] | None:
    """Which file lies at ``path`` and when it was last written: (device, inode, size,
    modification time in ns). Not a content hash: it tells a file replaced or rewritten since
    it was opened (the run's dataset handles keep reading the file they opened; the content
    hash and later handles read what lies at the path now). None where there is no file."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def input_signatures(config: Config) -> dict[str, tuple[int, int, int, int] | None]:
    """:func:`file_signature` of every input of ``config``, by its ``[inputs]`` key."""
    return {k: file_signature(Path(config.inputs[k].path)) for k in sorted(config.inputs)}


def input_hashes(config: Config, threads: int = 0) -> dict[str, str]:
    """Content hash of every input of ``config``, by its ``[inputs]`` key."""
    keys = sorted(config.inputs)
    return dict(zip(keys, file_hashes([config.inputs[k].path for k in keys], threads)))


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def config_fingerprint(config: Config) -> dict[str, Any]:
    """Everything of a configuration that changes the numbers or the blocks (not threads,
    output, overwrite; not the memory budget, whose choice is the block size)."""
    run = asdict(config.run)
    for key in ("threads", "output", "overwrite", "scheduler", "memory"):
        run.pop(key, None)
    if run.get("forward_inputs") == "constant":  # the default: earlier runs stay resumable
        run.pop("forward_inputs")
    out = {
        "run": run,
        "inputs": {k: asdict(v) for k, v in sorted(config.inputs.items())},
        "layout": config.layout,
        "scenarios": dict(config.scenarios),
        "modelled": list(config.modelled),
        "exclusions": asdict(config.exclusions),
        "version": __version__,
    }
    if config.practices:  # (absent without: earlier checkpoints stay resumable)
        out["practices"] = {k: dict(v) for k, v in config.practices.items()}
    if config.class_table.changes:
        out["classes"] = {str(c): dict(e) for c, e in sorted(config.class_table.changes.items())}
    if config.run.calibration is not None:
        # the multipliers the table holds, not only where it lies: a table edited or written
        # again by gsocseq calibrate after the run is another run (absent without a table:
        # earlier checkpoints stay resumable)
        from gsocseq.multipliers import read_table

        table = read_table(config.run.calibration)
        out["calibration"] = {
            "by": table.by,
            "input": dict(sorted(table.input.items())),
            "rate": dict(sorted(table.rate.items())),
        }
    return _jsonable(out)


def fingerprint(configuration: dict[str, Any], hashes: dict[str, str]) -> str:
    """The fingerprint of a run: its :func:`config_fingerprint` and its inputs' contents."""
    data = dict(configuration, input_hashes=hashes)
    return blake3.blake3(json.dumps(data, sort_keys=True).encode()).hexdigest()[:40]


def without_input_paths(configuration: dict[str, Any]) -> dict[str, Any]:
    """A :func:`config_fingerprint` mapping without where its inputs lie (their contents are
    in the input hashes)."""
    inputs = configuration.get("inputs") or {}
    return dict(
        configuration,
        inputs={
            k: {f: v for f, v in (spec or {}).items() if f != "path"} for k, spec in inputs.items()
        },
    )


def moved(manifest: dict[str, Any], configuration: dict[str, Any], hashes: dict[str, str]) -> bool:
    """Whether the run of ``manifest`` is the run of ``configuration`` and its inputs' contents
    ``hashes``, with inputs that lie elsewhere now (a project folder moved or copied, a disk
    mounted at another path, tiles computed on machines that see the inputs at other paths)."""
    old = manifest.get("input_hashes")
    before = manifest.get("configuration")
    return (
        bool(old)
        and old == hashes
        and isinstance(before, dict)
        and without_input_paths(before) == without_input_paths(configuration)
    )


def changes(before: dict[str, Any], now: dict[str, Any], prefix: str = "") -> list[str]:
    """What differs between two :func:`config_fingerprint` mappings, as 'key: a -> b'."""
    out: list[str] = []
    for key in sorted(set(before) | set(now)):
        a, b = before.get(key), now.get(key)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            out += changes(a, b, f"{prefix}{key}.")
        else:
            # ensure_ascii=False: a path with accents named as it is (Côte, not C\u00f4te)
            out.append(
                f"{prefix}{key}: {json.dumps(a, ensure_ascii=False)} -> "
                f"{json.dumps(b, ensure_ascii=False)}"
            )
    return out


def layer_hashes(out_dir: Path, outputs: Iterable[str], threads: int = 0) -> dict[str, str]:
    """Content hash (:func:`file_hashes`) of each raster layer among ``outputs`` (file names in
    ``out_dir``): what a finished run records, so that a layer changed after the run (edited,
    copied over from another run, damaged) is not taken for the run's own. The QGIS styles and
    the summary are left out (a style saved from QGIS is the user's change to make)."""
    names = sorted({o for o in outputs if o.endswith(".tif") and (out_dir / o).is_file()})
    return dict(zip(names, file_hashes([out_dir / n for n in names], threads)))


def changed_layers(
    manifest: dict[str, Any], out_dir: Path, names: Iterable[str] | None = None
) -> list[str]:
    """The layers (of ``names``, all by default) whose contents differ from those the finished
    run recorded in its manifest (missing ones too); none for a run that recorded none (an
    earlier gsocseq)."""
    recorded = manifest.get("layer_hashes") or {}
    chosen = sorted(set(recorded if names is None else names) & set(recorded))
    present = [n for n in chosen if (out_dir / n).is_file()]
    now = dict(zip(present, file_hashes([out_dir / n for n in present])))
    return [n for n in chosen if now.get(n) != recorded[n]]


def check_finished(
    run_dir: Path, name: str, files: Iterable[str], what: str, config: Config | None = None
) -> None:
    """:class:`InputError` unless the folder ``run_dir`` holds the finished run ``name`` whose
    layers ``files`` are as the run wrote them and, when ``config`` is given, the run of that
    configuration and of its inputs as they are now (by content). ``what``: what the caller
    does with the run ("export", "report on"). A folder without a manifest (an earlier
    gsocseq, a folder copied without its hidden files) is taken as it is."""
    from gsocseq.errors import InputError

    if config is not None and config.run.name != name:
        raise InputError(
            f"{run_dir}: holds run {name!r}, not run {config.run.name!r} of "
            f"{config.source or 'the configuration'}: run that configuration first "
            f"(gsocseq run), or give the output folder to {what} the run it holds"
        )
    manifest = Checkpoint(run_dir, name).load_manifest()
    if not manifest:
        return
    if config is not None:
        before = dict(manifest.get("configuration") or {})
        now = config_fingerprint(config)
        # not compared: the block size (the memory budget's choice), the version that ran it,
        # where the inputs lie (a project folder moved elsewhere: their contents are compared)
        before, now = without_input_paths(before), without_input_paths(now)
        for d in (before, now):
            d.pop("version", None)
            d["run"] = {k: v for k, v in (d.get("run") or {}).items() if k != "block_size"}
        what_changed = changes(before, now)
        old = manifest.get("input_hashes") or {}
        present = sorted(k for k, s in config.inputs.items() if Path(s.path).is_file())
        hashes = dict(zip(present, file_hashes([config.inputs[k].path for k in present])))
        what_changed += [f"input {k} changed" for k in present if old.get(k) != hashes[k]]
        if what_changed:
            shown = "; ".join(what_changed[:4])
            if len(what_changed) > 4:
                shown += f"; and {len(what_changed) - 4} more"
            raise InputError(
                f"{run_dir}: holds run {name!r} of another configuration or other inputs than "
                f"{config.source or 'the configuration'} ({shown}): run that configuration "
                f"first (gsocseq run), or give the output folder to {what} the run it holds"
            )
    changed = changed_layers(manifest, run_dir, files)
    if changed:
        more = f" (and {len(changed) - 1} more)" if len(changed) > 1 else ""
        raise InputError(
            f"{run_dir / changed[0]}: not the layer run {name!r} wrote{more}: its contents "
            "changed after the run (edited, replaced by another run's file, damaged); run the "
            "configuration again (gsocseq run writes the run's layers again), then "
            f"{what} it"
        )


class CorruptBlock(Exception):
    """A block checkpoint that cannot be read back as it was written."""


def _payload_digest(arrays: dict[str, np.ndarray]) -> bytes:
    h = blake3.blake3()
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(f"{key}:{a.dtype.str}:{a.shape};".encode())
        h.update(a.tobytes())
    return h.hexdigest().encode()


#: (pid, mark) of this process: the mark in its block temporaries' names. The pid alone is not
#: unique: tiles of one run on several machines or containers (where every process may be pid
#: 1) share a folder, and one process removing "its" temporaries removed another's
_mark: tuple[int, str] = (0, "")


def _process_mark() -> str:
    """This process's mark (pid and a random id; a new one after a fork)."""
    global _mark
    pid = os.getpid()
    if _mark[0] != pid:
        _mark = (pid, f"{pid}-{uuid.uuid4().hex[:16]}")
    return _mark[1]


class Checkpoint:
    """The checkpoint folder of one run."""

    def __init__(self, out_dir: Path, name: str) -> None:
        self.folder = out_dir / products.checkpoint_folder(name)
        self.blocks = self.folder / "blocks"
        self.manifest_path = self.folder / "manifest.json"

    def load_manifest(self) -> dict[str, Any]:
        """The manifest; empty if there is none or it cannot be read (a storage fault: the
        blocks it describes cannot be trusted either)."""
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.manifest_path.with_name(f".manifest.{os.getpid()}.part")
        try:
            tmp.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
            os.replace(tmp, self.manifest_path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def reset(self) -> None:
        shutil.rmtree(self.blocks, ignore_errors=True)
        self.blocks.mkdir(parents=True, exist_ok=True)

    def block_path(self, index: int) -> Path:
        return self.blocks / f"block_{index:07d}.npz"

    def done(self, index: int) -> bool:
        return self.block_path(index).exists()

    def save_block(self, index: int, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Write a block's results whole, or not at all (a temporary renamed when complete;
        with the digest of its contents, checked when read back)."""
        self.commit_block(index, self.write_block(index, arrays, meta))

    def write_block(self, index: int, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Path:
        """The first half of :meth:`save_block`: a block's results written to a temporary of
        this process (:meth:`temporaries`), not yet synced; returns it, for
        :meth:`commit_block`."""
        self.blocks.mkdir(parents=True, exist_ok=True)
        path = self.block_path(index)
        tmp = path.with_name(f".{path.stem}.{_process_mark()}.{threading.get_ident()}.part.npz")
        payload: dict[str, Any] = dict(arrays)
        payload["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        payload["__digest__"] = np.frombuffer(_payload_digest(payload), dtype=np.uint8)
        try:
            np.savez(tmp, **payload)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return tmp

    def commit_block(self, index: int, tmp: Path) -> None:
        """The second half of :meth:`save_block`: the temporary ``tmp`` of
        :meth:`write_block` synced to disk, then renamed to block ``index``'s checkpoint (so
        that a block file exists whole or not at all); removed if either fails. Any thread
        may call it."""
        try:
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
            os.replace(tmp, self.block_path(index))
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def temporaries(self) -> list[Path]:
        """This process's block temporaries (:meth:`write_block`) not committed (not those of
        another process, on another machine or in another container, with the same pid)."""
        return sorted(self.blocks.glob(f".block_*.{_process_mark()}.*.part.npz"))

    def load_block(self, index: int) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """A block's arrays and meta; :class:`CorruptBlock` if the file is not what was
        written (truncated, altered, not a block)."""
        path = self.block_path(index)
        try:
            with np.load(path) as z:
                payload = {k: z[k] for k in z.files}
            digest = bytes(payload.pop("__digest__"))
            meta = json.loads(bytes(payload["__meta__"]).decode())
        except FileNotFoundError:
            raise
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
            raise CorruptBlock(f"{path}: cannot be read back ({exc})") from None
        if digest != _payload_digest(payload):
            raise CorruptBlock(f"{path}: its contents differ from what was written")
        del payload["__meta__"]
        return payload, meta

    def verify(self, indices: Iterable[int]) -> list[int]:
        """Remove the block files of ``indices`` that are corrupt; return their indices (they
        are computed again)."""
        bad: list[int] = []
        for i in indices:
            if not self.done(i):
                continue
            try:
                self.load_block(i)
            except CorruptBlock:
                self.block_path(i).unlink(missing_ok=True)
                bad.append(i)
        return bad

    def done_count(self, count: int) -> int:
        """How many of the ``count`` blocks have a checkpoint."""
        return sum(1 for i in range(count) if self.done(i))

    def remove_blocks(self) -> None:
        shutil.rmtree(self.blocks, ignore_errors=True)
