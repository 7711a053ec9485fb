"""The tables of a model file (:mod:`hierbayes.modelfile`) other than ``[data]`` and
``[model]``'s own keys: ``[residuals]``, ``[weights]``, ``[priors]`` and ``[sampler]``, and the
checks every table's keys and values share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from .errors import ArgumentError, SpecError, did_you_mean
from .priors import Prior
from .sampler_args import SamplerConfig
from .spec.ir import ModelSpec
from .spec.precision_weights import with_weight_arguments
from .spec.residuals import residuals

__all__ = [
    "RESIDUAL_KEYS", "SAMPLER_KEYS", "WEIGHT_KEYS", "as_pairs", "as_string", "as_table", "check_keys", "location",
    "read_priors", "read_residuals", "read_sampler", "read_weights",
]

RESIDUAL_KEYS = ("kind", "time", "group", "by", "order")
SAMPLER_KEYS = ("draws", "tune", "chains", "cores", "seed", "sampler", "target_accept")
#: ``[weights]``: Model's weights=, weight_kind=, group_weights=, weight_scaling=, weight_method=
WEIGHT_KEYS = ("column", "kind", "groups", "scaling", "method")


def location(path: Path, key: str) -> str:
    return f"{path.name}: {key}"


def check_keys(table: Mapping[str, Any], valid: tuple[str, ...], path: Path, section: str) -> None:
    for key in table:
        if key not in valid:
            hint = did_you_mean(key, valid)
            raise SpecError(
                f"{path.name}: unknown key {key!r} in {section}.{hint} Valid keys: {list(valid)}"
            )


def as_table(value: Any, path: Path, key: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SpecError(f"{location(path, key)} must be a table ([{key}] or {key} = {{...}}), got {type(value).__name__}")
    return value


def as_string(value: Any, path: Path, key: str, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise SpecError(f"{path.name}: {key} is required")
        return None
    if not isinstance(value, str) or not value.strip():
        raise SpecError(f"{location(path, key)} must be a non-empty string, got {value!r}")
    return value


def as_pairs(value: Any, path: Path, key: str, allow_list: bool = False) -> tuple[tuple[str, Any], ...]:
    if value is None:
        return ()
    if allow_list and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple((v, None) for v in value)
    if isinstance(value, dict) and all(isinstance(v, (str, list)) for v in value.values()):
        return tuple((k, v or None) for k, v in value.items())
    form = "a list of columns or a table" if allow_list else "a table"
    raise SpecError(f"{location(path, key)} must be {form} column = \"grouping column\", got {value!r}")


def read_residuals(raw: Any, spec: ModelSpec, path: Path) -> ModelSpec:
    """``spec`` with the structure of the ``[residuals]`` table (unchanged without one)."""
    table = as_table(raw, path, "residuals")
    if not table:
        return spec
    check_keys(table, RESIDUAL_KEYS, path, "[residuals]")
    kind = as_string(table.get("kind"), path, "residuals.kind", required=True)
    columns = {key: as_string(table.get(key), path, f"residuals.{key}") for key in ("time", "group", "by")}
    order = table.get("order")
    if order is not None:
        whole = isinstance(order, int) and not isinstance(order, bool)
        pair = isinstance(order, list) and len(order) == 2 and all(type(o) is int for o in order)
        if not (whole or pair):
            raise SpecError(f"{location(path, 'residuals.order')} must be a whole number (p, q or k) or a "
                            f"list [p, q] (arma), got {order!r}")
        order = tuple(order) if pair else order
    if spec.residuals is not None:
        raise SpecError(f"{path.name}: [residuals] and the model's own residual structure "
                        f"({spec.residuals.describe()}) are both given; keep one")
    try:
        structure = residuals(kind, order=order, **columns)
    except SpecError as exc:
        raise SpecError(f"{path.name}: [residuals]: {exc}") from None
    return replace(spec, residuals=structure)


def read_weights(raw: Any, spec: ModelSpec, path: Path) -> ModelSpec:
    """``spec`` with the weights of the ``[weights]`` table (unchanged without one): ``column``,
    ``kind`` ("auto", "sampling", "frequency" or "precision"), ``groups`` ({factor = column}),
    ``scaling`` and ``method``, as :class:`hierbayes.Model`'s weight arguments."""
    table = as_table(raw, path, "weights")
    if not table:
        return spec
    check_keys(table, WEIGHT_KEYS, path, "[weights]")
    text = {key: as_string(table.get(key), path, f"weights.{key}") for key in ("column", "kind", "scaling", "method")}
    groups = as_table(table.get("groups"), path, "weights.groups") or None
    if groups is not None and not all(isinstance(column, str) and column for column in groups.values()):
        raise SpecError(f"{location(path, 'weights.groups')} must be a table factor = \"weights column\", got {groups!r}")
    if spec.response.weights is not None or spec.group_weights:
        raise SpecError(f"{path.name}: [weights] and the model's own weights (in the formula or the Stata "
                        "command) are both given; keep one")
    try:
        return with_weight_arguments(spec, text["column"], groups, text["scaling"], text["method"], text["kind"])
    except SpecError as exc:
        raise SpecError(f"{path.name}: [weights]: {exc}") from None


def read_priors(raw: Any, path: Path) -> dict[str, Prior]:
    out = {}
    for key, value in as_table(raw, path, "priors").items():
        if not isinstance(value, dict) or "dist" not in value:
            raise SpecError(
                f"{location(path, f'priors.{key}')} must be a table with dist = \"...\" and its "
                f"parameters, as in {key} = {{ dist = \"Normal\", mu = 0, sigma = 10 }}"
            )
        params = {k: v for k, v in value.items() if k != "dist"}
        for name, number in params.items():
            if isinstance(number, bool) or not isinstance(number, (int, float)):
                raise SpecError(f"{location(path, f'priors.{key}.{name}')} must be a number, got {number!r}")
        out[key] = Prior(str(value["dist"]), **{k: float(v) for k, v in params.items()})
    return out


def read_sampler(raw: Any, path: Path) -> SamplerConfig:
    """The ``[sampler]`` table (``seed`` is the file's name of ``random_seed``)."""
    table = as_table(raw, path, "sampler")
    check_keys(table, SAMPLER_KEYS, path, "[sampler]")
    settings = {("random_seed" if key == "seed" else key): value for key, value in table.items()}
    if "sampler" in settings:
        settings["sampler"] = as_string(settings["sampler"], path, "sampler.sampler")
    try:
        return SamplerConfig(**settings)
    except ArgumentError as exc:
        key = "seed" if exc.argument == "random_seed" else exc.argument
        raise SpecError(f"{location(path, f'sampler.{key}')} {exc.requirement}, got {exc.value!r}") from None
