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
#: Seconds of the slowest slow tests in a CI run (``make test-slow`` prints them); they are
#: started first.
SLOW_DURATIONS = Path(__file__).parent / "slow_durations.json"
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


def _module_scoped_fixtures(path: Path) -> frozenset[str]:
    """Names of the fixtures a test module defines with scope "module" or "session"."""
    import ast

    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Call) and ast.unparse(decorator.func).endswith("fixture") and any(
                k.arg == "scope" and isinstance(k.value, ast.Constant) and k.value.value in ("module", "session")
                for k in decorator.keywords
            ):
                names.add(node.name)
    return frozenset(names)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Tests that share a fixture their module builds once (a fit, usually) run on one xdist
    worker: ``--dist loadgroup`` had split them, and each worker fitted the model again (the
    families' five recovery fits, 2 minutes, twice in the slow suite). Each set of tests linked
    by such fixtures becomes an ``xdist_group``; tests already grouped keep their group."""
    by_module: dict[Path, list] = {}
    for item in items:
        if item.get_closest_marker("xdist_group") is None and hasattr(item, "fixturenames"):
            by_module.setdefault(Path(item.path), []).append(item)
    for path, module_items in by_module.items():
        shared = _module_scoped_fixtures(path)
        if not shared:
            continue
        root: dict[str, str] = {}

        def find(name: str) -> str:
            while root.setdefault(name, name) != name:
                name = root[name]
            return name

        uses = {item.nodeid: sorted(shared.intersection(item.fixturenames)) for item in module_items}
        for names in uses.values():
            for other in names[1:]:
                root[find(other)] = find(names[0])
        for item in module_items:
            if uses[item.nodeid]:
                item.add_marker(pytest.mark.xdist_group(f"{path.stem}:{find(uses[item.nodeid][0])}"))
    # longest first: xdist hands tests (and groups) out in this order, and a long test handed
    # out last (the README session is in the last folder) keeps one worker busy alone
    # (a group's tests stay together, ordered by its longest, so its fixtures are built once)
    seconds = json.loads(SLOW_DURATIONS.read_text()) if SLOW_DURATIONS.exists() else {}

    def scope(item) -> str:
        mark = item.get_closest_marker("xdist_group")
        return f"group {mark.args[0]}" if mark is not None and mark.args else item.nodeid

    longest: dict[str, float] = {}
    for item in items:
        key = scope(item)
        longest[key] = max(longest.get(key, 0.0), seconds.get(item.nodeid.split("@")[0], 0.0))
    items.sort(key=lambda item: -longest[scope(item)])
