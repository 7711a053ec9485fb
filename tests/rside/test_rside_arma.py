"""AR(p), MA(q), ARMA(p, q) and Toeplitz(k) of any order (hierbayes/spec/residual_arma.py):
the likelihood against nlme's corARMA at its ML estimates, the parameterization, the spellings
and their errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import pytest
import scipy.linalg as sl

import hierbayes as hb
from hierbayes.backends.pymc.rside import residual_loglik
from hierbayes.spec.residual_arma import ar_coefficients, ar_partials, arma_autocorrelations, ma_coefficients, ma_values

HERE = Path(__file__).parent

#: nlme 3.1.162 ML fits on tests/rside/data/ovary_ar1.csv (Mare as character), printed with digits = 15:
#:   d <- read.csv("ovary_ar1.csv"); d$Mare <- as.character(d$Mare)
#:   gls(follicles ~ s + c, data = d, correlation = corARMA(form = ~ t | Mare, p = P, q = Q), method = "ML")
#:   lme(follicles ~ s + c, data = d, random = ~ 1 | Mare, correlation = corARMA(form = ~ t | Mare, q = 2), method = "ML")
#: coef(f$modelStruct$corStruct, unconstrained = FALSE) (Phi, then Theta), coef(f) / fixef(f), f$sigma,
#: sqrt(getVarCov(f)[1, 1]) (tau, lme) and logLik(f).
NLME_ML = {
    "ma2": {"phi": (), "theta": (0.653019550441967, 0.386015918609417),
                "beta": (12.241975793756382, -3.060017202459019, -0.873774981006707),
                "sigma": 4.10381269651698, "tau": None, "logLik": -805.060142275782},
    "arma21": {"phi": (1.266674449422716, -0.305350231940293), "theta": (-0.714501126463420,),
                   "beta": (12.08729118909489, -2.94488238072438, -0.82254260948935),
                   "sigma": 4.4670245467293, "tau": None, "logLik": -772.545452154805},
    "ar4": {"phi": (0.5631998752236659, 0.1352780393849508, -0.0197046360666852, 0.1592171711350682), "theta": (),
                "beta": (12.06901900561088, -2.91229700788163, -0.80258766406382),
                "sigma": 4.49532635232312, "tau": None, "logLik": -772.307699124398},
    "ma2 + (1|Mare)": {"phi": (), "theta": (0.510116331306259, 0.285072330417279),
                           "beta": (12.197753606460164, -3.118912592868166, -0.869353885486555),
                           "sigma": 3.38318870070642, "tau": 2.80631942397321, "logLik": -781.358793443703},
}


def _ovary() -> pd.DataFrame:
    data = pd.read_csv(HERE / "data" / "ovary_ar1.csv")
    data["Mare"] = data["Mare"].astype(str)
    return data


def _loglik_at(model: hb.Model, values: np.ndarray, sigma: float, tau: float | None, beta) -> float:
    """The model's residual log-likelihood at fixed parameters (its one per-lag parameter at ``values``)."""
    data = model.data
    rd = model.design.residuals
    resid = data["follicles"].to_numpy(float) - np.column_stack([np.ones(len(data)), data["s"], data["c"]]) @ np.asarray(beta)
    factor = None if tau is None else pt.as_tensor(np.array([tau]))
    Z = None if tau is None else model.design.groups[0].X
    with pm.Model() as m:
        value = residual_loglik(pt.as_tensor(resid), rd, pt.as_tensor(sigma), factor, Z)
    point = m.initial_point()
    point[f"{rd.kind.parameters[0].name}_interval__"] = 2 * np.arctanh(values)  # Uniform(-1, 1)
    expr = m.replace_rvs_by_values([value])[0]
    return float(m.compile_fn(expr, inputs=m.value_vars, point_fn=True, mode="FAST_COMPILE")(point))


@pytest.mark.parametrize("case", list(NLME_ML))
def test_likelihood_is_nlmes_corarma_at_its_ml_estimates(case):
    ref = NLME_ML[case]
    p, q = len(ref["phi"]), len(ref["theta"])
    order = (p, q) if p and q else (p or q)
    kind = "arma" if p and q else ("ar" if p else "ma")
    random = ref["tau"] is not None
    model = hb.Model("follicles ~ s + c" + (" + (1|Mare)" if random else ""), _ovary(),
                     residuals=hb.residuals(kind, order=order, time="t", group="Mare"))
    values = np.concatenate([ar_partials(np.array(ref["phi"])), ma_values(np.array(ref["theta"]))])
    got = _loglik_at(model, values, ref["sigma"], ref["tau"], ref["beta"])
    assert got == pytest.approx(ref["logLik"], abs=1e-6)


def test_toeplitz_k_is_an_ma_k_and_zero_beyond_lag_k():
    ref = NLME_ML["ma2"]
    model = hb.Model("follicles ~ s + c", _ovary(), residuals=hb.residuals("toeplitz", order=2, time="t", group="Mare"))
    assert model.design.residuals.kind.name == "toeplitz2"
    got = _loglik_at(model, ma_values(np.array(ref["theta"])), ref["sigma"], None, ref["beta"])
    assert got == pytest.approx(ref["logLik"], abs=1e-6)
    kind = hb.residuals("toeplitz 2", time="t").spec
    values = np.random.default_rng(0).uniform(-0.99, 0.99, size=(200, 2))
    cor = kind.correlation({"toep2_pacf": values}, np.tile(np.arange(12.0), (200, 1)), np)
    np.testing.assert_array_equal(cor[:, 0, 3:], 0.0)
    assert min(np.linalg.eigvalsh(c).min() for c in cor) > 0  # positive definite whatever the values


def test_parameterizations_are_stationary_invertible_and_round_trip():
    rng = np.random.default_rng(1)
    for _ in range(50):
        u = rng.uniform(-0.98, 0.98, size=3)
        phi = np.array([float(a) for a in ar_coefficients(list(u))])
        assert np.all(np.abs(np.roots(np.r_[-phi[::-1], 1.0])) > 1)  # 1 - phi_1 z - ... stationary
        theta = np.array([float(a) for a in ma_coefficients(list(u))])
        assert np.all(np.abs(np.roots(np.r_[theta[::-1], 1.0])) > 1)  # 1 + theta_1 z + ... invertible
        np.testing.assert_allclose(ar_partials(phi), u)
        np.testing.assert_allclose(ma_values(theta), u)
    assert float(ma_coefficients([np.float64(0.4)])[0]) == pytest.approx(0.4)  # MA(1): theta itself


#: nlme 3.1.162 corMatrix(Initialize(corARMA(c(0.6, 0.3, 0.2), form = ~ t | Mare, p = 1, q = 2, fixed = TRUE),
#: data = d))[[1]][1, 1:4]: its lag-2 correlation is not the process's (0.54307, the sum over the
#: MA(infinity) weights; a simulation of 2e6 steps gives 0.5428): nlme continues the AR recursion from
#: lag q rather than from lag q + 1 when q > p, so its ARMA(1, 2) likelihood is not compared here.
NLME_ARMA12_CORMATRIX = (1.0, 0.7800703, 0.5805862, 0.3483517)


@pytest.mark.parametrize("phi, theta", [([0.9, -0.3], [0.4, -0.2]), ([0.6], [0.3, 0.2]), ([], [0.5, -0.4, 0.3])])
def test_arma_autocorrelations_match_the_long_moving_average_sum(phi, theta):
    p, q = len(phi), len(theta)
    psi = [1.0]
    for j in range(1, 2000):
        psi.append((theta[j - 1] if j <= q else 0.0) + sum(phi[i] * psi[j - 1 - i] for i in range(p) if j - 1 - i >= 0))
    psi = np.array(psi)
    gamma = np.array([psi[: len(psi) - k] @ psi[k:] for k in range(8)])
    got = arma_autocorrelations([np.array([a]) for a in phi], [np.array([b]) for b in theta], 7, np, np.ones(1))[0]
    np.testing.assert_allclose(got, gamma / gamma[0], atol=1e-12)
    if (p, q) == (1, 2):
        assert got[1] == pytest.approx(NLME_ARMA12_CORMATRIX[1], abs=1e-7)
        assert abs(got[2] - NLME_ARMA12_CORMATRIX[2]) > 0.03


def test_arma11_is_arma_of_order_2_1_with_a_zero_second_partial():
    ar11 = hb.residuals("arma11", time="t").spec.correlation(
        {"arma_phi": np.array([0.6]), "arma_theta": np.array([0.3])}, np.arange(6.0)[None], np)
    arma = hb.residuals("arma", order=(2, 1), time="t").spec
    np.testing.assert_allclose(arma.correlation({"arma21_pacf": np.array([[0.6, 0.0, 0.3]])}, np.arange(6.0)[None], np), ar11)


@pytest.mark.parametrize("spelling, kwargs, name", [
    ("ma", {"order": 2}, "ma2"), ("ma 2", {}, "ma2"), ("ma(2)", {}, "ma2"),
    ("arma", {"order": (2, 1)}, "arma21"), ("arma(2,1)", {}, "arma21"), ("ar", {"order": 5}, "ar5"),
    ("ar", {"order": 2}, "ar2"), ("ma", {"order": 1}, "ma1"), ("arma", {"order": (1, 1)}, "arma11"),
    ("toeplitz", {"order": 3}, "toeplitz3"), ("toeplitz 1", {}, "toeplitz1"), ("toeplitz", {}, "toeplitz"),
])
def test_spellings(spelling, kwargs, name):
    rs = hb.residuals(spelling, time="t", **kwargs)
    assert rs.kind == name
    assert hb.residuals(**{k: v for k, v in rs.to_dict().items()}).kind == name


@pytest.mark.parametrize("kind, kwargs, message", [
    ("exchangeable", {"order": 2}, r"residuals\('exchangeable'\) takes no order="),
    ("ma", {"order": 0}, r"residuals\('ma1'\): order= must be 1 whole number\(s\) >= 1 \(q\), got 0"),
    ("arma", {"order": 2}, r"residuals\('arma11'\): order= must be 2 whole number\(s\) >= 1 \(p, q\), got 2"),
    ("arma", {"order": (1, 0)}, r"order= must be 2 whole number\(s\) >= 1 \(p, q\), got \(1, 0\)"),
    ("ma2", {"order": 3}, r"residuals\('ma2'\) already names its order; drop order=3"),
    ("ar", {"order": 1.5}, r"order= must be 1 whole number\(s\) >= 1 \(p\), got 1.5"),
])
def test_order_errors(kind, kwargs, message):
    with pytest.raises(hb.SpecError, match=message):
        hb.residuals(kind, time="t", **kwargs)


def test_an_order_the_data_cannot_carry_is_refused():
    df = pd.DataFrame({"id": np.repeat(["a", "b"], 3), "t": np.tile([1, 2, 3], 2), "y": np.arange(6.0)})
    with pytest.raises(hb.DataError, match=r"residuals ma3: needs groups with at least 4 time points; the largest "
                                          r"group of 'id' \('a', rows 0, 1, 2\) has 3"):
        hb.Model("y ~ 1", df, residuals=hb.residuals("ma", order=3, time="t", group="id"))


def test_likelihood_with_by_and_gaps_is_the_multivariate_normal():
    rng = np.random.default_rng(4)
    df = pd.DataFrame({"id": np.repeat([f"s{i}" for i in range(6)], 5), "t": np.tile(np.arange(1, 6), 6),
                       "arm": np.repeat(["a", "b"], 15)}).drop(index=[2, 13]).reset_index(drop=True)
    df["y"] = rng.normal(size=len(df))
    model = hb.Model("y ~ 1", df, residuals=hb.residuals("arma", order=(1, 2), time="t", group="id", by="arm"))
    rd = model.design.residuals
    values = {"a": np.array([0.5, -0.3, 0.2]), "b": np.array([-0.2, 0.6, 0.1])}
    with pm.Model() as m:
        value = residual_loglik(pt.as_tensor(df["y"].to_numpy()), rd, pt.as_tensor(1.0), None, None)
    point = m.initial_point()
    point["arma12_pacf_interval__"] = 2 * np.arctanh(np.stack([values["a"], values["b"]]))
    point["sigma_ratio_log__"] = np.log([1.5])
    expr = m.replace_rvs_by_values([value])[0]
    got = float(m.compile_fn(expr, inputs=m.value_vars, point_fn=True, mode="FAST_COMPILE")(point))
    expected = 0.0
    for _, rows in df.groupby("id"):
        arm = rows["arm"].iloc[0]
        u = values[arm]
        acf = arma_autocorrelations(ar_coefficients([u[:1]]), ma_coefficients([u[1:2], u[2:]]), 4, np, np.ones(1))[0]
        t = rows["t"].to_numpy(int)
        V = (1.5 if arm == "b" else 1.0) ** 2 * sl.toeplitz(acf)[np.ix_(t - 1, t - 1)]
        expected += float(pm.logp(pm.MvNormal.dist(np.zeros(len(t)), V), rows["y"].to_numpy()).eval())
    assert got == pytest.approx(expected, rel=1e-9)


#: nlme 3.1.162 REML: lme(follicles ~ s + c, data = d, random = ~ 1 | Mare,
#:   correlation = corARMA(form = ~ t | Mare, q = 2)); Theta (95%: 0.367-0.669, 0.185-0.386), fixed effects and SEs.
OVARY_MA2_REML = {"theta": (0.5150502392, 0.2887460570),
                  "fixed": {"Intercept": (12.1979433330, 0.9435933718), "s": (-3.1167940010, 0.4224282030),
                            "c": (-0.8693156365, 0.4111099730)}}


@pytest.mark.slow
def test_ma2_fit_against_nlme():
    fit = hb.Model("follicles ~ s + c + (1|Mare)", _ovary(), residuals=hb.residuals("ma", order=2, time="t")).fit(
        draws=600, tune=600, chains=2, random_seed=1, progressbar=False)
    fixef = fit.fixef()
    for term, (estimate, _) in OVARY_MA2_REML["fixed"].items():
        assert abs(fixef.loc[term, "mean"] - estimate) < 0.5 * fixef.loc[term, "sd"], term
    values = fit.idata.posterior["ma2_pacf"].values.reshape(-1, 2)
    theta = np.array([[float(a) for a in ma_coefficients(list(v))] for v in values])
    for k in range(2):
        assert np.median(theta[:, k]) == pytest.approx(OVARY_MA2_REML["theta"][k], rel=0.2), k
    table = fit.varcorr().set_index("term")
    assert list(table.index[-4:]) == ["ma2_pacf(1)", "ma2_pacf(2)", "cor(lag 1)", "cor(lag 2)"]


def test_integer_lag_structures_refuse_fractional_times_and_point_to_exponential():
    df = pd.DataFrame({"id": np.repeat(["a", "b"], 3), "t": [1, 2, 3, 1, 2.5, 3], "y": np.arange(6.0)})
    with pytest.raises(hb.DataError, match=r"residuals ma2: the time column 't' must hold whole numbers \(AR lags count "
                                          r"time steps\); rows 4 do not \(use 'exponential' for continuous time\)"):
        hb.Model("y ~ 1", df, residuals=hb.residuals("ma", order=2, time="t", group="id"))


@pytest.mark.parametrize("kind", ["ar1", "exponential"])
def test_date_time_columns_are_refused_as_times(kind):
    # as numbers a date counts nanoseconds: daily visits were 8.64e13 units apart, and an AR(1)
    # fitted as independent residuals (phi its prior) with only a unit warning
    day = pd.to_datetime("2020-01-01") + pd.to_timedelta(np.tile([0, 1, 2], 2), unit="D")
    df = pd.DataFrame({"id": np.repeat(["a", "b"], 3), "date": day, "y": np.arange(6.0)})
    with pytest.raises(hb.DataError, match=rf"residuals {kind}: the time column 'date' holds dates or durations.*"
                                          r"df\['day'\] = \(df\['date'\] - df\['date'\]\.min\(\)\)\.dt\.days"):
        hb.Model("y ~ 1", df, residuals=hb.residuals(kind, time="date", group="id"))
    days = df.assign(day=(df["date"] - df["date"].min()).dt.days)  # the advice, followed
    assert hb.Model("y ~ 1", days, residuals=hb.residuals(kind, time="day", group="id")).design.residuals is not None
