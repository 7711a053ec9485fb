"""Weights in model files: the ``[weights]`` table (hierbayes/modelfile_tables.py) gives the
spec Model's weight arguments would, for every kind, and its errors name the table."""

from __future__ import annotations

from pathlib import Path

import pytest

import hierbayes as hb
from hierbayes.errors import SpecError
from hierbayes.modelfile import load_model_file

DATA = Path(__file__).resolve().parents[1] / "data" / "orthodont_varfixed.csv"
FORMULA = "distance ~ age + (1 | Subject)"


def write(tmp_path: Path, weights: str, formula: str = FORMULA) -> Path:
    path = tmp_path / "m.toml"
    path.write_text(f'[data]\nsource = "{DATA}"\nfactors = ["Subject"]\n[model]\nformula = "{formula}"\n'
                    f"{weights}\n", encoding="utf-8")
    return path


def test_precision_weights_in_a_file_are_the_models_precision_weights(tmp_path) -> None:
    mf = load_model_file(write(tmp_path, '[weights]\ncolumn = "w"\nkind = "precision"'))
    model = mf.build()
    by_argument = hb.Model(FORMULA, model.data, weights="w", weight_kind="precision")
    assert mf.spec == by_argument.spec
    assert mf.spec.response.weights is None and "log(w)" in mf.spec.aux_formulas["sigma"].fixed.offsets[0]


def test_sampling_weights_and_group_weights(tmp_path) -> None:
    table = '[weights]\ncolumn = "w"\nkind = "sampling"\ngroups = { Subject = "w" }\nscaling = "size"'
    spec = load_model_file(write(tmp_path, table)).spec
    assert spec.response.weights == "w" and spec.weight_kind == "sampling"
    assert dict(spec.group_weights) == {"Subject": "w"} and spec.weight_scaling == "size"


def test_a_file_without_weights_has_none(tmp_path) -> None:
    spec = load_model_file(write(tmp_path, "")).spec
    assert spec.response.weights is None and not spec.group_weights


@pytest.mark.parametrize(("table", "formula", "message"), [
    ('[weights]\ncolumn = "w"\nkidn = "precision"', FORMULA, r"unknown key 'kidn' in \[weights\]\. Did you mean 'kind'"),
    ('[weights]\ncolumn = "w"\nkind = "lme4"', FORMULA, r"\[weights\]: weight_kind='lme4': valid values"),
    ('[weights]\nkind = "precision"', FORMULA, r"\[weights\]: weight_kind='precision' says what level-1 weights are"),
    ('[weights]\ncolumn = "w"\ngroups = { Subject = 2 }', FORMULA, r"weights\.groups must be a table factor = \"weights column\", got"),
    ('[weights]\ncolumn = 3', FORMULA, r"weights\.column must be a non-empty string"),
    ('[weights]\ncolumn = "w"', "distance | weights(w) ~ age + (1 | Subject)",
     r"\[weights\] and the model's own weights .* are both given"),
])
def test_weights_table_errors(tmp_path, table, formula, message) -> None:
    with pytest.raises(SpecError, match=message):
        load_model_file(write(tmp_path, table, formula))
