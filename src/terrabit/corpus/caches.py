"""A least-recently-used cache within a budget of bytes (decoded tables, verified pages).

Examples
--------
>>> cache = ByteLRU(12, size=len)
>>> cache.put("a", b"abc")
>>> cache.put("b", b"abcdef")  # over a quarter of the budget: not kept
>>> cache.get("a"), cache.get("b"), len(cache)
(b'abc', None, 1)
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["ByteLRU"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ByteLRU(Generic[K, V]):
    """Values by key, the least recently used dropped first when their ``size`` adds up
    to more than :attr:`budget_bytes`; a value over a quarter of the budget is not kept.

    Parameters
    ----------
    budget_bytes : int
        The most bytes kept (may be changed at any time; it applies from the next
        :meth:`put`).
    size : callable
        The bytes of a value.

    Examples
    --------
    >>> cache = ByteLRU(8, size=len)
    >>> for key in "abcd":
    ...     cache.put(key, b"xx")
    >>> cache.get("a")  # the oldest; "a" is used again
    b'xx'
    >>> cache.put("e", b"xx")  # over the budget: "b" goes
    >>> "b" in cache, cache.nbytes
    (False, 8)
    """

    def __init__(self, budget_bytes: int, *, size: Callable[[V], int]) -> None:
        self.budget_bytes = budget_bytes
        self.nbytes = 0
        """The bytes of the values kept."""
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        """The value kept for ``key`` (now the most recently used), or ``None``."""
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        """Keep ``value`` unless ``key`` is kept already or it is too big, then drop
        the least recently used values until the rest fit the budget."""
        if key in self._items:
            return
        size = self._size(value)
        if size > self.budget_bytes // 4:
            return
        self._items[key] = value
        self.nbytes += size
        while self.nbytes > self.budget_bytes:
            _, old = self._items.popitem(last=False)
            self.nbytes -= self._size(old)

    def clear(self) -> None:
        """Forget every value."""
        self._items.clear()
        self.nbytes = 0

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)
