"""QDAIF poetry: a 5 x 5 map of genre x tone, filled by rewriting poems.

Both axes are labels, read from the judge's log-probabilities over the allowed names
(never from free text, so an off-list answer cannot crash a run: it is an invalid
candidate with the reason recorded). Quality is a 1-10 rating, also from logprobs.
Children come from QDAIF's poetry operator: "rewrite this poem as a {tone} {genre}",
aimed at a random cell, so the search walks the map on purpose.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from domains.creative_writing.seeds import POEMS, TEMPLATES
from qd.domain import Brood, Domain, Evaluation, Measure, Operator

if TYPE_CHECKING:
    from qd.lm.errors import FailedChild
    from qd.lm.feedback import AIFeedback
    from qd.lm.lmx import LMXVariation

GENRES = ("haiku", "sonnet", "ballad", "limerick", "hymn")
TONES = ("happy", "dark", "mysterious", "romantic", "reflective")
QUALITY = "Rate the quality of this poem from 1 (poor) to 10 (excellent). Answer with a number."
GENRE = "Which genre is this poem: haiku, sonnet, ballad, limerick or hymn? Answer with one word."
TONE = (
    "Which tone does this poem have: happy, dark, mysterious, romantic or reflective? "
    "Answer with one word."
)


def _embedding(vector: Any) -> dict[str, list[float]]:
    """``{"embedding": [...]}`` for a vector; nothing when its request failed."""
    if isinstance(vector, np.ndarray):
        return {"embedding": [round(float(x), 5) for x in vector]}
    return {}


def rewrite_prompt(poem: str, genre: str, tone: str) -> str:
    """QDAIF's poetry mutation, as a completion prompt."""
    return f"Rewrite this poem as a {tone} {genre}.\n\nPoem:\n{poem}\n\nRewritten poem:\n"


class Poetry(Domain):
    """Poems of every genre and tone (QDAIF's poetry domain).

    Args:
        max_tokens: Longest poem generated.
        min_chars: Shorter replies are invalid.
        judge_top_logprobs: Alternatives read at the judge's first answer token.
    """

    name = "poetry"
    uses_lm = True

    def __init__(
        self, *, max_tokens: int = 80, min_chars: int = 20, judge_top_logprobs: int = 20
    ) -> None:
        self.max_tokens = int(max_tokens)
        self.min_chars = int(min_chars)
        self.judge_top_logprobs = int(judge_top_logprobs)
        self.measures = (
            Measure.categorical("genre", GENRES, title="genre"),
            Measure.categorical("tone", TONES, title="tone"),
        )
        self._lm: Any = None
        self._archive: Any = None
        self._seeding: LMXVariation | None = None
        self._feedback: AIFeedback | None = None

    def connect(self, *, lm: Any, archive: Any) -> None:
        from qd.lm.feedback import AIFeedback
        from qd.lm.lmx import LMXVariation

        self._lm, self._archive = lm, archive
        self._seeding = LMXVariation(
            lm,
            template=TEMPLATES["poetry"],
            archive=archive,
            mode="fixed",
            seeds=list(POEMS),
            max_tokens=self.max_tokens,
            stop=("###",),
        )
        self._feedback = AIFeedback(lm, top_logprobs=self.judge_top_logprobs)

    def _require_lm(self) -> tuple[LMXVariation, AIFeedback]:
        """The seeding operator and the judge; raises when no LM is connected yet."""
        if self._seeding is None or self._feedback is None:
            raise RuntimeError(
                "Poetry needs an LM: run it through `qd run` (which connects one) or call "
                "domain.connect(lm=..., archive=...) first"
            )
        return self._seeding, self._feedback

    def initial(self, n: int, rng: np.random.Generator) -> list[str | FailedChild]:
        """Few-shot poems from the seed poems."""
        seeding, _ = self._require_lm()
        return seeding.children(n, rng)

    def variation(self) -> Operator:
        """Rewrite elites towards random cells, one batch of requests per ask."""

        def batch(n: int, rng: np.random.Generator) -> list[str | FailedChild]:
            self._require_lm()
            parents = self._archive.sample(n, rng)
            children, keys = self._rewrite(parents, rng)
            # A Brood: the lineage records each poem's parent and its reply's cache key.
            return Brood(
                children,
                self._archive.lineage_ids_of([[p] for p in parents]),
                [{"prompt_key": k} if isinstance(k, str) else {} for k in keys],
            )

        def one(parents: Sequence[Any], rng: np.random.Generator) -> list[str | FailedChild]:
            self._require_lm()
            return self._rewrite(list(parents[:1]), rng)[0]

        return Operator(one, arity=1, name="rewrite", batch=batch)

    def _rewrite(
        self, parents: list[str], rng: np.random.Generator
    ) -> tuple[list[str | FailedChild], list[str | None]]:
        """One rewrite of each parent, and each reply's key in the LM cache."""
        from qd.lm.lmx import child_of

        prompts = [
            rewrite_prompt(
                poem, GENRES[int(rng.integers(len(GENRES)))], TONES[int(rng.integers(len(TONES)))]
            )
            for poem in parents
        ]
        replies = self._lm.complete_many(
            prompts, max_tokens=self.max_tokens, temperature=0.8, top_p=0.95, stop=["###"]
        )
        children = [child_of(r) for r in replies]  # a failed one says why (FailedChild)
        return children, [getattr(r, "key", None) for r in replies]

    def evaluate(self, batch: Sequence[Any]) -> list[Evaluation]:
        from qd.lm.errors import lm_error_info

        results: list[Evaluation | None] = [None] * len(batch)
        texts, slots = [], []
        for i, text in enumerate(batch):
            if not isinstance(text, str) or len(text.strip()) < self.min_chars:
                results[i] = Evaluation.invalid("no poem: the LM reply was empty or too short")
            else:
                texts.append(text)
                slots.append(i)
        if texts:
            _, feedback = self._require_lm()
            ratings = feedback.rating(texts, QUALITY)
            genres = feedback.choice(texts, GENRE, list(GENRES))
            tones = feedback.choice(texts, TONE, list(TONES))
            vectors = self._lm.embed_many(texts)  # for the Vendi score of the elites
            for j, i in enumerate(slots):
                (rating, rating_info), genre, tone = ratings[j], genres[j], tones[j]
                if rating is None or genre[0] is None or tone[0] is None:
                    results[i] = Evaluation.invalid(
                        "the judge named no allowed rating, genre or tone",
                        rating=rating_info,
                        genre=genre[2],
                        tone=tone[2],
                        **lm_error_info(rating_info, genre[2], tone[2]),
                    )
                    continue
                results[i] = Evaluation(
                    objective=float(rating_info.get("normalized", (rating - 1) / 9)),
                    measures=(genre[0], tone[0]),
                    info={
                        "rating": rating,
                        "genre": genre[1],
                        "tone": tone[1],
                        **_embedding(vectors[j]),
                    },
                )
        return results  # type: ignore[return-value]

    def features(self, candidate: Any, info: dict[str, Any]) -> Sequence[float] | None:
        """The poem's embedding: reports give the Vendi score of the elites' meanings."""
        return info.get("embedding")

    def render(self, candidate: Any, info: dict | None = None) -> str:
        return str(candidate)
