"""``Model.fit`` checks its arguments before compiling anything (issue 13, item 7), and a
short trace is reported as Ctrl-C only when there was one."""

from __future__ import annotations

import re
import signal

import arviz as az
import numpy as np
import pandas as pd
import pytest

import hierbayes as hb
from hierbayes.errors import ArgumentError, SamplingError
from hierbayes.sampler_args import KNOWN_SAMPLERS, check_sampler_arguments

FORMULA = "Reaction ~ Days + (1 | Subject)"


@pytest.fixture(scope="module")
def model() -> hb.Model:
    return hb.Model(FORMULA, hb.datasets.load("sleepstudy"))


@pytest.fixture()
def no_compiling(model, monkeypatch):
    """Fail the test if a bad argument gets as far as compiling or sampling."""
    import pymc

    def fail(*args, **kwargs):
        pytest.fail("an invalid argument reached the compiler or the sampler")

    monkeypatch.setattr(model, "compile", fail)
    monkeypatch.setattr(pymc, "sample", fail)


BAD = [
    ("draws", 0, "whole number >= 1"),
    ("draws", -5, "whole number >= 1"),
    ("draws", 1.5, "whole number >= 1"),
    ("draws", "100", "whole number >= 1"),
    ("draws", True, "whole number >= 1"),
    ("tune", -1, "whole number >= 0"),
    ("tune", 10.0, "whole number >= 0"),
    ("chains", 0, "whole number >= 1"),
    ("chains", 2.5, "whole number >= 1"),
    ("cores", 0, "whole number >= 1"),
    ("random_seed", -3, "whole number >= 0"),
    ("random_seed", 1.5, "whole number >= 0"),
    ("random_seed", "seed", "whole number >= 0"),
    ("sampler", "stan", "valid samplers are \\['nutpie', 'pymc', 'numpyro', 'blackjax'\\]"),
    ("target_accept", 1.5, "strictly between 0 and 1"),
    ("target_accept", 0, "strictly between 0 and 1"),
    ("target_accept", 1, "strictly between 0 and 1"),
    ("target_accept", float("nan"), "strictly between 0 and 1"),
    ("target_accept", "0.9", "strictly between 0 and 1"),
    ("progressbar", "yes", "True or False"),
    ("progressbar", 1, "True or False"),
]


@pytest.mark.parametrize(("argument", "value", "needle"), BAD)
def test_fit_rejects_invalid_argument(model, no_compiling, argument, value, needle) -> None:
    with pytest.raises(ArgumentError, match=needle) as info:
        model.fit(**{argument: value})
    assert str(info.value).startswith(f"{argument}={value!r}: ")
    assert info.value.argument == argument
    assert isinstance(info.value, ValueError) and isinstance(info.value, hb.HierbayesError)


def test_numpy_numbers_are_accepted_and_made_plain() -> None:
    checked = check_sampler_arguments(
        draws=np.int64(200), tune=np.int32(0), chains=np.uint8(2), cores=np.int64(1),
        random_seed=np.int64(7), sampler="pymc", target_accept=np.float32(0.95), progressbar=np.bool_(False),
    )
    assert (checked.draws, checked.tune, checked.chains, checked.cores, checked.random_seed) == (200, 0, 2, 1, 7)
    assert all(type(v) is int for v in (checked.draws, checked.tune, checked.chains, checked.cores, checked.random_seed))
    assert checked.target_accept == pytest.approx(0.95) and type(checked.target_accept) is float
    assert checked.progressbar is False
    assert check_sampler_arguments().sampler is None
    assert set(KNOWN_SAMPLERS) == {"nutpie", "pymc", "numpyro", "blackjax"}


def test_sampler_backend_uses_the_shared_list() -> None:
    from hierbayes.backends.pymc import sample

    assert sample.SAMPLERS == KNOWN_SAMPLERS


def test_run_nuts_checks_its_arguments_too(model, monkeypatch) -> None:
    import pymc

    from hierbayes.backends.pymc.sample import run_nuts

    monkeypatch.setattr(pymc, "sample", lambda *a, **k: pytest.fail("reached the sampler"))
    with pytest.raises(ArgumentError, match=r"draws=1\.5"):
        run_nuts(object(), draws=1.5)


def test_model_file_sampler_table_uses_the_same_rules(tmp_path) -> None:
    from hierbayes.modelfile import load_model_file

    head = "[data]\nsource = 'sleepstudy'\n[model]\nformula = 'Reaction ~ Days + (1 | Subject)'\n[sampler]\n"
    cases = [
        ("seed = -1", r"sampler\.seed must be a whole number >= 0, got -1"),
        ("sampler = 'stan'", r"sampler\.sampler valid samplers are .*'numpyro'.*got 'stan'"),
        ("draws = 1.5", r"sampler\.draws must be a whole number >= 1, got 1\.5"),
        ("target_accept = 1.0", r"sampler\.target_accept must be a number strictly between 0 and 1.*got 1\.0"),
    ]
    for line, needle in cases:
        path = tmp_path / "m.toml"
        path.write_text(head + line + "\n")
        with pytest.raises(hb.SpecError, match=needle):
            load_model_file(path)
    path.write_text(head + "draws = 10\ntune = 0\nchains = 1\nseed = 3\nsampler = 'pymc'\ntarget_accept = 0.8\n")
    settings = load_model_file(path).sampler
    assert (settings.draws, settings.tune, settings.chains, settings.random_seed, settings.sampler) == (10, 0, 1, 3, "pymc")


# ------------------------------------------------------------- short traces and Ctrl-C


def _short_trace(*args, draws, chains, **kwargs):
    return az.from_dict({"posterior": {"Intercept_c": np.zeros((chains, draws // 2))}})


def test_short_trace_without_ctrl_c_is_not_called_an_interrupt(model, monkeypatch) -> None:
    import pymc

    monkeypatch.setattr(pymc, "sample", _short_trace)
    with pytest.raises(SamplingError) as info:
        model.fit(draws=10, tune=10, chains=2, progressbar=False, sampler="pymc")
    message = str(info.value)
    assert "Ctrl-C" not in message and "interrupted" not in message
    assert "the pymc sampler returned 2 chains x 5 draws, but 2 x 10 were asked for" in message


def test_short_trace_after_a_real_sigint_is_an_interrupt(model, monkeypatch) -> None:
    """As PyMC's sequential sampler does: catch the KeyboardInterrupt, return what it has."""
    import pymc

    def interrupted_by_signal(*args, draws, chains, **kwargs):
        try:  # Ctrl-C, caught as PyMC catches it: CPython runs the Python-level handler, as here
            # (os.kill's delivery can be deferred in a test worker whose threads block SIGINT)
            signal.getsignal(signal.SIGINT)(signal.SIGINT, None)
        except KeyboardInterrupt:
            pass
        return _short_trace(draws=draws, chains=chains)

    monkeypatch.setattr(pymc, "sample", interrupted_by_signal)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # a known start: Python's own handler
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(hb.FitInterrupted, match=r"interrupted by the user \(Ctrl-C\).*\(2 chains x 5 draws of 2 x 10\)"):
        model.fit(draws=10, tune=10, chains=2, progressbar=False, sampler="pymc")
    assert signal.getsignal(signal.SIGINT) is before


def test_sbc_settings_use_the_same_rules() -> None:
    from hierbayes.sbc import sbc

    model = hb.Model(FORMULA, hb.datasets.load("sleepstudy"))
    for kwargs, needle in [
        ({"draws": 1.5}, r"draws=1\.5: must be a whole number >= 1"),
        ({"target_accept": 1.0}, r"target_accept=1\.0: must be a number strictly between 0 and 1"),
        ({"ranked_draws": 0}, r"ranked_draws=0: must be a whole number >= 1"),
    ]:
        with pytest.raises(SamplingError, match=needle):
            sbc(model, n_sims=2, **kwargs)


def test_cli_unknown_sampler_is_a_usage_error(capsys, monkeypatch, tmp_path) -> None:
    import pymc

    from hierbayes import cli

    monkeypatch.setattr(pymc, "sample", lambda *a, **k: pytest.fail("reached the sampler"))
    models = __import__("pathlib").Path(__file__).resolve().parents[2] / "models"
    code = cli.main(["fit", str(models / "sleepstudy.toml"), "--sampler", "stan", "--out", str(tmp_path / "r"), "-q"])
    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE
    assert "hierbayes: error: sampler='stan': valid samplers are ['nutpie', 'pymc', 'numpyro', 'blackjax']" in err
    assert not (tmp_path / "r").exists()


# ------------------------------------------------------------- one SamplerConfig, backends


def test_sampler_config_is_frozen_checked_and_has_the_fit_arguments() -> None:
    import dataclasses
    import inspect

    from hierbayes.sampler_args import SamplerConfig

    config = SamplerConfig(draws=np.int64(10), chains=2)
    assert (config.draws, config.chains, config.backend) == (10, 2, "pymc") and type(config.draws) is int
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.draws = 5  # type: ignore[misc]
    assert config.replace(tune=0, sampler=None).tune == 0 and config.replace(sampler=None).sampler is None
    with pytest.raises(ArgumentError, match=r"tune=-1: must be a whole number >= 0"):
        config.replace(tune=-1)
    with pytest.raises(ArgumentError, match=r"thin=2: is not a sampler setting"):
        config.replace(thin=2)
    fit_arguments = [p for p in inspect.signature(hb.Model.fit).parameters if p not in ("self", "unknown")]
    assert list(config.as_kwargs()) == fit_arguments
    defaults = {p.name: p.default for p in inspect.signature(hb.Model.fit).parameters.values()
                if p.name not in ("self", "unknown")}
    assert SamplerConfig().as_kwargs() == defaults


def test_unknown_backend_names_the_known_ones(model, no_compiling) -> None:
    from hierbayes.backends import available_backends, get_backend

    assert {"pymc", "prior"} <= set(available_backends())
    with pytest.raises(ArgumentError, match=r"backend='stan': valid backends are \['pymc', 'prior'"):
        model.fit(backend="stan")
    with pytest.raises(ArgumentError, match=r"backend='stan'"):
        get_backend("stan")


def test_a_registered_backend_is_used_by_fit(model) -> None:
    from hierbayes.backends import SamplerRun, available_backends, get_backend, register_backend, unregister_backend

    prior = get_backend("prior")
    seen = []

    class Recording:
        name = "recording"

        def __getattr__(self, attr):
            return getattr(prior, attr)

        def sample(self, compiled, config) -> SamplerRun:
            seen.append(config)
            return prior.sample(compiled, config)

    register_backend("recording", Recording)
    try:
        fit = model.fit(backend="recording", draws=5, chains=2, random_seed=1)
    finally:
        unregister_backend("recording")
    assert "recording" not in available_backends()
    assert seen[0].draws == 5 and seen[0].backend == "recording"
    assert fit.posterior.sizes["draw"] == 5


def test_prior_backend_draws_have_the_posterior_names_and_dims() -> None:
    from hierbayes.backends import get_backend

    df = hb.datasets.load("sleepstudy")
    model = hb.Model("Reaction ~ Days + (Days | Subject)", df, parameterization="noncentered")
    fit = model.fit(backend="prior", draws=50, chains=3, random_seed=2)
    posterior = fit.posterior
    assert (posterior.sizes["chain"], posterior.sizes["draw"]) == (3, 50)
    assert set(posterior.data_vars) == set(get_backend().parameter_names(model.compile()))
    assert posterior["re_Subject"].dims == ("chain", "draw", "Subject__level", "Subject__term")
    assert posterior["b"].coords["b_term"].values.tolist() == ["Days"]
    assert fit.info.sampler == "prior" and not fit.idata.sample_stats["diverging"].values.any()
    np.testing.assert_array_equal(fit.idata.observed_data["y"].values, df["Reaction"].to_numpy())
    again = model.fit(backend="prior", draws=50, chains=3, random_seed=2)
    np.testing.assert_array_equal(again.posterior["sigma"].values, posterior["sigma"].values)
    assert not fit.fixef().empty and not fit.varcorr().empty


@pytest.mark.parametrize(
    ("given", "meant"),
    [("seed", "random_seed"), ("adapt_delta", "target_accept"), ("warmup", "tune"), ("iter", "draws"),
     ("chain", "chains")],
)
def test_unknown_arguments_name_the_one_meant(model, no_compiling, given, meant) -> None:
    with pytest.raises(ArgumentError, match=rf"fit\(\) takes no argument '{given}'\. Did you mean '{meant}'"):
        model.fit(**{given: 1})


def test_from_stata_with_data_says_where_data_goes() -> None:
    with pytest.raises(ArgumentError, match=r"from_stata\(\) returns a spec: fit it with hb.Model\(spec, data\)"):
        hb.from_stata("mixed y x || g:", data=None)
    with pytest.raises(ArgumentError, match=r"from_stata\(\) returns a spec: fit it with hb.Model\(spec, data\)"):
        hb.from_stata("mixed y x || g:", pd.DataFrame({"y": [1.0]}))  # was a raw TypeError
    with pytest.raises(ArgumentError, match=r"takes no argument 'failures'\. Did you mean 'failure'"):
        hb.from_stata("mixed y x || g:", failures="d")


@pytest.mark.parametrize(("given", "meant"), [("residual", "residuals"), ("correlation", "residuals"),
                                              ("autocor", "residuals"), ("prior", "priors")])
def test_model_arguments_of_other_packages_name_the_one_meant(given, meant) -> None:
    df = hb.datasets.load("sleepstudy")
    value = hb.residuals("ar", order=1, time="Days") if meant == "residuals" else {}
    with pytest.raises(ArgumentError, match=rf"Model\(\) takes no argument '{given}'\. Did you mean '{meant}'"):
        hb.Model("Reaction ~ Days + (1 | Subject)", df, **{given: value})
    # a keyword that is not a formula string is not a family parameter's formula either
    with pytest.raises(ArgumentError, match=r"Model\(\) takes no argument 'chains'.*sigma=\"~ x\""):
        hb.Model("Reaction ~ Days + (1 | Subject)", df, chains=4)
    with pytest.raises(hb.SpecError, match=r"the formula for 'sigma' must be a string"):  # a family's parameter
        hb.Model("Reaction ~ Days + (1 | Subject)", df, sigma=None)


@pytest.mark.parametrize("key", ["offset", "exposure"])
def test_an_offset_keyword_points_to_the_formula(key) -> None:
    # had said "a formula was given for 'exposure', but family 'poisson' has no auxiliary parameter"
    data = pd.DataFrame({"y": [1, 2, 3, 4], "x": [0.0, 1, 2, 3], "t": [1.0, 2, 2, 3]})
    with pytest.raises(ArgumentError, match=rf"{key}='t': Model\(\) takes no argument '{key}': an offset goes in "
                                            r"the formula, as in lme4: 'y ~ x \+ offset\(log\(t\)\)'"):
        hb.Model("y ~ x", data, family="poisson", **{key: "t"})


@pytest.mark.parametrize(("given", "terms"), [("~1|Subject", "1|Subject"), ("~ Days | Subject", "Days | Subject")])
def test_nlmes_random_keyword_points_to_the_formula(given, terms) -> None:
    # had said "a formula was given for 'random', which is not a parameter of family 'gaussian'"
    data = pd.DataFrame({"y": [1.0, 2, 3, 4], "Days": [0.0, 1, 2, 3], "Subject": ["a", "a", "b", "b"]})
    with pytest.raises(ArgumentError, match=r"Model\(\) takes no argument 'random' \(nlme's lme\(random=\)\): group "
                                            rf"terms go in the formula, as in lme4: 'y ~ x \+ \({re.escape(terms)}\)'"):
        hb.Model("y ~ Days", data, random=given)


@pytest.mark.parametrize(("family", "says"), [
    ("gaussian", r"on the log scale: sigma='~ x' \(glmmTMB 1.1.5's gaussian dispersion is sigma\^2: its coefficients "
                 r"are twice these\)"),
    ("negbinomial", r"on the log scale: phi='~ x'$"),
    ("poisson", r"family 'poisson' has no dispersion parameter; family='negbinomial' has one"),
    ("cumulative", r"family 'cumulative' has no dispersion parameter"),  # its thresholds are not one
])
def test_glmmtmbs_dispformula_names_the_family_parameter(family, says) -> None:
    # had said "Did you mean 'formula'?"
    data = pd.DataFrame({"y": [1, 2, 3, 4], "x": [0.0, 1, 2, 3]})
    with pytest.raises(ArgumentError, match=r"dispformula='~ x': glmmTMB's dispformula|" + says) as info:
        hb.Model("y ~ x", data, family=family, dispformula="~ x")
    assert re.search(says, str(info.value)), str(info.value)


def test_ordinals_nominal_keyword_says_category_specific_effects_are_not_available() -> None:
    data = pd.DataFrame({"y": pd.Categorical([1, 2, 3, 2], ordered=True), "x": [0.0, 1, 2, 3]})
    with pytest.raises(ArgumentError, match=r"nominal='~ x': category-specific \(nominal\) effects, ordinal's "
                                            r"clm\(nominal=\) and brms' cs\(\), are not available"):
        hb.Model("y ~ x", data, family="cumulative", nominal="~ x")


def test_misspelled_and_foreign_string_keywords_name_the_argument_meant() -> None:
    # string values had all been read as formulas: "a formula was given for 'famliy'"
    data = pd.DataFrame({"y": [1, 2, 3, 4], "x": [0.0, 1, 2, 3], "e": [1.0, 2, 2, 3]})
    with pytest.raises(ArgumentError, match=r"famliy='poisson': Model\(\) takes no argument 'famliy'\. Did you mean "
                                            r"'family'\?"):
        hb.Model("y ~ x", data, famliy="poisson")
    with pytest.raises(ArgumentError, match=r"Model\(\) takes no argument 'dist'\. Did you mean 'family'\?"):
        hb.Model("y ~ x", data, dist="weibull")  # survreg's dist=
    with pytest.raises(ArgumentError, match=r"threshold='equidistant': Model\(\) takes no argument 'threshold': the "
                                            r"cumulative family's thresholds are free .*equidistant and symmetric "
                                            r"thresholds are not available"):
        hb.Model("y ~ x", data, family="cumulative", threshold="equidistant")
    # an offset already written as an expression is not wrapped in a second log()
    with pytest.raises(ArgumentError, match=r"offset='log\(e\)': Model\(\) takes no argument 'offset': an offset "
                                            r"goes in the formula, as in lme4: 'y ~ x \+ offset\(log\(e\)\)'$"):
        hb.Model("y ~ x", data, family="poisson", offset="log(e)")


@pytest.mark.parametrize(("key", "why"), [("nAGQ", "lme4's quadrature points"), ("REML", "a posterior is neither ML nor REML"),
                                          ("control", "optimizer settings"), ("method", "nlme's REML or ML")])
def test_other_packages_estimation_settings_are_named_as_unneeded(key, why) -> None:
    # nAGQ=20 had been told "a keyword not named in Model's signature is a formula of a family parameter"
    data = pd.DataFrame({"y": [0, 1, 1, 0], "x": [0.0, 1, 2, 3], "g": ["a", "a", "b", "b"]})
    with pytest.raises(ArgumentError, match=rf"Model\(\) takes no argument '{key}': {why}.*; leave it out"):
        hb.Model("y ~ x + (1 | g)", data, family="bernoulli", **{key: 20})


@pytest.mark.parametrize(("given", "message"), [
    ('binomial(link = "probit")', r"is R's spelling; write family='bernoulli', link='probit' for 0/1 responses"),
    ("poisson()", r"is R's spelling; write family='poisson'$"),
    ("quasipoisson", r"unknown family"),
    ("logistic", r"logistic regression is family='bernoulli' \(link='logit', the default\)"),
    ("probit", r"a probit model is family='bernoulli', link='probit'"),
])
def test_r_family_spellings_get_the_family_meant(given, message) -> None:
    data = pd.DataFrame({"y": [0, 1, 1, 0], "x": [0.0, 1, 2, 3]})
    with pytest.raises(hb.SpecError, match=message):
        hb.Model("y ~ x", data, family=given)


def test_family_names_in_capitals_are_read() -> None:
    data = pd.DataFrame({"y": [0, 1, 1, 0], "x": [0.0, 1, 2, 3]})
    assert hb.Model("y ~ x", data, family="Bernoulli").spec.family == "bernoulli"
    assert hb.Model("y ~ x", data, family="GAUSSIAN ").spec.family == "gaussian"


@pytest.mark.parametrize("key", ["scale", "disc"])
def test_an_ordinal_scale_formula_says_it_is_not_available(key) -> None:
    # had said "family 'cumulative' has no auxiliary parameter a formula can model"
    data = pd.DataFrame({"y": pd.Categorical([1, 2, 3, 2], ordered=True), "x": [0.0, 1, 2, 3]})
    with pytest.raises(ArgumentError, match=rf"{key}='~ x': a formula for the latent scale \(ordinal's clm\(scale=\), "
                                            r"brms' disc\) is not available"):
        hb.Model("y ~ x", data, family="cumulative", **{key: "~ x"})
