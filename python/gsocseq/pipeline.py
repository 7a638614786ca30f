"""The pipeline of ``gsocseq run`` and :func:`gsocseq.run`: the whole GSOCseq chain on the rasters of a configuration, block by block.

Peak memory is bounded by the block size, not the raster size: every input is read one window
at a time, the core runs all phases for the window's modelled pixels, and every layer's window
is written to a temporary tiled GeoTIFF; the layers become Cloud Optimized GeoTIFFs at the end.
Nothing is written under a final name until it is complete.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Union

import numpy as np

from gsocseq import __version__, maps, model
from gsocseq.config import Config, ConfigError, load, with_options
from gsocseq.forward import scenario_table
from gsocseq.inputs import Inputs
from gsocseq.rasters import InputError, windows


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

    @property
    def modelled(self) -> int:
        return self.counts.get("modelled", 0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def run(
    config: Union[str, os.PathLike, dict, Config],
    *,
    quiet: bool = True,
    progress: Optional[Callable[[int, int], None]] = None,
    **overrides: Any,
) -> RunSummary:
    """Run the GSOCseq chain for a configuration (path, mapping or :class:`Config`).

    ``overrides`` change [run] options (e.g. ``threads=1``, ``qa_mask=False``). Returns the run
    summary, also written as ``{name}_GSOCseq_run.json`` in the output folder, last.
    Raises :class:`~gsocseq.config.ConfigError` or :class:`~gsocseq.rasters.InputError` for
    bad configuration or input, before anything is written under a final name.
    """
    started = time.perf_counter()
    cfg = load(config)
    if overrides:
        cfg = with_options(cfg, **{k: v for k, v in overrides.items() if v is not None})
    scenarios, _, uncertain = scenario_table(cfg)
    timings: dict[str, float] = {}
    counts: Counter = Counter()
    with Inputs(cfg) as inputs:
        out_dir = _prepare_output(cfg)
        t0_year = 2000 + inputs.years
        layer_list = maps.layers(cfg, scenarios, t0_year)
        prefix = cfg.run.name
        targets = [out_dir / layer.file_name(prefix) for layer in layer_list]
        summary_path = out_dir / f"{prefix}_GSOCseq_run.json"
        if not cfg.run.overwrite:
            existing = [p for p in [*targets, summary_path] if p.exists()]
            if existing:
                raise InputError(
                    f"{existing[0]}: exists already ({len(existing)} output files in {out_dir}); "
                    "use --overwrite (or [run] overwrite = true) to replace them"
                )
        master = inputs.master.dataset
        writer = maps.LayerWriter(out_dir, prefix, master, layer_list)
        try:
            blocks = list(windows(master.height, master.width, cfg.run.block_size))
            t_read = t_model = t_write = 0.0
            flag_counts: Counter = Counter()
            for i, window in enumerate(blocks):
                a = time.perf_counter()
                block = inputs.read_block(window)
                b = time.perf_counter()
                values: dict[str, np.ndarray] = {}
                if block.n:
                    sim = model.simulate(cfg, block.arrays)
                    for bit, text in model.FLAGS.items():
                        hit = int(np.count_nonzero(sim["flags"] & bit))
                        if hit:
                            flag_counts[text] += hit
                    values = maps.compute(cfg, scenarios, uncertain, sim, t0_year, block.counts)
                    if cfg.run.qa_mask:
                        maps.apply_qa(layer_list, values, block.counts)
                c = time.perf_counter()
                writer.write(window, block.rows, block.cols, values, block.land_use)
                d = time.perf_counter()
                t_read, t_model, t_write = t_read + b - a, t_model + c - b, t_write + d - c
                counts.update(block.counts)
                if progress is not None:
                    progress(i + 1, len(blocks))
            e = time.perf_counter()
            written = writer.finish()
            timings = {
                "read_s": round(t_read, 3),
                "model_s": round(t_model, 3),
                "write_blocks_s": round(t_write, 3),
                "cog_s": round(time.perf_counter() - e, 3),
            }
        except BaseException:
            writer.abort()
            raise
    warnings = list(inputs.warnings)
    for text, k in sorted(flag_counts.items()):
        warnings.append(f"{k} pixels: {text}")
        counts[f"flag:{text}"] = k
    timings["total_s"] = round(time.perf_counter() - started, 3)
    summary = RunSummary(
        name=cfg.run.name,
        mode=cfg.run.mode,
        output=str(out_dir),
        layers=[p.name for p in written],
        counts={k: int(v) for k, v in sorted(counts.items()) if v},
        warnings=warnings,
        timings=timings,
        options={k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg.run).items()},
        inputs={k: str(v.path) for k, v in cfg.inputs.items()},
    )
    summary.options["scenarios"] = {k: list(v) for k, v in cfg.scenarios.items()}
    summary.options["modelled_classes"] = list(cfg.modelled)
    summary.options["platform"] = (
        f"{platform.system()} {platform.machine()} Python {sys.version.split()[0]}"
    )
    _json_atomic(summary_path, summary.to_dict())
    return summary


__all__ = ["ConfigError", "InputError", "RunSummary", "run"]
