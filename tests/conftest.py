"""Shared test helpers: reference numbers and small, seeded fits."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

# Tests are laid out like the package (tests/spec, tests/design, ...). A few test modules share
# cached fits or tables with a sibling folder's module (``from test_predict import sleep_fit``):
# each folder is importable by module name, as pytest itself imports them (rootdir-less,
# "prepend" mode), so a shared module is imported once.
for _folder in sorted(Path(__file__).parent.iterdir()):
    if _folder.is_dir() and any(_folder.glob("test_*.py")) and str(_folder) not in sys.path:
        sys.path.append(str(_folder))

REFS = Path(__file__).parent / "refs"
# Small but honest: 4 chains x 500 draws gives posterior means to ~0.05 posterior sd.
DRAWS = int(os.environ.get("HB_TEST_DRAWS", 500))
TUNE = int(os.environ.get("HB_TEST_TUNE", 500))


def load_ref(engine: str, name: str) -> dict:
    return json.loads((REFS / engine / f"{name}.json").read_text())


def lme4_fixed(ref: dict) -> dict[str, float]:
    return {("Intercept" if e["term"] == "(Intercept)" else e["term"]): e["estimate"] for e in ref["fixed_effects"]}


def fit_quiet(model, **kwargs):
    kwargs.setdefault("draws", DRAWS)
    kwargs.setdefault("tune", TUNE)
    kwargs.setdefault("chains", 4)
    kwargs.setdefault("random_seed", 1)
    kwargs.setdefault("progressbar", False)
    return model.fit(**kwargs)


@pytest.fixture(scope="session")
def sleepstudy():
    import hierbayes as hb

    return hb.datasets.load("sleepstudy")


@pytest.fixture(scope="session")
def gcse():
    import hierbayes as hb

    df = hb.datasets.load("gcse")
    return df[df["nstu"] > 4].reset_index(drop=True)
