"""A bounded cache that keeps entries in steady use: two generations of dicts."""

from __future__ import annotations

from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Generations(Generic[K, V]):
    """A bounded cache in two generations of `limit` entries: when the current one is full it becomes the old
    one, and a hit in the old one is carried over, so entries in steady use stay however many others pass.
    `current` keeps its identity (a caller may hold it for a fast first look)."""

    def __init__(self, limit: int) -> None:
        self.current: dict[K, V] = {}
        self._old: dict[K, V] = {}
        self._limit = limit

    def get(self, key: K) -> V | None:
        hit = self.current.get(key)
        return self._old.get(key) if hit is None else hit

    def put(self, key: K, value: V) -> None:
        if len(self.current) >= self._limit:
            self._old = dict(self.current)
            self.current.clear()
        self.current[key] = value
