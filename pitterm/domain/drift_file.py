"""The drift check over another system's files (seed 001's sandbox formats), streamed.

ledger file:   [{"account_id", "timestamp", "type", "points_delta", "description"}, ...]
balances file: [{"account_id", "snapshot_balance"}, ...]

Neither file is ever loaded whole, and no per-account object is kept: a first pass sums each
account's deltas into plain lists of ints (an account id maps to a slot), the balances fill
a third list, the summary is counted over the slots, and a second pass over the ledger
collects the events of the most drifted accounts only, to explain them. ``scan_files``
hands back the summary and an iterator that builds each account's result as it is
consumed, so the CLI can print a report of any length in constant extra memory. Memory
grows with the number of accounts (tens of bytes each), never with the number of events.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import ijson
from pydantic import BaseModel, ConfigDict

from pitterm.domain.drift_rules import (
    Cause,
    DriftClass,
    Event,
    Explanation,
    classify,
    explain,
)
from pitterm.domain.errors import DomainError, ErrorCode

EXPLAIN_LIMIT = 5_000
"""Explanations are computed for at most this many drifted accounts, largest drift first."""


class AccountDrift(BaseModel):
    model_config = ConfigDict(frozen=True)

    account_id: str
    snapshot: int
    computed: int
    drift: int
    drift_class: DriftClass
    events: int
    cause: Cause | None = None
    explanation: str | None = None


class DriftSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    tolerance: int
    accounts_checked: int
    in_balance: int
    minor: int
    material: int
    largest_positive: int | None
    largest_positive_account: str | None
    largest_negative: int | None
    largest_negative_account: str | None

    @property
    def worst(self) -> DriftClass:
        if self.material:
            return DriftClass.MATERIAL
        return DriftClass.MINOR if self.minor else DriftClass.IN_BALANCE


class FileCheck(BaseModel):
    model_config = ConfigDict(frozen=True)

    summary: DriftSummary
    accounts: list[AccountDrift]
    """Every account in either file, by account id."""


@dataclass
class FileScan:
    """A streamed check: the summary, and every account's result on demand (by account id)."""

    summary: DriftSummary
    _names: list[str]
    _slot: dict[str, int]
    _computed: list[int]
    _events: list[int]
    _snapshots: list[int]
    _explained: dict[int, Explanation]

    @property
    def widest_id(self) -> int:
        """The longest account id's length (for aligned text output)."""
        return max(map(len, self._names), default=0)

    def accounts(self) -> Iterator[AccountDrift]:
        tolerance = self.summary.tolerance
        for account in self._names:
            slot = self._slot[account]
            computed, snapshot = self._computed[slot], self._snapshots[slot]
            drift = snapshot - computed
            found = self._explained.get(slot)
            yield AccountDrift(
                account_id=account,
                snapshot=snapshot,
                computed=computed,
                drift=drift,
                drift_class=classify(drift, tolerance),
                events=self._events[slot],
                cause=found.cause if found else None,
                explanation=found.text if found else None,
            )


def check_files(ledger: Path, balances: Path, tolerance: int) -> FileCheck:
    """The whole result in memory: for small files and tests (the CLI streams ``scan_files``)."""
    scan = scan_files(ledger, balances, tolerance)
    return FileCheck(summary=scan.summary, accounts=list(scan.accounts()))


def scan_files(ledger: Path, balances: Path, tolerance: int) -> FileScan:
    """Read both files (the ledger twice at most) and summarise; accounts come on demand."""
    if tolerance < 0:
        raise DomainError(ErrorCode.DRIFT_TOLERANCE_INVALID, "tolerance: must be 0 or more.")
    slot: dict[str, int] = {}
    computed: list[int] = []
    events: list[int] = []
    for account, event in _events(ledger):
        index = slot.get(account)
        if index is None:
            index = slot[account] = len(computed)
            computed.append(0)
            events.append(0)
        computed[index] += event.delta
        events[index] += 1
    snapshots = [0] * len(computed)
    for index, item in enumerate(_items(balances)):
        account = _text(item, "account_id", balances, index)
        balance = _integer(item, "snapshot_balance", balances, index)
        known = slot.get(account)
        if known is None:
            slot[account] = len(computed)
            computed.append(0)
            events.append(0)
            snapshots.append(balance)
        else:
            snapshots[known] = balance
    names = sorted(slot)
    summary = _summarize(names, slot, computed, snapshots, tolerance)
    explained = _explain_drifted(ledger, names, slot, computed, snapshots, tolerance)
    return FileScan(summary, names, slot, computed, events, snapshots, explained)


def _summarize(
    names: list[str],
    slot: dict[str, int],
    computed: list[int],
    snapshots: list[int],
    tolerance: int,
) -> DriftSummary:
    counts = dict.fromkeys(DriftClass, 0)
    highest: tuple[int, str] | None = None
    lowest: tuple[int, str] | None = None
    for account in names:  # in account order: ties go to the first account id
        index = slot[account]
        drift = snapshots[index] - computed[index]
        counts[classify(drift, tolerance)] += 1
        if drift > 0 and (highest is None or drift > highest[0]):
            highest = (drift, account)
        if drift < 0 and (lowest is None or drift < lowest[0]):
            lowest = (drift, account)
    return DriftSummary(
        tolerance=tolerance,
        accounts_checked=len(names),
        in_balance=counts[DriftClass.IN_BALANCE],
        minor=counts[DriftClass.MINOR],
        material=counts[DriftClass.MATERIAL],
        largest_positive=highest[0] if highest else None,
        largest_positive_account=highest[1] if highest else None,
        largest_negative=lowest[0] if lowest else None,
        largest_negative_account=lowest[1] if lowest else None,
    )


def summarize(accounts: list[AccountDrift], tolerance: int) -> DriftSummary:
    positive = max(accounts, key=lambda a: a.drift, default=None)
    negative = min(accounts, key=lambda a: a.drift, default=None)
    return DriftSummary(
        tolerance=tolerance,
        accounts_checked=len(accounts),
        in_balance=sum(a.drift_class is DriftClass.IN_BALANCE for a in accounts),
        minor=sum(a.drift_class is DriftClass.MINOR for a in accounts),
        material=sum(a.drift_class is DriftClass.MATERIAL for a in accounts),
        largest_positive=positive.drift if positive and positive.drift > 0 else None,
        largest_positive_account=positive.account_id if positive and positive.drift > 0 else None,
        largest_negative=negative.drift if negative and negative.drift < 0 else None,
        largest_negative_account=negative.account_id if negative and negative.drift < 0 else None,
    )


def _explain_drifted(
    ledger: Path,
    names: list[str],
    slot: dict[str, int],
    computed: list[int],
    snapshots: list[int],
    tolerance: int,
) -> dict[int, Explanation]:
    """Explanations for the most drifted accounts (at most EXPLAIN_LIMIT), by slot."""
    drifted: list[tuple[int, str]] = []
    for account in names:
        index = slot[account]
        drift = snapshots[index] - computed[index]
        if classify(drift, tolerance) is not DriftClass.IN_BALANCE:
            drifted.append((-abs(drift), account))
    drifted.sort()
    wanted: dict[str, list[Event]] = {account: [] for _size, account in drifted[:EXPLAIN_LIMIT]}
    if not wanted:
        return {}
    for account, event in _events(ledger):
        found = wanted.get(account)
        if found is not None:
            found.append(event)
    return {
        slot[account]: explain(found, snapshots[slot[account]], tolerance)
        for account, found in wanted.items()
    }


def _events(path: Path) -> Iterator[tuple[str, Event]]:
    for index, item in enumerate(_items(path)):
        account = _text(item, "account_id", path, index)
        stamp = _text(item, "timestamp", path, index)
        try:
            at = datetime.fromisoformat(stamp)
        except ValueError:
            raise _invalid(path, index, "timestamp", f"{stamp!r} is not an ISO date-time") from None
        event = Event(
            id=str(item.get("id") or f"{path.name}#{index}"),
            at=at,
            kind=str(item.get("type") or "event"),
            delta=_integer(item, "points_delta", path, index),
        )
        yield account, event


def _items(path: Path) -> Iterator[dict[str, Any]]:
    try:
        handle: BinaryIO = path.open("rb")
    except OSError as error:
        raise DomainError(
            ErrorCode.DRIFT_FILE_INVALID, f"{path}: cannot be read ({error.strerror})."
        ) from error
    with handle:
        try:
            for index, item in enumerate(ijson.items(handle, "item", use_float=True)):
                if not isinstance(item, dict):
                    raise _invalid(path, index, None, "is not an object")
                yield item
        except ijson.JSONError as error:
            raise DomainError(
                ErrorCode.DRIFT_FILE_INVALID, f"{path}: not a JSON array of objects ({error})."
            ) from error


def _text(item: dict[str, Any], field: str, path: Path, index: int) -> str:
    value = item.get(field)
    if isinstance(value, bool) or value is None or isinstance(value, list | dict):
        raise _invalid(path, index, field, "is missing")
    return str(value)


def _integer(item: dict[str, Any], field: str, path: Path, index: int) -> int:
    value = item.get(field)
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise _invalid(path, index, field, f"must be a whole number of points, not {value!r}")
    return int(value)


def _invalid(path: Path, index: int, field: str | None, problem: str) -> DomainError:
    where = f"item {index + 1}" + (f", field {field!r}" if field else "")
    return DomainError(ErrorCode.DRIFT_FILE_INVALID, f"{path.name}: {where} {problem}.")
