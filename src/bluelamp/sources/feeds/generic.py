"""A feed described by a mapping file, for feeds that have no parser of their own.

    [feed]
    name = "example-c2"            # feed_name of the events
    provider = "Example CERT"
    format = "csv"                 # csv | json | ndjson
    delimiter = ","                # csv only
    comment = "#"                  # csv: leading comment lines to skip
    records = "data.items"         # json: dotted path to the list of records
    time_format = "%d/%m/%Y %H:%M" # strptime format of time columns (default: ISO 8601)

    [columns]                      # feed column -> EVENT field
    "IP Address" = "source_ip"
    "Seen" = "time_source"

    [constants]                    # EVENT field -> value where a row has none
    classification_taxonomy = "malicious-code"
    classification_type = "c2-server"
    tlp = "green"

Columns not named under [columns] go to `extra`. The mapping is checked when it is loaded:
an unknown EVENT field or format is a `ConfigError` naming the file.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc

from bluelamp.errors import ConfigError, Location, RecordError
from bluelamp.schema import EVENT
from bluelamp.sources.feeds.base import (
    CsvLayout,
    FeedParser,
    Loose,
    batched,
    loose_table,
    read_csv,
    records_table,
)

FORMATS = ("csv", "json", "ndjson")


@dataclass(frozen=True)
class Mapping_:
    name: str
    provider: str = ""
    format: str = "csv"
    delimiter: str = ","
    comment: str | None = None
    records: str = ""
    time_format: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict)
    constants: Mapping[str, Any] = field(default_factory=dict)


def load_mapping(path: Path) -> Mapping_:
    try:
        doc = tomllib.loads(path.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read feed mapping: {exc}") from None
    feed = doc.get("feed", {})
    columns = {str(k): str(v) for k, v in doc.get("columns", {}).items()}
    constants = dict(doc.get("constants", {}))
    for where, target in [("columns", v) for v in columns.values()] + \
            [("constants", k) for k in constants]:
        if target not in EVENT.names:
            raise ConfigError(f"{path}: [{where}] names {target!r}, which is not an event "
                              f"field ({', '.join(EVENT.names)})")
    fmt = feed.get("format", "csv")
    if fmt not in FORMATS or "name" not in feed:
        raise ConfigError(f"{path}: [feed] needs a name and a format in {FORMATS}")
    return Mapping_(name=feed["name"], provider=feed.get("provider", ""), format=fmt,
                    delimiter=feed.get("delimiter", ","), comment=feed.get("comment"),
                    records=feed.get("records", ""), time_format=feed.get("time_format"),
                    columns=columns, constants=constants)


class Generic(FeedParser):
    """Not registered: built from a mapping file (`--feed generic --mapping FILE`)."""

    def __init__(self, mapping: Mapping_) -> None:
        self.mapping = mapping
        self.name = mapping.name
        self.provider = mapping.provider
        self.description = f"mapping-driven feed {mapping.name}"

    @classmethod
    def from_file(cls, path: Path) -> Generic:
        return cls(load_mapping(path))

    def loose(self, stream: BinaryIO, source: str, *, batch_size: int) -> Iterator[Loose]:
        m = self.mapping
        if m.format == "csv":
            layout = CsvLayout(delimiter=m.delimiter, comment=m.comment)
            for table, lines, errors in read_csv(stream, source, layout, batch_size=batch_size):
                yield Loose(self._times(loose_table(table, m.columns, lines)), errors,
                            dict(m.constants))
            return
        numbered, errors = self._records(stream, source)
        if errors:
            yield Loose(records_table([], {}, []), errors)
        for part in batched(numbered, batch_size):
            table = records_table([r for _, r in part], m.columns, [n for n, _ in part])
            yield Loose(self._times(table), [], dict(m.constants))

    def _records(self, stream: BinaryIO, source: str
                 ) -> tuple[list[tuple[int, dict[str, Any]]], list[RecordError]]:
        text = stream.read().decode("utf-8-sig")
        if self.mapping.format == "ndjson":
            out, errors = [], []
            for n, line in enumerate(text.splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    out.append((n, json.loads(line)))
                except json.JSONDecodeError as exc:
                    errors.append(RecordError(Location(source, line=n), f"bad JSON: {exc.msg}",
                                              line))
            return out, errors
        doc: Any = json.loads(text)
        for key in filter(None, self.mapping.records.split(".")):
            doc = doc.get(key, []) if isinstance(doc, dict) else []
        return [(i, r) for i, r in enumerate(doc, start=1) if isinstance(r, dict)], []

    def _times(self, table: pa.Table) -> pa.Table:
        """Parse time columns with the mapping's strptime format; what the format does not
        fit is left as text, so validation reports it with its line."""
        fmt = self.mapping.time_format
        if not fmt:
            return table
        for name in ("time_source", "time_last_seen"):
            if name in table.column_names:
                raw = table.column(name).combine_chunks().cast(pa.string())
                parsed = pc.strptime(raw, format=fmt, unit="us", error_is_null=True)
                iso = pc.strftime(parsed.cast(pa.timestamp("us")), format="%Y-%m-%dT%H:%M:%S")
                col = pc.if_else(pc.is_valid(parsed), pc.binary_join_element_wise(iso, "Z", ""),
                                 raw)
                table = table.set_column(table.column_names.index(name), name, col)
        return table
