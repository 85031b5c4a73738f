"""Textual under test: what "nothing left to do" means, a quicker idle wait, CSS parsed once.

Textual's Pilot waits after every key (and in ``pilot.pause()``) until the process has used
under 5 % of a CPU for 20 ms, in 20 ms steps; at two waits a key that is most of a UI test's
time. ``wait_for_idle`` here is the same measure in 5 ms steps that, in addition, only ends
once the app has nothing queued and nothing left to paint: the 20 ms steps were what covered a
pending repaint (the screen repaints at 60 Hz) and the callbacks that wait for it.

Textual parses every stylesheet again for each app and on every mode switch (``refresh_css``),
with a cache per stylesheet object. ``shared_css_parsing`` keeps the parsed rules of a source
for the whole test session instead, keyed by everything Textual's own cache is keyed by plus
the CSS variables the rules were parsed with: the same text parses to the same rules, which
Textual never changes after parsing (its own cache hands the same rule objects out again).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import textual.app
import textual.pilot
from textual._context import active_app
from textual.app import App
from textual.css.model import RuleSet
from textual.css.stylesheet import Stylesheet

IDLE_STEP = 0.005
"""Seconds per step of the idle wait (Textual's own: 0.02)."""

IDLE_CPU = IDLE_STEP / 20
"""CPU seconds a step may use and still count as idle (5 %, as Textual's)."""


def pending(app: App[Any]) -> bool:
    """Whether any node of the app still has a message or a callback waiting to be handled.

    Reads Textual's message pumps directly: a message (a worker's state change, a key the app
    forwarded, a result's follow-up) may start the next worker after the last one ended.
    """
    for node in (app, *app._registry):
        if node._message_queue.qsize() or node._next_callbacks or node._pending_message is not None:
            return True
    # Callbacks waiting for the top screen's next repaint (``call_after_refresh``).
    stack = app._screen_stacks.get(app.current_mode)
    return bool(stack and stack[-1]._callbacks)


def unpainted(app: App[Any]) -> bool:
    """Whether the top screen has a layout, repaint or recompose still to do."""
    stack = app._screen_stacks.get(app.current_mode)
    if not stack:
        return False
    screen = stack[-1]
    return bool(
        screen._layout_required
        or screen._scroll_required
        or screen._repaint_required
        or screen._recompose_required
        or screen._dirty_widgets
    )


async def wait_for_idle(min_sleep: float = 0.02, max_sleep: float = 1.0) -> None:
    """Textual's ``wait_for_idle`` in 5 ms steps, also waiting for the app to be done.

    Ends after a step (past ``min_sleep``) in which the process used under 5 % of a CPU while
    the running app had nothing queued and nothing to paint; or after ``max_sleep``, as
    Textual's does.
    """
    app = active_app.get(None)
    start = time.monotonic()
    while True:
        cpu = time.process_time()
        await asyncio.sleep(IDLE_STEP)
        cpu_elapsed = time.process_time() - cpu
        elapsed = time.monotonic() - start
        if elapsed >= max_sleep:
            return
        if elapsed <= min_sleep or cpu_elapsed >= IDLE_CPU:
            continue
        if app is None or not app.is_running or not (pending(app) or unpainted(app)):
            return


@contextmanager
def quick_idle_waits() -> Iterator[None]:
    """Use ``wait_for_idle`` above for Pilot's keys and pauses while the context is open."""
    modules = (textual.app, textual.pilot)  # each imported Textual's wait_for_idle by name
    saved = [module.__dict__["wait_for_idle"] for module in modules]
    for module in modules:
        setattr(module, "wait_for_idle", wait_for_idle)  # noqa: B010
    try:
        yield
    finally:
        for module, original in zip(modules, saved, strict=True):
            setattr(module, "wait_for_idle", original)  # noqa: B010


_PARSED: dict[tuple[Any, ...], list[RuleSet]] = {}
"""Rules by (CSS text, where it was read, defaults?, tie breaker, scope, CSS variables)."""


def _variables_key(stylesheet: Stylesheet) -> frozenset[tuple[str, str]]:
    """The stylesheet's CSS variables as a key, worked out once per variables mapping."""
    variables = stylesheet._variables
    cached: tuple[dict[str, str], frozenset[tuple[str, str]]] | None
    cached = stylesheet.__dict__.get("_test_variables_key")
    if cached is None or cached[0] is not variables:
        # Textual replaces the mapping (set_variables) rather than changing it in place.
        cached = (variables, frozenset(variables.items()))
        stylesheet.__dict__["_test_variables_key"] = cached
    return cached[1]


@contextmanager
def shared_css_parsing() -> Iterator[None]:
    """Parse each CSS source once per session rather than once per app and mode switch."""
    original = Stylesheet._parse_rules

    def parse_rules(
        self: Stylesheet,
        css: str,
        read_from: Any,
        is_default_rules: bool = False,
        tie_breaker: int = 0,
        scope: str = "",
    ) -> list[RuleSet]:
        key = (css, read_from, is_default_rules, tie_breaker, scope, _variables_key(self))
        rules = _PARSED.get(key)
        if rules is None:  # a parse that raises is not kept: the next app raises the same
            rules = original(self, css, read_from, is_default_rules, tie_breaker, scope)
            _PARSED[key] = rules
        return rules

    Stylesheet._parse_rules = parse_rules  # type: ignore[method-assign]
    try:
        yield
    finally:
        Stylesheet._parse_rules = original  # type: ignore[method-assign]
