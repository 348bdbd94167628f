"""AI feedback: quality and descriptors from the log-probabilities of answer labels.

QDAIF (Bradley et al., ICLR 2024) asks an LM a question about a text and reads how likely
the first answer token is to be each label ("yes"/"no", "horror"/"romance", a genre):
the normalised probability is the quality or the descriptor value. A judge prompt reads::

    ### Instruction:
    {instruction}

    ### Input:
    {text}

    ### Response:

with a newline after ``### Response:`` (see :data:`PROMPT_TEMPLATE`). The instruction
comes before the text so that every prompt of a batch shares the longest possible
prefix, which the server's prefix cache then skips. Each request is a text completion
with ``max_tokens=1``, ``temperature=0`` and ``logprobs=top_logprobs``, sent in one
batch through :meth:`qd.lm.LM.complete_many`::

    feedback = AIFeedback(lm)
    feedback.quality(texts, "Is the input text a good story? Answer yes or no.")
    # [(0.73, {"probs": {"yes": 0.73, "no": 0.27}, "top": [...], ...}), ...]

How tokens become labels (:func:`label_distribution`):

- A token is normalised: surrounding whitespace and trailing ``.,;:!`` stripped, lower
  case, so ``"Yes"``, ``" yes"``, ``"YES"`` and ``" Yes."`` all count for ``yes``; the
  probability of every variant in the top-k is summed.
- A token that equals a label counts for it. A token that is only a *prefix* of a label
  (``"rom"`` for ``"romance"``, as a multi-token label starts) counts for that label when
  it is at least ``min_prefix`` (2) characters long and the prefix of exactly one label;
  a prefix of several labels (``"ha"`` for ``haiku`` and ``happy``) is ambiguous and
  counts for none (it is listed in ``info["ambiguous"]``). One-letter prefixes do not
  count: ``"S"`` starts far more words than ``"sonnet"``.
- The sums are normalised over the labels. If no label is in the top-k the value falls
  back to the floor, the uniform distribution, and ``info["fallback"]`` says so
  (``"no label in top-k"``, with the top tokens in ``info["top"]``).

Ratings (:meth:`AIFeedback.rating`, pyribs' QDAIF tutorial asks for 1-10): tokenisers
that split numbers into digits (Llama, SmolLM2) write ``"10"`` as ``"1"`` + ``"0"``, so
the first token ``"1"`` is ambiguous between 1 and 10. Where ``"1"`` has probability in
the top-k and no ``"10"`` token does, one follow-up request (the prompt plus ``"1"``)
reads the probability ``q`` that ``"0"`` comes next: ``P(10) = P("1") * q`` and
``P(1) = P("1") * (1 - q)``. Generally, for every label that is a prefix of longer
labels, the follow-up splits its mass by the next token (one level: scales up to two
digits).

A server without logprobs: :func:`check_logprobs` raises :class:`FeedbackError` unless
``sampling_fallback=k`` was given; then each question is asked ``k`` times at
temperature 1 (``max_tokens=3``, enough for ``"10"``) and the label frequencies are the
distribution. A failed request (an :class:`~qd.lm.LMError` in its slot) gives
``(None, {"error": ...})`` for that text, never an exception.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from qd.lm.errors import LMError
from qd.lm.replies import Completion

__all__ = [
    "PROMPT_TEMPLATE",
    "AIFeedback",
    "FeedbackError",
    "check_logprobs",
    "judge_prompt",
    "label_distribution",
]

PROMPT_TEMPLATE = "### Instruction:\n{instruction}\n\n### Input:\n{text}\n\n### Response:\n"
"""The judge prompt. The newline after ``### Response:`` matters for small models: without
it SmolLM2-135M puts ~94% of its mass on ``"\\n"`` and the labels fall out of the top-5."""

NO_LABEL = "no label in top-k"
NO_LOGPROBS = "no logprobs in reply"
_STRIP = " \t\r\n.,;:!\"'"


class FeedbackError(RuntimeError):
    """The LM cannot give AI feedback as asked (e.g. the server returns no logprobs)."""


def judge_prompt(instruction: str, text: str, *, template: str = PROMPT_TEMPLATE) -> str:
    """The judge prompt for one text (instruction first, for the prefix cache)."""
    return template.format(instruction=instruction, text=text)


def _norm(token: str) -> str:
    return token.strip(_STRIP).lower()


def _match(token: str, labels: Mapping[str, str], min_prefix: int) -> tuple[str | None, str]:
    """(label, how) for one token: how is "exact", "prefix", "ambiguous" or "none"."""
    norm = _norm(token)
    if not norm:
        return None, "none"
    exact = [label for label, n in labels.items() if n == norm]
    if exact:
        return exact[0], "exact"
    if len(norm) < min_prefix:
        return None, "none"
    starts = [label for label, n in labels.items() if n.startswith(norm)]
    if len(starts) == 1:
        return starts[0], "prefix"
    return (None, "ambiguous") if starts else (None, "none")


def _uniform(labels: Sequence[str]) -> dict[str, float]:
    return {label: 1.0 / len(labels) for label in labels}


def label_distribution(
    top_logprobs: Mapping[str, float] | None,
    labels: Sequence[str],
    *,
    min_prefix: int = 2,
) -> tuple[dict[str, float], dict[str, Any]]:
    """A distribution over ``labels`` from the first answer token's top logprobs.

    Args:
        top_logprobs: ``{token: logprob}`` for the first generated token (e.g.
            ``completion.top_logprobs[0]``); None or empty when the reply had none.
        labels: The answer labels, e.g. ``["yes", "no"]``; matched case-insensitively.
        min_prefix: The shortest token (in characters, after normalising) that counts
            as the start of a longer label.

    Returns:
        ``(probs, info)``: ``probs`` maps each label to its probability (summing to 1);
        ``info`` has ``top`` (the tokens and logprobs, best first), ``matched``
        (token -> label), ``mass`` (the top-k probability on labels), ``ambiguous``
        (prefix tokens of several labels), and ``fallback`` when the uniform floor was
        used (``"no label in top-k"`` or ``"no logprobs in reply"``).

    Raises:
        ValueError: Fewer than two labels, or labels equal after normalising.
    """
    names = [str(label) for label in labels]
    normed = {label: _norm(label) for label in names}
    if len(names) < 2 or len(set(normed.values())) != len(names) or not all(normed.values()):
        raise ValueError(
            f"labels must be at least two distinct non-empty words, got {list(labels)!r}: "
            "labels are matched without case, spaces or trailing punctuation"
        )
    top = sorted((top_logprobs or {}).items(), key=lambda item: -item[1])
    info: dict[str, Any] = {"top": [[token, float(lp)] for token, lp in top]}
    if not top:
        info["fallback"] = NO_LOGPROBS
        return _uniform(names), info
    sums = dict.fromkeys(names, 0.0)
    matched: dict[str, str] = {}
    ambiguous: list[str] = []
    for token, logprob in top:
        label, how = _match(token, normed, min_prefix)
        if how == "ambiguous":
            ambiguous.append(token)
        if label is None or not math.isfinite(logprob):
            continue
        sums[label] += math.exp(logprob)
        matched[token] = label
    mass = sum(sums.values())
    info.update(matched=matched, mass=mass)
    if ambiguous:
        info["ambiguous"] = ambiguous
    if mass <= 0.0:
        info["fallback"] = NO_LABEL
        return _uniform(names), info
    missing = [label for label, s in sums.items() if s <= 0.0]
    if missing and len(names) == 2:
        # Of two labels, one outside the top-k is less likely than the k-th token, not
        # impossible: give it that bound, so the other reads "very likely", not certain.
        floor = math.exp(min(lp for _, lp in top if math.isfinite(lp)))
        for label in missing:
            sums[label] = floor
        info["floored"] = {"labels": missing, "floor": floor}
        mass = sum(sums.values())
    return {label: s / mass for label, s in sums.items()}, info


def _first_top(reply: Completion) -> dict[str, float] | None:
    if not reply.top_logprobs:
        return None
    return reply.top_logprobs[0] or None


def check_logprobs(lm: Any, *, top_logprobs: int = 5, reply: Any = None) -> None:
    """Make sure the LM's server returns top logprobs on ``/v1/completions``.

    Sends one one-token request (unless given its ``reply``).

    Raises:
        FeedbackError: The request failed, or the reply had no ``top_logprobs``.
    """
    if reply is None:
        prompt = judge_prompt("Answer yes or no.", "Is the sky blue?")
        (reply,) = lm.complete_many([prompt], max_tokens=1, temperature=0, logprobs=top_logprobs)
    if isinstance(reply, LMError):
        raise FeedbackError(
            f"AI feedback needs logprobs on text completions, and a request with "
            f"logprobs={top_logprobs} failed: {reply.message}. Use a server that supports "
            "`logprobs` on /v1/completions (llama.cpp, vLLM), or pass sampling_fallback=k "
            "to AIFeedback to sample k answers instead"
        )
    if _first_top(reply) is None:
        raise FeedbackError(
            "the LM server returned no top_logprobs for a text completion, and AI feedback "
            "reads label probabilities from them: use a server that supports `logprobs` on "
            "/v1/completions (llama.cpp, vLLM), or pass sampling_fallback=k to AIFeedback "
            "to sample k answers at temperature 1 instead"
        )


_WORD = re.compile(r"\w+")


class AIFeedback:
    """Quality and descriptors of texts, as judged by an LM (QDAIF).

    Args:
        lm: An :class:`~qd.lm.LM` (anything with ``complete_many``).
        top_logprobs: How many top tokens the server returns for the answer token.
        sampling_fallback: If the server gives no logprobs, sample this many answers per
            text at temperature 1 and use label frequencies; None (default) raises
            :class:`FeedbackError` instead.
        template: The judge prompt, with ``{instruction}`` and ``{text}``.
        min_prefix: See :func:`label_distribution`.

    Whether the server gives logprobs is checked with :func:`check_logprobs` on the
    first call.
    """

    def __init__(
        self,
        lm: Any,
        *,
        top_logprobs: int = 5,
        sampling_fallback: int | None = None,
        template: str = PROMPT_TEMPLATE,
        min_prefix: int = 2,
    ) -> None:
        if top_logprobs < 1:
            raise ValueError(f"top_logprobs must be >= 1, got {top_logprobs}")
        if sampling_fallback is not None and sampling_fallback < 1:
            raise ValueError(f"sampling_fallback must be >= 1 samples, got {sampling_fallback}")
        self.lm = lm
        self.top_logprobs = top_logprobs
        self.sampling_fallback = sampling_fallback
        self.template = template
        self.min_prefix = min_prefix
        self.mode: str | None = None  # "logprobs" or "sampling", set on the first call

    def __repr__(self) -> str:
        return (
            f"AIFeedback({self.lm!r}, top_logprobs={self.top_logprobs}, "
            f"sampling_fallback={self.sampling_fallback}, mode={self.mode!r})"
        )

    def _mode(self) -> str | LMError:
        """``"logprobs"`` or ``"sampling"``, found out once; or the :class:`LMError` of a
        check that failed (a server fault says nothing about logprobs: ask again later)."""
        if self.mode is None:
            prompt = judge_prompt("Answer yes or no.", "Is the sky blue?")
            (reply,) = self.lm.complete_many(
                [prompt], max_tokens=1, temperature=0, logprobs=self.top_logprobs
            )
            if isinstance(reply, LMError) and reply.kind in {"timeout", "connection", "malformed"}:
                return reply
            if isinstance(reply, LMError) and (reply.status_code or 0) >= 500:
                return reply
            try:
                check_logprobs(self.lm, top_logprobs=self.top_logprobs, reply=reply)
                self.mode = "logprobs"
            except FeedbackError:
                if self.sampling_fallback is None:
                    raise
                self.mode = "sampling"
        return self.mode

    # -- the core: one distribution over labels per text --------------------------------

    def distributions(
        self, texts: Sequence[str], instruction: str, labels: Sequence[str]
    ) -> list[tuple[dict[str, float] | None, dict[str, Any]]]:
        """A distribution over ``labels`` per text, or ``(None, {"error": ...})``.

        Args:
            texts: The texts to judge.
            instruction: The question, naming the labels ("Answer yes or no.").
            labels: The answer labels.

        Returns:
            ``(probs, info)`` per text; ``info["mode"]`` is ``"logprobs"`` or
            ``"sampling"``.

        Raises:
            FeedbackError: The server gives no logprobs and no ``sampling_fallback``.
        """
        labels = [str(label) for label in labels]
        label_distribution({}, labels)  # validates the labels before any request
        prompts = [judge_prompt(instruction, text, template=self.template) for text in texts]
        if not prompts:
            return []
        mode = self._mode()
        if isinstance(mode, LMError):  # the server failed the logprobs check: every text fails
            return [(None, {"error": mode.to_dict(), "mode": None}) for _ in prompts]
        if mode == "sampling":
            return self._sampled(prompts, labels)
        replies = self.lm.complete_many(
            prompts, max_tokens=1, temperature=0, logprobs=self.top_logprobs
        )
        out: list[tuple[dict[str, float] | None, dict[str, Any]]] = []
        for reply in replies:
            if isinstance(reply, LMError):
                out.append((None, {"error": reply.to_dict(), "mode": "logprobs"}))
                continue
            probs, info = label_distribution(_first_top(reply), labels, min_prefix=self.min_prefix)
            info.update(mode="logprobs", answer=reply.text)
            out.append((probs, info))
        return out

    def _sampled(
        self, prompts: Sequence[str], labels: Sequence[str]
    ) -> list[tuple[dict[str, float] | None, dict[str, Any]]]:
        k = self.sampling_fallback or 1
        batch = [p for p in prompts for _ in range(k)]
        replies = self.lm.complete_many(batch, max_tokens=3, temperature=1.0)
        normed = {label: _norm(label) for label in labels}
        out: list[tuple[dict[str, float] | None, dict[str, Any]]] = []
        for i in range(len(prompts)):
            group = replies[i * k : (i + 1) * k]
            errors = [r for r in group if isinstance(r, LMError)]
            answers = [r.text for r in group if not isinstance(r, LMError)]
            if not answers:
                out.append((None, {"error": errors[0].to_dict(), "mode": "sampling"}))
                continue
            counts: Counter[str] = Counter()
            for text in answers:
                word = _WORD.search(text)
                label, _ = _match(word.group(0) if word else "", normed, self.min_prefix)
                if label is not None:
                    counts[label] += 1
            info: dict[str, Any] = {
                "mode": "sampling",
                "samples": answers,
                "counts": {label: counts[label] for label in labels},
            }
            if errors:
                info["errors"] = len(errors)
            total = sum(counts.values())
            if total == 0:
                info["fallback"] = "no label in samples"
                out.append((_uniform(labels), info))
            else:
                out.append(({label: counts[label] / total for label in labels}, info))
        return out

    # -- what domains call --------------------------------------------------------------

    def quality(
        self, texts: Sequence[str], instruction: str
    ) -> list[tuple[float | None, dict[str, Any]]]:
        """P(yes), normalised over {yes, no}, per text: QDAIF's quality in [0, 1].

        Args:
            texts: The texts.
            instruction: A yes/no question ("Is the input text a good story? Answer yes
                or no.").

        Returns:
            ``(value, info)`` per text; ``(None, {"error": ...})`` for a failed request.
        """
        return self.descriptor(texts, instruction, "yes", "no")

    def descriptor(
        self, texts: Sequence[str], instruction: str, label_a: str, label_b: str
    ) -> list[tuple[float | None, dict[str, Any]]]:
        """P(label_a), normalised over {label_a, label_b}, per text, in [0, 1].

        Args:
            texts: The texts.
            instruction: The question ("Is the input text a horror story or a romance
                story? Answer horror or romance.").
            label_a: The label whose probability is the value (1 = all ``label_a``).
            label_b: The other label.

        Returns:
            ``(value, info)`` per text, ``info["probs"]`` holding both probabilities;
            ``(None, {"error": ...})`` for a failed request.
        """
        out: list[tuple[float | None, dict[str, Any]]] = []
        for probs, info in self.distributions(texts, instruction, [label_a, label_b]):
            if probs is None:
                out.append((None, info))
            else:
                out.append((probs[str(label_a)], {"probs": probs, **info}))
        return out

    def choice(
        self, texts: Sequence[str], instruction: str, labels: Sequence[str]
    ) -> list[tuple[str | None, dict[str, float], dict[str, Any]]]:
        """The most likely of several labels per text (a categorical descriptor).

        Args:
            texts: The texts.
            instruction: The question, listing the labels.
            labels: The categories (poetry genres, tones, ...).

        Returns:
            ``(label, probs, info)`` per text. When no label is in the top-k (an off-list
            or malformed answer) ``probs`` is uniform, ``label`` is None and
            ``info["fallback"]`` says why; a failed request gives
            ``(None, {}, {"error": ...})``.
        """
        out: list[tuple[str | None, dict[str, float], dict[str, Any]]] = []
        for probs, info in self.distributions(texts, instruction, labels):
            if probs is None:
                out.append((None, {}, info))
            elif "fallback" in info:
                out.append((None, probs, info))
            else:
                out.append((max(probs, key=lambda label: probs[label]), probs, info))
        return out

    def rating(
        self,
        texts: Sequence[str],
        instruction: str,
        scale: Iterable[int] = range(1, 11),
    ) -> list[tuple[float | None, dict[str, Any]]]:
        """The expected rating per text, from the answer's probabilities over ``scale``.

        Args:
            texts: The texts.
            instruction: The question ("Rate the story from 1 to 10. Answer with a
                number.").
            scale: The ratings (integers). ``"10"`` after a digit-splitting tokeniser is
                resolved by one follow-up request (see the module docstring).

        Returns:
            ``(expected, info)`` per text: ``expected`` on the scale (e.g. 1-10),
            ``info["normalized"]`` the same in [0, 1], ``info["probs"]`` per rating;
            ``(None, {"error": ...})`` for a failed request.
        """
        values = sorted({int(v) for v in scale})
        labels = [str(v) for v in values]
        results = self.distributions(texts, instruction, labels)
        if self.mode == "logprobs":
            self._split_prefixes(texts, instruction, labels, results)
        low, high = values[0], values[-1]
        out: list[tuple[float | None, dict[str, Any]]] = []
        for probs, info in results:
            if probs is None:
                out.append((None, info))
                continue
            expected = sum(int(label) * p for label, p in probs.items())
            span = high - low
            normalized = (expected - low) / span if span else 1.0
            out.append((expected, {"probs": probs, "normalized": normalized, **info}))
        return out

    def _split_prefixes(
        self,
        texts: Sequence[str],
        instruction: str,
        labels: Sequence[str],
        results: list[tuple[dict[str, float] | None, dict[str, Any]]],
    ) -> None:
        """Split the mass of a label that starts longer labels ("1" vs "10") in place."""
        longer = {
            short: [long for long in labels if long != short and long.startswith(short)]
            for short in labels
        }
        longer = {short: longs for short, longs in longer.items() if longs}
        if not longer:
            return
        jobs: list[tuple[int, str, str]] = []  # (text index, short label, prompt)
        for i, (probs, info) in enumerate(results):
            if probs is None or "fallback" in info:
                continue
            for short, longs in longer.items():
                seen_long = any(label in longs for label in info["matched"].values())
                if probs[short] > 1e-4 and not seen_long:
                    prompt = judge_prompt(instruction, texts[i], template=self.template) + short
                    jobs.append((i, short, prompt))
        if not jobs:
            return
        replies = self.lm.complete_many(
            [prompt for _, _, prompt in jobs],
            max_tokens=1,
            temperature=0,
            logprobs=self.top_logprobs,
        )
        for (i, short, _), reply in zip(jobs, replies, strict=True):
            probs, info = results[i]
            assert probs is not None
            follow = info.setdefault("follow_up", {})
            if isinstance(reply, LMError):
                follow[short] = {"error": reply.to_dict()}
                continue
            nxt = _first_top(reply) or {}
            shares = dict.fromkeys(longer[short], 0.0)
            for token, logprob in nxt.items():
                rest = token.strip()
                long = short + rest
                if rest and long in shares and math.isfinite(logprob):
                    shares[long] += math.exp(logprob)
            base = probs[short]
            moved = min(1.0, sum(shares.values()))
            for long, share in shares.items():
                probs[long] += base * share
            probs[short] = base * (1.0 - moved)
            follow[short] = {"next": {k: float(v) for k, v in nxt.items()}, "shares": shares}
