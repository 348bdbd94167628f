"""Descriptor axes the engine tests share (imported by name: tests/ is on sys.path)."""

# QDAIF's 20 bins on [0, 1]: fine near 0 and 1, where an LM judge's probabilities pile up.
QDAIF_EDGES = (
    0, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.10, 0.20, 0.50,
    0.80, 0.90, 0.95, 0.96, 0.97, 0.98, 0.985, 0.99, 0.995, 1,
)  # fmt: skip
GENRES = ("haiku", "sonnet", "ballad", "limerick", "hymn")
TONES = ("happy", "dark", "mysterious", "romantic", "reflective")
