"""QDAIF creative writing (opinions, stories) on the engine's LM layer."""

from domains.creative_writing.domain import QDAIF_EDGES_10, QDAIF_EDGES_20, CreativeWriting

__all__ = ["QDAIF_EDGES_10", "QDAIF_EDGES_20", "CreativeWriting"]
