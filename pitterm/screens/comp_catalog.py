"""The comp catalog form (Admin mode): a new item's name, category and points cost."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Label

from pitterm.domain import loyalty
from pitterm.domain.loyalty import CompView, NewComp
from pitterm.screens.forms import FormModal


class NewCompForm(FormModal[CompView]):
    """Dismisses with the new catalog item, or None."""

    HELP = """
    Add an item to the comp catalog: its name, category and cost in points. Staff then pick
    it when they issue comps in Player mode.
    """

    TITLE = "New comp on the catalog"
    DESCRIPTION = "Add a comp to the catalog"
    FIELD_IDS: ClassVar[dict[str, str]] = {
        "name": "comp-name",
        "category": "comp-category",
        "points_cost": "comp-cost",
    }

    def compose_fields(self) -> ComposeResult:
        with Horizontal(classes="form-row"):
            yield Label("Name", classes="form-label")
            yield Input(placeholder="e.g. Steakhouse dinner", max_length=80, id="comp-name")
        with Horizontal(classes="form-row"):
            yield Label("Category", classes="form-label")
            yield Input(placeholder="e.g. Food", max_length=40, id="comp-category")
        with Horizontal(classes="form-row"):
            yield Label("Points cost", classes="form-label")
            yield Input(placeholder="whole points", restrict=r"[0-9,]*", id="comp-cost")

    def submit(self) -> None:
        name = self.query_one("#comp-name", Input).value.strip()
        category = self.query_one("#comp-category", Input).value.strip()
        cost_text = self.query_one("#comp-cost", Input).value.replace(",", "").strip()
        if not name:
            raise ValueError("name: give the comp a name")
        if not category:
            raise ValueError("category: give the comp a category")
        if not cost_text.isdigit() or int(cost_text) <= 0:
            raise ValueError("points_cost: a whole number of points, at least 1")
        new = NewComp(name=name, category=category, points_cost=int(cost_text))
        database, actor = self.session.database, self.session.signed_in()
        self.call_service(lambda: loyalty.add_comp(database.uow(actor), actor, new), self.dismiss)
