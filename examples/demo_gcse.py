"""The Stata model `xtmixed gcse lrt || school: lrt, cov(unstructured) mle` on the
Rabe-Hesketh & Skrondal gcse data (schools with more than 4 students), fitted with NUTS.

Run: make demo   (or: .venv/bin/python examples/demo_gcse.py [output-folder])
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import hierbayes as hb  # noqa: E402


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    df = hb.datasets.load("gcse")
    df = df[df["nstu"] > 4]
    print(f"gcse: {len(df)} students in {df['school'].nunique()} schools (nstu > 4)\n")
    model = hb.Model("gcse ~ lrt + (lrt | school)", data=df)
    print("Priors:")
    print(model.priors, "\n")
    start = time.perf_counter()
    fit = model.fit(draws=1000, tune=1000, chains=4, random_seed=1)
    print(f"\nfitted in {time.perf_counter() - start:.1f} s\n")
    print(fit.summary())
    print(
        "\nStata (xtmixed ..., mle): lrt .5568, _cons -.1078, sd(lrt) .1205, sd(_cons) 3.013, "
        "corr .497, sd(Residual) 7.442"
    )
    fig = hb.plots.caterpillar(fit, group="school", term="Intercept")
    path = out / "gcse_school_effects.png"
    fig.savefig(path, dpi=120)
    print(f"\ncaterpillar plot of the school intercepts: {path}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("report"))
