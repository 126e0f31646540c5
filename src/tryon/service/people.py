"""Person photos analysed once while a shopper tries garments on them.

A shopper tries several garments on one photo, and the page sends that photo again with
each try-on. The analysis that does not depend on the garment (the body; per category
the agnostic mask and the scene, see ``TryOn.prepare_person``) is kept here, keyed by
the SHA-256 of the uploaded bytes, so the next garment costs about half as much.

Privacy: entries live in this process's memory only (never on disk), each is
forgotten ``ttl_s`` after its last use, and at most ``entries`` are kept (the least
recently used goes first). An entry holds the decoded photo and its masks, 10 to 20 MB
for a 768x1024 photo.

A photo over the working size (``tryon.ops.working_size``) is not kept: its analysis is
of a 3-megapixel copy, about 70 MB, and most of its try-on's time is decoding the photo,
putting the try-on back and encoding it, which the cache would not save; kept, two such
photos would hold a server's memory a third above its idle size until they expire.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from tryon.engines.warp import PreparedPerson
from tryon.pipeline import ReducedPerson


class PersonCache:
    """Prepared persons by photo content, bounded in number and in time.

    Args:
        entries: most photos kept; 0 keeps none (every try-on analyses its photo).
        ttl_s: seconds an unused entry is kept.
        clock: monotonic seconds (tests pass a fake one).
    """

    def __init__(
        self, entries: int, ttl_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.entries = entries
        self.ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._kept: OrderedDict[str, tuple[PreparedPerson, float]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        with self._lock:
            self._expire(self._clock())
            return len(self._kept)

    def get(
        self, photo: bytes, prepare: Callable[[bytes], PreparedPerson]
    ) -> tuple[PreparedPerson, bool]:
        """The prepared person of ``photo``, and whether it was prepared just now (with
        ``prepare``, when it was not kept).

        Two requests with the same new photo at once may both prepare it; the second
        result replaces the first (they are equal). Errors from ``prepare`` (no person
        in the photo, ...) propagate and nothing is kept; neither is a photo over the
        working size (a ``ReducedPerson``).
        """
        if self.entries == 0:
            return prepare(photo), True
        key = hashlib.sha256(photo).hexdigest()
        with self._lock:
            now = self._clock()
            self._expire(now)
            kept = self._kept.get(key)
            if kept is not None:
                self._kept[key] = (kept[0], now)
                self._kept.move_to_end(key)
                self.hits += 1
                return kept[0], False
            self.misses += 1
        prepared = prepare(photo)
        if isinstance(prepared, ReducedPerson):
            return prepared, True
        with self._lock:
            self._kept[key] = (prepared, self._clock())
            self._kept.move_to_end(key)
            while len(self._kept) > self.entries:
                self._kept.popitem(last=False)
        return prepared, True

    def clear(self) -> None:
        """Forgets every photo."""
        with self._lock:
            self._kept.clear()

    def _expire(self, now: float) -> None:
        """Drops entries unused for ``ttl_s`` (the lock is held); oldest use first."""
        while self._kept:
            key, (_, used) = next(iter(self._kept.items()))
            if now - used < self.ttl_s:
                break
            del self._kept[key]
