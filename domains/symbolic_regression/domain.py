"""Symbolic regression as a QD domain: a map of formulas of every size that fit data.

Candidates are DEAP ``PrimitiveTree`` objects. Variation is DEAP's own one-point
crossover, subtree mutation and constant mutation under a static depth and size
limit; initialisation is DEAP's ramped half-and-half. Fitness is computed on all
fitness cases at once by a compiled kernel (``compiled.run``, equal to the reference
interpreter ``primitives.evaluate_tree``).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from deap import gp

from domains.symbolic_regression import batch
from domains.symbolic_regression.benchmarks import Benchmark, Dataset, get_benchmark
from domains.symbolic_regression.compiled import (
    Program,
    compile_tree,
    program_shape,
    run,
)
from domains.symbolic_regression.data import load_dataset
from domains.symbolic_regression.fitting import (
    Target,
    constant_bound,
    fit_tree,
    linear_scale,
    nrmse,
)
from domains.symbolic_regression.formula import Formula, scaled_infix
from domains.symbolic_regression.intervals import find_pole, find_pole_compiled
from domains.symbolic_regression.primitives import (
    DEFAULT_FUNCTIONS,
    NONLINEAR,
    copy_tree,
    deap_random,
    decode_tree,
    encode_tree,
    limited,
    make_pset,
    to_infix,
    tree_height,
)
from domains.symbolic_regression.unit_trees import consistent_tree
from domains.symbolic_regression.units import (
    UNIT_VIOLATIONS_CAP,
    UnitSpec,
    check_units,
    make_units,
)
from qd.domain import Domain, Evaluation, Measure, Operator

DESCRIPTORS = ("size", "depth", "nonlinear", "variables", "units")
UNIT_RETRIES = 10
"""Draws of a child under a units constraint before an inconsistent one is kept."""
__all__ = ["DESCRIPTORS", "SymbolicRegression"]


class SymbolicRegression(Domain):
    """Find formulas of every size and depth that fit data: a benchmark's or yours.

    Args:
        benchmark: A name from ``domains.symbolic_regression.benchmarks`` (``koza-1``,
            ``nguyen-7``, ``pagie-1`` ...); ignored when ``data`` is given.
        data_seed: Seed of the benchmark's sampled points, or of your data's split.
        data: Your data instead of a benchmark: a CSV or ``.npz`` path (configs), or a
            ``Dataset`` from ``domains.symbolic_regression.data.make_dataset`` (Python).
        target: The target column of a data file (name or index; default the last).
        test: Optional test file of the same layout; else ``test_size`` of the rows.
        test_size: Share of a data file's rows held out for testing.
        descriptors: Two (or one) of ``size`` (nodes), ``depth``, ``nonlinear``
            (count of sin/cos/exp/log nodes) and ``variables`` (distinct inputs used);
            the last two give QDSR-style maps.
        functions: GP function set, a subset of add, sub, mul, div, sin, cos, exp, log, sqrt
            (default: all but sqrt; ``sqrt`` is the protected sqrt|a|).
        max_depth: Static depth limit on every child (Koza used 17; small maps want
            less).
        max_size: Static limit on the number of nodes.
        init_depth: ``(min, max)`` depth of ramped half-and-half initial trees.
        p_crossover: Chance a child comes from one-point crossover of two elites.
        p_constant: Chance a child comes from mutating one constant; the rest are
            subtree mutations.
        hit_threshold: NRMSE below which a formula counts as a hit.
        linear_scaling: Score ``a + b * f(x)`` with ``a, b`` fitted by least squares
            (Keijzer 2003), so the search looks for shape, not scale.
        tune_constants: Most formula calls spent tuning each child's constants by
            least squares (0: no tuning). Every call counts as an evaluation.
        pole_check: Reject formulas with a pole (division by a range that reaches 0,
            log of one that reaches 0, an exp past its cap) anywhere in the box of the
            data's inputs, found by interval arithmetic (Keijzer 2003).
        units: Each input column's units, by name (``x1``.. or the data's column names)
            or as a list in column order: text such as ``"kg*m^2/s^2"`` (``"1"``:
            dimensionless) or ``{base: exponent}``. With units, a formula must be
            dimensionally consistent (``domains.symbolic_regression.units`` gives the
            rules): an inconsistent one is invalid, unless ``units`` is one of the
            ``descriptors``, where it is kept in the map on an axis counting its
            violations (0 to 5+).
        target_units: The target's units; None lets the formula carry any units (the
            linear-scaling slope absorbs them). Needs ``units``.
        explain_invalid: Name the subformula of each pole, and keep the formula's text,
            in an invalid candidate's reason and ``info`` (what ``events.jsonl``
            shows). A search rejects about one child in ten this way and writing the
            text costs more than scoring it, so the estimator, which keeps no event
            log, turns it off: the reason then says only what kind of pole it was.

    Raises:
        ValueError: Unknown descriptor or function, bad limits, or bad data.
        KeyError: Unknown benchmark name.
    """

    name = "symbolic_regression"

    def __init__(
        self,
        *,
        benchmark: str = "koza-1",
        data_seed: int = 0,
        data: str | Dataset | None = None,
        target: str | int | None = None,
        test: str | None = None,
        test_size: float = 0.25,
        descriptors: Sequence[str] = ("size", "depth"),
        functions: Sequence[str] = DEFAULT_FUNCTIONS,
        max_depth: int = 8,
        max_size: int = 64,
        init_depth: Sequence[int] = (1, 4),
        p_crossover: float = 0.5,
        p_constant: float = 0.1,
        hit_threshold: float = 0.01,
        linear_scaling: bool = True,
        tune_constants: int = 0,
        pole_check: bool = True,
        units: Mapping[str, UnitSpec] | Sequence[UnitSpec] | None = None,
        target_units: UnitSpec = None,
        explain_invalid: bool = True,
    ) -> None:
        unknown = [d for d in descriptors if d not in DESCRIPTORS]
        if unknown or not 1 <= len(descriptors) <= 2:
            raise ValueError(
                f"descriptors must be one or two of {list(DESCRIPTORS)}, got {list(descriptors)}"
            )
        if max_depth < 1 or max_size < 3:
            raise ValueError("max_depth must be >= 1 and max_size >= 3")
        if len(init_depth) != 2 or not 0 <= init_depth[0] <= init_depth[1] <= max_depth:
            raise ValueError(f"init_depth must be (min, max) within 0..{max_depth}")
        if not (p_crossover >= 0 and p_constant >= 0 and p_crossover + p_constant <= 1):
            raise ValueError("p_crossover and p_constant must be >= 0 and sum to at most 1")
        if int(tune_constants) < 0:
            raise ValueError(f"tune_constants: must be >= 0, got {tune_constants}")
        self.params = {
            "benchmark": benchmark,
            "data_seed": data_seed,
            "data": data,
            "target": target,
            "test": test,
            "test_size": test_size,
            "descriptors": list(descriptors),
            "functions": list(functions),
            "max_depth": max_depth,
            "max_size": max_size,
            "init_depth": list(init_depth),
            "p_crossover": p_crossover,
            "p_constant": p_constant,
            "hit_threshold": hit_threshold,
            "linear_scaling": bool(linear_scaling),
            "tune_constants": int(tune_constants),
            "pole_check": bool(pole_check),
            "units": units,
            "target_units": target_units,
            "explain_invalid": bool(explain_invalid),
        }
        self.benchmark: Benchmark | None
        if data is None:
            self.benchmark = get_benchmark(benchmark)
            self.data: Dataset = self.benchmark.make_data(data_seed)
        elif isinstance(data, Dataset):
            self.benchmark, self.data = None, data
        else:
            self.benchmark = None
            self.data = load_dataset(
                data, target=target, test=test, test_size=test_size, seed=data_seed
            )
        self.n_vars = self.data.n_vars
        self.bounds = self.data.bounds()
        self.pset = make_pset(self.n_vars, functions)
        self.descriptors = tuple(descriptors)
        self.max_depth, self.max_size = int(max_depth), int(max_size)
        self.init_depth = (int(init_depth[0]), int(init_depth[1]))
        self.p_crossover, self.p_constant = float(p_crossover), float(p_constant)
        self.hit_threshold = float(hit_threshold)
        self.linear_scaling = bool(linear_scaling)
        self.tune_constants = int(tune_constants)
        self.pole_check = bool(pole_check)
        self.explain_invalid = bool(explain_invalid)
        self._lows, self._highs = (np.asarray(b, dtype=float) for b in self.bounds)
        self._target = Target(self.data.y_train)
        self._constant_bound = constant_bound(self.data.X_train)
        self._set_units(units, target_units)
        self.measures = tuple(self._measure(d) for d in self.descriptors)
        self._table = batch.nodes_table(self.pset)
        self._XT = np.ascontiguousarray(self.data.X_train.T, dtype=np.float64)

    def _set_units(self, units: Any, target_units: UnitSpec) -> None:
        """Read the units; ``_units`` is None without them (no check at all)."""
        if units is None:
            if target_units is not None or "units" in self.descriptors:
                raise ValueError(
                    "target_units and the 'units' descriptor need units: give each input "
                    "column's units"
                )
            self._units = None
            return
        self._units = make_units(
            units, n_vars=self.n_vars, names=self.data.names, target=target_units
        )
        self._units_constraint = "units" not in self.descriptors

    def _unit_screen(self, tree: gp.PrimitiveTree) -> tuple[Evaluation | None, int]:
        """(the invalid evaluation of a tree the units rule out, or None; its violations)."""
        assert self._units is not None
        try:
            check = check_units(tree, self._units)
        except ValueError as error:  # a tree over another primitive set
            return Evaluation.invalid(str(error), formula=to_infix(tree)), 0
        if self._units_constraint and not check.consistent:
            return Evaluation.invalid(f"units: {check.reason}", formula=to_infix(tree)), 0
        return None, check.violations

    def unit_violations(self, tree: gp.PrimitiveTree) -> int:
        """How many rules of dimensional analysis ``tree`` breaks (0 without units)."""
        if self._units is None:
            return 0
        return check_units(tree, self._units).violations

    def __reduce__(self):
        # Rebuild from parameters in worker processes: the primitive set holds classes
        # made at run time, which are cheaper to rebuild than to pickle.
        return (functools.partial(type(self), **self.params), ())

    def _measure(self, descriptor: str) -> Measure:
        if descriptor == "size":
            return Measure.uniform(
                "size", 1, self.max_size + 1, self.max_size // 2, title="tree size (nodes)"
            )
        if descriptor == "depth":
            return Measure.uniform(
                "depth", 0, self.max_depth + 1, self.max_depth + 1, title="tree depth"
            )
        if descriptor == "nonlinear":
            return Measure.uniform(
                "nonlinear", 0, 11, 11, title="nonlinear functions (last bin: 10+)"
            )
        if descriptor == "units":
            cap = UNIT_VIOLATIONS_CAP
            return Measure.uniform(
                "units", 0, cap + 1, cap + 1, title=f"unit violations (last bin: {cap}+)"
            )
        n = self.n_vars
        return Measure.uniform("variables", 0, n + 1, n + 1, title="distinct variables")

    # --- the contract -------------------------------------------------------------

    def initial(self, n: int, rng: np.random.Generator) -> list[gp.PrimitiveTree]:
        """Ramped half-and-half trees (DEAP's ``genHalfAndHalf``) of at most ``max_size`` nodes.

        Raises:
            ValueError: ``init_depth`` is too deep to give trees within ``max_size``.
        """
        with deap_random(int(rng.integers(2**63))) as private:
            if self._units is not None:  # rejection alone finds almost no consistent seed
                return [self._consistent_initial_tree(private) for _ in range(n)]
            return [self._initial_tree() for _ in range(n)]

    def _consistent_initial_tree(self, private: random.Random) -> gp.PrimitiveTree:
        """A tree consistent by construction (``unit_trees``), else an ordinary one."""
        assert self._units is not None
        depth = private.randint(max(self.init_depth[0], 1), max(self.init_depth[1], 1))
        tree = consistent_tree(
            self.pset,
            self._units,
            private,
            depth=depth,
            max_size=self.max_size,
            max_depth=self.max_depth,
        )
        return batch.Tree(tree) if tree is not None else self._initial_tree()

    def _initial_tree(self) -> gp.PrimitiveTree:
        # Redraw oversized trees: variation falls back to a parent when a child breaks
        # the limits, so a parent over max_size would breed children over it too.
        low, high = self.init_depth
        for _attempt in range(100):
            tree = batch.Tree(gp.genHalfAndHalf(self.pset, low, high))
            if len(tree) <= self.max_size:
                return tree
        raise ValueError(
            f"init_depth {list(self.init_depth)} gives trees over max_size "
            f"{self.max_size}: lower init_depth or raise max_size"
        )

    def variation(self) -> Operator:
        """Crossover, subtree mutation or constant mutation, within the static limits.

        A batch of children is made in one compiled call (:func:`.batch.vary`); ``_vary``
        is the same operators one child at a time on DEAP's own functions, kept for
        subclasses that change how one child is made. Under a units constraint, a child
        that is not consistent is drawn again, up to ``UNIT_RETRIES`` times, so the
        budget is not spent on children the check rejects.
        """
        if type(self)._vary is not SymbolicRegression._vary:
            return Operator(self._vary, arity=2, name="gp")
        if self._units is not None and self._units_constraint:
            return Operator(
                self._vary_consistent, arity=2, name="gp", many=self._vary_many_consistent
            )
        return Operator(self._vary, arity=2, name="gp", many=self._vary_many)

    def _vary_many(self, groups: Sequence[Sequence[Any]], rng: np.random.Generator) -> list:
        return batch.vary(
            groups,
            rng,
            table=self._table,
            n_vars=self.n_vars,
            p_crossover=self.p_crossover,
            p_constant=self.p_constant,
            max_depth=self.max_depth,
            max_size=self.max_size,
        )

    def _vary_many_consistent(
        self, groups: Sequence[Sequence[Any]], rng: np.random.Generator
    ) -> list:
        """:meth:`_vary_many`, with inconsistent children redrawn from their parents."""
        assert self._units is not None
        children = self._vary_many(groups, rng)
        for _attempt in range(UNIT_RETRIES - 1):
            redo = [i for i, c in enumerate(children) if not check_units(c, self._units).consistent]
            if not redo:
                break
            for i, child in zip(redo, self._vary_many([groups[i] for i in redo], rng), strict=True):
                children[i] = child
        return children

    def _vary_consistent(
        self, parents: Sequence[gp.PrimitiveTree], rng: np.random.Generator
    ) -> list:
        assert self._units is not None
        for _attempt in range(UNIT_RETRIES):
            children = self._vary(parents, rng)
            if all(check_units(c, self._units).consistent for c in children):
                break
        return children

    def _vary(self, parents: Sequence[gp.PrimitiveTree], rng: np.random.Generator) -> list:
        with deap_random(int(rng.integers(2**63))):
            # Copies as DEAP's deep copies are (new lists, shared nodes), made cheaply.
            first, second = copy_tree(parents[0]), copy_tree(parents[1])
            draw = rng.random()
            limits = {"max_depth": self.max_depth, "max_size": self.max_size}
            if draw < self.p_crossover:
                child = limited(gp.cxOnePoint, first, second, **limits)[0]
            elif draw < self.p_crossover + self.p_constant and _has_constant(first):
                # A fresh node from random_constant: nodes are shared between a tree and
                # its deep copies (DEAP copies the list, not the nodes), so never edit one.
                child = gp.mutEphemeral(first, "one")[0]
            else:
                child = limited(gp.mutUniform, first, expr=self._subtree, pset=self.pset, **limits)
                child = child[0]
        return [child]

    def _subtree(self, pset: gp.PrimitiveSet, type_: Any) -> list:
        return gp.genFull(pset, min_=0, max_=2, type_=type_)

    def evaluate(self, batch: Sequence[Any]) -> list[Evaluation]:
        if self._scores_in_batches():
            return self._evaluate_batch(batch)
        results = []
        for tree in batch:
            if not isinstance(tree, gp.PrimitiveTree) or len(tree) == 0:
                results.append(Evaluation.invalid(f"not a GP tree: {type(tree).__name__}"))
                continue
            results.append(self.assess(tree)[0])
        return results

    def _scores_in_batches(self) -> bool:
        """Whether :meth:`evaluate` may score a batch in one compiled call: unless a
        subclass scores or describes trees its own way."""
        cls = type(self)
        return (
            cls.assess is SymbolicRegression.assess and cls.describe is SymbolicRegression.describe
        )

    def _evaluate_batch(self, candidates: Sequence[Any]) -> list[Evaluation]:
        """:meth:`assess` of every tree in one compiled call (:mod:`.batch_scoring`)."""
        from domains.symbolic_regression.batch_scoring import score_batch

        return score_batch(self, candidates)

    def assess(self, tree: gp.PrimitiveTree) -> tuple[Evaluation, np.ndarray | None]:
        """Score one tree: pole check, fit (scaling, tuning), and its training outputs.

        The outputs are the (tuned) tree's raw outputs on the training inputs, for
        subclasses that describe behaviour (``None`` when the tree is invalid). When
        tuning improved the constants the evaluation's ``candidate`` is the tuned tree.
        """
        # The hot path of a search: the tree is compiled once, and the pole check, the
        # fit, the tuning and the descriptors all read that one program.
        X, y = self.data.X_train, self.data.y_train
        violations = None
        if self._units is not None:  # dimensional analysis first: it needs no data
            rejected, violations = self._unit_screen(tree)
            if rejected is not None:
                return rejected, None
        try:
            try:
                program = compile_tree(tree, self.n_vars)
            except KeyError:
                # A tree over another primitive set: the reference order, the pole check
                # (which may name a pole or the unknown variable) before the fit.
                pole = self.pole(tree)
                if pole is not None:
                    return Evaluation.invalid(f"pole: {pole}", formula=to_infix(tree)), None
                raise
            pole = self._pole(tree, program)
            if pole is not None:
                return Evaluation.invalid(f"pole: {pole}", formula=to_infix(tree)), None
            fit = fit_tree(
                tree,
                X,
                y,
                scaling=self.linear_scaling,
                tuning_evaluations=self.tune_constants,
                program=program,
                target=self._target,
                bound=self._constant_bound,
            )
        except KeyError as missing:  # a tree built over another primitive set
            return Evaluation.invalid(
                f"tree uses {missing}, which is not among this domain's variables "
                f"{self.pset.arguments} or functions {self.params['functions']}"
            ), None
        cost = fit.evaluations
        if fit.tree is not tree:
            tuned = dataclasses.replace(
                program,
                constants=np.array([fit.tree[i].value for i in program.constant_nodes], float),
            )
            if self._pole(fit.tree, tuned) is not None:
                # Tuning moved a pole into the data's box: keep the constants as they came.
                fit = fit_tree(
                    tree, X, y, scaling=self.linear_scaling, program=program, target=self._target
                )
                cost += 1
        descriptors = self._describe_program(tree, program)
        if violations is not None:
            descriptors["units"] = min(violations, UNIT_VIOLATIONS_CAP)
        evaluation = Evaluation(
            objective=1.0 / (1.0 + fit.error),
            measures=tuple(descriptors[d] for d in self.descriptors),
            info={
                "nrmse": fit.error if math.isfinite(fit.error) else None,
                "hit": bool(fit.error < self.hit_threshold),
                "intercept": fit.intercept,
                "slope": fit.slope,
            },
            candidate=None if fit.tree is tree else fit.tree,
            cost=cost,
        )
        return evaluation, fit.outputs

    def annotate(self, candidate: gp.PrimitiveTree, info: dict[str, Any]) -> dict[str, Any]:
        """The formula's text (``info["formula"]``) for a tree entering the map.

        Written only for elites: rendering every scored formula as text cost as much as
        scoring it.
        """
        tree = getattr(candidate, "tree", candidate)  # an Individual holds its tree
        return {"formula": scaled_infix(tree, info["intercept"], info["slope"])}

    def _pole(self, tree: gp.PrimitiveTree, program: Program) -> str | None:
        """:meth:`pole` from the tree's compiled program (the same answer, faster)."""
        if not self.pole_check:
            return None
        return find_pole_compiled(tree, program, self._lows, self._highs)

    def _describe_program(self, tree: gp.PrimitiveTree, program: Program) -> dict[str, int]:
        """:meth:`describe` of the tree, read from its program where that is cheaper.

        Tuning changes constants only, so a tuned tree has the same descriptors.
        """
        if type(self).describe is not SymbolicRegression.describe:
            return self.describe(tree)  # a subclass describes trees its own way
        height, nonlinear, variables = program_shape(program, self.n_vars)
        return {"size": len(tree), "depth": height, "nonlinear": nonlinear, "variables": variables}

    def pole(self, tree: gp.PrimitiveTree) -> str | None:
        """Why ``tree`` has a pole in the box of the data's inputs, or None (or no check)."""
        return find_pole(tree, *self.bounds) if self.pole_check else None

    def render_details(self, candidate: Any, info: dict[str, Any]) -> dict[str, str]:
        """The elite's formula, simplified, in LaTeX (``report.html`` draws it), beside
        the fit plot :meth:`render` draws."""
        return {"formula": f"${self.formula(candidate, info).latex()}$"}

    def formula(self, candidate: Any, info: dict[str, Any]) -> Formula:
        """An elite as a :class:`Formula`: its tree with the scaling and error it was scored with.

        Read from ``info`` (refitted only for checkpoints written before ``info`` held the
        scaling), so a map's formulas cost no evaluation.
        """
        tree = getattr(candidate, "tree", candidate)  # an Individual holds its tree
        if "intercept" in info and "slope" in info:
            intercept, slope = float(info["intercept"]), float(info["slope"])
        else:
            intercept, slope = self.scale(tree)
        error = info.get("nrmse")
        return Formula(
            tree,
            intercept=intercept,
            slope=slope,
            error=float("inf") if error is None else float(error),
            bounds=self.bounds,
            names=self.data.names,
            inputs=self.data.X_train,
            target_std=self._target.spread,
        )

    def scale(self, tree: gp.PrimitiveTree) -> tuple[float, float]:
        """``(intercept, slope)`` of the formula as scored: fitted on the training data."""
        if not self.linear_scaling:
            return 0.0, 1.0
        return linear_scale(run(tree, self.data.X_train), self.data.y_train)

    def predict(self, tree: gp.PrimitiveTree, X: np.ndarray) -> np.ndarray:
        """What the search scored, on new inputs: ``intercept + slope * tree(X)``."""
        intercept, slope = self.scale(tree)
        with np.errstate(all="ignore"):
            return intercept + slope * run(tree, np.asarray(X, dtype=float))

    def describe(self, tree: gp.PrimitiveTree) -> dict[str, int]:
        """Every descriptor of a tree, by name (``units`` only when the domain has units)."""
        names = {node.value for node in tree if isinstance(node, gp.Terminal)}
        described = {
            "size": len(tree),
            "depth": tree_height(tree),
            "nonlinear": sum(1 for node in tree if node.name in NONLINEAR),
            "variables": sum(1 for v in self.pset.arguments if v in names),
        }
        if self._units is not None:
            described["units"] = min(self.unit_violations(tree), UNIT_VIOLATIONS_CAP)
        return described

    def features(self, candidate: Any, info: dict[str, Any]) -> list[float] | None:
        """The formula's outputs on the training points, centred and scaled to unit norm.

        Cosine similarity of these vectors is the correlation of two formulas' outputs,
        so formulas that differ only by scale or offset count as one behaviour.
        """
        outputs = run(candidate, self.data.X_train)
        outputs = np.broadcast_to(outputs, self.data.y_train.shape)
        centred = outputs - outputs.mean()
        norm = np.linalg.norm(centred)
        if not np.isfinite(norm) or norm < 1e-12:
            return None  # a constant (or broken) formula has no shape to compare
        return (centred / norm).tolist()

    def encode(self, candidate: gp.PrimitiveTree) -> Any:
        """The tree's prefix tokens, a JSON list (subclasses may encode other candidates)."""
        return encode_tree(candidate)

    def decode(self, data: Any) -> gp.PrimitiveTree:
        return batch.Tree(decode_tree(data, self.pset))

    def test_error(self, tree: gp.PrimitiveTree) -> float:
        """NRMSE on the benchmark's test set (held out from the search)."""
        return nrmse(self.predict(tree, self.data.X_test), self.data.y_test)

    def report_section(self, elites: Sequence[Any], figures: Path) -> list[str]:
        """The accuracy-complexity front as simplified formulas, and the best one drawn."""
        from domains.symbolic_regression.report import formulas_section

        return formulas_section(self, elites, figures)

    def checkpoint_files(self, elites: Sequence[Any]) -> dict[str, str]:
        """``hall_of_fame.csv``: the map's accuracy-size front, rewritten at each checkpoint."""
        from domains.symbolic_regression.hall_of_fame import FILE_NAME, HallOfFame

        hall = self.__dict__.setdefault("_hall_of_fame", HallOfFame())  # texts kept per run
        return {FILE_NAME: hall.csv(self.formula(e.candidate, e.info) for e in elites)}

    def render(self, candidate: gp.PrimitiveTree, info: dict | None = None):
        """The formula over the data: target vs prediction on train and test points."""
        from domains.symbolic_regression.report import fit_figure

        return fit_figure(self, candidate)


def _is_constant(node: Any) -> bool:
    return isinstance(node, gp.Terminal) and not isinstance(node.value, str)


def _has_constant(tree: gp.PrimitiveTree) -> bool:
    return any(_is_constant(node) for node in tree)
