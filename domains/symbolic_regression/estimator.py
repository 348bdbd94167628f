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
from domains.symbolic_regression.primitives import FUNCTIONS
from qd.archive import Archive
from qd.search import Search

__all__ = ["QDSymbolicRegressor", "pareto_front"]

PARENTS = ("uniform", "fitness", "pimp")
SELECTIONS = ("accuracy", "parsimony")
PARSIMONY_TOLERANCE = 1.05
"""``parsimony`` takes the smallest formula with training NRMSE <= 1.05 x the lowest."""


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
        batch_size: Children per emitter per iteration.
        emitters: Emitters per iteration.
        descriptors: The map's two axes: ``size``, ``depth``, ``nonlinear`` or
            ``variables`` (see ``SymbolicRegression``).
        functions: Function set, a subset of add, sub, mul, div, sin, cos, exp, log.
        max_depth: Depth limit of every formula.
        max_size: Node limit of every formula.
        init_depth: Depth range of the initial ramped half-and-half trees.
        p_crossover: Chance a child comes from crossover (the rest: mutation).
        p_constant: Chance a child comes from redrawing one constant.
        linear_scaling: Fit ``a + b * f(x)`` by least squares at every evaluation.
        tune_constants: Most formula calls the least-squares tuning of one child's
            constants may use (counted in ``max_evaluations``); 0 turns tuning off. The
            same name and meaning as the ``tune_constants`` key of a config.
        parents: Parent selection in the map: ``uniform``, ``fitness``
            (proportional), or ``pimp`` (mate choice by evolving ideal mates).
        pole_check: Reject formulas with a pole on the box of the training inputs.
        model_selection: Which formula ``best_`` (and ``predict``) is: ``accuracy``, the
            lowest training error; or ``parsimony``, the smallest formula whose training
            NRMSE is within 5% of the lowest (on noisy data, the one that stops fitting
            the noise; PySR's "best" rule is of the same kind).
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
        best_: The :class:`Formula` chosen by ``model_selection``.
        archive_: The ``qd.archive.Archive`` of elites (plot with ``qd.viz``).
        formulas_: Every elite as a record (index, formula, size, depth, error, r2,
            intercept, slope), smallest first; ``pandas.DataFrame(model.formulas_)``
            makes a table of it.
        models_: The :class:`Formula` of each record (``models_[record["index"]]``):
            predict, simplify, export to sympy, LaTeX or numpy.
        pareto_front_: The records no other elite beats on both size and error,
            smallest first.
        n_evaluations_: Evaluations spent (at least ``max_evaluations``; the last
            iteration finishes its batch).
        n_features_in_: Number of input columns.
    """

    def __init__(
        self,
        *,
        max_evaluations: int = 50_000,
        batch_size: int = 50,
        emitters: int = 2,
        descriptors: Sequence[str] = ("size", "depth"),
        functions: Sequence[str] = tuple(FUNCTIONS),
        max_depth: int = 8,
        max_size: int = 48,
        init_depth: Sequence[int] = (1, 4),
        p_crossover: float = 0.5,
        p_constant: float = 0.1,
        linear_scaling: bool = True,
        tune_constants: int = 10,
        parents: str = "uniform",
        pole_check: bool = True,
        model_selection: str = "accuracy",
        units: Any = None,
        target_units: Any = None,
        random_state: Any = None,
        verbose: bool = False,
    ) -> None:
        self.max_evaluations = max_evaluations
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
        """
        X, y = validate_data(self, X, y, y_numeric=True, ensure_min_samples=3)
        if int(self.max_evaluations) < 1:
            raise ValueError(f"max_evaluations must be at least 1, got {self.max_evaluations}")
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
        # A DataFrame's columns (scikit-learn's feature_names_in_) name the variables in
        # simplified() and latex(); the trees still call them x1..xn.
        names = getattr(self, "feature_names_in_", None)
        data = Dataset(
            X_train=X,
            y_train=y,
            X_test=X,
            y_test=y,
            names=tuple(str(n) for n in names) if names is not None else None,
        )
        self.domain_ = self._domain(data)
        self.archive_ = Archive(self.domain_.measures)
        search = Search(
            self.domain_,
            self.archive_,
            rng=np.random.default_rng(seed),
            batch_size=int(self.batch_size),
            emitters=int(self.emitters),
            parents=self.parents,
        )
        self._run(search)
        self.n_evaluations_ = int(search.evaluations)
        self._summarise()
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
            **options,
        )

    def _run(self, search: Search) -> None:
        from tqdm.auto import tqdm

        budget = int(self.max_evaluations)
        with tqdm(total=budget, disable=not self.verbose, desc="evaluations") as bar:
            while search.evaluations < budget:
                before = search.evaluations
                search.step()
                bar.update(min(search.evaluations, budget) - min(before, budget))

    def _summarise(self) -> None:
        formulas = [self.domain_.formula(e.candidate, e.info) for e in self.archive_.elites()]
        if not formulas:
            raise RuntimeError(
                "the search kept no formula: every candidate was invalid (see pole_check, "
                "functions and max_size)"
            )
        formulas.sort(key=lambda f: (f.size, f.error))
        self.models_ = formulas
        eligible = self._consistent(formulas)
        most_accurate = min(eligible, key=lambda f: (f.error, f.size))
        if self.model_selection == "parsimony":
            limit = most_accurate.error * PARSIMONY_TOLERANCE
            self.best_ = min((f for f in eligible if f.error <= limit), key=lambda f: f.size)
        else:
            self.best_ = most_accurate
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


def _record(index: int, formula: Formula) -> dict[str, Any]:
    return {
        "index": index,
        "formula": str(formula),
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
