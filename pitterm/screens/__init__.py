"""One module per screen or modal: thin views that call domain services in workers.

The mode screens are re-exported lazily (PEP 562): importing this package, as every screen
module does, must not import every mode and the services behind it — the terminal's first
frame (the sign-in screen) needs none of them.
"""

from importlib import import_module
from typing import Any

from pitterm.screens.base import ModeScreen, PitModal, PitScreen, TerminalSession
from pitterm.screens.confirm import ConfirmScreen
from pitterm.screens.lock import LockScreen
from pitterm.screens.sign_in import SignInScreen

_LAZY = {"AdminScreen": "pitterm.screens.admin", "FloorScreen": "pitterm.screens.floor"}

__all__ = [
    "AdminScreen",
    "ConfirmScreen",
    "FloorScreen",
    "LockScreen",
    "ModeScreen",
    "PitModal",
    "PitScreen",
    "SignInScreen",
    "TerminalSession",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
