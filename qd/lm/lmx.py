"""Language Model Crossover (LMX): few-shot prompts from archive elites -> new texts.

LMX (Meyerson et al., 2023) shows a base LM a few candidates written one after another
and lets it continue the pattern with a new one. QDAIF (Bradley et al., 2024) uses it as
the variation operator of MAP-Elites over texts. A prompt reads::

    {T}{example 1}
    ###
    {T}{example 2}
    ###
    {T}{example 3}
    ###
    {T}

where ``T`` is the domain's template ("Here is a random example of a fantasy story
about a suspicious spy and a rich politician:\\n"). The reply is sampled with
``stop=["###", "\\n"]``, temperature 0.8 and top-p 0.95, as in QDAIF.

How the few-shot examples are chosen is the ``mode``:

- ``near`` (LMX-near, QDAIF's default): a parent elite is drawn uniformly, then
  :func:`near_examples` draws examples with probability proportional to
  ``1 / (1 + d**3)``, ``d`` the Euclidean distance between bin indices.
- ``replace`` (LMX-replace): each text remembers the examples it was made from; a
  child's prompt is its parent's with one slot swapped for an item of a
  :class:`PromptPool` (seeds plus the best three texts ever seen per bin, at most 100).
- ``fixed`` (Fixed-Few-Shot): always the first ``k`` seed texts, in order.
- ``shuffle`` (Shuffling-Few-Shot): a random subset of the seeds in random order.
- ``random`` (Random-Search): examples drawn uniformly from the seeds plus every text
  this variation has generated (``history``).
- ``quality`` (LMX-Quality-Only): examples drawn uniformly from the 100 best texts seen
  in the archive so far, by objective, whatever their bins.

With an empty archive every mode but ``fixed`` uses a random subset of the seeds.
Randomness comes only from the ``rng`` argument, so the prompts are the same for the
same seed, archive and LM replies. A failed request or a reply with no usable text
(empty, only ``###``) gives a :class:`~qd.lm.errors.FailedChild` that says which
(:func:`child_of`): the engine logs it as invalid with that cause and goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

from qd.domain import Brood, Operator
from qd.lm.errors import FailedChild, LMError

LMXMode = Literal["near", "replace", "fixed", "shuffle", "random", "quality"]
MODES: tuple[str, ...] = ("near", "replace", "fixed", "shuffle", "random", "quality")
SEPARATOR = "###"
DEFAULT_STOP: tuple[str, ...] = ("###", "\n")


class _HasElites(Protocol):
    def elites(self) -> list[Any]: ...


# -- prompt plumbing ------------------------------------------------------------------


def build_prompt(template: str, examples: Sequence[str], final: str | None = None) -> str:
    """The LMX few-shot prompt: ``{T}{ex1}\\n###\\n{T}{ex2}\\n###\\n...{T}``.

    Args:
        template: The domain's text that introduces each example (ends with a newline
            or a space as the domain wants; it is used verbatim).
        examples: The few-shot texts, in prompt order.
        final: The header the LM continues (steering, e.g. "... a horror story ...");
            ``template`` when None.

    Returns:
        The prompt, ending with the (final) template so the LM writes the next example.
    """
    head = "".join(f"{template}{example}\n{SEPARATOR}\n" for example in examples)
    return head + (template if final is None else final)


def clean_reply(text: Any, *, min_chars: int = 3) -> str | None:
    """The new text in an LM reply, or None when the reply is not a usable text.

    The reply is cut at the first ``###`` (in case the server ignored the stop
    sequence) and stripped.

    Args:
        text: The reply's text (anything else gives None).
        min_chars: Shorter texts are malformed replies.

    Returns:
        The cleaned text, or None for an empty, too short or non-string reply.
    """
    if not isinstance(text, str):
        return None
    cleaned = text.split(SEPARATOR, 1)[0].strip()
    return cleaned if len(cleaned) >= max(1, min_chars) else None


def child_of(reply: Any, *, min_chars: int = 3) -> str | FailedChild:
    """The child text in one reply, or a :class:`FailedChild` that says why there is none.

    Args:
        reply: A :class:`~qd.lm.Completion`, or the :class:`~qd.lm.LMError` of a failed
            request.
        min_chars: Shorter texts are unusable (see :func:`clean_reply`).

    Returns:
        The cleaned text; or, for a failed request, a child whose ``error`` is the
        request's error (status code, exception, first bytes of the reply); or, for a
        reply without a usable text, one that quotes the reply and its finish reason.
    """
    if isinstance(reply, LMError):
        return FailedChild(f"LM request failed: {reply.message}", error=reply.to_dict())
    if isinstance(reply, BaseException):
        return FailedChild(
            f"LM request failed: {type(reply).__name__}: {reply}",
            error={"kind": "error", "status_code": None, "message": str(reply)},
        )
    raw = getattr(reply, "text", None)
    text = clean_reply(raw, min_chars=min_chars)
    if text is not None:
        return text
    finish = getattr(reply, "finish_reason", None)
    shown = raw[:200] if isinstance(raw, str) else raw
    return FailedChild(
        f"the LM reply had no usable text: {shown!r} (finish_reason {finish!r}; "
        f"a child needs {max(1, min_chars)}+ characters before any {SEPARATOR!r})",
        reply={"text": shown, "finish_reason": finish},
    )


# -- LMX-near -------------------------------------------------------------------------


def near_weights(elites: Sequence[Any], parent: Any) -> np.ndarray:
    """Selection probabilities ``1 / (1 + d**3)``, normalised, of ``elites`` near ``parent``.

    Args:
        elites: Objects with a ``bins`` tuple (``qd.archive.Elite``).
        parent: The elite the examples should be near.

    Returns:
        One probability per elite, summing to 1.
    """
    if not len(elites):
        return np.empty(0)
    bins = np.asarray([e.bins for e in elites], dtype=float)
    centre = np.asarray(parent.bins, dtype=float)
    distance = np.sqrt(((bins - centre) ** 2).sum(axis=1))
    weights = 1.0 / (1.0 + distance**3)
    return weights / weights.sum()


def near_examples(
    archive_elites: Sequence[Any], parent: Any, k: int = 3, *, rng: np.random.Generator
) -> list[Any]:
    """``k`` elites near ``parent``, for an LMX-near prompt (QDAIF).

    Examples are drawn without replacement with probability proportional to
    ``1 / (1 + d**3)``, ``d`` the Euclidean distance between bin indices (for a CVT
    archive the bins are the centroid index alone, so "near" is only a rough guide).
    The parent itself is left out when other elites exist. When fewer than ``k``
    others exist, all of them are drawn (in weighted random order) and the remaining
    slots are filled with replacement from every elite, the parent included, with the
    same weights.

    Args:
        archive_elites: The archive's elites (objects with ``bins`` and ``cell``).
        parent: The elite the examples should be near.
        k: How many examples.
        rng: The only source of randomness.

    Returns:
        ``k`` elites in prompt order (empty when ``archive_elites`` is).
    """
    elites = list(archive_elites)
    if not elites or k <= 0:
        return []
    others = [e for e in elites if not _same(e, parent)]
    pool = others or elites
    take = min(k, len(pool))
    picks = rng.choice(len(pool), size=take, replace=False, p=near_weights(pool, parent))
    chosen = [pool[i] for i in picks]
    if take < k:
        weights = near_weights(elites, parent)
        extra = rng.choice(len(elites), size=k - take, replace=True, p=weights)
        chosen += [elites[i] for i in extra]
    return chosen


def lineage_ids(elites: Sequence[Any]) -> list[str]:
    """The lineage ids of the elites a prompt showed, in prompt order: a child's parents.

    An example without an id (a seed text no elite of this run had) is left out, so
    the lineage only names candidates it has records for.
    """
    ids = [getattr(e, "id", None) for e in elites]
    return [str(i) for i in ids if i is not None]


def prompt_notes(replies: Sequence[Any]) -> list[dict[str, str]]:
    """Each reply's lineage note: ``{"prompt_key": key}``, its key in the LM reply cache,
    so a lineage record leads back to the prompt and reply (empty where the LM keeps no
    cache or the request failed)."""
    keys = [getattr(r, "key", None) for r in replies]
    return [{"prompt_key": key} if isinstance(key, str) else {} for key in keys]


def _same(elite: Any, parent: Any) -> bool:
    if elite is parent:
        return True
    cell = getattr(parent, "cell", None)
    return cell is not None and getattr(elite, "cell", None) == cell


# -- LMX-replace ----------------------------------------------------------------------


@dataclass(frozen=True)
class PoolItem:
    """One text of a :class:`PromptPool` with the objective and bins it had."""

    text: str
    objective: float
    bins: tuple[int, ...]


class PromptPool:
    """LMX-replace's pool of example texts: the seeds plus the top 3 ever seen per bin.

    :meth:`refresh` reads the archive's elites; a text stays among its bin's best
    three even after the archive replaces it. :meth:`items` lists the seeds first, then
    the bin entries by decreasing objective, cut at ``max_size`` (100 in QDAIF).

    Args:
        seeds: The domain's seed texts.
        per_bin: How many texts to keep per bin.
        max_size: Most items in the pool.
    """

    def __init__(self, seeds: Sequence[str], *, per_bin: int = 3, max_size: int = 100) -> None:
        if per_bin < 1 or max_size < 1:
            raise ValueError("per_bin and max_size must be at least 1")
        self.seeds = tuple(str(s) for s in seeds)
        self.per_bin = int(per_bin)
        self.max_size = int(max_size)
        self._bins: dict[tuple[int, ...], list[PoolItem]] = {}

    def add(self, text: str, objective: float, bins: Sequence[int]) -> None:
        """Offer one text; it stays if it is among the best ``per_bin`` of its bin."""
        key = tuple(int(b) for b in bins)
        entries = self._bins.setdefault(key, [])
        if any(item.text == text for item in entries):
            return
        entries.append(PoolItem(str(text), float(objective), key))
        entries.sort(key=lambda item: -item.objective)  # stable: earlier wins ties
        del entries[self.per_bin :]

    def refresh(self, elites: Sequence[Any]) -> None:
        """Offer every elite (``candidate``, ``objective``, ``bins``) of the archive."""
        for elite in elites:
            if isinstance(elite.candidate, str):
                self.add(elite.candidate, elite.objective, elite.bins)

    def items(self) -> list[str]:
        """Seeds, then bin entries by decreasing objective, at most ``max_size``."""
        ranked = sorted(
            (item for entries in self._bins.values() for item in entries),
            key=lambda item: -item.objective,
        )
        texts = list(self.seeds)
        texts += [item.text for item in ranked if item.text not in self.seeds]
        return texts[: self.max_size]

    def __len__(self) -> int:
        return len(self.items())


def replace_examples(
    parent_examples: Sequence[str], pool: PromptPool | Sequence[str], rng: np.random.Generator
) -> list[str]:
    """The parent's few-shot list with one slot, drawn uniformly, swapped for a pool item.

    The new item is drawn uniformly among pool items not already in the prompt (failing
    that, those that differ from the text in that slot; failing that, any pool item).

    Args:
        parent_examples: The examples the parent was made from.
        pool: A :class:`PromptPool` or a list of texts.
        rng: The only source of randomness.

    Returns:
        A new list; ``parent_examples`` itself is not changed.

    Raises:
        ValueError: ``parent_examples`` or the pool is empty.
    """
    examples = list(parent_examples)
    items = pool.items() if isinstance(pool, PromptPool) else list(pool)
    if not examples or not items:
        raise ValueError("replace_examples needs a non-empty example list and pool")
    slot = int(rng.integers(len(examples)))
    choices = (
        [t for t in items if t not in examples]
        or [t for t in items if t != examples[slot]]
        or items
    )
    examples[slot] = choices[int(rng.integers(len(choices)))]
    return examples


# -- the variation --------------------------------------------------------------------


def _sample(pool: Sequence[str], k: int, rng: np.random.Generator) -> list[str]:
    """``k`` texts drawn uniformly without replacement (with it only if the pool is short)."""
    if not pool:
        return []
    picks = rng.choice(len(pool), size=k, replace=k > len(pool))
    return [pool[int(i)] for i in picks]


class LMXVariation:
    """LMX over an archive of texts: builds few-shot prompts, asks the LM in one batch.

    Args:
        lm: A ``qd.lm.LM`` (anything with ``complete_many(prompts, **sampling)``).
        template: The text before each example, e.g. ``"Here is a random example of a
            fantasy story about a suspicious spy and a rich politician:\\n"``.
        archive: Where examples come from (``qd.archive.Archive``, or anything with
            ``elites()``); None behaves as an empty archive.
        mode: ``near``, ``replace``, ``fixed``, ``shuffle``, ``random`` or ``quality``
            (see the module docstring).
        seeds: Seed texts: the examples while the archive is empty, and the fixed
            prompt of ``fixed`` (its first ``k``).
        max_tokens: Longest reply (QDAIF: opinions 50, stories 100).
        temperature: Sampling temperature (QDAIF: 0.8).
        top_p: Nucleus sampling (QDAIF: 0.95).
        k: Examples per prompt (QDAIF: 3).
        stop: Stop sequences (QDAIF: ``###`` and newline).
        min_chars: Shorter replies are malformed (None children).
        pool_size: Size of the LMX-replace and LMX-Quality-Only pools (QDAIF: 100).
        steer: Optional ``steer(rng) -> header``: the last header of each prompt, the one
            the LM continues, names a target ("a horror story ... with a happy ending")
            while the examples keep ``template``. Not in QDAIF; a small model copies its
            examples' mood, and a named target pulls children towards empty regions.

    Raises:
        ValueError: Unknown mode, no seeds, or non-positive ``k`` / ``max_tokens``.
    """

    def __init__(
        self,
        lm: Any,
        *,
        template: str,
        archive: _HasElites | None,
        mode: LMXMode | str = "near",
        seeds: Sequence[str],
        max_tokens: int,
        temperature: float = 0.8,
        top_p: float = 0.95,
        k: int = 3,
        stop: Sequence[str] = DEFAULT_STOP,
        min_chars: int = 3,
        pool_size: int = 100,
        steer: Callable[[np.random.Generator], str] | None = None,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode: {mode!r} is not one of {list(MODES)}")
        seeds = [str(s) for s in seeds]
        if not seeds:
            raise ValueError("seeds: give at least one seed text (the prompt of an empty archive)")
        if k < 1 or max_tokens < 1:
            raise ValueError(f"k and max_tokens must be at least 1, got {k} and {max_tokens}")
        self.lm = lm
        self.template = str(template)
        self.archive = archive
        self.mode = str(mode)
        self.seeds = seeds
        self.max_tokens = int(max_tokens)
        self.temperature = float(temperature)
        self.top_p = float(top_p)
        self.k = int(k)
        self.stop = list(stop)
        self.min_chars = int(min_chars)
        self.pool_size = int(pool_size)
        self.steer = steer
        self.history: list[str] = []
        """Every text generated (``random`` mode only): Random-Search's growing pool."""
        self.pool = PromptPool(seeds, max_size=self.pool_size)
        self._quality: dict[str, float] = {}
        self._examples_of: dict[str, tuple[str, ...]] = {}
        self._ids: dict[str, str] = {}  # text -> lineage id of an elite that had it

    @property
    def sampling(self) -> dict[str, Any]:
        """The request parameters sent with every prompt."""
        return {
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "stop": list(self.stop),
        }

    def _elites(self) -> list[Any]:
        return list(self.archive.elites()) if self.archive is not None else []

    def quality_pool(self) -> list[str]:
        """LMX-Quality-Only's pool: the best ``pool_size`` texts seen, by objective."""
        ranked = sorted(self._quality.items(), key=lambda kv: -kv[1])
        return [text for text, _ in ranked[: self.pool_size]]

    def _refresh(self, elites: Sequence[Any]) -> None:
        for e in elites:  # pools keep texts that left the archive: remember their ids
            if isinstance(e.candidate, str) and getattr(e, "id", None) is not None:
                self._ids[e.candidate] = e.id
        if len(self._ids) > 10 * self.pool_size + 2 * len(elites):
            keep = {e.candidate for e in elites if isinstance(e.candidate, str)}
            keep |= set(self.pool.items()) | set(self.quality_pool()) | set(self.history)
            keep |= {t for ex in self._examples_of.values() for t in ex}
            self._ids = {t: i for t, i in self._ids.items() if t in keep}
        if self.mode == "replace":
            self.pool.refresh(elites)
        elif self.mode == "quality":
            for e in elites:
                if isinstance(e.candidate, str):
                    best = self._quality.get(e.candidate, -np.inf)
                    self._quality[e.candidate] = max(best, float(e.objective))
            if len(self._quality) > 4 * self.pool_size:
                self._quality = {t: self._quality[t] for t in self.quality_pool()}

    def examples(
        self, rng: np.random.Generator, *, elites: Sequence[Any] | None = None, parent: Any = None
    ) -> list[str]:
        """The few-shot examples of one prompt, chosen as ``mode`` says.

        Args:
            rng: The only source of randomness.
            elites: The archive's elites (read from the archive when None).
            parent: For ``near`` and ``replace``, the parent text or elite; drawn
                uniformly from the elites when None or not in the archive.

        Returns:
            The example texts, in prompt order.
        """
        if elites is None:
            elites = self._elites()
            self._refresh(elites)
        return [text for text, _ in self._shown(rng, elites, parent)]

    def _shown(
        self, rng: np.random.Generator, elites: Sequence[Any], parent: Any
    ) -> list[tuple[str, str | None]]:
        """The examples of one prompt (see :meth:`examples`), each with the lineage id of
        the elite it came from (None for a text no elite of this run had, a seed)."""
        if self.mode == "near" and elites:
            chosen = self._find(elites, parent)
            if chosen is None:
                chosen = elites[int(rng.integers(len(elites)))]
            picked = near_examples(elites, chosen, self.k, rng=rng)
            return [(str(e.candidate), getattr(e, "id", None)) for e in picked]
        if self.mode == "fixed":
            texts = self.seeds[: self.k]
        elif self.mode == "random":
            texts = _sample(self.seeds + self.history, self.k, rng)
        elif self.mode == "quality":
            texts = _sample(self.quality_pool() or self.seeds, self.k, rng)
        elif not elites or self.mode == "shuffle":
            texts = _sample(self.seeds, min(self.k, len(self.seeds)), rng)
        else:  # replace: the parent's own examples (seeds drawn afresh if we never made it)
            chosen = self._find(elites, parent)
            if chosen is None:
                chosen = elites[int(rng.integers(len(elites)))]
            own = (
                self._examples_of.get(chosen.candidate)
                if isinstance(chosen.candidate, str)
                else None
            )
            base = list(own) if own else _sample(self.pool.items(), self.k, rng)
            texts = replace_examples(base, self.pool, rng)
        return [(text, self._ids.get(text)) for text in texts]

    @staticmethod
    def _find(elites: Sequence[Any], parent: Any) -> Any:
        if parent is None:
            return None
        for e in elites:
            if e is parent or e.candidate is parent or e.candidate == parent:
                return e
        return None

    def prompts(
        self, n: int, rng: np.random.Generator, *, parents: Sequence[Any] | None = None
    ) -> tuple[list[str], list[list[str]]]:
        """``n`` prompts and the examples of each, built from the archive as it is now."""
        prompts, shown = self._prompts(n, rng, parents)
        return prompts, [[text for text, _ in ex] for ex in shown]

    def _prompts(
        self, n: int, rng: np.random.Generator, parents: Sequence[Any] | None
    ) -> tuple[list[str], list[list[tuple[str, str | None]]]]:
        elites = self._elites()
        self._refresh(elites)
        shown = [self._shown(rng, elites, parents[i] if parents else None) for i in range(n)]
        finals = [self.steer(rng) if self.steer else None for _ in shown]
        prompts = [
            build_prompt(self.template, [text for text, _ in ex], f)
            for ex, f in zip(shown, finals, strict=True)
        ]
        return prompts, shown

    def children(
        self, n: int, rng: np.random.Generator, *, parents: Sequence[Any] | None = None
    ) -> Brood:
        """``n`` new texts from one batch of LM requests.

        Args:
            n: How many children.
            rng: The only source of randomness.
            parents: Optional parent per child (``near`` / ``replace``); drawn from the
                archive otherwise.

        Returns:
            One text per child, or a :class:`~qd.lm.errors.FailedChild` where the
            request failed or the reply had no usable text (the engine records those
            as invalid, with the cause). A :class:`~qd.domain.Brood`: each child's
            parents are the lineage ids of the elites its prompt showed as examples, in
            prompt order (seed texts no elite had are left out), and its note
            ``prompt_key`` is its reply's key in the LM cache (when the LM has one).

        Raises:
            LMUnavailableError: The LM's circuit breaker opened.
        """
        if n <= 0:
            return Brood([], [])
        prompts, shown = self._prompts(n, rng, parents)
        replies = self.lm.complete_many(prompts, **self.sampling)
        if len(replies) != n:
            raise RuntimeError(f"the LM returned {len(replies)} replies for {n} prompts")
        children = [child_of(r, min_chars=self.min_chars) for r in replies]
        texts = [c if isinstance(c, str) else None for c in children]
        if self.mode == "random":
            self.history += [t for t in texts if t is not None]
        elif self.mode == "replace":
            self._remember(texts, [[text for text, _ in ex] for ex in shown])
        return Brood(
            children,
            [[i for _, i in ex if i is not None] for ex in shown],
            prompt_notes(replies),
        )

    def _remember(self, texts: Sequence[str | None], examples: Sequence[list[str]]) -> None:
        if len(self._examples_of) > 10 * self.pool_size:
            alive = {e.candidate for e in self._elites() if isinstance(e.candidate, str)}
            self._examples_of = {t: ex for t, ex in self._examples_of.items() if t in alive}
        for text, ex in zip(texts, examples, strict=True):
            if text is not None:
                self._examples_of[text] = tuple(ex)

    def as_operator(self) -> Operator:
        """This variation as a ``qd.domain.Operator``: arity 1, plus a batch method.

        ``fn(parents, rng)`` returns one child near (or descended from) ``parents[0]``;
        ``batch(n, rng)`` makes ``n`` children in one batch of LM requests.
        """

        def one(parents: Sequence[Any], rng: np.random.Generator) -> list[str | FailedChild]:
            return self.children(1, rng, parents=list(parents[:1]) or None)

        def batch(n: int, rng: np.random.Generator) -> Brood:
            return self.children(n, rng)

        return Operator(one, arity=1, name=f"lmx-{self.mode}", batch=batch)
