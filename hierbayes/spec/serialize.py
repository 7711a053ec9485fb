"""ModelSpec <-> plain dict (JSON), for saved fits and model files."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .ir import AuxFormula, Covariance, FixedPart, GroupTerm, ModelSpec, Response
from .residuals import ResidualStructure


def _fixed_to_dict(fixed: FixedPart) -> dict[str, Any]:
    return {"intercept": fixed.intercept, "terms": list(fixed.terms), "offsets": list(fixed.offsets)}


def _fixed_from_dict(d: dict[str, Any]) -> FixedPart:
    return FixedPart(intercept=d["intercept"], terms=tuple(d["terms"]), offsets=tuple(d.get("offsets", ())))


def _groups_to_list(groups) -> list[dict[str, Any]]:
    return [
        {"factor": list(g.factor), "intercept": g.intercept, "terms": list(g.terms), "covariance": g.covariance.value}
        for g in groups
    ]


def _groups_from_list(groups) -> tuple[GroupTerm, ...]:
    return tuple(
        GroupTerm(
            factor=tuple(g["factor"]), intercept=g["intercept"], terms=tuple(g["terms"]),
            covariance=Covariance(g["covariance"]),
        )
        for g in groups
    )


def _distributional_from_dict(d: dict[str, Any]) -> tuple[tuple[str, AuxFormula], ...]:
    return tuple(
        (name, AuxFormula(_fixed_from_dict(sub["fixed"]), _groups_from_list(sub["groups"])))
        for name, sub in d.get("distributional", {}).items()
    )


def spec_to_dict(spec: ModelSpec) -> dict[str, Any]:
    """A JSON-serialisable description of ``spec`` (level-equation metadata excluded)."""
    out = _spec_dict(spec)
    if spec.distributional:  # absent otherwise: files of models without it are unchanged
        out["distributional"] = {
            name: {"fixed": _fixed_to_dict(sub.fixed), "groups": _groups_to_list(sub.groups)}
            for name, sub in spec.distributional
        }
    return out


def _spec_dict(spec: ModelSpec) -> dict[str, Any]:
    return {
        "response": {
            "expr": spec.response.expr,
            "trials": spec.response.trials,
            "failures": spec.response.failures,
            **{
                k: getattr(spec.response, k)
                for k in ("cens", "cens_upper", "trunc_lb", "trunc_ub", "event", "tobit_ll", "tobit_ul", "intreg_upper",
                          "weights")
                if getattr(spec.response, k) is not None
            },
        },
        "fixed": {
            "intercept": spec.fixed.intercept,
            "terms": list(spec.fixed.terms),
            "offsets": list(spec.fixed.offsets),
        },
        "groups": [
            {
                "factor": list(g.factor),
                "intercept": g.intercept,
                "terms": list(g.terms),
                "covariance": g.covariance.value,
            }
            for g in spec.groups
        ],
        "family": spec.family.name,
        "link": spec.link,
        "source": spec.source,
        "levels": spec.levels is not None,
        "subset": spec.subset,
        "residuals": None if spec.residuals is None else spec.residuals.to_dict(),
        **({"group_weights": [list(p) for p in spec.group_weights]} if spec.group_weights else {}),
        **({"weight_scaling": spec.weight_scaling} if spec.weight_scaling != "none" else {}),
        **({"weight_method": spec.weight_method} if spec.weight_method != "pseudo-posterior" else {}),
        **({"weight_kind": spec.weight_kind} if spec.weight_kind != "auto" else {}),
        **({"metric": spec.metric} if spec.metric is not None else {}),
        **({"integer_factors": list(spec.integer_factors)} if spec.integer_factors else {}),
    }


def spec_from_dict(d: dict[str, Any]) -> ModelSpec:
    """Inverse of :func:`spec_to_dict`; a level-equation spec is re-parsed from its source
    so its per-equation reporting survives."""
    if d.get("levels"):
        from .levels import parse_levels

        spec = parse_levels(d["source"], family=d["family"], link=d["link"])
        saved = {":".join(g["factor"]): g["covariance"] for g in d["groups"]}
        if any(saved[g.group] != g.covariance.value for g in spec.groups):
            spec = spec.with_covariance(saved)
        if d["response"].get("weights") is not None:
            spec = replace(spec, response=replace(spec.response, weights=d["response"]["weights"]))
        return replace(spec, subset=d.get("subset"), residuals=_residuals(d),
                       distributional=_distributional_from_dict(d), metric=d.get("metric"), **_weights(d))
    return ModelSpec(
        response=Response(**d["response"]),
        fixed=FixedPart(
            intercept=d["fixed"]["intercept"],
            terms=tuple(d["fixed"]["terms"]),
            offsets=tuple(d["fixed"].get("offsets", ())),
        ),
        groups=tuple(
            GroupTerm(
                factor=tuple(g["factor"]),
                intercept=g["intercept"],
                terms=tuple(g["terms"]),
                covariance=Covariance(g["covariance"]),
            )
            for g in d["groups"]
        ),
        family=d["family"],
        link=d["link"],
        source=d.get("source", ""),
        subset=d.get("subset"),
        residuals=_residuals(d),
        distributional=_distributional_from_dict(d),
        **_weights(d),
        metric=d.get("metric"),
        integer_factors=tuple(d.get("integer_factors", ())),
    )


def _weights(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "group_weights": tuple(tuple(p) for p in d.get("group_weights", ())),
        "weight_scaling": d.get("weight_scaling", "none"),
        "weight_method": d.get("weight_method", "pseudo-posterior"),
        "weight_kind": d.get("weight_kind", "auto"),
    }


def _residuals(d: dict[str, Any]) -> ResidualStructure | None:
    saved = d.get("residuals")
    return None if saved is None else ResidualStructure.from_dict(saved)
