"""The README's Python examples run as written, and say what the README says they do."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def _examples() -> dict[str, str]:
    """Every ```python block of the README, by the heading of its section."""
    text = README.read_text(encoding="utf-8")
    out: dict[str, str] = {}
    heading = ""
    for block in re.finditer(r"^(#+ [^\n]*)$|^```python\n(.*?)^```", text, flags=re.M | re.S):
        if block.group(1):
            heading = block.group(1).lstrip("# ").strip()
        else:
            out[heading if heading not in out else f"{heading} ({len(out)})"] = block.group(2)
    return out


EXAMPLES = _examples()


def _run(code: str) -> tuple[dict[str, Any], str]:
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, str(README), "exec"), namespace)
    return namespace, printed.getvalue()


def test_the_examples_are_found() -> None:
    assert "RothC on numpy arrays" in EXAMPLES, list(EXAMPLES)


@pytest.mark.parametrize("section", sorted(EXAMPLES))
def test_every_example_runs(section: str) -> None:
    _run(EXAMPLES[section])


def test_rothc_example_holds_and_then_gains_carbon() -> None:
    ns, printed = _run(EXAMPLES["RothC on numpy arrays"])
    # the input found holds 45 t C/ha: 10 % more of it for 20 years gains carbon, less than
    # the 10 % of the active pools a new equilibrium would add
    total = ns["forward"].pools.sum(axis=1)
    assert total.shape == (3,)
    assert np.all(total > 45.0) and np.all(total < 45.0 * 1.1)
    assert np.allclose(ns["pools"].sum(axis=1), 45.0, rtol=1e-9)
    assert printed.strip() == str(total)
