"""The InstEval crossed design (73,421 rows, over 4,000 levels) builds and compiles within
1 GB: group terms are integer codes plus slope columns, never a rows x levels matrix."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import json, resource, time
    import hierbayes as hb
    t0 = time.perf_counter()
    df = hb.datasets.load("InstEval")
    model = hb.Model("y ~ service + (1|s) + (1|d) + (1|dept)", data=df)
    built = time.perf_counter() - t0
    pm_model = model.pymc_model
    # compile the log density and its gradient the way the default (numpyro) sampler does
    import jax, numpy as np
    from pymc.sampling.jax import get_jaxified_logp
    logp_fn = get_jaxified_logp(pm_model)
    point = pm_model.initial_point()
    x = [point[v.name] for v in pm_model.value_vars]
    logp, grad = jax.jit(jax.value_and_grad(lambda xs: logp_fn(xs)))(x)
    logp = float(logp)
    compiled = time.perf_counter() - t0 - built
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": model.design.n_obs, "levels": sum(b.n_levels for b in model.design.groups),
                      "peak_mb": peak_mb, "build_s": built, "logp_finite": bool(np.isfinite(logp)),
                      "compile_s": compiled, "n_params": int(sum(np.size(v) for v in x))}))
    """
)


def test_insteval_crossed_builds_and_compiles_under_1gb():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["rows"] == 73421
    assert result["levels"] > 4000
    assert result["logp_finite"]
    assert result["peak_mb"] < 1024, result
    print(result)
