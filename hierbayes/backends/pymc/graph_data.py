"""The data of a PyTensor graph as arguments: its data-dependent constants are lifted into
inputs, so one compiled (JAX) function serves every data set of the same structure.

A PyMC model bakes its data into the log-density graph as constants (``y``, ``X``, group
codes, cross-products, data-scaled prior scales). :func:`lift_constants` replaces the chosen
constants by typed inputs and returns their values; the compiled function then takes them
as arguments. Two callers, one mechanism:

- the cached NUTS programs (:mod:`.jaxnuts`, through :func:`sampler_graph`) lift by *kind*
  (:func:`is_data_constant`) and are stored under :attr:`LiftedGraph.key`, a digest of the
  graph's structure in which a lifted constant counts by its type and shape and every other
  constant by its value. Equal keys mean one program computes both graphs, whatever the
  data; a new data set of the same shapes reuses the program from disk.
- the refitter of SBC (:mod:`.refit`) lifts the constants that differ between reference
  responses.

Which constants are data: float64 ones (numpy arrays and scalars computed from the data,
among them the default priors' scales; PyTensor types Python literals such as ``0.5`` or
``2`` with the smallest dtype that holds them, so they stay constants and rewrites keep
specializing on them), and integer or boolean arrays used as indices or in arithmetic (group codes,
trials, censoring masks), never an integer that gives a shape (JAX needs shapes at trace
time).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

#: Ops an integer array may feed and still be lifted: indexing (at an index position) and
#: arithmetic. Anywhere else (a shape, pad widths, an axis) it stays a constant: JAX needs
#: those values when it traces.
_INDEXING_OPS = ("AdvancedSubtensor", "AdvancedSubtensor1", "AdvancedIncSubtensor", "AdvancedIncSubtensor1")
_VALUE_OPS = ("Elemwise", "Sum", "CAReduce")


@dataclass(frozen=True)
class LiftedGraph:
    """A graph whose data constants are inputs.

    Attributes
    ----------
    outputs : the graph's outputs, reading ``data_inputs`` where it read the constants.
    data_inputs : the new inputs, one per lifted constant, in graph order.
    data : the lifted constants' values, in the same order.
    key : digest of the structure (ops, wiring, the type and shape of every lifted constant,
        the value of every other constant, the given inputs' types and names).
    """

    outputs: list
    data_inputs: list
    data: list[np.ndarray]
    key: str


def _op_signature(op) -> str:
    props = getattr(op, "__props__", None)
    if props is not None:
        return f"{type(op).__module__}.{type(op).__qualname__}{op._props()!r}"
    # no declared properties: its string (the type alone could hide a parameter)
    return f"{type(op).__module__}.{type(op).__qualname__}:{op}"


def _values_only(const, clients: dict) -> bool:
    """Whether an integer constant is used only as indices or in arithmetic."""
    for node, position in clients.get(const, ()):
        name = type(node.op).__name__
        first_index = 2 if "Inc" in name else 1
        if not ((name in _INDEXING_OPS and position >= first_index) or name in _VALUE_OPS):
            return False
    return True


def is_data_constant(const, clients: dict) -> bool:
    """Whether a constant of the graph holds data (lifted into an input): float64 values,
    and integer arrays that give no shape."""
    data = np.asarray(const.data)
    if data.dtype == np.float64:
        return True
    if data.dtype.kind in "iub" and data.ndim >= 1:  # codes, trials, censoring masks
        return _values_only(const, clients)
    return False


def graph_constants(outputs: Sequence) -> list:
    """The tensor constants of a graph, in the order :func:`lift_constants` indexes them
    (shared variables count as constants holding their values)."""
    return _constants_and_clients(_shared_as_constants(outputs))[0]


def _constants_and_clients(outputs: Sequence) -> tuple[list, dict]:
    from pytensor.graph.traversal import graph_inputs, io_toposort
    from pytensor.tensor.variable import TensorConstant

    consts = [v for v in graph_inputs(outputs) if isinstance(v, TensorConstant)]
    clients: dict = {}
    for node in io_toposort(list(graph_inputs(outputs)), outputs):
        for position, inp in enumerate(node.inputs):
            clients.setdefault(inp, []).append((node, position))
    return consts, clients


def _shared_as_constants(outputs: Sequence) -> list:
    """Shared variables replaced by constants holding their values (as PyMC's JAX bridge
    does), so they are lifted or digested like any constant."""
    import pytensor.tensor as pt
    from pytensor.compile import SharedVariable
    from pytensor.graph.replace import graph_replace
    from pytensor.graph.traversal import graph_inputs

    shared = [v for v in graph_inputs(outputs) if isinstance(v, SharedVariable)]
    if not shared:
        return list(outputs)
    return list(graph_replace(list(outputs), {v: pt.constant(v.get_value(borrow=False)) for v in shared},
                              strict=False))


def lift_constants(
    inputs: Sequence, outputs: Sequence, lift: Callable[[int, object, dict], bool] | None = None,
) -> LiftedGraph:
    """Replace the data constants of the graph ``inputs -> outputs`` by new inputs.

    Parameters
    ----------
    inputs : the graph's own inputs (a PyMC model's value variables).
    outputs : the graph's outputs.
    lift : ``lift(index, constant, clients)`` says whether to lift the ``index``-th constant
        (graph order); default :func:`is_data_constant`.
    """
    from pytensor.graph.replace import graph_replace

    outputs = _shared_as_constants(outputs)
    consts, clients = _constants_and_clients(outputs)
    chosen = [c for i, c in enumerate(consts)
              if (lift(i, c, clients) if lift is not None else is_data_constant(c, clients))]
    data_inputs = [c.type() for c in chosen]
    if chosen:
        outputs = list(graph_replace(outputs, dict(zip(chosen, data_inputs)), strict=True))
    data = [np.asarray(c.data) for c in chosen]
    return LiftedGraph(outputs=outputs, data_inputs=data_inputs, data=data,
                       key=structure_key([*inputs, *data_inputs], outputs))


def structure_key(inputs: Sequence, outputs: Sequence) -> str:
    """Digest of the graph ``inputs -> outputs``: every op and how it is wired, the inputs'
    types (and names), and the dtype, shape and value of every constant. Graphs with equal
    keys compute the same function of their inputs."""
    from pytensor.graph.basic import Constant
    from pytensor.graph.traversal import io_toposort

    h = hashlib.sha256()
    ids: dict = {}
    for i, v in enumerate(inputs):
        ids[v] = f"in{i}"
        h.update(f"in{i}:{v.type}:{v.name}\n".encode())

    def ref(v) -> str:
        if v not in ids:
            if isinstance(v, Constant):
                ids[v] = f"c{len(ids)}"
                data = np.asarray(v.data) if isinstance(v.data, np.ndarray | np.generic) else None
                if data is None or data.dtype.kind == "O":  # a slice, None...: its repr (no addresses)
                    h.update(f"{ids[v]}:{v.type}:{v.data!r}\n".encode())
                else:
                    data = np.ascontiguousarray(data)
                    h.update(f"{ids[v]}:{v.type}:{data.dtype}{data.shape}:".encode())
                    h.update(data.tobytes())
                    h.update(b"\n")
            else:  # a free input that is not declared (a random generator...): its type and name
                ids[v] = f"free{len(ids)}"
                h.update(f"{ids[v]}:{v.type}:{v.name}\n".encode())
        return ids[v]

    for n, node in enumerate(io_toposort(list(inputs), list(outputs))):
        args = ",".join(ref(v) for v in node.inputs)
        h.update(f"{_op_signature(node.op)}({args})\n".encode())
        for k, out in enumerate(node.outputs):
            ids[out] = f"n{n}.{k}"
    h.update(("out:" + ",".join(ref(v) for v in outputs)).encode())
    return h.hexdigest()


#: Elementwise arithmetic on data arrays of at least this many values makes a graph worth
#: folding (:func:`fold_constants`).
FOLD_MIN_SIZE = 256


def fold_constants(outputs: Sequence) -> tuple[list, set]:
    """The graph with its constant parts computed once, here (PyTensor's constant folding),
    and the folded constants that came from literals alone.

    A function of the data, such as a binomial's log binomial coefficients or a Poisson's log
    factorials of the counts (three and one ``lgamma`` per row), becomes one data array,
    lifted like the data it came from, instead of being computed again at every gradient the
    sampler evaluates. A constant folded from literals alone (an exponent 2 broadcast to an
    array) is not data and must stay a constant of the program: lifted, it turned XLA's
    ``x ** 2`` into a general power (grouseticks' gradient 8 -> 15 us). The inputs are kept,
    the rest of the graph is copied. A graph without such arithmetic over at least
    :data:`FOLD_MIN_SIZE` values is returned as it is: folding costs 0.1 s on sleepstudy's
    graph, for nothing there."""
    from pytensor.graph.fg import FunctionGraph
    from pytensor.graph.rewriting.basic import in2out, node_rewriter
    from pytensor.tensor.rewriting.basic import constant_folding

    if not _data_arithmetic(outputs):
        return list(outputs), set()
    graph = FunctionGraph(outputs=list(outputs), clone=True, copy_inputs=False)
    consts, clients = _constants_and_clients(list(graph.outputs))
    data = {c for c in consts if is_data_constant(c, clients)}
    literal: set = set()

    @node_rewriter(None)
    def fold(fgraph, node):
        new = constant_folding.transform(fgraph, node)
        if new:  # every input was a constant
            (data if any(v in data for v in node.inputs) else literal).update(new)
        return new

    in2out(fold, ignore_newtrees=True, name="fold_constants").rewrite(graph)
    return list(graph.outputs), literal


def _data_arithmetic(outputs: Sequence) -> bool:
    """Whether the graph computes an array of at least :data:`FOLD_MIN_SIZE` values
    elementwise from constants alone, one of them a data array: what :func:`fold_constants`
    is for (smaller ones, such as a student-t prior's normalizing constants over a term's
    columns, cost less per gradient than a microsecond)."""
    from pytensor.graph.basic import Constant
    from pytensor.graph.traversal import graph_inputs, io_toposort
    from pytensor.tensor.elemwise import Elemwise

    constant_valued: set = set()
    from_data: set = set()
    for node in io_toposort(list(graph_inputs(outputs)), list(outputs)):
        if not all(isinstance(v, Constant) or v in constant_valued for v in node.inputs):
            continue
        constant_valued.update(node.outputs)
        if any(v in from_data or (isinstance(v, Constant) and np.size(v.data) > 1) for v in node.inputs):
            from_data.update(node.outputs)
            shape = node.outputs[0].type.shape if hasattr(node.outputs[0].type, "shape") else ()
            if isinstance(node.op, Elemwise) and math.prod(1 if n is None else n for n in shape) >= FOLD_MIN_SIZE:
                return True
    return False


def size_bucket(n: int, per_doubling: int = 2) -> int:
    """The smallest ``ceil(2**(k/per_doubling)) >= n``: a size padded to it (groups with no
    rows, which contribute nothing) lets data sets of similar sizes share one compiled
    program, at most ``2**(1/per_doubling) - 1`` more work on the padded axis (41% at 2)."""
    k = max(0, math.floor(per_doubling * math.log2(max(n, 1))) - 1)
    while math.ceil(2 ** (k / per_doubling)) < n:
        k += 1
    return max(n, math.ceil(2 ** (k / per_doubling)))


def _masked_logp(model, row_mask: np.ndarray | None, level_masks: dict[str, np.ndarray]):
    import pytensor.tensor as pt

    masks = {model[name]: np.asarray(mask, dtype=float) for name, mask in level_masks.items()}
    if row_mask is not None:
        (observed,) = model.observed_RVs
        masks[observed] = np.asarray(row_mask, dtype=float)
    rest = [v for v in (*model.free_RVs, *model.observed_RVs) if v not in masks]
    logp = model.logp(vars=[*rest, *model.potentials])
    for rv, mask in masks.items():
        terms = model.logp(vars=[rv], sum=False)[0]
        logp = logp + (pt.shape_padright(mask, terms.ndim - 1) * terms).sum()
        if rv in model.free_RVs:  # padding levels: independent standard normals
            value = model.rvs_to_values[rv]
            normal = -0.5 * pt.square(value) - 0.5 * np.log(2.0 * np.pi)
            logp = logp + (pt.shape_padright(1.0 - mask, value.ndim - 1) * normal).sum()
    return logp


@dataclass(frozen=True)
class SamplerGraph:
    """The log density and the outputs of a model with its data as arguments: the draws'
    names, the graph with its data constants lifted, and the start point."""

    value_vars: list
    output_names: list[str]
    lifted: LiftedGraph
    start: list[np.ndarray]


def sampler_graph(model, row_mask: np.ndarray | None = None,
                  level_masks: dict[str, np.ndarray] | None = None) -> SamplerGraph:
    """The model's log density and constrained outputs over its value variables, with the
    data constants lifted into arguments (:func:`.graph_data.lift_constants`).

    Masks for the padding of :mod:`.padding` (1 real, 0 padding, along the first axis):
    ``row_mask`` weights the rows of the model's one observed variable (padding rows count
    for nothing); ``level_masks`` (free variable name -> mask) keep the variable's own log
    density on its real levels and give its padding levels a standard normal one."""
    from pymc.util import get_default_varnames

    from .nuts_setup import start_point

    outputs = list(get_default_varnames(model.unobserved_value_vars, include_transformed=False))
    logp = model.logp() if row_mask is None and not level_masks else _masked_logp(model, row_mask, level_masks or {})
    folded, literal = fold_constants([logp, *outputs])
    lifted = lift_constants(model.value_vars, folded,
                            lift=lambda i, const, clients: const not in literal and is_data_constant(const, clients))
    return SamplerGraph(value_vars=list(model.value_vars), output_names=[v.name for v in outputs],
                        lifted=lifted, start=start_point(model))
