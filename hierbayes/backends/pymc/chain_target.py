"""The target acceptance a model allows when every group term is integrated out or drawn
around the integrated-out top of a nested chain (:mod:`.integrated_top`).

The planning rule's 0.95 (:func:`.plan.default_target_accept`) is for the funnel of a centred
term and the ridge of a non-centred one, where few or weakly informed groups leave an sd's
posterior spanning orders of magnitude. Neither is left in such a model: the top's effects
are integrated out exactly (its sd is seen only through its children's marginal density),
and the children are drawn around their parent (hierarchical centring), which the planning
rule does only where their spread within their parents is informed. What NUTS sees is near
gaussian, and smaller steps buy nothing but time.
"""

from __future__ import annotations

from ...design.types import Design
from .plan import FEW_LEVELS_INTEGRATED, MIN_CENTRED_LEVELS

#: NUTS's target acceptance where :func:`chain_target` allows it (numpyro's and Stan's default).
TARGET_ACCEPT_CHAIN = 0.8


def chain_target(design: Design, plan: list[str], given: list[str | None], nests: dict,
                 tops: dict[int, int]) -> float | None:
    """:data:`TARGET_ACCEPT_CHAIN` where every group term is integrated out: ``"marginal"``,
    or the top of a nested chain (``tops``, from :func:`.integrated_top.integrated_tops`) with
    more than ``FEW_LEVELS_INTEGRATED`` levels, or a term of at least ``MIN_CENTRED_LEVELS``
    levels drawn around its parent (``"nested"``) below such a top; and the planning rule
    chose every term's form (``given``, :func:`.plan.given_values`, all None). Else None
    (the planning rule's target).

    ``nests``: inner term -> (parent term, parent codes), :func:`.centring.nesting`.

    Measured at 0.8 against 0.95, seeds 1-4 each, no divergence at either:

    * lme4's InstEval, ``y ~ service + (1 | s) + (1 | d) + (1 | dept)`` (students integrated
      out, 1,128 lecturers around 14 departments): 15 leapfrog steps a draw, sampling 39-50 s
      against 69-70 s, min bulk ESS 2,929-3,044 (3,039 at 0.95), R-hat at most 1.008;
    * mlmRev's Contraception, ``use ~ urban + age + livch + (1 | district/urban)`` (102 cells
      around 60 districts): 2.2-2.4 s against 4.1-5.2 s, min bulk ESS 665-892 against
      850-1,204, fixed effects within 0.11 sd of glmer's at both, R-hat at most 1.007.

    Tops of at most ``FEW_LEVELS_INTEGRATED`` levels (mmmec's 9 nations, Arabidopsis' 9
    populations) keep the planning rule's target, as an integrated-out term of so few levels
    does there: their sd's posterior is wide enough that the children's density curves.
    """
    if not tops or any(how is not None for how in given):
        return None
    blocks = design.groups

    def drawn_around_parent(i: int) -> bool:
        return plan[i] == "nested" and blocks[i].n_levels >= MIN_CENTRED_LEVELS

    def below_top(i: int, seen: frozenset = frozenset()) -> bool:
        parent = nests[i][0] if i in nests else None
        if parent is None or parent in seen:
            return False
        return parent in tops or (drawn_around_parent(parent) and below_top(parent, seen | {i}))

    def integrated(i: int) -> bool:
        if plan[i] == "marginal":
            return True
        if i in tops:
            return blocks[i].n_levels > FEW_LEVELS_INTEGRATED
        return drawn_around_parent(i) and below_top(i)

    return TARGET_ACCEPT_CHAIN if all(integrated(i) for i in range(len(blocks))) else None
