"""The paging state shared by the keyset-paged lists (ledger history, coupon inventory)."""

from __future__ import annotations

from pitterm.screens.paging import KeysetPages


def test_forward_back_and_stale_pages() -> None:
    pages = KeysetPages("all", size=50, noun="entries")
    assert (pages.page, pages.cursor) == (1, None)
    assert not pages.forward() and not pages.back()  # nothing read yet: no next, no previous
    assert pages.allows("next_page") is None and pages.allows("previous_page") is None

    assert pages.accept("all", 1, "c1")
    assert pages.position(50) == ["page 1 · entries 1–50", "more: n"]
    assert pages.forward() and (pages.page, pages.cursor) == (2, "c1")
    assert not pages.accept("all", 1, "late")  # page 1 came back after moving on: dropped
    assert pages.next_cursor == "c1"
    assert pages.accept("all", 2, None)
    assert pages.position(7) == ["page 2 · entries 51–57", "last page"]
    assert pages.allows("next_page") is None and pages.allows("previous_page") is True
    assert not pages.forward()

    assert pages.back() and (pages.page, pages.cursor) == (1, None)
    pages.restart("gold only")
    assert not pages.accept("all", 1, "old filter")  # read for the filters before: dropped
    assert pages.accept("gold only", 1, None)
    assert pages.position(0) == ["no entries match", "last page"]
