"""The exception hierarchy (gsocseq.errors) and the core's errors across the binding."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest

from gsocseq import errors, rothc


def _run(**changes):
    kw = dict(
        pools=[0.5, 6.0, 0.8, 30.0, 3.0],
        temperature=np.full(12, 10.0),
        precipitation=50.0,
        evaporation=30.0,
        cover=0.6,
        plant_input=0.1,
        dpm_rpm=1.44,
        clay=20.0,
    )
    return rothc.run(**dict(kw, **changes))


def test_one_hierarchy():
    for cls in (
        errors.ConfigError,
        errors.OptionError,
        errors.InputError,
        errors.OutOfRangeError,
        errors.ShapeError,
        errors.OutputError,
        errors.FolderInUse,
    ):
        assert issubclass(cls, errors.GsocseqError), cls
        assert cls.exit_code == 2, cls
        assert cls.__module__ == "gsocseq.errors", cls
    # the array API's errors stay ValueErrors; input and output errors are not
    for cls in (errors.ConfigError, errors.OptionError, errors.OutOfRangeError, errors.ShapeError):
        assert issubclass(cls, ValueError), cls
    assert not issubclass(errors.InputError, ValueError)
    assert issubclass(errors.FolderInUse, errors.InputError)
    # the modules that raised them keep their names
    from gsocseq import config, folder, rasters

    assert config.ConfigError is errors.ConfigError
    assert rasters.InputError is errors.InputError
    assert folder.OutputError is errors.OutputError and folder.FolderInUse is errors.FolderInUse


def test_a_core_error_is_typed_pickles_and_names_its_argument():
    with pytest.raises(errors.OutOfRangeError) as info:
        _run(clay=np.array([20.0, 150.0]))
    e = info.value
    assert isinstance(e, ValueError) and isinstance(e, errors.InputError)
    assert (e.argument, e.location, e.value) == ("clay", "pixel 1", 150.0)
    assert "[0, 100] %" in e.expected and str(e).startswith("clay: value 150 at pixel 1")
    # a Dask worker's error reaches the client as it was raised
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is errors.OutOfRangeError
    assert (str(back), back.argument, back.value) == (str(e), "clay", 150.0)


def test_an_unknown_option_is_a_config_error():
    from gsocseq import _core

    with pytest.raises(errors.OptionError) as info:
        names = ("temperature", "precipitation", "evaporation", "cover", "rate_factor")
        monthly = {name: np.zeros((1, 12)) for name in names}
        pixels = {"clay": np.array([20.0]), "depth": np.array([23.0]), "iom": np.array([1.0])}
        _core.spinup("bogus", monthly, pixels, 0.75)
    assert isinstance(info.value, errors.ConfigError) and isinstance(info.value, ValueError)
    assert (info.value.argument, info.value.value) == ("method", "bogus")


def test_errors_import_nothing_heavy():
    code = (
        "import sys, gsocseq.errors; "
        "print(sorted(m for m in ('numpy', 'rasterio', 'click') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
