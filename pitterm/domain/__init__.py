"""The business: rules, models, error codes, the capability matrix and the services.

Never imports Textual or Rich (enforced by import-linter and tests/test_import_hygiene.py).
"""

from pitterm.domain.actor import Actor
from pitterm.domain.capabilities import Capability, can, require
from pitterm.domain.errors import DomainError, ErrorCode

__all__ = ["Actor", "Capability", "DomainError", "ErrorCode", "can", "require"]
