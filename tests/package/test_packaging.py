"""The conda recipe asks for what pyproject.toml asks for (the two are kept by hand)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
# PyPI name -> conda-forge name where they differ
CONDA_NAMES = {"matplotlib": "matplotlib-base", "dask": "dask-core"}


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9_.-]+", requirement)
    assert match, requirement
    return match.group(0).lower()


def _recipe_section(text: str, section: str) -> set[str]:
    # the entries of "  run:" or "  run_constraints:" (flat lists, "- name >=version")
    block = re.search(rf"^  {section}:\n((?:    .*\n)+)", text, re.MULTILINE)
    assert block, section
    names = re.findall(r"^\s+(?:- |then: )([A-Za-z0-9_.-]+)", block.group(1), re.MULTILINE)
    return {n.lower() for n in names if n not in ("if", "python")}


def test_conda_recipe_has_every_dependency_of_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    recipe = (ROOT / "packaging" / "conda" / "recipe.yaml").read_text()
    run = _recipe_section(recipe, "run")
    wanted = {CONDA_NAMES.get(n, n) for n in map(_name, project["dependencies"])}
    assert wanted == run, (sorted(wanted - run), sorted(run - wanted))
    constraints = _recipe_section(recipe, "run_constraints")
    extras = project["optional-dependencies"]
    optional = {
        CONDA_NAMES.get(n, n)
        for extra in ("prepare", "report", "dask", "xarray")
        for n in map(_name, extras[extra])
    }
    assert optional == constraints, (sorted(optional - constraints), sorted(constraints - optional))
