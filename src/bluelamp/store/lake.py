"""The lake: Parquet files partitioned by kind and day, queried with DuckDB.

Layout (Hive partitioning, readable by DuckDB, Spark and pyarrow.dataset alike):

    <root>/kind=dns/day=2026-11-21/<unique>.parquet
    <root>/kind=finding/day=.../...
    <root>/kind=event/day=.../...

Every file is written under a temporary name and renamed into place, so a reader never sees
half a file. Each kind has a DuckDB view of the same name (`dns`, `finding`, `event`) with
the columns of its schema plus `day` (a DATE).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bluelamp.errors import BluelampError
from bluelamp.schema import SCHEMAS, RecordSchema

#: the column whose UTC day decides each kind's partition
TIME_COLUMN = {"dns": "ts", "finding": "first_seen", "event": "time_observed"}
KINDS = tuple(TIME_COLUMN)


class LakeError(BluelampError):
    """A lake operation failed (bad kind, bad SQL)."""


def _schema(kind: str) -> RecordSchema:
    if kind not in TIME_COLUMN:
        raise LakeError(f"unknown kind {kind!r}; the lake holds {', '.join(KINDS)}")
    return SCHEMAS[kind]


def _to_arrow(result: duckdb.DuckDBPyRelation) -> pa.Table:
    # DuckDB renamed fetch_arrow_table to to_arrow_table; support both
    fetch = getattr(result, "to_arrow_table", None) or result.fetch_arrow_table
    table: pa.Table = fetch()
    return table


class Lake:
    """A Parquet lake under `root` (created on first write)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    # ---------------------------------------------------------------- writing

    def write(self, kind: str, table: pa.Table) -> list[Path]:
        """Write `table` (conformed to the kind's schema) as one file per UTC day."""
        table = _schema(kind).conform(table)
        if table.num_rows == 0:
            return []
        # the UTC date (a cast: ~40x faster than formatting every timestamp); rows without
        # a time go to the day they were written, so that `day` stays a valid DATE
        today = pa.scalar(dt.datetime.now(dt.UTC).date(), pa.date32())
        days = pc.fill_null(table.column(TIME_COLUMN[kind]).cast(pa.date32()), today)
        paths = []
        for day in pc.unique(days).to_pylist():
            part = table.filter(pc.equal(days, pa.scalar(day, pa.date32())))
            paths.append(self._write_file(kind, day.isoformat(), part))
        return paths

    def _write_file(self, kind: str, day: str, table: pa.Table) -> Path:
        folder = self.root / f"kind={kind}" / f"day={day}"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}.parquet"
        final = folder / name
        tmp = folder / f".{name}.tmp"  # hidden: the *.parquet glob never matches it
        try:
            pq.write_table(table, tmp, compression="zstd")
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return final

    def compact(self, kind: str, min_files: int = 2) -> int:
        """Merge each day partition of `kind` that has at least `min_files` files into one
        file (live input writes many small ones). Returns the number of files removed.

        The merged file is renamed into place before the parts are removed, so a query
        that runs at that instant may count those rows twice, never zero times; run it
        when nothing else queries the lake if that matters."""
        schema = _schema(kind)
        removed = 0
        folder = self.root / f"kind={kind}"
        for day_dir in sorted(folder.glob("day=*")):
            parts = sorted(day_dir.glob("*.parquet"))
            if len(parts) < min_files:
                continue
            table = pa.concat_tables(schema.conform(pq.read_table(p)) for p in parts)
            self._write_file(kind, day_dir.name.removeprefix("day="), table)
            for part in parts:
                part.unlink()
            removed += len(parts)
        return removed

    def prune(self, kind: str, before: dt.date) -> list[str]:
        """Delete whole day partitions of `kind` older than `before` (retention: DNS
        observations are personal data). Returns the days removed."""
        _schema(kind)
        removed = []
        for day_dir in sorted((self.root / f"kind={kind}").glob("day=*")):
            try:
                day = dt.date.fromisoformat(day_dir.name.removeprefix("day="))
            except ValueError:
                continue  # not ours: leave it alone
            if day < before:
                shutil.rmtree(day_dir)
                removed.append(day.isoformat())
        return removed

    # ---------------------------------------------------------------- reading

    def files(self, kind: str) -> list[Path]:
        _schema(kind)
        return sorted((self.root / f"kind={kind}").glob("day=*/*.parquet"))

    def connect(self, threads: int | None = None) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection (in memory) with one view per kind over the lake."""
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        if threads is not None:
            con.execute(f"SET threads = {int(threads)}")
        for kind in KINDS:
            self._create_view(con, kind)
        return con

    def _has_files(self, kind: str) -> bool:
        return next(iter((self.root / f"kind={kind}").glob("day=*/*.parquet")), None) is not None

    def _create_view(self, con: duckdb.DuckDBPyConnection, kind: str) -> None:
        if self._has_files(kind):
            pattern = str(self.root / f"kind={kind}" / "day=*" / "*.parquet")
            literal = "'" + pattern.replace("'", "''") + "'"  # views cannot take parameters
            con.execute(
                f"CREATE OR REPLACE VIEW {kind} AS SELECT * EXCLUDE (kind) FROM read_parquet("
                f"{literal}, hive_partitioning = true, union_by_name = true, "
                f"hive_types = {{'day': DATE, 'kind': VARCHAR}})"
            )
        else:
            # an empty view with the same columns, so queries work on a fresh lake
            empty = _schema(kind).empty_table().append_column(
                "day", pa.array([], type=pa.date32()))
            con.register(f"_{kind}_empty", empty)
            con.execute(f"CREATE OR REPLACE VIEW {kind} AS SELECT * FROM _{kind}_empty")

    def query(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        """Run DuckDB SQL over the views `dns`, `finding` and `event`."""
        con = self.connect()
        try:
            relation = con.sql(sql, params=params or None)
            if relation is None:  # a statement that returns no rows
                return pa.table({})
            return _to_arrow(relation)
        except duckdb.Error as exc:
            raise LakeError(f"query failed: {exc}") from None
        finally:
            con.close()

    def read(self, kind: str, since: dt.datetime | None = None,
             where: str | None = None) -> pa.Table:
        """Rows of one kind, optionally from `since` on and filtered by a SQL condition."""
        schema = _schema(kind)
        conditions, params = [], []
        if since is not None:
            if since.tzinfo is None:
                since = since.replace(tzinfo=dt.UTC)
            # prune partitions by day first, then filter exactly
            conditions += ["day >= ?", f"{TIME_COLUMN[kind]} >= ?"]
            params += [since.astimezone(dt.UTC).date(), since]
        if where:
            conditions.append(f"({where})")
        sql = f"SELECT * EXCLUDE (day) FROM {kind}"
        if conditions:
            sql += " WHERE " + " AND ".join(conditions)
        return schema.conform(self.query(sql, params))
