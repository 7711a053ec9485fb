"""Weights in the spec: ``y | weights(w)``, Model(weights=, group_weights=, weight_scaling=),
Stata's ``[pw=]`` / ``pweight()`` / ``pwscale()``, saved and read back."""

from __future__ import annotations

import dataclasses

import pytest

from hierbayes.errors import SpecError
from hierbayes.spec import parse_formula
from hierbayes.spec.serialize import spec_from_dict, spec_to_dict
from hierbayes.spec.stata import from_stata
from hierbayes.spec.weights import with_weights


@pytest.mark.parametrize(
    "formula, expected",
    [
        ("y | weights(w) ~ x + (1|g)", "y | weights(w) ~ x + (1 | g)"),
        ("y | cens(c) + weights(w) ~ x", "y | cens(c) + weights(w) ~ x"),
        ("y | weights(w) + trials(n) ~ x", "y | trials(n) + weights(w) ~ x"),
        ("cbind(s, f) | weights(w) ~ x", "cbind(s, f) | weights(w) ~ x"),
    ],
)
def test_weights_addition_term_round_trips(formula, expected):
    spec = parse_formula(formula)
    assert spec.response.weights == "w"
    assert spec.to_formula() == expected
    assert parse_formula(spec.to_formula()).to_formula() == expected
    assert spec_from_dict(spec_to_dict(spec)) == spec


def test_group_weights_and_scaling_are_saved():
    spec = with_weights(parse_formula("y ~ x + (1|g)"), "w1", {"g": "w2"}, "size")
    assert spec.group_weights == (("g", "w2"),) and spec.weight_scaling == "size"
    assert spec_from_dict(spec_to_dict(spec)) == spec
    assert "group_weights" not in spec_to_dict(parse_formula("y ~ x + (1|g)"))


def test_weights_addition_errors():
    with pytest.raises(SpecError, match=r"weights\(\) takes one argument"):
        parse_formula("y | weights(w, v) ~ x")
    with pytest.raises(SpecError, match=r"weights\(\) needs a column name"):
        parse_formula("y | weights(log(w)) ~ x")
    with pytest.raises(SpecError, match=r"weights\(\) is given twice"):
        parse_formula("y | weights(w) + weights(v) ~ x")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(weight_scaling="gk"), "weight_scaling='gk': valid values"),
        (dict(weight_scaling="size"), "rescales level-1 weights, but the model has none"),
        (dict(group_weights={"school": "w2"}), "group_weights given for 'school'"),
        (dict(weights=3), "weights= takes a column name"),
        (dict(group_weights=["w2"]), "group_weights= takes a dict"),
        (dict(group_weights={"g": 2}), r"group_weights\['g'\] must be a column name"),
    ],
)
def test_weight_argument_errors(kwargs, message):
    with pytest.raises(SpecError, match=message):
        with_weights(parse_formula("y ~ x + (1|g)"), **kwargs)


def test_scaling_needs_groups_and_weights_given_once():
    with pytest.raises(SpecError, match="within groups, but the model has no group term"):
        with_weights(parse_formula("y ~ x"), "w", None, "size")
    with pytest.raises(SpecError, match="level-1 weights are given twice"):
        with_weights(parse_formula("y | weights(w) ~ x"), "v")
    assert with_weights(parse_formula("y | weights(w) ~ x"), "w").response.weights == "w"


def test_weights_refused_with_a_residual_structure():
    import hierbayes as hb

    spec = parse_formula("y | weights(w) ~ x + (1|g)")
    with pytest.raises(SpecError, match="weights cannot yet be combined with residuals="):
        dataclasses.replace(spec, residuals=hb.residuals("ar1", time="t", group="g"))


def test_stata_weights():
    spec = from_stata("mixed y x [pw=w1] || school:, pweight(w2)")
    assert spec.response.weights == "w1" and spec.group_weights == (("school", "w2"),)
    spec = from_stata("mixed y x if z > 1 [pweight = w1], pwscale(effective) || school: || class:, pweight(w3)")
    assert spec.subset == "z > 1" and spec.weight_scaling == "effective"
    assert spec.group_weights == (("school:class", "w3"),)
    assert from_stata("melogit y x [fw=n] || g:").response.weights == "n"
    # the manual's spelling: pwscale() among the options after the last equation's comma
    spec = from_stata("mixed isei female [pw=w_fstuwt] || id_school:, pweight(wnrschbw) pwscale(size) nolog")
    assert spec.weight_scaling == "size" and spec.group_weights == (("id_school", "wnrschbw"),)


@pytest.mark.parametrize(
    "command, message",
    [
        ("mixed y x [aw=w1] || school:", "only pweight"),
        ("mixed y x [pw=log(w)] || school:", "give one weight variable"),
        ("mixed y x [pw w] || school:", "cannot read the weight"),
        ("mixed y x, pwscale(size) || school:", r"pwscale\(size\) scales level-1 weights"),
        ("mixed y x [pw=w], pwscale(gk) || school:", "supported size and effective"),
        ("mixed y x [pw=w] || school:, pwscale(size) || class:", r"unknown option 'pwscale\(size\)'"),
        ("mixed y x || school:, pweight(w2) pwscale(size)", r"pwscale\(size\) scales level-1 weights"),
        ("mixed y x || school:, pweight()", r"pweight\(\): give one weight variable"),
        ("mixed y x [fw=n], pwscale(size) || school:", r"\[fw=n\] is a frequency weight.*pwscale\(size\).*\[pw=n\]"),
        ("mixed y x [fw=n] || school:, pweight(w2)", r"\[fw=n\] is a frequency weight.*pweight\(\) on a level"),
    ],
)
def test_stata_weight_errors(command, message):
    with pytest.raises(SpecError, match=message):
        from_stata(command)
