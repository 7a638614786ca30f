"""Block checkpoints: what makes a run resumable, tileable and safe to repeat.

Every block's results are saved as one file in ``{output}/.gsocseq-{name}/blocks/`` under a
temporary name and renamed when complete, so a block file either exists whole or not at all.
The manifest records the fingerprint of the run (configuration, input contents, version) and
the outputs the run owns. A run killed at any point is resumed by running it again: blocks
already done are skipped, and the layers are assembled from the block files in a fixed order,
so the outputs are bit-identical to an uninterrupted run. A changed input or configuration
changes the fingerprint and starts over.
"""

from __future__ import annotations

import json
import mmap
import os
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

import blake3
import numpy as np

from gsocseq import __version__
from gsocseq.config import Config

#: the content hash of the inputs (recorded with each cached hash: another one is not reused)
HASH_ALGORITHM = "blake3"


#: a file is hashed through a memory map this many bytes at a time
HASH_WINDOW = 64 << 20


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


def file_hashes(paths: list[Path], cache: dict[str, Any], threads: int = 0) -> list[str]:
    """Content hash of each file (BLAKE3 of its contents and size, on ``threads`` threads, 0
    for every core). A file's hash is reused from ``cache`` while its size and mtime are
    unchanged."""
    out: list[str] = []
    for path in paths:
        st = path.stat()
        known = cache.get(str(path))
        if (
            known
            and known.get("algorithm") == HASH_ALGORITHM
            and known["size"] == st.st_size
            and known["mtime_ns"] == st.st_mtime_ns
        ):
            out.append(str(known["hash"]))
            continue
        digest = f"{st.st_size}:{_digest(path, threads)}"
        cache[str(path)] = {
            "algorithm": HASH_ALGORITHM,
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
            "hash": digest,
        }
        out.append(digest)
    return out


def file_hash(path: Path, cache: dict[str, Any]) -> str:
    """Content hash of one file (see :func:`file_hashes`)."""
    return file_hashes([path], cache)[0]


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def config_fingerprint(config: Config) -> dict[str, Any]:
    """Everything of a configuration that changes the numbers (not threads, output, overwrite)."""
    run = asdict(config.run)
    for key in ("threads", "output", "overwrite", "scheduler"):
        run.pop(key, None)
    return _jsonable(
        {
            "run": run,
            "inputs": {k: asdict(v) for k, v in sorted(config.inputs.items())},
            "layout": config.layout,
            "scenarios": dict(config.scenarios),
            "modelled": list(config.modelled),
            "exclusions": asdict(config.exclusions),
            "version": __version__,
        }
    )


class Checkpoint:
    """The checkpoint folder of one run."""

    def __init__(self, out_dir: Path, name: str) -> None:
        self.folder = out_dir / f".gsocseq-{name}"
        self.blocks = self.folder / "blocks"
        self.manifest_path = self.folder / "manifest.json"

    def load_manifest(self) -> dict[str, Any]:
        try:
            return json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.manifest_path.with_name(f".manifest.{os.getpid()}.part")
        tmp.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        os.replace(tmp, self.manifest_path)

    def fingerprint(self, config: Config, hash_cache: dict[str, Any], threads: int = 0) -> str:
        data = config_fingerprint(config)
        keys = sorted(config.inputs)
        hashes = file_hashes([config.inputs[k].path for k in keys], hash_cache, threads)
        data["input_hashes"] = dict(zip(keys, hashes))
        text = json.dumps(data, sort_keys=True)
        return blake3.blake3(text.encode()).hexdigest()[:40]

    def reset(self) -> None:
        shutil.rmtree(self.blocks, ignore_errors=True)
        self.blocks.mkdir(parents=True, exist_ok=True)

    def block_path(self, index: int) -> Path:
        return self.blocks / f"block_{index:07d}.npz"

    def done(self, index: int) -> bool:
        return self.block_path(index).exists()

    def save_block(self, index: int, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Write a block's results whole, or not at all."""
        self.blocks.mkdir(parents=True, exist_ok=True)
        path = self.block_path(index)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.part.npz")
        payload = dict(arrays)
        payload["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        np.savez(tmp, **payload)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)

    def load_block(self, index: int) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        with np.load(self.block_path(index)) as z:
            arrays = {k: z[k] for k in z.files if k != "__meta__"}
            meta = json.loads(bytes(z["__meta__"]).decode())
        return arrays, meta

    def remove_blocks(self) -> None:
        shutil.rmtree(self.blocks, ignore_errors=True)
