"""The core's Simulator as the binding offers it: built once per run, one call per block, every
array of a block named (a misspelt key is an error), the dryland moisture options and the
calibration multipliers passed through, picklable."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from gsocseq import _core
from gsocseq.errors import GsocseqError
from gsocseq.inputs import WindowBands
from gsocseq.rasters import windows

from ..synthetic import make_area


@pytest.fixture(scope="module")
def block(tmp_path_factory):
    from gsocseq.config import from_dict

    from ..blocks import read_block

    config = from_dict(make_area(tmp_path_factory.mktemp("sim"), rows=4, cols=9, seed=7))
    chain, block = read_block(config, next(windows(4, 9, 16)))
    arrays = {k: v.to_array() if isinstance(v, WindowBands) else v for k, v in block.arrays.items()}
    return chain.simulator, arrays


def same(a, b):
    return list(a) == list(b) and all(np.array_equal(a[k], b[k], equal_nan=True) for k in a)


def test_a_misspelt_array_is_an_error_not_ignored(block):
    sim, arrays = block
    with pytest.raises(KeyError, match="calibration_rates: not an array of a block"):
        sim.simulate(dict(arrays, calibration_rates=np.ones(len(arrays["soc"]))))


def test_dryland_moisture_and_calibration_pass_through(block):
    sim, arrays = block
    n = len(arrays["soc"])
    options = dict(sim.__getnewargs_ex__()[1], threads=1)
    dry = _core.Simulator(**dict(options, moisture="farina-2", min_moisture_rate=0.15))
    with pytest.raises(GsocseqError, match="silt and bulk_density: needed by moisture"):
        dry.simulate(arrays)
    soil = {"silt": np.full(n, 30.0), "bulk_density": np.full(n, 1.3)}
    standard = sim.simulate(arrays)
    dryland = dry.simulate(dict(arrays, **soil))
    assert np.isfinite(dryland.final_soc).all()
    assert not np.array_equal(dryland.final_soc, standard.final_soc)
    # the soil water is read by the dryland options only
    assert same(sim.simulate(dict(arrays, **soil)), standard)
    # multipliers of 1 change nothing; an input multiplier acts after the spin-up
    ones = {"calibration_input": np.ones(n), "calibration_rate": np.ones(n)}
    assert same(sim.simulate(dict(arrays, **ones)), standard)
    more = sim.simulate(dict(arrays, calibration_input=np.full(n, 1.2)))
    assert (more.soc_t0[:, 0] > standard.soc_t0[:, 0]).all()
    assert (more.final_soc[..., 0] > standard.final_soc[..., 0]).all()
    assert np.array_equal(more.ceq, standard.ceq)


def test_a_simulator_pickles_with_its_options(block):
    sim, arrays = block
    back = pickle.loads(pickle.dumps(sim))
    assert (back.mode, back.horizons) == (sim.mode, sim.horizons)
    assert same(back.simulate(arrays), sim.simulate(arrays))
    dry = _core.Simulator(
        **dict(sim.__getnewargs_ex__()[1], moisture="farina-3", bare_deficit="wilting-point")
    )
    kw = pickle.loads(pickle.dumps(dry)).__getnewargs_ex__()[1]
    assert (kw["moisture"], kw["bare_deficit"]) == ("farina-3", "wilting-point")


def test_a_simulator_pickles_with_its_refinements(block):
    """Input patterns, practices and the forward inputs survive pickling (Dask workers), and
    each changes the numbers (so a lost one would show)."""
    sim, arrays = block
    options = dict(sim.__getnewargs_ex__()[1], threads=1)
    scenarios = len(options["scenarios"])
    pattern = np.full((256, 12), np.nan)
    pattern[2] = [0.0] * 4 + [0.25] * 4 + [0.0] * 4
    pattern[3] = [0.2] * 2 + [0.06] * 10
    practices = [{}] + [
        {"fym": ("everywhere", 0.5), "rate_factor": ("group", [0.95, None, None])}
    ] * (scenarios - 1)
    refined = _core.Simulator(**dict(options, class_input_pattern=pattern, practices=practices))
    back = pickle.loads(pickle.dumps(refined))
    kw = back.__getnewargs_ex__()[1]
    assert np.array_equal(kw["class_input_pattern"], pattern, equal_nan=True)
    assert kw["practices"] == practices and kw["forward_inputs"] == "constant"
    got = refined.simulate(arrays)
    assert same(back.simulate(arrays), got)
    plain = sim.simulate(arrays)
    assert not np.array_equal(got.soc_t0, plain.soc_t0)
    # BAU (scenario 0) of the pattern alone equals the refined run's: the practices act on
    # the other scenarios only
    patterned = _core.Simulator(**dict(options, class_input_pattern=pattern)).simulate(arrays)
    assert np.array_equal(patterned.final_soc[:, :, 0], got.final_soc[:, :, 0])
    assert not np.array_equal(patterned.final_soc[:, :, 1:], got.final_soc[:, :, 1:])
    with pytest.raises(GsocseqError, match="practices: 1, expected one per scenario"):
        _core.Simulator(**dict(options, practices=[{}]))
    with pytest.raises(GsocseqError, match="forward_inputs"):
        _core.Simulator(**dict(options, forward_inputs="scaled"))


def test_options_left_out_take_the_core_defaults(block):
    """The binding restates no default: a Simulator of the four required options equals one
    given the core's documented defaults (30 cm, PET coefficient 1, second-run pools,
    RothC-26.3 moisture), pickles with what it was given, and refuses an unknown option."""
    sim, arrays = block
    given = sim.__getnewargs_ex__()[1]
    required = {k: given[k] for k in ("mode", "spinup", "horizons", "scenarios")}
    bare = _core.Simulator(**required, threads=1)
    documented = _core.Simulator(
        **required,
        threads=1,
        depth=30.0,
        evap_coefficient=1.0,
        numerical_pools="second-run",
        moisture="rothc-26.3",
        bare_deficit="standard",
        min_moisture_rate=0.2,
    )
    assert same(bare.simulate(arrays), documented.simulate(arrays))
    assert sorted(bare.__getnewargs_ex__()[1]) == sorted([*required, "threads"])
    with pytest.raises(TypeError, match="depht: not an option of a Simulator"):
        _core.Simulator(**required, depht=30.0)
