"""Objects that own threads or other resources: closed by ``close()`` or a ``with`` block."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Closeable:
    """A context manager that calls ``close()`` when its block ends."""

    def close(self) -> None:
        """Releases what the object owns; it cannot be used afterwards."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
