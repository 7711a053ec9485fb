"""Summary text. A model with no group terms and no family parameter (bernoulli, poisson, exponential
survival) has no rows in varcorr: its summaries, HTML and report still work (they raised a
numpy reshape error from summarize())."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import hierbayes as hb
from hierbayes.errors import SpecError
from hierbayes.results.stats import STAT_COLUMNS


def _data() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    x = rng.normal(size=60)
    return pd.DataFrame({"x": x, "y": (rng.random(60) < 1 / (1 + np.exp(-x))).astype(int),
                         "n": rng.poisson(np.exp(0.5 + 0.3 * x)), "t": rng.exponential(np.exp(1 + 0.2 * x)),
                         "status": rng.integers(0, 2, 60)})


@pytest.mark.parametrize(("formula", "family"), [("y ~ x", "bernoulli"), ("n ~ x", "poisson"),
                                                 ("t | event(status) ~ x", "exponential")])
def test_summary_html_and_report_of_a_model_with_no_variance_parameters(formula, family, tmp_path):
    fit = hb.Model(formula, _data(), family=family).fit(backend="prior", draws=40, chains=2, random_seed=1,
                                                       progressbar=False)
    table = fit.varcorr()
    assert len(table) == 0 and list(table.columns) == ["group", "term", *STAT_COLUMNS]
    text = str(fit.summary())
    assert "Fixed effects" in text and "Group-level parameters" not in text
    assert "Fixed effects" in fit._repr_html_()
    fit.report(tmp_path / "report")
    assert (tmp_path / "report" / "index.html").exists()


def test_the_table_title_says_what_it_holds():
    data = _data().assign(t=lambda d: d["t"] + 0.1)
    fit = hb.Model("t ~ x", data, family="gamma").fit(backend="prior", draws=40, chains=2, random_seed=1,
                                                      progressbar=False)
    assert "Residual and family parameters" in str(fit.summary())
    # a gaussian without group terms has sd(Residual) alone: not a group-level table (tobin's tobit)
    plain = hb.Model("t ~ x", data).fit(backend="prior", draws=40, chains=2, random_seed=1, progressbar=False)
    assert "Residual and family parameters" in str(plain.summary()) and "Group-level" not in str(plain.summary())


def test_the_parameterization_line_names_interaction_groups_as_the_tables_do():
    rng = np.random.default_rng(2)
    data = pd.DataFrame({"a": np.repeat(["p", "q", "r"], 20), "b": np.tile(list("uvwxy"), 12)})
    data["y"] = rng.normal(size=len(data))
    fit = hb.Model("y ~ 1 + (1 | a) + (1 | a:b)", data).fit(backend="prior", draws=20, chains=1, random_seed=1,
                                                           progressbar=False)
    line = next(x for x in str(fit.summary()).splitlines() if x.startswith("Parameterization:"))
    assert "a:b " in line and "a_b" not in line


def test_a_small_coefficient_is_printed_in_one_format_with_its_r_name():
    # lme4 names the column of I(x^2) so; a coefficient of order 1e-4 is shown with the decimals
    # its sd needs (two significant digits), not rounded to 0.000 beside an sd in e-notation
    data = _data().assign(x=lambda d: 100 * d["x"] + 300)
    fit = hb.Model("t ~ x + I(x^2)", data, family="gamma").fit(backend="prior", draws=200, chains=2,
                                                               random_seed=1, progressbar=False)
    row = fit.fixef().loc["I(x^2)"]
    assert row["sd"] < 1e-3
    text = str(fit.summary())
    assert "Formula: t ~ x + I(x^2)" in text
    line = next(x for x in text.splitlines() if x.strip().startswith("I(x^2)"))
    assert "e-" not in line, line
    decimals = 1 - int(np.floor(np.log10(row["sd"])))
    assert f"{row['sd']:.{decimals}f}" in line.split() and f"{row['mean']:.{decimals}f}" in line.split()


@given(st.lists(st.text(alphabet="abcxyz(),.:'", min_size=1, max_size=30), min_size=1, max_size=40),
       st.sampled_from(["", "  ", "  ! "]))
def test_prose_lines_wrap_at_the_text_width_keeping_every_word(words, indent):
    from hierbayes.results.report import TEXT_WIDTH, wrap_prose

    line = indent + " ".join(words)
    parts = wrap_prose(line)
    assert " ".join(" ".join(parts).split()) == " ".join(line.split())  # nothing lost or reordered
    for part in parts:
        assert len(part) <= TEXT_WIDTH or len(part.split()) == 1 + (indent.strip() == "!" and part is parts[0])
    if len(parts) > 1:  # continuation lines sit under the text of a warning, else two past the indent
        expected = "    " if indent == "  ! " else indent + "  "
        assert all(p.startswith(expected) and not p[len(expected)].isspace() for p in parts[1:])


def test_a_long_warning_in_the_summary_is_wrapped_and_tables_are_not():
    from hierbayes.results.report import Summary

    df = _data()
    fit = hb.Model("y ~ x", data=df, family="bernoulli").fit(backend="prior", draws=20, chains=2, random_seed=1)
    summary = fit.summary()
    long_note = "word " * 40
    wide = Summary(summary.header, summary.sections, ("  ! " + long_note.strip(),))
    text = str(wide)
    warning = text.split("\n\n")[-1].splitlines()
    assert len(warning) > 1 and all(len(w) <= 88 for w in warning) and warning[1].startswith("    word")
    table_rows = [r for r in text.splitlines() if r.strip().startswith("Intercept")]
    assert table_rows and table_rows[0] in str(summary)


def test_the_diagnostics_line_breaks_between_fields_not_inside_them():
    from hierbayes.results.report import wrap_prose

    line = ("Diagnostics: divergences: 0   max R-hat: 1.014   min bulk ESS: 402   min tail ESS: 294   "
            "min E-BFMI: 0.94   max tree depth hits: 12")
    assert wrap_prose(line) == [
        "Diagnostics: divergences: 0   max R-hat: 1.014   min bulk ESS: 402   min tail ESS: 294",
        "  min E-BFMI: 0.94   max tree depth hits: 12",
    ]


@pytest.mark.parametrize(("family", "meaning"), [
    ("negbinomial", "phi: var = mu + mu^2 / phi, R's theta (glm.nb, glmer.nb; glmmTMB's nbinom2 sigma); "
                    "Stata's menbreg alpha is 1 / phi"),
    ("gamma", "shape: var = mu^2 / shape; R's glm dispersion (and glmmTMB's Gamma sigma^2) is 1 / shape"),
])
def test_family_parameters_say_what_other_software_calls_them(family, meaning):
    # Stata reports menbreg's alpha = 1 / phi: phi 0.92 read as alpha 1.06 is an easy mix-up
    df = _data().assign(n=lambda d: d["n"] + 1)
    fit = hb.Model("n ~ x", data=df, family=family).fit(backend="prior", draws=20, chains=2, random_seed=1)
    assert fit.varcorr().attrs["meaning"] == meaning
    assert " ".join(meaning.split()) in " ".join(str(fit.summary()).split())
    assert "meaning" not in hb.Model("t | event(status) ~ x", data=df, family="weibull").fit(
        backend="prior", draws=20, chains=2, random_seed=1).varcorr().attrs


def test_an_exponentiated_table_of_ratios_of_means_has_a_plural_title():
    df = _data().assign(n=lambda d: d["n"] + 1)
    fit = hb.Model("n ~ x", data=df, family="gamma").fit(backend="prior", draws=20, chains=2, random_seed=1)
    text = str(fit.summary(exponentiate=True))
    assert "(ratios of means)" in text and "meanss" not in text


@pytest.mark.parametrize(("covariance", "label"), [("exchangeable", "Subject (exchangeable covariance)"),
                                                   ("identity", "Subject (identity covariance)"),
                                                   ("unstructured", "Subject marginal")])
def test_a_covariance_the_formula_cannot_show_is_named(covariance, label):
    # Stata's covariance(exchangeable) had read as lme4's unstructured (1 + Days | Subject)
    data = hb.datasets.load("sleepstudy")
    fit = hb.Model("Reaction ~ Days + (Days | Subject)", data, covariance={"Subject": covariance}).fit(
        backend="prior", draws=20, chains=2, random_seed=1)
    (line,) = [x for x in str(fit.summary()).splitlines() if x.startswith("Parameterization:")]
    assert label in line


def test_a_tiny_estimate_is_printed_in_scientific_notation():
    # rats' weibull baseline hazard, exp(-shape * Intercept) ~ 1e-8, had read 0.00000001 / 0.00000000
    from hierbayes.results.report import fixed_section

    table = pd.DataFrame({"mean": [1.2e-8, 2.19], "sd": [3e-8, 0.7], "lower": [1e-10, 1.2], "upper": [9.3e-7, 4.06],
                          "r_hat": [1.0, 1.0], "ess_bulk": [2000.0, 3000.0]},
                         index=pd.Index(["Intercept", "rx"], name="term"))
    shown = fixed_section(table, "Fixed effects (hazard ratios)").table.set_index("term")
    assert list(shown.loc["Intercept", ["mean", "lower", "upper"]]) == ["1.200e-08", "1.000e-10", "9.300e-07"]
    assert list(shown.loc["rx", ["mean", "lower", "upper"]]) == ["2.190", "1.200", "4.060"]


def test_a_familys_shape_is_a_family_parameter_not_a_residual_variance_component():
    # varcorr had listed weibull's shape (and student's nu) under group "Residual", where lme4 and
    # brms users read only sigma; hypothesis() and the variance-components plot then took it for sigma
    data = _data().assign(g=np.repeat(list("abcdef"), 10))
    fit = hb.Model("t | event(status) ~ x + (1 | g)", data, family="weibull").fit(
        backend="prior", draws=40, chains=2, random_seed=1, progressbar=False)
    table = fit.varcorr()
    assert list(zip(table["group"], table["term"])) == [("g", "sd(Intercept)"), ("Family", "shape")]
    assert "Group-level, residual and family parameters" in str(fit.summary())
    shape = fit.posterior["shape"].values.ravel()
    assert fit.hypothesis("shape > 0")["estimate"].iloc[0] == pytest.approx(shape.mean())
    with pytest.raises(SpecError, match="unknown parameter 'sigma'"):
        fit.hypothesis("sigma > 0")  # a weibull has no sigma
    student = hb.Model("t ~ x + (1 | g)", data, family="student").fit(
        backend="prior", draws=40, chains=2, random_seed=1, progressbar=False)
    table = student.varcorr()
    assert list(zip(table["group"], table["term"]))[1:] == [("Residual", "sigma"), ("Family", "nu")]
    sigma = student.posterior["sigma"].values.ravel()  # had been nu's draws
    assert student.hypothesis("sigma > 0")["estimate"].iloc[0] == pytest.approx(sigma.mean())


@pytest.mark.parametrize(("command", "ratio"), [("melogit y x || g:, or", "odds ratio"),
                                                ("mepoisson n x || g:, irr", "incidence-rate ratio")])
def test_stata_or_and_irr_make_the_summary_show_ratios(command, ratio):
    # melogit, or: a Stata user expects the report in odds ratios, as Stata prints it
    df = _data().assign(g=lambda d: np.arange(len(d)) % 6)
    fit = hb.Model(hb.from_stata(command), df).fit(backend="prior", draws=20, chains=2, random_seed=1)
    text = str(fit.summary())
    assert f"{ratio}: posterior median of exp(coefficient)" in text
    assert fit.fixef().attrs["exponentiated"] and fit.fixef().attrs["estimate"] == ratio
    logged = fit.fixef(exponentiate=False)  # asked for by a Python user: the link scale
    assert not logged.attrs["exponentiated"] and "exp(coefficient)" not in str(fit.summary(exponentiate=False))
    np.testing.assert_allclose(np.log(fit.fixef()["median"]), logged["median"], atol=0.05)  # even draws: medians averaged
    plain = hb.Model(hb.from_stata(command.removesuffix(", or").removesuffix(", irr")), df).fit(
        backend="prior", draws=20, chains=2, random_seed=1)
    assert "exp(coefficient)" not in str(plain.summary()) and not plain.fixef().attrs["exponentiated"]


def test_the_html_summary_keeps_each_diagnostic_warning_on_its_own_line():
    """A notebook showed the diagnostics footer as one paragraph, its '!' warnings run together
    (MASS::Insurance's poisson GLMM: divergences and low ESS in one run-on block)."""
    from hierbayes.results.report import Summary

    footer = "Diagnostics: divergences: 49\n  ! 49 divergent transitions\n  ! bulk ESS as low as 345"
    html_text = Summary(header=("Formula: y ~ x",), sections=(), footer=(footer,))._repr_html_()
    assert "white-space: pre-wrap" in html_text and "49\n  ! 49 divergent transitions\n  ! bulk ESS" in html_text


@pytest.mark.parametrize(("target_accept", "says"), [(0.8, "(tune 30, target_accept 0.8), "), (None, "(tune 30), ")])
def test_the_sampler_line_says_the_target_acceptance_the_fit_ran_with(target_accept, says):
    """The default depends on the model (0.8 to 0.99): the summary says which one ran."""
    import dataclasses

    from hierbayes.fit import Fit

    prior = hb.Model("y ~ x", _data(), family="bernoulli").fit(backend="prior", draws=20, chains=2, random_seed=1)
    info = dataclasses.replace(prior.info, sampler="numpyro", tune=30, target_accept=target_accept)
    line = next(x for x in str(Fit(prior.idata, prior.model, info).summary()).splitlines() if x.startswith("Sampler:"))
    assert says in line
