"""Prior sensitivity by power-scaling (Kallioinen et al. 2024): ArviZ's ``psense`` estimator,
computed by :mod:`hierbayes.results.power_scaling`.

Each reported parameter's own prior (the joint ``b`` prior, a user's ``b:x`` prior, the
intercept's, each group sd's, a term's LKJ(eta != 1) correlations, the residual sd's) is
raised to a power near 1, and so is the likelihood; the change in the posterior (cumulative
Jensen-Shannon distance per unit of log power, by Pareto-smoothed importance sampling: no
refit) measures how much each decides the parameter. As priorsense: prior sensitivity >= 0.05 with likelihood sensitivity
>= 0.05 is a prior-data conflict, without it a strong prior (or weak likelihood).

The log priors are computed in numpy from the posterior draws and the resolved priors (up
to constants, which cancel in the importance weights); the log-likelihood is summed per
draw (:mod:`.summed_loglik`: from cross-products for a gaussian model with one group term or
none, else the pointwise one of ``fit.idata``, which ``fit.loo()`` needs anyway). Cost
(4 x 1000 draws): sleepstudy 0.25 s, dialyzer (14 parameters) 0.18 s, gcse (4,059 rows)
1.6 s before the gaussian sum, 0.2 s with it. ``fit.summary()`` runs it up to
``SUMMARY_MAX_ELEMENTS`` log-likelihood values and says when it did not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..design.types import Design
from ..errors import PriorError, SamplingError
from ..families import get_family
from ..params import CENTRED_INTERCEPT, FIXED_DIM, block_names
from ..priors import JOINT_SOURCE, Prior, PriorTable
from ..priors.residual import residual_prior_classes
from ..results.power_scaling import power_scaling_sensitivity
from ..spec.ir import ModelSpec
from .summed_loglik import summed_log_likelihood, sums_without_rows

#: Sensitivity (CJS distance per unit of log power) above which a component decides.
THRESHOLD = 0.05
#: The summary checks sensitivity only up to this many draws x rows of log-likelihood.
SUMMARY_MAX_ELEMENTS = 20_000_000
CONFLICT = "prior-data conflict"
STRONG = "strong prior / weak likelihood"


def log_density(prior: Prior, x: np.ndarray) -> np.ndarray:
    """Log density of ``prior`` at ``x`` up to an additive constant (elementwise)."""
    p = {k: np.asarray(v, dtype=float) for k, v in prior.kwargs.items()}
    x = np.asarray(x, dtype=float)
    match prior.dist:
        case "Normal":
            return -0.5 * ((x - p["mu"]) / p["sigma"]) ** 2
        case "StudentT":
            return -(p["nu"] + 1) / 2 * np.log1p(((x - p["mu"]) / p["sigma"]) ** 2 / p["nu"])
        case "Cauchy":
            return -np.log1p(((x - p["alpha"]) / p["beta"]) ** 2)
        case "HalfNormal":
            return -0.5 * (x / p["sigma"]) ** 2
        case "HalfStudentT":
            return -(p["nu"] + 1) / 2 * np.log1p((x / p["sigma"]) ** 2 / p["nu"])
        case "HalfCauchy":
            return -np.log1p((x / p["beta"]) ** 2)
        case "Exponential":
            return -p["lam"] * x
        case "Gamma":
            return (p["alpha"] - 1) * np.log(x) - p["beta"] * x
        case "Beta":
            return (p["alpha"] - 1) * np.log(x) + (p["beta"] - 1) * np.log1p(-x)
        case "LogNormal":
            # as the normal on log x it is (the scale the sampler moves on): the density on x adds
            # -log x, which no widening removes, so a wider prior never cleared the flag (nlme's
            # Machines with varIdent: sigma_ratio's sensitivity 0.069 -> 0.090 from LogNormal(0, 2))
            return -0.5 * ((np.log(x) - p["mu"]) / p["sigma"]) ** 2
        case "InverseGamma":
            # on log x too (the range is sampled on it): the density on x adds -log x, which
            # flagged nlme's BodyWeight with corExp under the default InverseGamma(1, 7)
            # (exp_range 0.061; 0.044 on log x) and under any wider prior that keeps the mode
            return -p["alpha"] * np.log(x) - p["beta"] / x
        case "Uniform":
            return np.where((x >= p["lower"]) & (x <= p["upper"]), 0.0, -np.inf)
    raise PriorError(
        f"power-scaling has no log density for a {prior.dist} prior ({prior}); correlations are not checked"
    )


def _rows(posterior: xr.Dataset, spec, priors: PriorTable, design: Design | None = None):
    """(label, prior key, source, component, draws (chain, draw), prior) per checked parameter and
    {component: log prior draws}."""
    rows, components = [], {}
    sources = {e.address.key(): e.source for e in priors.entries}
    if CENTRED_INTERCEPT in posterior and "Intercept" in sources:
        components["Intercept"] = log_density(priors.get("Intercept"), posterior[CENTRED_INTERCEPT].values)
        rows.append(("Intercept", "Intercept", sources["Intercept"], "Intercept", posterior["Intercept"].values,
                     priors.get("Intercept")))
    if "b" in posterior:
        b = posterior["b"]
        terms = [str(t) for t in b.coords[FIXED_DIM].values]
        joint = priors.joint
        if joint is not None:
            draws = np.stack([b.sel({FIXED_DIM: t}).values for t in joint.terms], axis=-1)
            components["b"] = joint.log_density(draws)
        for t in terms:
            key = f"b:{t}"
            component = "b" if joint is not None and t in joint.terms else key
            prior = priors.get("b", None, t)
            if component != "b":
                components[key] = log_density(prior, b.sel({FIXED_DIM: t}).values)
            rows.append((t, key, sources[key], component, b.sel({FIXED_DIM: t}).values, prior))
    for term, names in zip(spec.groups, block_names(spec)):
        if names.sd not in posterior:
            continue
        sd = posterior[names.sd]
        if names.column_dim not in sd.dims:
            key, prior = f"sd:{term.group}", priors.get("sd", term.group)
            components[key] = log_density(prior, sd.values)
            rows.append((f"sd({term.group})", key, sources[key], key, sd.values, prior))
            continue
        for col in sd.coords[names.column_dim].values:
            key = f"sd:{term.group}:{col}"
            values, prior = sd.sel({names.column_dim: col}).values, priors.get("sd", term.group, str(col))
            components[key] = log_density(prior, values)
            rows.append((f"sd({term.group}: {col})", key, sources[key], key, values, prior))
        if f"cor:{term.group}" in sources and names.cor in posterior:
            _correlation_rows(posterior, names, term.group, priors.get("cor", term.group), sources, rows, components)
    for name in get_family(spec.family).aux:
        if name in posterior and posterior[name].ndim == 2 and name in sources:
            components[name] = log_density(priors.get(name), posterior[name].values)
            rows.append((name, name, sources[name], name, posterior[name].values, priors.get(name)))
    if design is not None:
        _residual_rows(posterior, priors, design, sources, rows, components)
    return rows, components


def _correlation_rows(posterior: xr.Dataset, names, group: str, prior: Prior, sources: dict, rows: list,
                      components: dict) -> None:
    """One row per correlation of a term under its LKJ(eta) prior, whose log density is
    (eta - 1) log det R; LKJ(1) is uniform, and power-scaling a constant changes nothing."""
    key = f"cor:{group}"
    if prior.dist != "LKJ" or float(prior.kwargs.get("eta", 1.0)) == 1.0:
        return
    cor = posterior[names.cor]
    columns = [str(c) for c in cor.coords[names.column_dim].values]
    matrices = cor.transpose("chain", "draw", names.column_dim, names.column_dim_bis).values
    components[key] = (float(prior.kwargs["eta"]) - 1.0) * np.linalg.slogdet(matrices)[1]
    for i in range(len(columns)):
        for j in range(i):
            rows.append((f"cor({group}: {columns[j]}, {columns[i]})", key, sources[key], key,
                         matrices[..., i, j], prior))


#: Priors whose power-scaling leaves the posterior as it is (a constant log density inside
#: the support): not checked. (LKJ priors of group terms are, in :func:`_correlation_rows`.)
_NOT_SCALED = ("Uniform", "LKJ")


def _residual_rows(posterior: xr.Dataset, priors: PriorTable, design: Design, sources: dict,
                   rows: list, components: dict) -> None:
    """The rows of the residual structure's parameters (``exp_range``, ``sigma_ratio``, ...;
    one per ``by=`` level, all under the one prior of their class)."""
    for name in residual_prior_classes(design):
        if name not in posterior or name not in sources or priors.get(name).dist in _NOT_SCALED:
            continue
        prior, draws = priors.get(name), posterior[name]
        extra = [d for d in draws.dims if d not in ("chain", "draw")]
        if len(extra) > 1:
            continue
        levels = [None] if not extra else [str(v) for v in draws.coords[extra[0]].values]
        per_level = [draws.values] if not extra else [draws.isel({extra[0]: i}).values for i in range(len(levels))]
        components[name] = sum(log_density(prior, v) for v in per_level)
        for level, values in zip(levels, per_level):
            rows.append((name if level is None else f"{name}[{level}]", name, sources[name], name, values, prior))


def _summed_log_likelihood(idata: xr.DataTree, spec: ModelSpec, design: Design) -> np.ndarray:
    """log p(y | draw) summed over rows, (chain, draw)."""
    if "log_likelihood" in idata.children and not sums_without_rows(spec, design):
        ll = idata["log_likelihood"]["y"]
        return ll.sum([d for d in ll.dims if d not in ("chain", "draw")]).values
    return summed_log_likelihood(idata.posterior.to_dataset(), spec, design)


def prior_sensitivity(idata: xr.DataTree, spec: ModelSpec, design: Design, priors: PriorTable,
                      threshold: float = THRESHOLD) -> pd.DataFrame:
    """Power-scaling sensitivity of the fixed effects, group sds, family parameters and the
    residual structure's parameters (those whose prior is not uniform: ``exp_range``,
    ``sigma_ratio``).

    Parameters
    ----------
    idata : the fit's draws (its ``log_likelihood`` group is used when present).
    spec, design, priors : the fitted model's spec, design and resolved priors.
    threshold : sensitivity from which a parameter is diagnosed.

    Returns
    -------
    DataFrame
        One row per parameter (index): ``prior`` and ``likelihood`` sensitivity,
        ``diagnosis`` ("prior-data conflict", "strong prior / weak likelihood" or ""),
        ``source`` of its prior ("default", "default (joint)", "user (...)") and the
        ``key`` that overrides it in ``Model(priors={...})``.
    """
    posterior = idata.posterior.to_dataset()
    rows, components = _rows(posterior, spec, priors, design)
    columns = ["prior", "likelihood", "diagnosis", "source", "key"]
    if not rows:
        return pd.DataFrame(columns=columns)
    labels = [r[0] for r in rows]
    theta = np.stack([r[4] for r in rows], axis=-1)  # (chain, draw, parameter)
    likelihood = _sensitivity(theta, _summed_log_likelihood(idata, spec, design), "likelihood")
    prior = np.full(len(rows), np.nan)
    for component, log_prior in components.items():
        idx = [i for i, r in enumerate(rows) if r[3] == component]
        prior[idx] = _sensitivity(theta[..., idx], log_prior, "prior")
    diagnosis = [
        (CONFLICT if lik >= threshold else STRONG) if pri >= threshold else ""
        for pri, lik in zip(prior, likelihood)
    ]
    table = pd.DataFrame(
        {"prior": prior, "likelihood": likelihood, "diagnosis": diagnosis,
         "source": [r[2] for r in rows], "key": [r[1] for r in rows]},
        index=pd.Index(labels, name="parameter"),
    )
    table.attrs["threshold"] = threshold
    table.attrs["priors"] = {r[1]: r[5] for r in rows}
    table.attrs["near_zero"] = [r[1] for r in rows if r[1].startswith("sd:")
                                and np.quantile(r[4], 0.025) < NEAR_ZERO * np.median(r[4])]
    n_levels = {block.group: int(block.n_levels) for block in design.groups}
    table.attrs["levels"] = {e.address.key(): (e.address.group, n_levels[e.address.group])
                             for e in priors.entries if e.address.kind == "sd" and e.address.group in n_levels}
    return table


def _sensitivity(theta: np.ndarray, log_component: np.ndarray, group: str) -> np.ndarray:
    """Power-scaling sensitivity of ``theta``'s columns; the ValueError on log densities that
    do not vary (as when a chain never moved) becomes a SamplingError saying so."""
    try:
        return power_scaling_sensitivity(theta, log_component)
    except ValueError as exc:
        raise SamplingError(
            f"prior sensitivity (power-scaling of the {group}) cannot be computed: {exc}; "
            "this happens when the log densities barely vary over the draws, as when a chain did not "
            "move (see fit.diagnostics)"
        ) from None


def dominated_by_default(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of :func:`prior_sensitivity` where a default prior decides."""
    out = table[(table["diagnosis"] != "") & table["source"].str.startswith("default")]
    out.attrs = dict(table.attrs)
    return out


#: A group sd whose 2.5% quantile is below this share of its median: the data allow it to be 0
#: (lme4's boundary, singular fit; Dyestuff2's 0.047), and the prior decides how far above 0 it is.
NEAR_ZERO = 0.1

#: A group factor with at most this many levels: the data cannot pin its sd down, however many
#: rows each level has (Gelman 2006), so no prior is "not informative" there.
FEW_LEVELS = 5


def _few_level_groups(table: pd.DataFrame) -> dict[str, int]:
    """{factor: levels} for the flagged sds of factors with at most FEW_LEVELS levels."""
    levels = table.attrs.get("levels", {})  # sd key -> (factor, levels)
    return {levels[key][0]: levels[key][1] for key in table["key"]
            if key in levels and levels[key][1] <= FEW_LEVELS}


#: Family parameters whose likelihood flattens toward a limiting family (negbinomial's phi
#: toward Poisson counts, student's nu toward normal errors): a wider prior is no remedy.
#: The second prior suggested differs from the default (nu's is brms' Gamma(2, 0.1), mean 20).
LIMIT_FAMILY = {"phi": ("poisson", "Poisson counts", "alpha=2, beta=0.1"),
                "nu": ("gaussian", "normal errors", "alpha=2, beta=0.2")}


def _scale(prior) -> str:
    return f"{float(prior.kwargs.get('sigma', 1.0)):.3g}"


def wider_inverse_gamma(alpha: float, beta: float) -> dict[str, float]:
    """The parameters of an InverseGamma prior wider than InverseGamma(``alpha``, ``beta``):
    both divided by 4, so the density of log x (the scale it is sampled and checked on,
    :func:`log_density`) is the current one to the power 1/4, with the same mode
    ``log(beta / alpha)``, as a log-normal's doubled sigma is.

    The exponential correlation's range has no scale parameter to multiply (its default
    InverseGamma(1, gap)), and the advice had printed ``hb.Prior(...)``. A tempered prior's
    power-scaling sensitivity is a quarter of the prior's, so the advice clears the note.

    Parameters
    ----------
    alpha, beta : the prior's shape and scale, both positive.

    Returns
    -------
    dict
        ``{"alpha": alpha / 4, "beta": beta / 4}``.
    """
    return {"alpha": alpha / 4.0, "beta": beta / 4.0}


def advice(table: pd.DataFrame) -> str:
    """What to pass instead, naming the keys of the dominated parameters. For the sd of a
    factor with few levels, which any prior decides, it says so and asks for a comparison
    under a second prior rather than a wider one (which brings back the divergences a
    few-level sd's long tail causes)."""
    few = _few_level_groups(table)
    levels = table.attrs.get("levels", {})
    few_keys = [key for key in dict.fromkeys(table["key"]) if key in levels and levels[key][1] <= FEW_LEVELS]
    near_zero = [key for key in dict.fromkeys(table["key"]) if key in table.attrs.get("near_zero", ()) and
                 key not in few_keys]
    parts = []
    limits = [key for key in dict.fromkeys(table["key"]) if key in LIMIT_FAMILY]
    for key in dict.fromkeys(table["key"]):  # a prior shared by several rows (sigma_ratio[level]) once
        if key in LIMIT_FAMILY or key in few_keys or key in near_zero:  # a wider prior moves them out
            continue
        current = table.attrs["priors"][key]
        if current.dist == "LKJ":  # uniform over the correlations: brms' and rstanarm's default
            parts.append(f"'{key}': hb.Prior('LKJ', eta=1)")
        elif "sigma" in current.kwargs:
            # a log-normal's sigma is on the log scale: doubled, its 95% range is squared
            factor = 2 if current.dist == "LogNormal" else 10
            wider = {k: (factor * v if k == "sigma" else v) for k, v in current.kwargs.items()}
            args = ", ".join(f"{k}={float(v):.3g}" for k, v in wider.items())
            parts.append(f"'{key}': hb.Prior({current.dist!r}, {args})")
        elif current.dist == "InverseGamma":  # exp_range: no scale to multiply; tempered
            wider = wider_inverse_gamma(float(current.kwargs["alpha"]), float(current.kwargs["beta"]))
            parts.append(f"'{key}': hb.Prior('InverseGamma', alpha={wider['alpha']:.3g}, beta={wider['beta']:.3g})")
        else:
            parts.append(f"'{key}': hb.Prior(...)")
    joint = "; model.priors shows the joint b prior" if JOINT_SOURCE in set(table["source"]) else ""
    text = (
        f"Default priors decide these parameters (power-scaling sensitivity >= "
        f"{table.attrs.get('threshold', THRESHOLD)}{joint})."
        + (" If that is not intended, pass wider priors, e.g. priors={" + ", ".join(parts) + "};" if parts else "")
        + " fit.prior_sensitivity() has the full table."
    )
    for key in limits:
        family, what, second = LIMIT_FAMILY[key]
        text += (
            f" '{key}' grows without bound as the data approach {what}, and then any prior decides how "
            f"large it is: a wider one does not help (it moves '{key}' further out). Compare the fit "
            f"with family={family!r}, or report it under a second plausible prior, e.g. "
            f"priors={{'{key}': hb.Prior('Gamma', {second})}}."
        )
    if near_zero:
        second = ", ".join(f"'{key}': hb.Prior('HalfNormal', sigma={_scale(table.attrs['priors'][key])})"
                           for key in near_zero)
        text += (
            f" {'But the' if parts or limits else 'The'} data allow {', '.join(repr(k) for k in near_zero)} to be 0 "
            "(lme4 would report a boundary, singular fit): the prior decides how far above 0 it lies, and a wider "
            "one moves it further out. Keep the default, or drop the term, and report how the results change "
            f"under a second plausible prior, e.g. priors={{{second}}}."
        )
    if few:
        named = ", ".join(f"'{g}' has {n} levels" for g, n in few.items())
        lighter = ", ".join(f"'{key}': hb.Prior('HalfNormal', sigma={_scale(table.attrs['priors'][key])})"
                            for key in few_keys)
        text += (
            f" {'But ' if parts or limits else ''}{named}: so few levels cannot determine a group sd, and any "
            "prior on it shapes the answer. Keep a prior that rules out implausibly large sds (a wider one "
            "lets the sampler into a tail where it diverges, and moves the sd out), and report how the "
            f"results change under a second plausible one, e.g. priors={{{lighter}}} (or model the factor "
            "as a fixed effect)."
        )
    return text  # one line: the text summary wraps it, HTML flows it
