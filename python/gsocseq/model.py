"""All phases for the modelled pixels of a block, in one call into the Rust core."""

from __future__ import annotations

from typing import Any

import numpy as np

from gsocseq import _core, classes
from gsocseq.config import Config
from gsocseq.forward import scenario_table

#: bits of the per-pixel flags returned by the core
FLAGS = {
    1: "spin-up deficit not periodic after 1,000 years",
    2: "a run ended with a negative pool",
    4: "fao-v1.2 warm-up Euler unstable (DPM amplification > 1)",
    8: "fao-v1.2 forward Euler unstable (DPM amplification > 1)",
    16: "pedotransfer DPM negative",
    32: "iterative spin-up not converged",
    64: "a warm-up year's class has no coefficients",
    128: "a result is not finite",
}


def simulate(
    config: Config, arrays: dict[str, np.ndarray], threads: int | None = None
) -> dict[str, Any]:
    """Run spin-up, warm-up and forward phases for the (n, ...) arrays of a block."""
    _, coef, paddy, group = classes.lookup_tables()
    _, table, uncertain = scenario_table(config)
    run = config.run
    horizons = list(config.all_horizons)
    return _core.simulate(
        mode=run.mode,
        spinup=run.spinup,
        numerical_pools=run.numerical_pools,
        horizons=horizons,
        main_horizon=horizons.index(run.years),
        steady_state=run.steady_state,
        mc_samples=run.samples if run.uncertainty == "montecarlo" else 0,
        mc_seed=run.seed,
        scenarios=table,
        uncertainty=run.uncertainty != "none",
        fao_uncertain_scenario=uncertain,
        depth=run.depth,
        evap_coefficient=1.0,
        class_coef=coef,
        class_paddy=paddy,
        class_group=group,
        threads=run.threads if threads is None else threads,
        **arrays,
    )
