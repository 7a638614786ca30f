"""The package as pip installs it: its files, its metadata, its command line's start-up.

.ci/wheel runs this file against the installed wheel with GSOCSEQ_EXPECT_INSTALLED set to the
fresh virtual environment, so that a test run which silently imported the source tree fails.
"""

from __future__ import annotations

import os
from importlib import metadata, resources
from pathlib import Path

import gsocseq
import gsocseq._core

PACKAGE = Path(gsocseq.__file__).resolve().parent


def test_imported_from_the_expected_place() -> None:
    expected = os.environ.get("GSOCSEQ_EXPECT_INSTALLED")
    if expected:
        prefix = Path(expected).resolve()
        assert PACKAGE.is_relative_to(prefix), f"gsocseq imported from {PACKAGE}, not {prefix}"
        assert "site-packages" in PACKAGE.parts, PACKAGE
    # the extension module sits in the package it belongs to (wheel or editable build)
    assert Path(gsocseq._core.__file__).resolve().parent == PACKAGE


def test_files_a_wheel_must_carry() -> None:
    assert (PACKAGE / "py.typed").is_file()
    assert (PACKAGE / "_core.pyi").is_file()
    example = resources.files("gsocseq") / "data" / "rothamsted" / "RothC_input.dat"
    assert example.is_file()
    assert example.read_text().strip()


def test_metadata_agrees_with_the_extension() -> None:
    # the version is the Rust crates' one, read by maturin and compiled into _core
    assert metadata.version("gsocseq") == gsocseq.__version__ == gsocseq._core.__version__
    distribution = metadata.distribution("gsocseq")
    scripts = [e.value for e in distribution.entry_points if e.group == "console_scripts"]
    assert scripts == ["gsocseq.cli:main"]
    # the extras the install docs name
    extras = set(distribution.metadata.get_all("Provides-Extra") or [])
    assert {"prepare", "report", "dask", "xarray", "test"} <= extras, extras
