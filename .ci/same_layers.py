"""Exit 0 when two output folders hold the same raster layers bit for bit, else 1.

python same_layers.py A B: every GeoTIFF under A (recursively) must exist under B with the
same relative path, and the other way round; each pair must have the same bands, data type,
size, grid (transform and CRS), nodata value and the same bytes in every band. Used by
.ci/wheel to compare `gsocseq demo` run from the installed wheel with the source build's.
"""

from __future__ import annotations

import sys
from pathlib import Path

import rasterio


def layers(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*.tif")}


def differences(a: Path, b: Path) -> list[str]:
    names_a, names_b = layers(a), layers(b)
    problems = [f"only in {a}: {n}" for n in sorted(names_a - names_b)]
    problems += [f"only in {b}: {n}" for n in sorted(names_b - names_a)]
    if not names_a:
        problems.append(f"no GeoTIFF under {a}")
    for name in sorted(names_a & names_b):
        with rasterio.open(a / name) as ra, rasterio.open(b / name) as rb:
            meta_a = (ra.count, ra.dtypes, ra.shape, ra.transform, ra.crs, ra.nodata)
            meta_b = (rb.count, rb.dtypes, rb.shape, rb.transform, rb.crs, rb.nodata)
            if meta_a != meta_b:
                problems.append(f"{name}: {meta_a} != {meta_b}")
                continue
            for band in range(1, ra.count + 1):
                if ra.read(band).tobytes() != rb.read(band).tobytes():
                    problems.append(f"{name}: band {band} differs")
    return problems


def main() -> int:
    a, b = (Path(p) for p in sys.argv[1:3])
    problems = differences(a, b)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print(f"{len(layers(a))} layers bit-identical ({a} and {b})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
