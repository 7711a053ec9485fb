"""R's trigonometric functions and its constant ``pi`` in formulas (nlme's Ovary:
``follicles ~ sin(2*pi*Time) + cos(2*pi*Time)``).

Reference: R 4.2's model.matrix on the frame below::

    d <- data.frame(Time = c(-0.1, 0, 0.25, 0.4, 0.9), y = 1:5)
    m <- model.matrix(~ sin(2*pi*Time) + cos(2*pi*Time) + tan(Time) + atan(Time), d)
    colnames(m); sprintf("%.15g", m)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hierbayes.design import build_design
from hierbayes.spec import parse_formula

FRAME = pd.DataFrame({"Time": [-0.1, 0.0, 0.25, 0.4, 0.9], "y": np.arange(1.0, 6.0)})
R_NAMES = ["(Intercept)", "sin(2 * pi * Time)", "cos(2 * pi * Time)", "tan(Time)", "atan(Time)"]
R_MATRIX = np.array([
    [1, 1, 1, 1, 1],
    [-0.587785252292473, 0, 1, 0.587785252292473, -0.587785252292473],
    [0.809016994374947, 1, 6.12323399573677e-17, -0.809016994374947, 0.809016994374947],
    [-0.100334672085451, 0, 0.255341921221036, 0.422793218738162, 1.26015821755034],
    [-0.099668652491162, 0, 0.244978663126864, 0.380506377112365, 0.732815101786507],
]).T


def test_sin_cos_of_pi_match_r_model_matrix() -> None:
    design = build_design(
        parse_formula("y ~ sin(2*pi*Time) + cos(2*pi*Time) + tan(Time) + atan(Time)"), FRAME
    )
    names = ["(Intercept)" if n == "Intercept" else n for n in design.fixed_names]
    assert names == R_NAMES
    np.testing.assert_allclose(design.X, R_MATRIX, atol=1e-12)
    new = design.encoder.encode_new(FRAME.drop(columns="y"))
    np.testing.assert_allclose(new.X, design.X, atol=1e-12)


def test_a_column_named_pi_is_the_column() -> None:
    frame = FRAME.assign(pi=[1.0, 2.0, 3.0, 4.0, 5.0])
    design = build_design(parse_formula("y ~ I(pi * Time)"), frame)
    np.testing.assert_allclose(design.X[:, 1], frame["pi"] * frame["Time"], atol=1e-12)

