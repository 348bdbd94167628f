"""Symbolic regression as a scikit-learn estimator that returns a map of formulas.

gplearn, PySR and pyoperon give one model (PySR a Pareto front). ``fit`` here runs
MAP-Elites and keeps the whole archive: the best formula of every size and depth, so a
user can trade accuracy for readability after the search instead of before it.

Example:
    >>> import numpy as np
    >>> from domains.symbolic_regression.estimator import QDSymbolicRegressor
    >>> X = np.linspace(-1, 1, 50)[:, None]
    >>> model = QDSymbolicRegressor(max_evaluations=3000, random_state=0).fit(X, X[:, 0] ** 2)
    >>> model.score(X, X[:, 0] ** 2) > 0.99
    True
"""

from __future__ import annotations

import itertools
import math
import os
import time
from collections.abc import Sequence
from typing import Any, TypedDict

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from domains.symbolic_regression.benchmarks import Dataset
from domains.symbolic_regression.data import check_scale
from domains.symbolic_regression.domain import SymbolicRegression
from domains.symbolic_regression.formula import Formula
from domains.symbolic_regression.formula import pareto_front as front_of
from domains.symbolic_regression.primitives import DEFAULT_FUNCTIONS
from qd.archive import Archive
from qd.search import Search

__all__ = ["QDSymbolicRegressor", "pareto_front", "select"]

PARENTS = ("uniform", "fitness", "pimp")
SELECTIONS = ("best", "accuracy", "parsimony")
PARSIMONY_TOLERANCE = 1.05
"""``parsimony`` takes the smallest formula with training NRMSE <= 1.05 x the lowest."""
BEST_TOLERANCE = 1.5
"""``best`` looks among the front's formulas whose loss (squared NRMSE, so MSE up to a
constant) is at most 1.5 x the lowest: PySR's factor."""
ERROR_FLOOR = 1e-10
"""Training NRMSEs below this count as this for ``best``: they differ by round-off only
(an exact formula scores ~1e-16, and a bigger exact one may score a hair lower), so
among exact formulas the smallest is chosen."""


class _DomainOptions(TypedDict):
    """The domain options both domains take (MateChoiceRegression fixes its descriptors)."""

    data: Dataset
    functions: tuple[str, ...]
    max_depth: int
    max_size: int
    init_depth: tuple[int, ...]
    linear_scaling: bool
    tune_constants: int
    pole_check: bool


class QDSymbolicRegressor(RegressorMixin, BaseEstimator):
    """MAP-Elites symbolic regression with scikit-learn's ``fit / predict / score``.

    Args:
        max_evaluations: Budget: formula evaluations on the training data, counting
            every call that constant optimisation makes (as pyoperon counts).
        max_time: Seconds of search at most (pyoperon's ``max_time``): the fit stops at
            the first iteration that starts past it, or at ``max_evaluations``, whichever
            comes first. None: no time limit. A time limit makes the result depend on
            the machine's speed; the same seed gives the same map only for the same
            number of evaluations.
        batch_size: Children per emitter per iteration.
        emitters: Emitters per iteration.
        descriptors: The map's two axes: ``size``, ``depth``, ``nonlinear`` or
            ``variables`` (see ``SymbolicRegression``).
        functions: Function set, a subset of add, sub, mul, div, sin, cos, exp, log, sqrt
            (default: all but sqrt, which is sqrt|a|; the AI Feynman laws need it).
        max_depth: Depth limit of every formula.
        max_size: Node limit of every formula.
        init_depth: Depth range of the initial ramped half-and-half trees.
        p_crossover: Chance a child comes from crossover (the rest: mutation).
        p_constant: Chance a child comes from redrawing one constant.
        linear_scaling: Fit ``a + b * f(x)`` by least squares at every evaluation.
        tune_constants: Most formula calls the least-squares tuning of one child's
            constants may use (counted in ``max_evaluations``); 0 (the default, as in a
            config) turns tuning off: at an equal number of evaluations the untuned
            search recovered more laws on the AI Feynman equations and fit the larger
            benchmarks better (bench/README.md). The same name and meaning as the
            ``tune_constants`` key of a config.
        parents: Parent selection in the map: ``uniform``, ``fitness``
            (proportional), or ``pimp`` (mate choice by evolving ideal mates).
        pole_check: Reject formulas with a pole on the box of the training inputs.
        model_selection: Which formula ``best_`` (and ``predict``) is (see
            :func:`select`): ``best`` (default), PySR's rule: on the accuracy-size
            front, with loss = NRMSE² (errors below ``ERROR_FLOOR`` = 1e-10 count as
            1e-10), each formula's score is ``-log(loss / loss_prev) / (size -
            size_prev)`` against the next smaller formula of the front (the negative
            derivative of log-loss with respect to size; 0 for the smallest), and the
            highest score among formulas whose loss is at most 1.5 x the lowest wins: the
            size where the error stops dropping fast. ``accuracy``: the lowest training
            error (ties to the smaller). ``parsimony``: the smallest formula whose
            training NRMSE is within 5% of the lowest.
        feature_names: Names of the input columns, shown for ``x1..xn`` in every text
            of a formula (``str``, ``raw``, ``simplified``, ``latex``, the records and
            the hall of fame). A DataFrame's columns do the same without it (and set
            ``feature_names_in_``, as in scikit-learn); given both, they must agree.
        hall_of_fame: A CSV path to rewrite with the front (size, error, r2, simplified
            formula, raw formula) every ``HALL_OF_FAME_EVERY`` (10) iterations and at the
            end of ``fit``, atomically, as PySR's ``hall_of_fame.csv``; None for none.
        units: Each input column's units (a list in column order, or a mapping keyed by
            feature name or ``x1``..``xn``): text such as ``"kg*m^2/s^2"`` (``"1"``:
            dimensionless) or ``{base: exponent}``. Formulas must then be dimensionally
            consistent (rules in ``domains.symbolic_regression.units``): a constraint, or,
            with ``"units"`` among ``descriptors``, an axis counting violations; either
            way ``best_`` is always consistent. None: no dimensional analysis.
        target_units: The target's units (needs ``units``); None lets a formula carry any
            units, which the linear-scaling slope absorbs.
        random_state: Seed (int), ``numpy.random.RandomState`` or None.
        verbose: Show a progress bar.

    Attributes:
        best_: The :class:`Formula` chosen by ``model_selection``; ``str(best_)`` is its
            simplified text, ``best_.raw`` the tree as scored.
        archive_: The ``qd.archive.Archive`` of elites (plot with ``qd.viz``).
        formulas_: Every elite as a record (index, formula, size, depth, error, r2,
            intercept, slope), smallest first; ``formula`` is the raw text as scored
            (``Formula.raw``: simplifying every elite would cost ~0.1 s each),
            ``str(models_[index])`` the simplified one. ``pandas.DataFrame(
            model.formulas_)`` makes a table of it.
        models_: The :class:`Formula` of each record (``models_[record["index"]]``):
            predict, simplify, export to sympy, LaTeX or numpy.
        pareto_front_: The records no other elite beats on both size and error,
            smallest first.
        n_evaluations_: Evaluations spent (at least ``max_evaluations``; the last
            iteration finishes its batch).
        n_iterations_: Iterations of the search (each asks every emitter for a batch).
        n_features_in_: Number of input columns.
        feature_names_in_: A DataFrame's column names (only when ``X`` was one).
    """

    def __init__(
        self,
        *,
        max_evaluations: int = 50_000,
        max_time: float | None = None,
        batch_size: int = 50,
        emitters: int = 2,
        descriptors: Sequence[str] = ("size", "depth"),
        functions: Sequence[str] = DEFAULT_FUNCTIONS,
        max_depth: int = 8,
        max_size: int = 48,
        init_depth: Sequence[int] = (1, 4),
        p_crossover: float = 0.5,
        p_constant: float = 0.1,
        linear_scaling: bool = True,
        tune_constants: int = 0,
        parents: str = "uniform",
        pole_check: bool = True,
        model_selection: str = "best",
        feature_names: Sequence[str] | None = None,
        hall_of_fame: str | os.PathLike[str] | None = None,
        units: Any = None,
        target_units: Any = None,
        random_state: Any = None,
        verbose: bool = False,
    ) -> None:
        self.max_evaluations = max_evaluations
        self.max_time = max_time
        self.batch_size = batch_size
        self.emitters = emitters
        self.descriptors = descriptors
        self.functions = functions
        self.max_depth = max_depth
        self.max_size = max_size
        self.init_depth = init_depth
        self.p_crossover = p_crossover
        self.p_constant = p_constant
        self.linear_scaling = linear_scaling
        self.tune_constants = tune_constants
        self.parents = parents
        self.pole_check = pole_check
        self.model_selection = model_selection
        self.feature_names = feature_names
        self.hall_of_fame = hall_of_fame
        self.units = units
        self.target_units = target_units
        self.random_state = random_state
        self.verbose = verbose

    # --- scikit-learn ---------------------------------------------------------------

    def fit(self, X: Any, y: Any) -> QDSymbolicRegressor:
        """Search formulas for ``y ~ f(X)`` and keep the map of them.

        Raises:
            ValueError: Bad data (NaN, infinite, mismatched or too few rows: named by
                scikit-learn's checks; values beyond 1e100, whose squares overflow) or a
                bad parameter (named).
            OSError: ``hall_of_fame`` cannot be written.
        """
        X, y = validate_data(self, X, y, y_numeric=True, ensure_min_samples=3)
        if int(self.max_evaluations) < 1:
            raise ValueError(f"max_evaluations must be at least 1, got {self.max_evaluations}")
        if self.max_time is not None and not float(self.max_time) > 0:
            raise ValueError(f"max_time must be a positive number of seconds, got {self.max_time}")
        if int(self.tune_constants) < 0:
            raise ValueError(
                f"tune_constants must be 0 (no tuning) or more calls, got {self.tune_constants}"
            )
        if self.parents not in PARENTS:
            raise ValueError(f"parents must be one of {list(PARENTS)}, got {self.parents!r}")
        if self.model_selection not in SELECTIONS:
            raise ValueError(
                f"model_selection must be one of {list(SELECTIONS)}, got {self.model_selection!r}"
            )
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float)
        check_scale(X, "X")
        check_scale(y, "y")
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        # The names show in every text of a formula; the trees still call them x1..xn.
        data = Dataset(X_train=X, y_train=y, X_test=X, y_test=y, names=self._names(X))
        self.domain_ = self._domain(data)
        self.archive_ = Archive(self.domain_.measures)
        search = Search(
            self.domain_,
            self.archive_,
            rng=np.random.default_rng(seed),
            batch_size=int(self.batch_size),
            emitters=int(self.emitters),
            parents=self.parents,
            lineage=False,  # no run directory to write it to: ids and fates cost per child
        )
        self._run(search)
        self.n_evaluations_ = int(search.evaluations)
        self.n_iterations_ = int(search.iteration)
        self._summarise()
        if self.hall_of_fame is not None:
            self._hall.write(self.hall_of_fame, self.models_)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The best formula's predictions: exactly what the search scored."""
        check_is_fitted(self, "best_")
        X = validate_data(self, X, reset=False)
        return self.best_.predict(np.asarray(X, dtype=float))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True  # a tiny budget in the checks fits poorly
        return tags

    # --- the search -----------------------------------------------------------------

    def _names(self, X: np.ndarray) -> tuple[str, ...] | None:
        """The input columns' names: ``feature_names`` or a DataFrame's, or None."""
        columns = getattr(self, "feature_names_in_", None)
        from_frame = None if columns is None else tuple(str(n) for n in columns)
        if self.feature_names is None:
            return from_frame
        if isinstance(self.feature_names, str):
            raise ValueError(
                f"feature_names must be a list of names, one per column, not the string "
                f"{self.feature_names!r}"
            )
        names = tuple(str(n) for n in self.feature_names)
        if len(names) != X.shape[1]:
            raise ValueError(
                f"feature_names has {len(names)} names but X has {X.shape[1]} columns: "
                "give one name per column"
            )
        if "" in names or len(set(names)) != len(names):
            raise ValueError(f"feature_names must be distinct and non-empty, got {list(names)}")
        if from_frame is not None and names != from_frame:
            raise ValueError(
                f"feature_names {list(names)} differ from the DataFrame's columns "
                f"{list(from_frame)}: rename the columns, or leave feature_names out"
            )
        return names

    def _domain(self, data: Dataset) -> SymbolicRegression:
        options: _DomainOptions = {
            "data": data,
            "functions": tuple(self.functions),
            "max_depth": int(self.max_depth),
            "max_size": int(self.max_size),
            "init_depth": tuple(self.init_depth),
            "linear_scaling": bool(self.linear_scaling),
            "tune_constants": int(self.tune_constants),
            "pole_check": bool(self.pole_check),
        }
        if self.parents == "pimp":
            if self.units is not None:
                raise ValueError("units: not supported with parents='pimp'; use another parents")
            from domains.symbolic_regression.population import MateChoiceRegression

            return MateChoiceRegression(p_crossover=self.p_crossover, **options)
        return SymbolicRegression(
            descriptors=tuple(self.descriptors),
            p_crossover=self.p_crossover,
            p_constant=self.p_constant,
            units=self.units,
            target_units=self.target_units,
            explain_invalid=False,  # no event log to read the poles' text in
            **options,
        )

    def _run(self, search: Search) -> None:
        from tqdm.auto import tqdm

        from domains.symbolic_regression.hall_of_fame import HALL_OF_FAME_EVERY, HallOfFame

        self._hall = HallOfFame()
        budget = int(self.max_evaluations)
        deadline = None if self.max_time is None else time.perf_counter() + float(self.max_time)
        with tqdm(total=budget, disable=not self.verbose, desc="evaluations") as bar:
            while search.evaluations < budget:
                if deadline is not None and time.perf_counter() >= deadline:
                    break
                before = search.evaluations
                search.step()
                bar.update(min(search.evaluations, budget) - min(before, budget))
                if self.hall_of_fame is not None and search.iteration % HALL_OF_FAME_EVERY == 0:
                    formulas = [
                        self.domain_.formula(e.candidate, e.info) for e in self.archive_.elites()
                    ]
                    self._hall.write(self.hall_of_fame, formulas)

    def _summarise(self) -> None:
        formulas = [self.domain_.formula(e.candidate, e.info) for e in self.archive_.elites()]
        if not formulas:
            raise RuntimeError(
                "the search kept no formula: every candidate was invalid (see pole_check, "
                "functions and max_size)"
            )
        formulas.sort(key=lambda f: (f.size, f.error))
        self.models_ = formulas
        self.best_ = select(self._consistent(formulas), self.model_selection)
        self.formulas_ = [_record(i, f) for i, f in enumerate(formulas)]
        self.pareto_front_ = pareto_front(self.formulas_)

    def _consistent(self, formulas: list[Formula]) -> list[Formula]:
        """The formulas ``best_`` may be: with units, only dimensionally consistent ones.

        Raises:
            RuntimeError: Units are given and no elite is consistent (possible only
                with the ``units`` axis, where inconsistent formulas stay in the map).
        """
        if self.units is None:
            return formulas
        kept = [f for f in formulas if self.domain_.unit_violations(f.tree) == 0]
        if not kept:
            raise RuntimeError(
                "units: no dimensionally consistent formula in the map; raise "
                "max_evaluations, check units and target_units, or give no target_units"
            )
        return kept

    # --- pickling: trees through their JSON tokens ------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        # DEAP trees hold classes made at run time; send tokens and rebuild, as the
        # run directory's checkpoints do.
        state = dict(self.__dict__)
        if "domain_" in state:
            domain = state.pop("domain_")
            state.pop("archive_")
            state.pop("models_")
            state.pop("best_")
            state.pop("_hall", None)  # texts cached during fit; rebuilt when needed
            state["_domain_params"] = domain.params
            state["_domain_class"] = type(domain)
            state["_records"] = self.archive_.to_records(domain)
            state["_best"] = self.models_.index(self.best_)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        records = state.pop("_records", None)
        if records is None:
            self.__dict__.update(state)
            return
        domain_class = state.pop("_domain_class")
        domain = domain_class(**state.pop("_domain_params"))
        best = state.pop("_best")
        self.__dict__.update(state)
        self.domain_ = domain
        self.archive_ = Archive(domain.measures)
        self.archive_.add_records(records, domain)
        self._summarise()
        self.best_ = self.models_[best]


def select(formulas: Sequence[Formula], rule: str = "best") -> Formula:
    """The formula a rule of ``model_selection`` picks (see :class:`QDSymbolicRegressor`).

    ``best`` is PySR's ``model_selection="best"``: on the Pareto front of (size, loss),
    loss = max(NRMSE, ``ERROR_FLOOR``)², the score of each formula is the drop of
    log-loss per node against the next smaller formula on the front,
    ``-log(loss / loss_prev) / (size - size_prev)`` (0 for the smallest), and the
    highest score wins among formulas with loss <= ``BEST_TOLERANCE`` (1.5) x the lowest.
    PySR's loss is the MSE; NRMSE² is the MSE over the target's variance, so ratios,
    scores and the choice are the same. Formulas whose error is not finite never win
    unless all are such (then the smallest).

    Raises:
        ValueError: An unknown rule, or no formulas.
    """
    if not formulas:
        raise ValueError("select needs at least one formula")
    if rule not in SELECTIONS:
        raise ValueError(f"model_selection must be one of {list(SELECTIONS)}, got {rule!r}")
    finite = [f for f in formulas if math.isfinite(f.error)]
    if not finite:
        return min(formulas, key=lambda f: f.size)
    most_accurate = min(finite, key=lambda f: (f.error, f.size))
    if rule == "accuracy":
        return most_accurate
    if rule == "parsimony":
        limit = most_accurate.error * PARSIMONY_TOLERANCE
        return min((f for f in finite if f.error <= limit), key=lambda f: f.size)

    def loss(formula: Formula) -> float:
        return max(formula.error, ERROR_FLOOR) ** 2

    front = front_of(finite, key=lambda f: (f.size, loss(f)))
    limit = BEST_TOLERANCE * loss(front[-1])
    chosen, best_score = front[0], 0.0
    for previous, formula in itertools.pairwise(front):
        score = -math.log(loss(formula) / loss(previous)) / (formula.size - previous.size)
        if loss(formula) <= limit and (score > best_score or loss(chosen) > limit):
            chosen, best_score = formula, score
    return chosen  # front[-1] is always within the limit, so some formula is


def _record(index: int, formula: Formula) -> dict[str, Any]:
    return {
        "index": index,
        "formula": formula.raw,
        "size": formula.size,
        "depth": formula.depth,
        "error": formula.error,
        "r2": formula.r2,
        "intercept": formula.intercept,
        "slope": formula.slope,
    }


def pareto_front(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records that no other beats on both ``size`` and ``error``, smallest first."""
    return front_of(records, key=lambda r: (r["size"], r["error"]))
