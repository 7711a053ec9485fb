"""CSV files of model files and of ``hierbayes predict --data`` are read as R's read.csv reads
them: a level spelled "None" or "null" (mlmRev's guPrenat: momEd "None") is a level, not a
missing value (hierbayes/modelfile_data.read_table)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hierbayes.cli_results import read_new_rows
from hierbayes.modelfile import load_model_file
from hierbayes.modelfile_data import read_table

CSV = "y,x,ed,g\n1.5,0.1,None,a\n2.5,NA,Primary,a\n0.5,0.3,null,b\n1.0,NaN,None,b\n3.0,,Primary,c\n"


def test_only_r_missing_cells_are_missing(tmp_path) -> None:
    path = tmp_path / "d.csv"
    path.write_text(CSV, encoding="utf-8")
    df = read_table(path, ["ed"])
    assert list(df["ed"]) == ["None", "Primary", "null", "None", "Primary"]
    assert df["x"].dtype == float and int(df["x"].isna().sum()) == 3  # NA, NaN and an empty field
    assert pd.isna(read_table(path)["ed"]).sum() == 0  # text columns keep "None" without being listed


def test_model_files_and_new_rows_keep_none_as_a_level(tmp_path) -> None:
    (tmp_path / "d.csv").write_text(CSV, encoding="utf-8")
    (tmp_path / "m.toml").write_text('[data]\nsource = "d.csv"\nfactors = ["ed"]\nmissing = "drop"\n'
                                     '[model]\nformula = "y ~ ed + (1 | g)"\n', encoding="utf-8")
    data = load_model_file(tmp_path / "m.toml").load_data()
    assert list(data["ed"].cat.categories) == ["None", "Primary", "null"]
    rows = read_new_rows(tmp_path / "d.csv", data)
    assert list(rows["ed"]) == ["None", "Primary", "null", "None", "Primary"]
    assert np.isnan(rows["x"].to_numpy()).sum() == 3
