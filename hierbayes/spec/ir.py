"""The intermediate representation of a model: plain frozen dataclasses, no data, no PyMC.

Both front ends (lme4 formulas and level equations) produce a :class:`ModelSpec`; every later
stage (design, compile, results) reads only this.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..errors import SpecError, did_you_mean
from ..families import METRICS, Family, get_family, proportional_hazards
from .covariance import Covariance
from .residuals import ResidualStructure, residuals
from .weights import check_weights


def modellable_aux(family: Family) -> tuple[str, ...]:
    """The family parameters a distributional formula can model (ordinal thresholds cannot)."""
    return tuple(a for a in family.aux if a != "Intercept")


#: Other packages' names of a zero-inflation or hurdle part, which no family here has.
ZERO_INFLATION_NAMES = ("zi", "ziformula", "zi_formula", "hu", "zoi", "coi")


def check_aux_names(family: Family, names) -> None:
    """SpecError for a name that is not a modellable parameter of ``family``, naming the valid ones."""
    valid = modellable_aux(family)
    for name in names:
        if name in ZERO_INFLATION_NAMES and name not in valid:
            raise SpecError(
                f"a formula was given for {name!r}: zero-inflated and hurdle models (glmmTMB's "
                "ziformula, brms' zi and hu) are not available in hierbayes; a negative binomial "
                "(family='negbinomial') often fits the excess zeros, and fit.ppc().pvalues() tests "
                "the share of zeros (prop_zero)"
            )
        if name not in valid:
            if not valid:
                raise SpecError(
                    f"a formula was given for {name!r}, but family {family.name!r} has no "
                    "auxiliary parameter a formula can model"
                )
            raise SpecError(
                f"a formula was given for {name!r}, which is not a parameter of family "
                f"{family.name!r}.{did_you_mean(str(name), valid)} Valid names: {list(valid)}"
            )


def check_metric(family: Family, metric: str, link: str | None = None) -> None:
    """SpecError for a coefficient metric the family (with ``link``) does not have (see
    ``ModelSpec.metric``)."""
    if metric == "eform":
        try:
            family.ratio_label(link)
        except SpecError as exc:
            raise SpecError(f"metric='eform': {exc}") from None
        return
    if metric not in METRICS:
        raise SpecError(f"metric={metric!r} is not one of {[*METRICS, 'eform']} (log time, hazard ratio, "
                        "log hazard ratio, exp(coefficient))")
    if metric != "aft" and family.ph_log_hazard is None:
        raise SpecError(
            f"metric={metric!r}: hazard ratios are defined for the proportional-hazards families "
            f"{sorted(proportional_hazards())}, not for {family.name!r}"
            + (" (an accelerated failure time family: use metric='aft')" if family.coefficient_scale else "")
        )
    if metric == "aft" and family.coefficient_scale is None:
        raise SpecError(f"metric='aft' (log time) is for survival families, not for {family.name!r}")


@dataclass(frozen=True)
class Response:
    """The left-hand side: a response expression, optionally with binomial trials,
    censoring or truncation (brms' addition terms after ``|``).

    ``expr`` is a column name or an expression formulae can evaluate (``log(y)``).
    ``trials`` is the column of the number of trials (``y | trials(n)``); ``failures`` the
    column of failures (``cbind(successes, failures)``). At most one of them is set.
    ``cens`` is the column of per-row censoring indicators (``y | cens(c)``: "left",
    "none", "right", "interval" or -1, 0, 1, 2) and ``cens_upper`` the column of the upper
    bounds of interval-censored rows (``cens(c, y2)``). ``trunc_lb`` / ``trunc_ub`` are the
    truncation bounds (``trunc(lb = 0, ub = 10)``), a number or a column, as written.
    ``weights`` is the column of level-1 (observation) weights (``y | weights(w)``,
    ``Model(weights="w")``, Stata's ``[pw=w]``): each row's log-likelihood is multiplied by
    its weight (see :mod:`hierbayes.spec.weights`).

    Censoring read from the data the way Stata's commands describe it (at most one of these,
    and not with ``cens``): ``event`` is the failure indicator of a survival time
    (``t | event(d)``, Stata's ``stset t, failure(d)``: rows with ``d == 0`` are
    right-censored at ``t``); ``tobit_ll`` / ``tobit_ul`` are the censoring limits of
    ``metobit`` (``y | tobit(ll = 0, ul = 10)``, a number or a column: rows with
    ``y <= ll`` are left-censored at ``ll``, rows with ``y >= ul`` right-censored at ``ul``);
    ``intreg_upper`` is the upper end of ``meintreg`` (``ylow | intreg(yup)``: missing
    ``ylow`` is left-censored at ``yup``, missing ``yup`` right-censored at ``ylow``, equal
    ends are exact values, others intervals).
    """

    expr: str
    trials: str | None = None
    failures: str | None = None
    cens: str | None = None
    cens_upper: str | None = None
    trunc_lb: str | None = None
    trunc_ub: str | None = None
    weights: str | None = None
    event: str | None = None
    tobit_ll: str | None = None
    tobit_ul: str | None = None
    intreg_upper: str | None = None

    def __post_init__(self) -> None:
        given = [name for name, on in (("cens()", self.cens), ("event()", self.event), ("intreg()", self.intreg_upper),
                                       ("tobit()", self.tobit_ll or self.tobit_ul)) if on is not None]
        if len(given) > 1:
            raise SpecError(f"{' and '.join(given)} both say how rows are censored; give one of them")

    @property
    def censored(self) -> bool:
        """Whether rows may be censored (``cens(c)``, ``event()``, ``tobit()``,
        ``intreg()``) or the outcome truncated (``trunc()``)."""
        fields = (self.cens, self.trunc_lb, self.trunc_ub, self.event, self.tobit_ll, self.tobit_ul, self.intreg_upper)
        return any(v is not None for v in fields)

    def to_formula(self) -> str:
        if self.failures is not None:
            lhs = f"cbind({self.expr}, {self.failures})"
            return lhs if self.weights is None else f"{lhs} | weights({self.weights})"
        additions = [] if self.trials is None else [f"trials({self.trials})"]
        if self.cens is not None:
            upper = "" if self.cens_upper is None else f", {self.cens_upper}"
            additions.append(f"cens({self.cens}{upper})")
        if self.event is not None:
            additions.append(f"event({self.event})")
        limits = [f"{k} = {v}" for k, v in (("ll", self.tobit_ll), ("ul", self.tobit_ul)) if v is not None]
        if limits:
            additions.append(f"tobit({', '.join(limits)})")
        if self.intreg_upper is not None:
            additions.append(f"intreg({self.intreg_upper})")
        bounds = [f"{k} = {v}" for k, v in (("lb", self.trunc_lb), ("ub", self.trunc_ub)) if v is not None]
        if bounds:
            additions.append(f"trunc({', '.join(bounds)})")
        if self.weights is not None:
            additions.append(f"weights({self.weights})")
        return f"{self.expr} | {' + '.join(additions)}" if additions else self.expr


@dataclass(frozen=True)
class FixedPart:
    """The population-level (fixed) part: an intercept flag and additive term texts.

    Each term is a formula expression (``x``, ``a:b``, ``a*b``, ``I(x**2)``, ``C(g)``); the
    design expands it with R's rules (:mod:`hierbayes.spec.terms`). The formula parser stores
    the expanded terms in R's order (``Sex/age`` -> ``Sex``, ``Sex:age``), without duplicates.
    ``offsets`` are expressions added to the linear predictor with a coefficient fixed at 1
    (``offset(log(expected))`` in R, ``exposure(t)`` / ``offset(v)`` in Stata); several are
    summed. They have no prior and no row in the fixed-effects table.
    """

    intercept: bool = True
    terms: tuple[str, ...] = ()
    offsets: tuple[str, ...] = ()

    def to_formula(self) -> str:
        parts = list(self.terms) + [f"offset({expr})" for expr in self.offsets]
        if not self.intercept:
            return " + ".join(["0", *parts])
        return " + ".join(parts) if parts else "1"


#: glmmTMB's calls for the structures lme4's bars cannot show: ``homcs(1 + x | g)`` (one sd,
#: one common correlation: Stata's ``cov(exchangeable)``) and ``homdiag(1 + x | g)`` (one sd,
#: no correlation: ``cov(identity)``). ``to_formula`` writes them and the parser reads them.
COVARIANCE_CALLS = {Covariance.EXCHANGEABLE: "homcs", Covariance.IDENTITY: "homdiag"}


@dataclass(frozen=True)
class GroupTerm:
    """One ``(expr | factor)`` term: one covariance block of group-specific effects.

    ``factor`` holds the variables whose combination defines the groups: ``("school",)``
    for ``(1|school)``, ``("batch", "cask")`` for ``(1|batch:cask)``.
    ``intercept`` says whether the block has a group-specific intercept; ``terms`` are the
    slope expressions (formulae syntax) inside the bar.
    """

    factor: tuple[str, ...]
    intercept: bool = True
    terms: tuple[str, ...] = ()
    covariance: Covariance = Covariance.UNSTRUCTURED

    @property
    def group(self) -> str:
        """The grouping factor's display name (``batch:cask``)."""
        return ":".join(self.factor)

    @property
    def label(self) -> str:
        """A unique name for the block, as written in lme4 (``1 + Days | Subject``)."""
        lhs = self.lhs()
        bar = "||" if self.covariance is Covariance.INDEPENDENT and self.size > 1 else "|"
        return f"{lhs} {bar} {self.group}"

    @property
    def size(self) -> int:
        """Number of expressions in the block (before categorical expansion)."""
        return int(self.intercept) + len(self.terms)

    def lhs(self) -> str:
        if self.intercept:
            return " + ".join(["1", *self.terms])
        return " + ".join(["0", *self.terms])

    def to_formula(self) -> str:
        """``(1 + x | g)``, ``(1 + x || g)``, or ``homcs(1 + x | g)`` / ``homdiag(1 + x | g)``
        for an exchangeable / identity covariance of two or more columns (:data:`COVARIANCE_CALLS`)."""
        call = COVARIANCE_CALLS.get(self.covariance, "") if self.size > 1 else ""
        return f"{call}({self.label})"

    def with_covariance(self, covariance: Covariance) -> GroupTerm:
        return replace(self, covariance=covariance)

    def covariance_label(self) -> str:
        """`` (exchangeable covariance)`` for a term of two or more columns whose covariance
        lme4's syntax cannot show (``(1 + x | g)`` reads as unstructured, ``||`` as independent)."""
        if self.covariance in ("unstructured", "independent") or len(self.terms) + self.intercept < 2:
            return ""
        return f" ({self.covariance} covariance)"


@dataclass(frozen=True)
class AuxFormula:
    """The sub-model of one auxiliary (family) parameter: ``sigma ~ x + (1|g)``.

    A fixed part and group terms, as in the main formula, on the parameter's own link scale
    (log for sigma, phi and shape; log(nu - 1) for nu): see
    :mod:`hierbayes.families.distributional`.
    """

    fixed: FixedPart
    groups: tuple[GroupTerm, ...] = ()

    @property
    def known(self) -> bool:
        """Whether the parameter is given, not estimated: offsets only (``~ 0 + offset(log(se))``,
        brms' ``se()``), no intercept, terms or group terms."""
        return not (self.fixed.intercept or self.fixed.terms or self.groups)

    def to_formula(self) -> str:
        """The one-sided formula (``~ x + (1 | g)``)."""
        rhs = self.fixed.to_formula()
        for g in self.groups:
            rhs += " + " + g.to_formula()
        return f"~ {rhs}"


@dataclass(frozen=True)
class ModelSpec:
    """A whole model: response, fixed part, group terms, family and link.

    ``source`` keeps the text the spec came from (formula or level equations), for messages.
    ``levels`` is set by the level-equation front end so reports can group coefficients
    under the equation they belong to; the formula front end leaves it ``None``.
    ``family`` is the resolved :class:`~hierbayes.families.Family`; a family name or alias
    given here (``"t"``) is looked up on construction (SpecError when unknown). It compares
    equal to its name and is saved by name (:mod:`.serialize`).
    ``subset`` is a row filter, the text of a Stata expression (``"nstu > 4"``; Stata's
    ``if`` and ``in`` qualifiers, ``in 1/100`` as ``inrange(_n, 1, 100)``): the design uses
    only the rows where it is true (:mod:`hierbayes.design.subset`, Stata's rules for
    missing values). ``None`` uses every row.
    ``residuals`` is the residual (R-side) structure of a gaussian model
    (:mod:`.residuals`); None for independent residuals with one sd.
    ``distributional`` holds the sub-models of auxiliary parameters (``sigma ~ x + (1|g)``)
    as (parameter name, :class:`AuxFormula`) pairs; empty for a model whose family
    parameters are single numbers. Names must be among the family's parameters (SpecError).
    ``metric`` is how tables show the coefficients of a survival family by default: "aft"
    (log time), "hr" (hazard ratios) or "loghr" (log hazard ratios), the last two for the
    proportional-hazards families (weibull, exponential) only; None is "aft" (Stata's
    ``mestreg`` sets "hr", or "loghr" with ``nohr`` and "aft" with ``time``). "eform" (any
    family whose exp(coefficient) is a ratio: Stata's ``or``, ``irr``, ``eform``) shows the
    fixed effects exponentiated unless ``exponentiate=False`` is asked for.
    ``integer_factors`` are the columns a Stata command names as factor variables (``i.x``,
    ``ib3.x``, a variable inside ``#``): a numeric one must hold non-negative integers, which
    Stata requires and the design checks; text and categorical columns are their levels. It
    is a check on the data, not part of the model: specs that differ only there are equal.
    """

    response: Response
    fixed: FixedPart
    groups: tuple[GroupTerm, ...] = ()
    family: Family = "gaussian"  # type: ignore[assignment]  # a name, resolved below
    link: str | None = None
    source: str = ""
    levels: object | None = field(default=None, compare=False)
    subset: str | None = None
    residuals: ResidualStructure | None = None
    distributional: tuple[tuple[str, AuxFormula], ...] = ()
    group_weights: tuple[tuple[str, str], ...] = ()
    weight_scaling: str = "none"
    weight_method: str = "pseudo-posterior"
    weight_kind: str = "auto"
    metric: str | None = None
    integer_factors: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "family", get_family(self.family))
        check_weights(self)
        if self.metric is not None:
            check_metric(self.family, self.metric, self.link)
        if isinstance(self.residuals, str):  # a pasted nlme call or a bare name: what hb.residuals() says of it
            try:
                object.__setattr__(self, "residuals", residuals(self.residuals))
            except SpecError as exc:
                raise SpecError(f"residuals={self.residuals!r}: {exc}") from None
        if self.residuals is not None and not isinstance(self.residuals, ResidualStructure):
            raise SpecError(
                f"residuals= takes hb.residuals(...), got {type(self.residuals).__name__}"
            )
        if self.distributional:
            check_aux_names(self.family, [name for name, _ in self.distributional])
        if self.response.censored and (self.residuals is not None or self.distributional):
            raise SpecError(
                f"{self.response.to_formula()}: censored or truncated responses cannot yet be "
                "combined with a residual structure or a distributional formula"
            )
        if self.residuals is not None and "sigma" in dict(self.distributional):
            raise SpecError(
                f"residuals={self.residuals.describe()} and a sigma formula cannot be combined: "
                "the residual structure has one sd (or one per 'by' level); drop one of them"
            )

    @property
    def sigma_known(self) -> bool:
        """Whether the residual sd is given per row, not estimated (brms' ``se()``:
        :attr:`AuxFormula.known`)."""
        sigma = dict(self.distributional).get("sigma")
        return sigma is not None and sigma.known

    @property
    def aux_formulas(self) -> dict[str, AuxFormula]:
        """Auxiliary parameter name -> its sub-model (empty when none is modelled)."""
        return dict(self.distributional)

    def to_formula(self) -> str:
        """The combined lme4 formula of the model."""
        rhs = self.fixed.to_formula()
        for g in self.groups:
            rhs += " + " + g.to_formula()
        return f"{self.response.to_formula()} ~ {rhs}"

    @property
    def group_factors(self) -> tuple[str, ...]:
        """Distinct grouping factor names in order of appearance."""
        seen: dict[str, None] = {}
        for g in self.groups:
            seen.setdefault(g.group, None)
        return tuple(seen)

    def variables(self) -> tuple[str, ...]:
        """Grouping variables named by the group terms (the data columns they need)."""
        seen: dict[str, None] = {}
        for g in self.groups:
            for f in g.factor:
                seen.setdefault(f, None)
        return tuple(seen)

    def with_covariance(self, mapping: dict[str, str | Covariance]) -> ModelSpec:
        """Return a copy whose group terms use the given covariance per grouping factor.

        Keys are grouping factor names (``school``) or term labels (``1 + lrt | school``).
        """
        known = {g.group for g in self.groups} | {g.label for g in self.groups}
        for key, value in mapping.items():
            if key not in known:
                raise SpecError(
                    f"covariance given for {key!r}, which is not a grouping factor of this "
                    f"model; valid names: {sorted(known)}"
                )
            try:
                Covariance(value)
            except SpecError:
                raise SpecError(
                    f"unknown covariance structure {value!r} for {key!r}; valid: "
                    f"{[c.value for c in Covariance]}"
                ) from None
        new = []
        for g in self.groups:
            value = mapping.get(g.label, mapping.get(g.group))
            new.append(g if value is None else g.with_covariance(Covariance(value)))
        return replace(self, groups=tuple(new))
