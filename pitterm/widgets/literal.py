"""Text that people typed or files held, shown exactly as written: never read as markup.

Textual reads ``[...]`` in a plain string as markup wherever that string reaches the screen:
a Static or Label, a Button's label, a notification, a Select or OptionList prompt, and (in
Textual 8.2.8, through ``Text.from_markup``) every ``str`` cell and column header of a
DataTable. Player and staff names, notes, comp and program names, table labels, file names
and imported cells may hold any character: ``[/]`` crashes the screen with a MarkupError,
``[bold]`` restyles what follows, and ``[@click=app.quit]`` turns text into a clickable
action. pitterm writes no markup of its own, so the rule is:

* a Static or Label whose text carries such data is built with ``markup=False``;
* a notification never reads markup (``PitApp.notify``);
* a table cell, column header or Select/OptionList prompt that carries such data is
  ``literal(text)``, a Rich ``Text`` that no markup parser touches.
"""

from __future__ import annotations

from rich.text import Text

__all__ = ["literal"]


def literal(text: str, style: str = "") -> Text:
    """``text`` as a table cell, column header or option prompt, shown exactly as written.

    It looks like a plain ``str`` cell of a one-line row (no wrapping, no trailing newline),
    without the markup parsing.
    """
    return Text(text, style=style, end="", no_wrap=True)
