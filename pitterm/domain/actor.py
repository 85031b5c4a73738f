"""Who is acting: obtained at sign-in and passed to every service call."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict

from pitterm.domain.enums import StaffRole


class Actor(BaseModel):
    """A signed-in staff member at one casino. Services check it; they never trust ids."""

    model_config = ConfigDict(frozen=True)

    staff_id: uuid.UUID
    casino_id: uuid.UUID
    role: StaffRole
    staff_code: str = ""
    display_name: str = ""
