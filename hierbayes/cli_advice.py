"""Advice written for Python (``fit(tune=2000)``, ``priors={...}``, ``fit.logo('g')``) in the
command line's and the model file's terms, for warnings and errors the CLI shows."""

from __future__ import annotations

import re

__all__ = ["cli_advice"]

#: fit()'s arguments that are options of `hierbayes fit` (random_seed is --seed)
_FLAGS = {"draws": "--draws", "tune": "--tune", "chains": "--chains", "cores": "--cores", "random_seed": "--seed",
          "sampler": "--sampler"}


def cli_advice(text: str) -> str:
    """``text`` with the Python calls its advice names rewritten for a CLI user: ``fit(tune=2000,
    draws=2000)`` -> ``--tune 2000 --draws 2000``, ``fit(target_accept=0.99)`` -> ``target_accept =
    0.99 in [sampler]``; ``priors={...}``, ``missing=...`` and ``parameterization=...`` point to
    the model file's tables; ``new_groups='zero'`` -> ``--new-groups zero``, ``groups='exclude'`` ->
    ``--groups exclude`` and leave-one-group-out (``fit.logo('g')``, ``compare(fits, group='g')``,
    ``reloo=True``) -> ``hierbayes compare ... --group g [--reloo]``; ``fit.summary(exponentiate=True)``
    -> ``hierbayes summary REPORT --exponentiate``."""
    def fit_call(match: re.Match) -> str:
        pairs = [p.split("=", 1) for p in match.group(1).split(",") if "=" in p]
        flags = [f"{_FLAGS[k.strip()]} {v.strip()}" for k, v in pairs if k.strip() in _FLAGS]
        keys = [f"{k.strip()} = {v.strip()}" for k, v in pairs if k.strip() not in _FLAGS]
        parts = ([" ".join(flags)] if flags else []) + ([f"{', '.join(keys)} in [sampler] of the model file"] if keys else [])
        return " or ".join(parts) if parts else match.group(0)

    def prior(match: re.Match) -> str:  # 'key': hb.Prior('Dist', a=1) -> 'key' = { dist = 'Dist', a = 1 }
        args = "".join(f", {k.strip()} = {v.strip()}" for k, v in
                       (a.split("=", 1) for a in match.group(3).split(",") if "=" in a))
        return f"{match.group(1)} = {{ dist = {match.group(2)}{args} }}"

    text = re.sub(r"\bfit\.summary\(exponentiate=True\)( and fit\.fixef\(exponentiate=True\) show\b)?",
                  lambda m: "hierbayes summary REPORT --exponentiate" + (" shows" if m.group(1) else ""), text)
    text = re.sub(r"\bexponentiate=True\b", "--exponentiate", text)
    text = re.sub(r"\bfit\(([^()]*=[^()]*)\)", fit_call, text)
    text = re.sub(r"\bModel\(\.\.\., parameterization=(\{[^}]*\}|'[^']*')\)",  # {'g': 'x'} -> { g = 'x' }
                  lambda m: f"parameterization = {re.sub(r"'([^']+)': ", r'\1 = ', m.group(1))} in [model]", text)
    text = re.sub(r"\bmissing='(\w+)'", r"missing = '\1' in [data]", text)
    text = re.sub(r"\bnew_groups='(\w+)'", r"--new-groups \1", text)
    text = re.sub(r"\bgroups='(\w+)' \(hierbayes predict --groups \w+\)", r"--groups \1", text)
    text = re.sub(r"\bgroups='(include|exclude|marginal)'", r"--groups \1", text)
    text = re.sub(r"\bgroups=\[([^\]]*)\]", lambda m: "--groups " + ",".join(re.findall(r"'([^']+)'", m.group(1))), text)
    text = re.sub(r" \(brms's reloo; fit\.logo\([^()]*\) shows (?:it|them) alone\)", " (brms's reloo)", text)
    text = re.sub(r"\bcompare\(fits, group='([^']+)', reloo=True\)", r"hierbayes compare FIT FIT ... --group \1 --reloo", text)
    text = re.sub(r"\bfit\.logo\('([^']+)', reloo=True\)", r"hierbayes compare FIT --group \1 --reloo", text)
    text = re.sub(r"\bcompare\(fits, group='([^']+)'\)", r"hierbayes compare FIT FIT ... --group \1", text)
    text = re.sub(r"\bfit\.logo\('([^']+)'\)", r"hierbayes compare FIT --group \1", text)
    text = re.sub(r"\bmethod='(integrated|psis|exact)'", r"--method \1", text)
    text = re.sub(r"\bfit\.loo\(\)", "hierbayes compare FIT", text)
    text = re.sub(r"('[^']+'): hb\.Prior\(('[^']+'),?\s*([^)]*)\)", prior, text)
    return re.sub(r"\bpriors=\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}", r"[priors] \1 in the model file", text)
