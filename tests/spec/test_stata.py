"""Stata multilevel commands -> ModelSpec (mixed, me* families, factor-variable notation)."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.design import build_design
from hierbayes.errors import SpecError
from hierbayes.spec import Covariance, parse_formula
from hierbayes.spec.levels import parse_levels
from hierbayes.spec.stata import from_stata


def same(a: hb.ModelSpec, b: hb.ModelSpec) -> bool:
    return replace(a, source="") == replace(b, source="")


# The gcse analysis of Rabe-Hesketh & Skrondal (Stata) and the matching lme4 formulas.
# Stata's default covariance is independent, lme4's '(lrt | school)' is unstructured.
GCSE_ANALYSIS = [
    ("mixed gcse || school:, mle", "gcse ~ 1 + (1 | school)"),
    ("mixed gcse lrt || school:, mle", "gcse ~ lrt + (1 | school)"),
    ("xtmixed gcse lrt || school: lrt, mle", "gcse ~ lrt + (lrt || school)"),
    ("mixed gcse lrt || school: lrt, covariance(unstructured) mle", "gcse ~ lrt + (lrt | school)"),
    ("mixed gcse lrt || school: lrt, cov(un)", "gcse ~ lrt + (lrt | school)"),
    (
        "mixed gcse c.lrt##i.schgend || school: lrt, covariance(unstructured) mle",
        "gcse ~ lrt + C(schgend) + lrt:C(schgend) + (lrt | school)",
    ),
    (
        "mixed gcse lrt i.schgend c.lrt#i.schgend || school: lrt, cov(un)",
        "gcse ~ lrt + C(schgend) + lrt:C(schgend) + (lrt | school)",
    ),
]


@pytest.mark.parametrize(("command", "formula"), GCSE_ANALYSIS)
def test_gcse_analysis_commands_match_formulas(command, formula):
    spec = from_stata(command)
    assert same(spec, parse_formula(formula))
    assert spec.source == command


def test_stata_levels_and_formula_agree_on_gcse_gend(gcse):
    stata = from_stata("mixed gcse c.lrt##i.schgend || school: lrt, covariance(unstructured)")
    lv = parse_levels("gcse ~ b0 + b1*lrt\nb0 ~ 1 + C(schgend) | school\nb1 ~ 1 + C(schgend) | school")
    assert same(stata, lv)
    lme4 = parse_formula("gcse ~ lrt * C(schgend) + (lrt | school)")
    assert build_design(stata, gcse).fixed_names == build_design(lme4, gcse).fixed_names


@pytest.mark.parametrize(
    ("command", "family", "link"),
    [
        ("melogit y x || g:", "bernoulli", "logit"),
        ("meprobit y x || g:", "bernoulli", "probit"),
        ("mecloglog y x || g:", "bernoulli", "cloglog"),
        ("mepoisson y x || g:, irr", "poisson", "log"),
        ("menbreg y x || g:", "negbinomial", "log"),
        ("meologit y x || g:", "cumulative", "logit"),
        ("meoprobit y x || g:", "cumulative", "probit"),
        ("meglm y x || g:, family(poisson)", "poisson", "log"),
        ("meglm y x || g:, family(bernoulli) link(probit)", "bernoulli", "probit"),
        ("meglm y x || g:, link(cloglog) family(bernoulli)", "bernoulli", "cloglog"),
    ],
)
def test_me_commands_set_family_and_link(command, family, link):
    spec = from_stata(command)
    assert (spec.family, spec.link) == (family, link)
    assert spec.to_formula() == "y ~ x + (1 | g)"


def test_binomial_trials():
    spec = from_stata("melogit incidence i.period || herd:, binomial(size) or")
    assert spec.family == "binomial" and spec.response.trials == "size" and spec.metric == "eform"
    assert same(replace(spec, metric=None),
                parse_formula("incidence | trials(size) ~ C(period) + (1 | herd)", "binomial", "logit"))


def test_nested_levels_crossed_R_and_noconstant():
    assert same(from_stata("mixed strength || batch: || cask:"), parse_formula("strength ~ 1 + (1 | batch/cask)"))
    assert same(
        from_stata("mixed diameter || _all: R.plate || _all: R.sample"),
        parse_formula("diameter ~ 1 + (1 | plate) + (1 | sample)"),
    )
    assert same(
        from_stata("mixed y i.service || _all: R.s || _all: R.d || dept:"),
        parse_formula("y ~ C(service) + (1 | s) + (1 | d) + (1 | dept)"),
    )
    assert same(from_stata("mixed y x, noconstant || g: x, noconstant"), parse_formula("y ~ 0 + x + (0 + x | g)"))
    spec = from_stata("mixed y x || school: x, cov(exch) || class: x, cov(id)")
    assert [g.factor for g in spec.groups] == [("school",), ("school", "class")]
    assert [g.covariance for g in spec.groups] == [Covariance.EXCHANGEABLE, Covariance.IDENTITY]


def test_factor_variable_notation():
    spec = from_stata("mixed y a##b##c.x ib3.z i.(u v) || g:")
    assert spec.fixed.terms == (
        "C(a)", "C(b)", "x", "C(a):C(b)", "C(a):x", "C(b):x", "C(a):C(b):x",
        "C(z, Treatment(3))", "C(u)", "C(v)",
    )
    # as in Stata, variables inside '#' are factors unless c.
    assert from_stata("mixed y a#b || g:").fixed.terms == ("C(a):C(b)",)
    assert from_stata("mixed y c.a#c.b || g:").fixed.terms == ("a:b",)
    # a continuous variable crossed with itself is its power (R would read age:age as age)
    spec = from_stata("melogit use c.age##c.age c.x#c.x#i.g i.g#i.g || district:")
    assert spec.fixed.terms == ("age", "I(age**2)", "I(x**2):C(g)", "C(g)")
    data = pd.DataFrame({"use": [0, 1, 1, 0, 1, 0], "age": [20.0, 31, 25, 40, 22, 35], "x": [1.0, 2, 3, 4, 5, 6],
                         "g": ["a", "b", "a", "b", "a", "b"], "district": ["d1"] * 3 + ["d2"] * 3})
    design = build_design(spec, data)
    np.testing.assert_allclose(design.X[:, design.fixed_names.index("I(age^2)")], data["age"] ** 2)


def test_prompt_and_line_continuation():
    spec = from_stata(". mixed gcse lrt ///\n   || school: lrt, cov(un)")
    assert same(spec, parse_formula("gcse ~ lrt + (lrt | school)"))


@pytest.mark.parametrize(
    ("single_level", "multilevel"),
    [
        ("regress y x", "mixed y x"),
        ("reg y x if inlist(a,1,2), noconstant", "mixed y x if inlist(a,1,2), noconstant"),
        ("bayes: logit y x", "bayes: melogit y x"),
        ("logistic y x if inlist(a,1,2)", "melogit y x if inlist(a,1,2), or"),  # logistic shows odds ratios
        ("logistic y x, nolog", "melogit y x, nolog or"),
        ("ologit Sat i.Infl [fw=Freq]", "meologit Sat i.Infl [fw=Freq]"),
        ("poisson deaths i.age, exposure(pyears)", "mepoisson deaths i.age, exposure(pyears)"),
        ("glm y x, family(binomial n) link(probit)", "meglm y x, family(binomial n) link(probit)"),
        ("tobit y x, ll(0)", "metobit y x, ll(0)"),
    ],
)
def test_single_level_commands_are_their_multilevel_command_without_groups(single_level, multilevel):
    # had been refused with the me* command to type instead; Stata users start from regress and logit
    spec, reference = from_stata(single_level), from_stata(multilevel)
    assert same(spec, reference) and spec.metric == reference.metric and not spec.groups
    assert spec.source == single_level
    if single_level.startswith("logistic"):
        assert spec.metric == "eform"


def test_streg_is_mestreg_without_groups():
    spec = from_stata("streg x, distribution(weibull)", time="t", failure="died")
    assert same(spec, from_stata("mestreg x, distribution(weibull)", time="t", failure="died"))


@pytest.mark.parametrize(
    ("command", "needle"),
    [
        # a single-level command is read as its me* command: it has no '||' equations
        ("regress y x || g:", "regress is Stata's single-level command, without '||' equations; group effects are "
                              "mixed's: 'mixed y x || g:'"),
        ("gsem (y <- x M1[school])", "unknown command 'gsem'"),  # had been 'cannot read the weight'
        ("xtreg inv value capital, re", "its random-effects model is 'mixed inv value capital || <panel variable>:'"),
        ("xtlogit y x", "xtlogit reads its panel variable from xtset"),
        ("mixd y x || g:", "unknown command 'mixd'. Did you mean 'mixed'"),
        ("mixed y x [aw=w] || g:", "only pweight"),
        ("mixed y x* || g:", "wildcards and ranges"),
        ("mixed y L.x || g:", "operator 'l.'"),
        ("mixed y x || g:, cov(banded)", "unknown covariance(banded)"),
        ("mixed y x || g:, bogus", "unknown option 'bogus'"),
        ("mepoisson y x || g:, exposure(t) offset(u)", "only one of exposure() and offset()"),
        ("mepoisson y x || g:, exposure(log(t))", "give one variable"),
        ("melogit y x || g:, exposure(t)", "melogit has no exposure() option"),
        ("mixed y x || g:, offset(t)", "mixed has no offset() option"),
        ("meglm y x || g:, family(poisson) link(identity)", "links for poisson: ['log']"),
        ("meglm y x || g:, link(logit) family(gamma)", "links for gamma: ['log']"),
        ("meglm y x || g:, family(nbinomial constant)", "'nbinomial mean' take a second word"),
        ("meglm y x || g:, family(weibull)", "family(weibull): supported ['bernoulli', 'binomial', 'gamma'"),
        ("mixed y x if || g:", "'if' needs an expression"),
        ("mixed y x in || g:", "'in' needs a range"),
        ("mixed y x if a > 1 || g: if b > 2", "more than one 'if' qualifier"),
        ("mixed y x if a > 1 if b > 2 || g:", "more than one 'if' qualifier"),
        ("mixed y x in 1/5 || g: in 2/8", "more than one 'in' qualifier"),
        ("mixed y x if a = 1 || g:", "use == to compare"),
        ("mixed y x if strpos(s, \"a\") || g:", "the function strpos() is not supported"),
        ("mixed y x if (a > 1", "'(' is not closed"),
        ("mixed y x if a > || g:", "ends too early"),
        ("mixed y x if a $ 2 || g:", "cannot read the expression"),
        ("mixed y x if inrange(a, 1) || g:", "inrange() takes 3 arguments"),
        ("mixed y x in 0/10 || g:", "observation numbers start at 1"),
        ("mixed y x in 1/5/9 || g:", "expected #, #/#, f or l"),
        ("mixed y x in a/b || g:", "expected #, #/#, f or l"),
        ("bayes mixed y x || g:", "expected 'bayes: command'"),
        ("bayes mcmcsize(10): mixed y x || g:", "(options follow a comma)"),
        ("bayes, mcmcsize(100): mixed y x || g:", "hierbayes.read_stata()"),
        ("bayes, prior({y:x}, normal(0, 1)): mixed y x || g:", "sets priors or the sampler"),
        ("mixed y x || g: R.h", "R.varname is supported only alone in an '_all:'"),
        ("mixed y x || g: x, noconstant cov(un) || h:, noconstant", "has no effects"),
        ("mixed y x || g", "expected 'levelvar:'"),
        ("mixed", "expected a dependent variable"),
    ],
)
def test_errors_name_the_problem(command, needle):
    with pytest.raises(SpecError) as info:
        from_stata(command)
    assert needle in str(info.value)
    assert command.split()[0] in str(info.value)


def test_exported_from_package():
    assert hb.from_stata is from_stata


# ------------------------------------------------------------------ if / in qualifiers

SEEDS_COMMAND = "xtmixed gcse lrt || school: lrt if nstu > 4, mle covariance(unstructured)"


def test_seeds_command_records_the_subset_and_the_design_uses_those_rows():
    spec = from_stata(SEEDS_COMMAND)
    assert same(spec, replace(parse_formula("gcse ~ lrt + (lrt | school)"), subset="nstu > 4"))
    raw = hb.datasets.load("gcse")
    design = build_design(spec, raw)
    assert design.n_obs == int((raw["nstu"] > 4).sum()) == 4057
    assert list(design.row_positions) == list(np.flatnonzero(raw["nstu"] > 4))
    filtered = raw[raw["nstu"] > 4]
    np.testing.assert_array_equal(design.y, filtered["gcse"].to_numpy())
    assert design.groups[0].n_levels == filtered["school"].nunique()


@pytest.mark.parametrize(
    "command",
    [
        "mixed gcse lrt if nstu > 4 || school: lrt, cov(un)",
        "mixed gcse lrt || school: lrt if nstu > 4, cov(un)",
        "mixed gcse lrt || school: lrt if nstu>4, cov(un) mle",
        "bayes: mixed gcse lrt if nstu > 4 || school: lrt, cov(un)",
        "bayes, dots: mixed gcse lrt || school: lrt if nstu > 4, cov(un)",
    ],
)
def test_if_anywhere_gives_the_same_spec(command):
    assert same(from_stata(command), from_stata(SEEDS_COMMAND))


def test_in_ranges_and_if_with_in():
    assert from_stata("mixed y x in 1/100 || g:").subset == "inrange(_n, 1, 100)"
    assert from_stata("mixed y x in -10/l || g:").subset == "inrange(_n, _N - 9, _N)"
    assert from_stata("mixed y x in f/-1 || g:").subset == "inrange(_n, 1, _N)"
    assert from_stata("mixed y x in 5 || g:").subset == "_n == 5"
    both = from_stata('mixed y x if sex == "girl" & !missing(z) in 1/50 || g:')
    assert both.subset == '((sex == "girl") & !missing(z)) & inrange(_n, 1, 50)'
    raw = hb.datasets.load("gcse")
    design = build_design(from_stata("mixed gcse lrt in -40/l"), raw)
    assert list(design.row_positions) == list(range(len(raw) - 40, len(raw)))
    design = build_design(from_stata("mixed gcse lrt if schgend == 3 in 1/500 || school:"), raw)
    assert list(design.row_positions) == list(np.flatnonzero(raw["schgend"].iloc[:500] == 3))


def frame_with_missing() -> "pd.DataFrame":
    return pd.DataFrame({
        "y": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        "g": ["a", "a", "b", "b", "c", "c"],
        "z": [0.5, np.nan, 2.0, 3.0, np.nan, 1.0],
        "sex": ["girl", "boy", None, "girl", "boy", "girl"],
    })


@pytest.mark.parametrize(
    ("condition", "rows"),
    [
        ("z > 1", [1, 2, 3, 4]),  # Stata: missing is larger than every number
        ("z < 1", [0]),
        ("z > 1 & z < .", [2, 3]),
        ("!missing(z)", [0, 2, 3, 5]),
        ("mi(z) | z == 3", [1, 3, 4]),
        ("z", [0, 1, 2, 3, 4, 5]),  # missing counts as true
        ('sex == "girl"', [0, 3, 5]),
        ('sex == ""', [2]),  # a missing text is ""
        ("inlist(z, 0.5, 3)", [0, 3]),
        ("inrange(z, 1, 3)", [2, 3, 5]),
        ("inrange(_n, 2, 3)", [1, 2]),
        ("_n > _N - 2", [4, 5]),
        ("-z^2 < -3", [2, 3]),  # -(z^2), as Stata: ^ before negation; missing^2 is missing
        ("z * 2 >= 4 & !(y == 4)", [1, 2, 4]),
        ("z / 0 == .", [0, 1, 2, 3, 4, 5]),  # division by zero is missing
    ],
)
def test_subset_follows_stata_rules(condition, rows):
    from hierbayes.design.subset import subset_mask

    assert list(np.flatnonzero(subset_mask(condition, frame_with_missing()))) == rows


@pytest.mark.parametrize(
    ("condition", "needle"),
    [
        ("w > 1", "uses the column 'w', which is not in the data"),
        ('z == "a"', "mixes text and numbers"),
        ("sex + 1 > 2", "arithmetic on text"),
        ("sex & z", "text where a true/false value is needed"),
        ("y > 100", "no rows of the data are in the subset 'y > 100'"),
    ],
)
def test_subset_data_errors(condition, needle):
    from hierbayes.errors import DataError

    spec = replace(parse_formula("y ~ 1 + (1 | g)"), subset=condition)
    with pytest.raises(DataError, match=re.escape(needle)):
        build_design(spec, frame_with_missing())


def test_subset_is_applied_before_missing_rows_are_dropped():
    df = frame_with_missing()
    spec = replace(parse_formula("y ~ z + (1 | g)"), subset="y > 1")
    with pytest.warns(UserWarning, match="dropped 2 rows of 5"):
        design = build_design(spec, df, missing="drop")
    assert list(design.row_positions) == [2, 3, 5]


def test_subset_round_trips_through_serialization_and_pickling():
    import pickle

    from hierbayes.spec.serialize import spec_from_dict, spec_to_dict

    spec = from_stata(SEEDS_COMMAND)
    assert spec_from_dict(json.loads(json.dumps(spec_to_dict(spec)))) == spec
    lv = replace(parse_levels("y ~ b0 + b1*x\nb0 ~ 1 | g\nb1 ~ 1"), subset="x > 0")
    assert spec_from_dict(spec_to_dict(lv)).subset == "x > 0"
    design = build_design(spec, hb.datasets.load("gcse"))
    encoder = pickle.loads(pickle.dumps(design.encoder))
    assert encoder.spec.subset == "nstu > 4"
    assert encoder.fixed_names == design.fixed_names


@pytest.mark.slow  # 6-9 s of cold compilation
def test_fit_with_a_subset_summary_save_and_load(tmp_path):
    # one tiny fit: the filtered rows reach the sampler, the summary says which rows, and a
    # saved fit keeps the column the filter reads
    from conftest import fit_quiet

    from hierbayes.io import load_fit

    pastes = hb.datasets.load("Pastes").assign(keep=lambda d: (d["batch"] != "A").astype(int))
    model = hb.Model(from_stata("mixed strength if keep == 1 || batch:"), pastes)
    fit = fit_quiet(model, draws=200, tune=200, chains=2)
    text = str(fit.summary())
    assert "Observations: 54" in text
    assert "Rows used: those where keep == 1 (Stata if/in)" in text
    fit.save(tmp_path / "fit.nc")
    loaded = load_fit(tmp_path / "fit.nc")
    assert loaded.spec.subset == "keep == 1" and loaded.model.design.n_obs == 54


# ----------------------------------------------------------------------- bayes prefix


def test_bayes_prefix_without_options_is_the_same_model():
    assert same(from_stata("bayes: mixed gcse lrt || school: lrt"), from_stata("mixed gcse lrt || school: lrt"))
    assert same(from_stata("bayes, clevel(90) hpd: melogit y x || g:"), from_stata("melogit y x || g:"))


def test_read_stata_translates_priors_and_sampler_options():
    cmd = hb.read_stata(
        "bayes, prior({gcse:lrt}, normal(0, 100)) prior({gcse:_cons}, t(40, 25, 3)) "
        "mcmcsize(2000) burnin(500) rseed(17) nchains(2) dots: mixed gcse lrt || school:"
    )
    assert cmd.priors == {
        "b:lrt": hb.Prior("Normal", mu=0.0, sigma=10.0),  # Stata's normal() takes a variance
        "Intercept": hb.Prior("StudentT", nu=3.0, mu=40.0, sigma=5.0),
    }
    assert cmd.fit_options == {"draws": 2000, "tune": 500, "random_seed": 17, "chains": 2}
    assert same(cmd.spec, from_stata("mixed gcse lrt || school:"))
    every = hb.read_stata("bayes, prior({y:}, cauchy(0, 2.5)): mixed y x c.x#c.z || g:")
    assert set(every.priors) == {"b", "Intercept"} and every.priors["b"] == hb.Prior("Cauchy", alpha=0.0, beta=2.5)
    inter = hb.read_stata("bayes, prior({y:x c.x#c.z}, normal(0, 4)): mixed y x c.x#c.z || g:")
    assert set(inter.priors) == {"b:x", "b:x:z"}
    default_sd = hb.read_stata("bayes, normalprior(10): mixed y x || g:")
    assert default_sd.priors == {"b": hb.Prior("Normal", mu=0.0, sigma=10.0), "Intercept": hb.Prior("Normal", mu=0.0, sigma=10.0)}


def test_read_stata_priors_reach_the_model(gcse):
    cmd = hb.read_stata("bayes, prior({gcse:lrt}, normal(0, 100)): mixed gcse lrt || school:")
    table = cmd.model(gcse).priors.to_frame()
    row = table[(table["class"] == "b") & (table["term"] == "lrt")].iloc[0]
    assert row["prior"] == "Normal(mu=0, sigma=10)" and "b:lrt" in row["source"]


@pytest.mark.parametrize(
    ("command", "needle"),
    [
        ("bayes, igammaprior(0.01 0.01): mixed y x || g:", "inverse-gamma priors on variances"),
        ("bayes, prior({sigma2}, igamma(0.01, 0.01)): mixed y x || g:", "{sigma2} is not one"),
        ("bayes, prior({var_U0}, igamma(1, 1)): mixed y x || g:", "hierbayes sets priors on sds"),
        ("bayes, prior({y:x}, flat): mixed y x || g:", "the distribution 'flat' has no hierbayes equivalent"),
        ("bayes, prior({y:x}, uniform(-10, 10)): mixed y x || g:", "'uniform' has no hierbayes equivalent"),
        ("bayes, prior({y:x}, normal(0)): mixed y x || g:", "normal() needs 2 numbers"),
        ("bayes, prior({y:x}, normal(0, a)): mixed y x || g:", "expected numbers"),
        ("bayes, prior({y:2.a}, normal(0, 1)): mixed y x i.a || g:", "factor-level coefficient"),
        ("bayes, prior({y:w}, normal(0, 1)): mixed y x || g:", "'w' is not a coefficient of the model"),
        ("bayes, prior({y:_cons}, normal(0, 1)): mixed y x, noconstant || g:", "has no constant"),
        ("bayes, prior(y:x, normal(0, 1)): mixed y x || g:", "expected prior({y:x}, normal(0, 100))"),
        ("bayes, prior({y:x} z, normal(0, 1)): mixed y x || g:", "expected parameters in braces"),
        ("bayes, normalprior(-1): mixed y x || g:", "give the standard deviation"),
        ("bayes, mcmcsize(0): mixed y x || g:", "expected a positive whole number"),
        ("bayes, nchains(two): mixed y x || g:", "expected a positive whole number"),
        ("bayes, thinning(5): mixed y x || g:", "Metropolis-Hastings sampler"),
        ("bayes, block({y:x}): mixed y x || g:", "Metropolis-Hastings sampler"),
        ("bayes, bogus(1): mixed y x || g:", "unknown bayes option 'bogus(1)'"),
    ],
)
def test_read_stata_refuses_what_has_no_equivalent(command, needle):
    with pytest.raises(SpecError) as info:
        hb.read_stata(command)
    assert needle in str(info.value) and "bayes" in str(info.value)


# ------------------------------------------------------- meglm families, exposure, offset


@pytest.mark.parametrize(
    ("command", "family", "link", "trials"),
    [
        ("meglm y x || g:, family(gamma)", "gamma", "log", None),
        ("meglm y x || g:, family(gamma) link(log)", "gamma", "log", None),
        ("meglm y x || g:, family(nbinomial mean)", "negbinomial", "log", None),  # was trials 'mean'
    ],
)
def test_meglm_family_and_link(command, family, link, trials):
    spec = from_stata(command)
    assert (spec.family, spec.link, spec.response.trials) == (family, link, trials)


def test_gamma_spec_builds_a_model(gcse):
    df = gcse.assign(pos=np.exp(gcse["gcse"] / 20))
    model = hb.Model(from_stata("meglm pos lrt || school:, family(gamma)"), df)
    assert model.spec.family == "gamma" and model.design.n_obs == len(df)


@pytest.mark.parametrize(
    ("command", "offsets"),
    [
        ("mepoisson y x || g:, exposure(t)", ("log(t)",)),
        ("mepoisson y x, exposure(t) || g:", ("log(t)",)),
        ("menbreg y x || g:, offset(logt) irr", ("logt",)),
        ("melogit y x, offset(logt) || g:", ("logt",)),
        ("meglm y x || g:, family(poisson) exp(t)", ("log(t)",)),
    ],
)
def test_exposure_and_offset_set_fixed_offsets(command, offsets):
    spec = from_stata(command)
    assert spec.fixed.offsets == offsets
    assert spec.fixed.terms == ("x",)


def test_stata_command_fit_passes_the_sampler_options(gcse, monkeypatch):
    seen = {}
    monkeypatch.setattr(hb.Model, "fit", lambda self, **kwargs: seen.update(kwargs) or "fitted")
    cmd = hb.read_stata("bayes, mcmcsize(300) burnin(200) nchains(2) rseed(5): mixed gcse lrt || school:")
    assert cmd.fit(gcse, progressbar=False, draws=250) == "fitted"
    assert seen == {"draws": 250, "tune": 200, "chains": 2, "random_seed": 5, "progressbar": False}


@pytest.mark.parametrize("command, message", [
    ("mixed y x || g:, vce(cluster g)", r"option 'vce\(cluster g\)' is not applied: .*fit\.adjust_intervals\(\)"),
    ("mixed y x || g:, variance", r"option 'variance' is not applied: group-level parameters are shown as sds"),
    ("mixed y x || g:, level(90)", r"option 'level\(90\)' is not applied: .*fit\.summary\(prob=0\.9\) .* 90% intervals"),
    ("bayes, clevel(80): mixed y x || g:", r"option 'clevel\(80\)' is not applied: .*prob=0\.8\)"),
    ("bayes, hpd: mixed y x || g:", r"option 'hpd' is not applied: hierbayes' intervals are equal-tailed"),
])
def test_display_options_say_where_their_effect_is(command, message):
    # Stata users look for what these options do; they are not applied silently
    with pytest.warns(UserWarning, match=message):
        from_stata(command)


@pytest.mark.parametrize("command, without", [
    ("melogit y x || g:, or", "melogit y x || g:"), ("mepoisson y x || g:, irr", "mepoisson y x || g:"),
    ("meglm y x || g:, family(poisson) eform", "meglm y x || g:, family(poisson)"),
    ("bayes, or: melogit y x || g:", "bayes: melogit y x || g:"), ("menbreg y x, irr || g: x", "menbreg y x || g: x"),
])
def test_or_and_irr_are_kept_as_the_eform_metric(command, without):
    # a Stata user who asked for odds / incidence-rate ratios expects the report in them
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spec = from_stata(command)
    assert spec.metric == "eform"
    assert from_stata(without).metric is None


@pytest.mark.parametrize("command, kwargs, message", [
    ("mixed y x || g:, eform", {}, r"option 'eform' is not applied: exponentiated coefficients have no ratio "
                                   r"meaning for family 'gaussian' with the identity link"),
    ("mestreg x || g:, distribution(weibull) eform", {"time": "t", "failure": "d"},
     r"option 'eform' is not applied: the coefficients are shown as metric='hr' \(summary\(metric=\.\.\.\) chooses\)"),
])
def test_eform_options_that_cannot_apply_say_so(command, kwargs, message):
    with pytest.warns(UserWarning, match=message):
        spec = from_stata(command, **kwargs)
    assert spec.metric != "eform"


def test_the_eform_metric_needs_a_ratio_meaning():
    with pytest.raises(SpecError, match=r"metric='eform': exponentiated coefficients have no ratio meaning for "
                                        r"family 'gaussian'"):
        replace(from_stata("mixed y x || g:"), metric="eform")
    with pytest.raises(SpecError, match=r"metric='odds' is not one of \['aft', 'hr', 'loghr', 'eform'\]"):
        replace(from_stata("melogit y x || g:"), metric="odds")


def test_negative_binomial_dispersion_and_constant_trials():
    assert from_stata("menbreg y x || g:, dispersion(mean)").family == "negbinomial"
    with pytest.raises(SpecError, match=r"dispersion\(constant\): only the mean dispersion \(the default, var = mu "
                                        r"\(1 \+ alpha mu\), hierbayes' negbinomial with phi = 1 / alpha\) is available"):
        from_stata("menbreg y x || g:, dispersion(constant)")
    with pytest.raises(SpecError, match=r"dispersion\(mean\): dispersion\(\) is an option of menbreg"):
        from_stata("mepoisson y x || g:, dispersion(mean)")
    spec = from_stata("melogit y x || g:, binomial(20)")
    assert spec.to_formula() == "y | trials(20) ~ x + (1 | g)"
    data = pd.DataFrame({"y": [3, 5, 8, 12], "x": [0.0, 1, 2, 3], "g": ["a", "a", "b", "b"]})
    np.testing.assert_allclose(build_design(spec, data).trials, 20)
    with pytest.raises(SpecError, match=r"binomial\(2\.5\): give the variable with the number of trials, or a "
                                        r"whole number"):
        from_stata("melogit y x || g:, binomial(2.5)")


def test_a_cons_prior_with_uncentred_predictors_warns_with_their_means():
    # Stata's _cons is the intercept at Occasion = 0; hierbayes' Intercept prior is at the means:
    # Oxboys' prior({height:_cons}, normal(100, 0.01)) had held the height at Occasion 5 silently
    import warnings

    data = pd.DataFrame({"height": np.linspace(130, 160, 18), "Occasion": np.tile(np.arange(1.0, 10.0), 2),
                         "Subject": np.repeat(["a", "b"], 9)})
    cmd = hb.read_stata("bayes, prior({height:_cons}, normal(100, 0.01)): mixed height Occasion || Subject:")
    with pytest.warns(UserWarning, match=r"the prior Normal\(mu=100, sigma=0.1\) on _cons: in Stata it is the "
                                         r"intercept at predictors 0, .* at the predictors' means \(Occasion = 5\)"):
        cmd.model(data)
    centred = data.assign(Occasion=data["Occasion"] - 5.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cmd.model(centred)
        hb.read_stata("bayes, prior({height:Occasion}, normal(0, 1)): mixed height Occasion || Subject:").model(data)
