"""The storage layer: one Store per table over an fsspec filesystem."""

from .store import Store

__all__ = ["Store"]
