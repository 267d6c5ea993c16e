"""The project's own errors: each carries what a user needs to fix the input."""

from __future__ import annotations

from dataclasses import dataclass


class StayledgerError(Exception):
    """Base class of every error stayledger raises on purpose."""


@dataclass(frozen=True, slots=True)
class FieldError:
    """One reason a record was refused: the field and what is wrong with it."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class InvalidRecord(StayledgerError):
    """A record that does not satisfy the canonical event schema."""

    def __init__(self, where: str, errors: list[FieldError]) -> None:
        self.where = where
        self.errors = errors
        super().__init__(f"{where}: " + "; ".join(str(e) for e in errors))


class ParseError(StayledgerError):
    """Input that could not be parsed; names the line, the position (1-based) and the reason."""

    def __init__(self, reason: str, line: int | None = None, column: int | None = None) -> None:
        self.reason = reason
        self.line = line
        self.column = column
        where = []
        if line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"position {column}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {reason}" if prefix else reason)


class StorageError(StayledgerError):
    """The store refused an operation (wraps driver errors so they never leak to users)."""


class ReadOnlyLedger(StorageError):
    """The ledger cannot be written, so no command can record its audit entry in it."""


class ConfigurationError(StayledgerError):
    """A setting is missing or wrong; the message names the key and how to set it."""


class NotFound(StayledgerError):
    """A lookup found nothing (no such person or event); the failed lookup is audited like any other."""
