"""Where a keyset-paged list stands: its filter, the cursor of every page read, the next one.

The services page by keyset (an opaque cursor naming the last row shown), so a list keeps the
stack of cursors it came through: "previous" re-reads the page before, and a page that comes
back after the filter or the page changed is recognised as stale and dropped.
"""

from __future__ import annotations

from typing import Generic, TypeVar

F = TypeVar("F")


class KeysetPages(Generic[F]):
    """One list's paging state; the screen reads pages, this says which and whether to show."""

    def __init__(self, where: F, size: int, noun: str) -> None:
        self.where = where
        """The filters the pages are read with."""
        self.size = size
        self.noun = noun
        """What a row is, plural ('entries', 'coupons'), for the title."""
        self.cursors: list[str | None] = [None]
        """The cursor of every page from the first to the one shown (the first is None)."""
        self.next_cursor: str | None = None

    @property
    def page(self) -> int:
        """The page shown (or being read), from 1."""
        return len(self.cursors)

    @property
    def cursor(self) -> str | None:
        """The cursor the current page is read from."""
        return self.cursors[-1]

    def restart(self, where: F) -> None:
        """Back to the first page, for these filters."""
        self.where = where
        self.cursors = [None]

    def forward(self) -> bool:
        """Move to the next page; False (nothing to read) on the last."""
        if self.next_cursor is None:
            return False
        self.cursors.append(self.next_cursor)
        return True

    def back(self) -> bool:
        """Move to the page before; False (nothing to read) on the first."""
        if len(self.cursors) == 1:
            return False
        self.cursors.pop()
        return True

    def accept(self, where: F, page: int, next_cursor: str | None) -> bool:
        """Take a page read for ``where`` and ``page``; False when it is stale (do not show)."""
        if where != self.where or page != self.page:
            return False
        self.next_cursor = next_cursor
        return True

    def allows(self, action: str) -> bool | None:
        """``check_action``'s answer for next_page / previous_page (None: shown dimmed)."""
        if action == "next_page":
            return True if self.next_cursor is not None else None
        return True if len(self.cursors) > 1 else None

    def position(self, count: int) -> list[str]:
        """Title parts: 'page 2 · entries 51–100' (or 'no entries match'), then what is next."""
        first = (self.page - 1) * self.size + 1
        where = (
            f"page {self.page} · {self.noun} {first}–{first + count - 1}"
            if count
            else f"no {self.noun} match"
        )
        return [where, "more: n" if self.next_cursor else "last page"]
