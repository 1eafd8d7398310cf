"""``StorePart``: what the parts of ``SqlStore`` (its bases) take from the store itself."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection


class StorePart:
    """A base of ``SqlStore`` that reads or writes through the store's own transactions."""

    if TYPE_CHECKING:
        clock: Any

        def _tx(self, write: bool = False) -> AbstractContextManager[Connection]: ...

        def _product_id(self, conn: Connection, name: str, create: bool = False) -> int: ...
