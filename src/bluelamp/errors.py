"""One exception root, and located errors that readers collect instead of raising."""

from __future__ import annotations

from dataclasses import dataclass


class BluelampError(Exception):
    """Root of every error Bluelamp raises on purpose."""


class ConfigError(BluelampError):
    """A setting or option is wrong."""


@dataclass(frozen=True)
class Location:
    """Where in an input something was found: file, and line or byte offset, and field."""

    source: str
    line: int | None = None
    offset: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        text = self.source
        if self.line is not None:
            text += f":{self.line}"
        if self.offset is not None:
            text += f"@{self.offset}"
        if self.field is not None:
            text += f" [{self.field}]"
        return text


@dataclass(frozen=True)
class RecordError:
    """A bad record: where it is, what is wrong, and a short sample of it."""

    location: Location
    message: str
    sample: str | None = None

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}"
        if self.sample:
            text += f" (near {self.sample[:80]!r})"
        return text

    def to_json(self) -> dict[str, object]:
        return {
            "source": self.location.source,
            "line": self.location.line,
            "offset": self.location.offset,
            "field": self.location.field,
            "message": self.message,
            "sample": self.sample,
        }


class InputError(BluelampError):
    """Raised in strict mode, or when an input cannot be read at all."""

    def __init__(self, error: RecordError | str) -> None:
        super().__init__(str(error))
        self.error = error
