"""Embedding judges against the LM judge: texts per second on the embedded models.

An embedding judge (anchors, probe) costs one embedding per text; QDAIF's LM judge costs
one completion request per text and axis. This bench starts both embedded servers
(all-MiniLM-L6-v2 and SmolLM2-135M on llama.cpp), then in one run embeds the labelled
stories (in batches, as a domain does) and asks the LM genre judge about the same
stories, and prints texts/s of each and their ratio.

Usage::

    python bench/embeddings.py              # all 96 labelled stories
    python bench/embeddings.py --texts 24

The last line reads ``embedding / LM judge = 12.3x texts per second``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from domains.creative_writing.domain import TASKS
from domains.creative_writing.judging import validation_set
from qd.lm import LM, Embedder, embedding_server, local_server
from qd.lm.judges import LMLabelJudge


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=96, help="labelled stories to use")
    parser.add_argument("--batch", type=int, default=8, help="texts per embedding request")
    args = parser.parse_args()
    texts = validation_set("genre")[0][: args.texts]
    axis = TASKS["stories"]["axes"]["genre"]
    with embedding_server() as embed_server, local_server() as lm_server:
        embedder = Embedder(embed_server.settings(), batch_size=args.batch)
        embedder.embed(["warm-up"])
        began = time.perf_counter()
        embedder.embed(texts)
        embed_rate = len(texts) / (time.perf_counter() - began)
        judge = LMLabelJudge(
            LM(lm_server.settings()),
            instruction=axis.instruction,
            labels=(axis.label_b, axis.label_a),
        )
        judge.score(["warm-up"])
        began = time.perf_counter()
        judge.score(texts)
        judge_rate = len(texts) / (time.perf_counter() - began)
    print(f"embedding ({embed_server.model_alias}): {embed_rate:.1f} texts/s")
    print(f"LM judge ({lm_server.model_alias}): {judge_rate:.2f} texts/s")
    print(f"embedding / LM judge = {embed_rate / judge_rate:.1f}x texts per second")


if __name__ == "__main__":
    main()
