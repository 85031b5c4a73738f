"""The closed vocabularies of the player CSV import (DESIGN §8): batch and row states."""

from __future__ import annotations

from enum import StrEnum


class ImportBatchStatus(StrEnum):
    """A batch's life: rows stream in (staging), then players are created or linked."""

    STAGING = "staging"
    """Rows are being staged; an interrupted import resumes from here."""
    STAGED = "staged"
    """Every row of the file is staged (with or without errors); ready to execute."""
    EXECUTING = "executing"
    """Players are being created or linked; an interrupted execution resumes from here."""
    EXECUTED = "executed"
    """Every row has an outcome. Executing again changes nothing."""
    FAILED = "failed"
    """Staging stopped for good (the file changed underneath it); its rows were removed."""


class ImportRowStatus(StrEnum):
    """What staging made of a row."""

    STAGED = "staged"
    ERROR = "error"


class ImportOutcome(StrEnum):
    """What executing the batch did with a row."""

    CREATED = "created"
    LINKED = "linked"
    SKIPPED = "skipped"
