"""Probe: does splitting a crossed term's prior-only directions off its effects make NUTS's
trees shorter on VerbAgg? (session 36; a hand-written numpyro model, no hierbayes code.)

``r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)``, bernoulli logit, with the
geometry hierbayes gives it: the items are the centred intercept holder drawn around the
intercept plus their mean of the (centred, scaled) fixed columns, the rows see the columns'
within-item deviations, the subjects' effects are ``sd_id * z``. Two forms of the subjects:

* ``plain``: ``z ~ N(0, I)`` (hierbayes today, up to its adaptive scaling per subject);
* ``split``: ``z = U s + Q w`` with ``U`` an orthonormal basis of the subject-level design
  ``M`` (``1`` and, with ``--covariates``, the subject-level columns Anger and Gender) and
  ``Q`` its orthonormal complement, ``s ~ N(0, I)``, ``w ~ N(0, I)``. What the rows see of
  ``U s`` (``M R^-1 s``, with ``M = U R``) is moved into the items' totals (the ``1`` column)
  and the fixed coefficients (the covariates): the sampler holds ``v' = v + sd_id (R^-1 s)_1``
  and ``b' = b + sd_id (R^-1 s)_cov``, and the priors are evaluated at ``v`` and ``b``. Every
  map is linear with a unit triangular Jacobian, so the posterior is the same.

The data fix the subjects' effects one by one (24 answers each) but not their mean or their
regression on Anger and Gender, which trade against the items' mean and the coefficients: in
the sampler's diagonally scaled coordinates those directions are several times wider than
the rest, and a lower target acceptance (longer steps) then costs effective draws.

Usage: ``python bench/crossed_split.py VERBAGG_CSV --form split --covariates --target-accept
0.8 --seed 1`` prints one line (leapfrog steps a draw, divergences, min ESS (numpyro's estimator), max R-hat,
the square root of the scaled posterior covariance's condition number).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd


def design(csv: str, covariates: bool) -> dict:
    frame = pd.read_csv(csv)
    subject = pd.Categorical(frame["id"]).codes
    item = pd.Categorical(frame["item"]).codes
    columns = np.column_stack([
        frame["Anger"], frame["Gender"] == "M", frame["btype"] == "scold", frame["btype"] == "shout",
        frame["situ"] == "self",
    ]).astype(float)
    columns = (columns - columns.mean(0)) / columns.std(0)
    n_subject, n_item = subject.max() + 1, item.max() + 1
    item_means = np.stack([columns[item == j].mean(0) for j in range(n_item)])
    within = columns - item_means[item]
    first_row = np.array([np.flatnonzero(subject == i)[0] for i in range(n_subject)])
    subject_design = np.column_stack([np.ones(n_subject), within[first_row, :2]]) if covariates \
        else np.ones((n_subject, 1))
    basis, triangle = np.linalg.qr(subject_design)
    rng = np.random.default_rng(0)
    full, _ = np.linalg.qr(np.column_stack([basis, rng.normal(size=(n_subject, n_subject - basis.shape[1]))]))
    return {"y": frame["r2"].to_numpy(float), "subject": subject, "item": item, "within": within,
            "item_means": item_means, "basis_rest": full[:, basis.shape[1]:],
            "triangle_inverse": np.linalg.inv(triangle), "n_subject": n_subject, "n_item": n_item}


def model_of(d: dict, form: str):
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist

    within, item_means = jnp.asarray(d["within"]), jnp.asarray(d["item_means"])
    rest, triangle_inverse = jnp.asarray(d["basis_rest"]), jnp.asarray(d["triangle_inverse"])
    k = triangle_inverse.shape[0]

    def model():
        centre = numpyro.sample("c", dist.Normal(0, 5))
        sd_subject = numpyro.sample("sd_id", dist.HalfNormal(2.5))
        sd_item = numpyro.sample("sd_item", dist.HalfNormal(2.5))
        if form == "plain":
            b = numpyro.sample("b", dist.Normal(0, 2.5).expand([5]))
            z = numpyro.sample("z", dist.Normal(0, 1).expand([d["n_subject"]]))
            v = numpyro.sample("v", dist.Normal(centre + item_means @ b, sd_item))
            eta = v[d["item"]] + within @ b + sd_subject * z[d["subject"]]
        else:
            b_rows = numpyro.sample("b_rows", dist.ImproperUniform(dist.constraints.real, (), (5,)))
            v_rows = numpyro.sample("v_rows", dist.ImproperUniform(dist.constraints.real, (), (d["n_item"],)))
            s = numpyro.sample("s", dist.Normal(0, 1).expand([k]))
            w = numpyro.sample("w", dist.Normal(0, 1).expand([d["n_subject"] - k]))
            carried = sd_subject * (triangle_inverse @ s)
            b = b_rows.at[: k - 1].add(-carried[1:])
            v = v_rows - carried[0]
            numpyro.factor("b_prior", dist.Normal(0, 2.5).log_prob(b).sum())
            numpyro.factor("v_prior", dist.Normal(centre + item_means @ b, sd_item).log_prob(v).sum())
            eta = v_rows[d["item"]] + within @ b_rows + sd_subject * (rest @ w)[d["subject"]]
        numpyro.sample("y", dist.Bernoulli(logits=eta), obs=d["y"])

    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("csv")
    parser.add_argument("--form", choices=("plain", "split"), default="plain")
    parser.add_argument("--covariates", action="store_true")
    parser.add_argument("--target-accept", type=float, default=0.95)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    import jax
    from numpyro.diagnostics import summary
    from numpyro.infer import MCMC, NUTS

    d = design(args.csv, args.covariates)
    mcmc = MCMC(NUTS(model_of(d, args.form), target_accept_prob=args.target_accept), num_warmup=1000,
                num_samples=1000, num_chains=4, chain_method="sequential", progress_bar=False)
    started = time.perf_counter()
    mcmc.run(jax.random.PRNGKey(args.seed), extra_fields=("num_steps", "diverging"))
    seconds = time.perf_counter() - started
    extra = mcmc.get_extra_fields(group_by_chain=True)
    draws = {k: np.asarray(v) for k, v in mcmc.get_samples(group_by_chain=True).items()}
    reported = summary({k: v for k, v in draws.items() if k not in ("z", "w")})
    min_ess = min(float(np.min(v["n_eff"])) for v in reported.values())
    max_rhat = max(float(np.max(v["r_hat"])) for v in reported.values())
    flat = np.concatenate([(np.log(v) if k.startswith("sd") else v).reshape(4000, -1) for k, v in draws.items()], 1)
    eigen = np.linalg.eigvalsh(np.corrcoef(flat.T))
    label = f"{args.form}{'+cov' if args.covariates else ''}"
    print(f"{label} ta={args.target_accept} seed={args.seed}: steps/draw {extra['num_steps'].mean():.1f}, "
          f"divergences {int(extra['diverging'].sum())}, min ESS {min_ess:.0f}, max R-hat {max_rhat:.3f}, "
          f"sqrt condition {np.sqrt(eigen[-1] / eigen[0]):.1f}, {seconds:.0f} s")


if __name__ == "__main__":
    main()
