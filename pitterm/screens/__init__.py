"""One module per screen or modal: thin views that call domain services in workers."""

from pitterm.screens.admin import AdminScreen
from pitterm.screens.base import ModeScreen, PitModal, PitScreen, TerminalSession
from pitterm.screens.confirm import ConfirmScreen
from pitterm.screens.floor import FloorScreen
from pitterm.screens.lock import LockScreen
from pitterm.screens.not_built import NotBuiltScreen
from pitterm.screens.sign_in import SignInScreen

__all__ = [
    "AdminScreen",
    "ConfirmScreen",
    "FloorScreen",
    "LockScreen",
    "ModeScreen",
    "NotBuiltScreen",
    "PitModal",
    "PitScreen",
    "SignInScreen",
    "TerminalSession",
]
