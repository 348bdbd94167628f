"""LM cost: a price table turns token counts into money, and budgets stop a run.

An experiment's ``[lm.prices]`` table gives, per model name, US dollars per million
prompt and completion tokens (embedding models too: their tokens are prompt tokens);
the key ``"*"`` prices any model not listed. With prices, every ``metrics.jsonl`` line
has ``lm_cost`` (the run's cost so far, summed from the usage totals, which checkpoints
keep) and ``lm_cost_iteration`` (that iteration's share). ``lm.max_cost`` (dollars)
and ``lm.max_tokens`` (prompt + completion tokens, embeddings included) are checked
between iterations: once one is reached the run checkpoints and stops with
:class:`LMBudgetSpent`, so it overshoots by at most one iteration, and ``qd resume RUN
--set lm.max_cost=...`` goes on from there. Cache hits cost nothing: only requests the
server answered count (their ``usage`` fields).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Budget", "LMBudgetSpent", "Price"]


class Price(BaseModel):
    """US dollars per million tokens of one model (``[lm.prices.<model>]``)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    prompt: float = Field(
        0.0, ge=0, allow_inf_nan=False, description="USD per million prompt tokens, e.g. 0.15"
    )
    completion: float = Field(
        0.0, ge=0, allow_inf_nan=False, description="USD per million completion tokens, e.g. 0.6"
    )

    def cost(self, usage: Mapping[str, Any]) -> float:
        """Dollars for the tokens counted in a :meth:`qd.lm.usage.Usage.snapshot`."""
        return (
            self.prompt * int(usage.get("prompt_tokens", 0))
            + self.completion * int(usage.get("completion_tokens", 0))
        ) / 1e6


class LMBudgetSpent(RuntimeError):
    """The run reached ``lm.max_cost`` or ``lm.max_tokens``; it is checkpointed, and
    ``qd resume`` with a raised budget continues it (``qd`` exits with status 3)."""


class Budget:
    """What a run's LM use has cost, and whether a budget is spent.

    Args:
        lm: The run's LM (``qd.lm.LM``): its ``usage``, ``settings.model`` and, when
            embeddings are used, ``embedder.usage`` and ``embedder.model_name``.
        prices: Model name -> :class:`Price` (``"*"``: any other model); empty: no cost.
        max_cost: Dollars at which the run stops, or None.
        max_tokens: Tokens at which the run stops, or None.
    """

    def __init__(
        self,
        lm: Any,
        *,
        prices: Mapping[str, Price],
        max_cost: float | None = None,
        max_tokens: int | None = None,
    ) -> None:
        self.lm = lm
        self.prices = dict(prices)
        self.max_cost = max_cost
        self.max_tokens = max_tokens
        self._last = self.cost()  # a resumed run's usage is already restored

    def _parts(self) -> list[tuple[str | None, dict[str, Any]]]:
        settings = getattr(self.lm, "settings", None)
        parts = [(getattr(settings, "model", None), self.lm.usage.snapshot())]
        embedder = getattr(self.lm, "embedder", None)
        if embedder is not None and hasattr(embedder, "usage"):
            parts.append((getattr(embedder, "model_name", None), embedder.usage.snapshot()))
        return parts

    def price(self, model: str | None) -> Price | None:
        """The price of ``model``: its own entry, else ``"*"``, else None."""
        return self.prices.get(model or "") or self.prices.get("*")

    def cost(self) -> float | None:
        """Dollars spent so far in the run, or None without a price table."""
        if not self.prices:
            return None
        total = 0.0
        for model, usage in self._parts():
            price = self.price(model)
            if price is not None:
                total += price.cost(usage)
        return total

    def tokens(self) -> int:
        """Prompt and completion tokens so far, embeddings included."""
        return sum(
            int(u.get("prompt_tokens", 0)) + int(u.get("completion_tokens", 0))
            for _, u in self._parts()
        )

    def metrics(self) -> dict[str, float]:
        """``lm_cost`` and ``lm_cost_iteration`` for the metrics line (none without
        prices); called once per iteration, after it."""
        cost = self.cost()
        if cost is None:
            return {}
        spent, self._last = cost - (self._last or 0.0), cost
        return {"lm_cost": round(cost, 9), "lm_cost_iteration": round(spent, 9)}

    def spent(self) -> str | None:
        """Why the run must stop now (a budget reached), or None."""
        if self.max_tokens is not None and (tokens := self.tokens()) >= self.max_tokens:
            return f"lm.max_tokens {self.max_tokens} reached ({tokens} tokens used)"
        if self.max_cost is not None:
            cost = self.cost()
            if cost is None:
                return None  # refused by the config schema: max_cost needs prices
            if cost >= self.max_cost:
                return f"lm.max_cost ${self.max_cost:g} reached (${cost:.6g} spent)"
        return None
