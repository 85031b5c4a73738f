"""The drift check over another system's files (seed 001's sandbox formats), streamed.

ledger file:   [{"account_id", "timestamp", "type", "points_delta", "description"}, ...]
balances file: [{"account_id", "snapshot_balance"}, ...]

Neither file is ever loaded whole: a first pass sums each account's deltas, a second pass
collects the events of the drifted accounts only, to explain them. Memory grows with the
number of accounts, not events.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import ijson
from pydantic import BaseModel, ConfigDict

from pitterm.domain.drift_rules import Cause, DriftClass, Event, classify, explain
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


def check_files(ledger: Path, balances: Path, tolerance: int) -> FileCheck:
    if tolerance < 0:
        raise DomainError(ErrorCode.DRIFT_TOLERANCE_INVALID, "tolerance: must be 0 or more.")
    sums: dict[str, list[int]] = {}
    for event in _events(ledger):
        entry = sums.setdefault(event[0], [0, 0])
        entry[0] += event[1].delta
        entry[1] += 1
    snapshots: dict[str, int] = {}
    for index, item in enumerate(_items(balances)):
        account = _text(item, "account_id", balances, index)
        snapshots[account] = _integer(item, "snapshot_balance", balances, index)
    results: dict[str, AccountDrift] = {}
    for account in sorted(sums.keys() | snapshots.keys()):
        computed, count = sums.get(account, (0, 0))
        snapshot = snapshots.get(account, 0)
        drift = snapshot - computed
        results[account] = AccountDrift(
            account_id=account,
            snapshot=snapshot,
            computed=computed,
            drift=drift,
            drift_class=classify(drift, tolerance),
            events=count,
        )
    _explain_drifted(ledger, results, tolerance)
    accounts = list(results.values())
    return FileCheck(summary=summarize(accounts, tolerance), accounts=accounts)


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


def _explain_drifted(ledger: Path, results: dict[str, AccountDrift], tolerance: int) -> None:
    drifted = sorted(
        (a for a in results.values() if a.drift_class is not DriftClass.IN_BALANCE),
        key=lambda a: (-abs(a.drift), a.account_id),
    )[:EXPLAIN_LIMIT]
    wanted: dict[str, list[Event]] = {a.account_id: [] for a in drifted}
    if not wanted:
        return
    for account, event in _events(ledger):
        if account in wanted:
            wanted[account].append(event)
    for account, events in wanted.items():
        explanation = explain(events, results[account].snapshot, tolerance)
        results[account] = results[account].model_copy(
            update={"cause": explanation.cause, "explanation": explanation.text}
        )


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
