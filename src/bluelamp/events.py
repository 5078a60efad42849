"""Threat events: validation and normalisation, stable ids, and findings turned into events.

Every feed parser produces a loose table (strings, or typed columns) whose column names are
`EVENT` field names, plus `_line` (where each row came from) and optionally `extra`.
`validate_events` turns it into a table in exactly the `EVENT` schema and a list of located
errors, one per bad row: good rows are never dropped because a neighbour was bad.

The checks are vectorised (pyarrow.compute, RE2 regular expressions); the few checks that
need Python (IPv6 and CIDR parsing, IDNA) run once per *unique* value, never per row.
Which check a field gets follows from its type and name in the field dictionary (`*_ip` is
an address, `*_fqdn` a domain name, `*_url` a URL, `uint16` a port, ...), so a field added
to `EVENT` is validated without touching this module.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluelamp import taxonomy
from bluelamp.errors import Location, RecordError
from bluelamp.schema import EVENT, TIMESTAMP, TLP_LEVELS, dumps

LINE = "_line"
"""Column a parser adds to tell where each row came from (1-based line or record number)."""

ID_FIELDS = ("feed_name", "classification_taxonomy", "classification_type",
             "classification_identifier", "source_ip", "source_port", "source_fqdn",
             "source_url", "source_asn", "source_network", "destination_ip",
             "destination_port", "destination_fqdn", "time_source")
"""What makes an event itself: feed, classification, subject and source time."""

SUBJECT_FIELDS = ("source_ip", "source_fqdn", "source_url", "source_asn", "source_network",
                  "destination_ip", "destination_fqdn")
"""An event must name at least one of these, or nobody can act on it."""

_V4_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"^({_V4_OCTET}\.){{3}}{_V4_OCTET}$"
_LABEL = r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?"
_FQDN = rf"^({_LABEL}\.)*{_LABEL}$"
_URL = r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/?#]+([/?#]\S*)?$"
_URL_HOST = r"^[a-zA-Z][a-zA-Z0-9+.-]*://(?:[^\s/?#@]*@)?(?P<host>\[[^\]]+\]|[^\s/?#:]+)"
_INT = r"^\s*[0-9]{1,20}\s*$"
_FLOAT = r"^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$"
_ISO_TIME = (r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?"
             r"(Z|[+-]\d{2}:?\d{2})?$")
_EPOCH = r"^\d{9,10}(\.\d{1,6})?$"

Checked = tuple[pa.Array, np.ndarray, str]
"""A converted column, a mask of rows whose non-empty input was rejected, and why."""


# ---------------------------------------------------------------------------------------
# column converters: (raw array) -> (typed array, bad mask, reason)
# ---------------------------------------------------------------------------------------
def _blank_to_null(arr: pa.Array) -> pa.Array:
    if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
        return arr
    arr = pc.utf8_trim_whitespace(arr)
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, arr.type), arr)


def _rejected(raw: pa.Array, out: pa.Array) -> np.ndarray:
    """Rows where the input had a value and the converted column has none."""
    mask = pc.and_(pc.is_valid(raw), pc.is_null(out))
    return np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)


def _map_unique(arr: pa.Array, fn: Callable[[str], str | None]) -> pa.Array:
    """Apply a Python function once per distinct value (for checks RE2 cannot do)."""
    uniq = pc.unique(arr.drop_null())
    mapped = pa.array([fn(v) for v in uniq.to_pylist()], pa.string())
    return pc.take(mapped, pc.index_in(arr, uniq))


def _ip_or_none(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip("[]")))
    except ValueError:
        return None


def _network_or_none(value: str) -> str | None:
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        return None


def check_ip(raw: pa.Array) -> Checked:
    """IPv4 by a vectorised pattern; the rest (IPv6, odd forms) by `ipaddress` per unique
    value. IPv6 comes out in its compressed canonical form."""
    v4 = pc.fill_null(pc.match_substring_regex(raw, _IPV4), False)
    out = pc.if_else(v4, raw, pa.scalar(None, pa.string()))
    others = pc.if_else(v4, pa.scalar(None, pa.string()), raw)
    if others.null_count < len(others):
        out = pc.coalesce(out, _map_unique(others, _ip_or_none))
    return out, _rejected(raw, out), "not an IPv4 or IPv6 address"


def check_network(raw: pa.Array) -> Checked:
    out = _map_unique(raw, _network_or_none)
    return out, _rejected(raw, out), "not a network prefix (CIDR)"


def _idna_or_none(value: str) -> str | None:
    try:
        return value.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None


def check_fqdn(raw: pa.Array) -> Checked:
    """Lower-case, no trailing dot, A-label form, labels of 1..63 characters, ≤ 253 total."""
    name = pc.utf8_lower(raw)
    name = pc.replace_substring_regex(name, r"\.$", "")
    non_ascii = pc.fill_null(pc.invert(pc.string_is_ascii(name)), False)
    if pc.any(non_ascii).as_py():
        idna = _map_unique(pc.if_else(non_ascii, name, pa.scalar(None, pa.string())),
                           _idna_or_none)
        name = pc.if_else(non_ascii, idna, name)
    ok = pc.and_(pc.match_substring_regex(name, _FQDN), pc.less_equal(pc.utf8_length(name), 253))
    out = pc.if_else(pc.fill_null(ok, False), name, pa.scalar(None, pa.string()))
    return out, _rejected(raw, out), "not a domain name"


def check_url(raw: pa.Array) -> Checked:
    ok = pc.fill_null(pc.match_substring_regex(raw, _URL), False)
    out = pc.if_else(ok, raw, pa.scalar(None, pa.string()))
    return out, _rejected(raw, out), "not an absolute URL (scheme://host/...)"


def check_tlp(raw: pa.Array) -> Checked:
    """TLP 2.0 names; 'tlp:' prefixes are dropped and TLP 1.0 WHITE becomes CLEAR."""
    tlp = pc.replace_substring_regex(pc.utf8_lower(raw), r"^tlp:\s*", "")
    tlp = pc.if_else(pc.equal(tlp, "white"), "clear", tlp)
    ok = pc.fill_null(pc.is_in(tlp, pa.array(TLP_LEVELS)), False)
    out = pc.if_else(ok, tlp, pa.scalar(None, pa.string()))
    return out, _rejected(raw, out), f"not a TLP level ({', '.join(TLP_LEVELS)})"


def check_country(raw: pa.Array) -> Checked:
    cc = pc.utf8_upper(raw)
    ok = pc.fill_null(pc.match_substring_regex(cc, r"^[A-Z]{2}$"), False)
    out = pc.if_else(ok, cc, pa.scalar(None, pa.string()))
    return out, _rejected(raw, out), "not an ISO 3166-1 alpha-2 country code"


def check_integer(raw: pa.Array, target: pa.DataType) -> Checked:
    """Decimal integers within the range of `target` (ASNs may carry an 'AS' prefix)."""
    hi = 2**63 - 1 if target.bit_width == 64 else 2**target.bit_width - 1
    if pa.types.is_string(raw.type):
        digits = pc.replace_substring_regex(pc.utf8_trim_whitespace(raw), r"^[Aa][Ss]", "")
        ok = pc.fill_null(pc.match_substring_regex(digits, r"^[0-9]{1,18}$"), False)
        num = pc.if_else(ok, digits, pa.scalar(None, pa.string())).cast(pa.int64())
    elif pa.types.is_floating(raw.type):
        whole = pc.equal(pc.floor(raw), raw)
        num = pc.if_else(whole, raw, pa.scalar(None, raw.type)).cast(pa.int64(), safe=False)
    else:
        num = raw.cast(pa.int64(), safe=False) if raw.type != pa.uint64() else raw
    in_range = pc.and_(pc.greater_equal(num, 0), pc.less_equal(num, pa.scalar(hi, num.type)))
    out = pc.if_else(pc.fill_null(in_range, False), num, pa.scalar(None, num.type))
    return out.cast(target), _rejected(raw, out), f"not an integer in 0..{hi}"


def check_confidence(raw: pa.Array) -> Checked:
    if pa.types.is_string(raw.type):
        ok = pc.fill_null(pc.match_substring_regex(raw, _FLOAT), False)
        num = pc.if_else(ok, raw, pa.scalar(None, pa.string())).cast(pa.float64())
    else:
        num = raw.cast(pa.float64())
    ok = pc.fill_null(pc.and_(pc.greater_equal(num, 0.0), pc.less_equal(num, 1.0)), False)
    out = pc.if_else(ok, num, pa.scalar(None, pa.float64()))
    return out, _rejected(raw, out), "not a number in 0..1"


def _time_or_none(value: str) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(value.replace(" UTC", "").replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def check_time(raw: pa.Array) -> Checked:
    """ISO 8601 (with 'T' or a space; a zone, or UTC when none), ' UTC' suffixes, and Unix
    epoch seconds. Vectorised casts; a value the cast refuses is retried alone."""
    if pa.types.is_timestamp(raw.type):
        out = raw.cast(TIMESTAMP) if raw.type.tz else pc.assume_timezone(raw, "UTC").cast(TIMESTAMP)
        return out, np.zeros(len(raw), dtype=bool), "not a time"
    if pa.types.is_integer(raw.type) or pa.types.is_floating(raw.type):
        raw = raw.cast(pa.string())
    text = pc.replace_substring_regex(raw, r" ?(UTC|\+00:?00)$", "Z")
    iso = pc.fill_null(pc.match_substring_regex(text, _ISO_TIME), False)
    zoned = pc.and_(iso, pc.fill_null(pc.match_substring_regex(text, r"(Z|[+-]\d{2}:?\d{2})$"),
                                      False))
    out = pc.if_else(zoned, _cast_times(pc.if_else(zoned, text, None), True),
                     pa.scalar(None, TIMESTAMP))
    naive = pc.and_(iso, pc.invert(zoned))
    if pc.any(naive).as_py():
        out = pc.coalesce(out, _cast_times(pc.if_else(naive, text, None), False))
    epoch = pc.fill_null(pc.match_substring_regex(text, _EPOCH), False)
    if pc.any(epoch).as_py():
        micros = pc.multiply(pc.if_else(epoch, text, None).cast(pa.float64()), 1e6)
        out = pc.coalesce(out, pc.round(micros).cast(pa.int64()).cast(TIMESTAMP))
    return out, _rejected(raw, out), "not a time (ISO 8601 or Unix seconds)"


def _cast_times(text: pa.Array, zoned: bool) -> pa.Array:
    try:
        if zoned:
            return text.cast(TIMESTAMP)
        return pc.assume_timezone(text.cast(pa.timestamp("us")), "UTC").cast(TIMESTAMP)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # a value that looks right but is not a date (2026-02-30): one at a time
        values = [_time_or_none(v) if v is not None else None for v in text.to_pylist()]
        return pa.array(values, TIMESTAMP)


def check_string(raw: pa.Array) -> Checked:
    out = raw if pa.types.is_string(raw.type) else raw.cast(pa.string())
    return out, np.zeros(len(raw), dtype=bool), ""


def checker(name: str, type_: pa.DataType) -> Callable[[pa.Array], Checked]:
    """The check a field gets, from its type and the convention its name follows."""
    if pa.types.is_timestamp(type_):
        return check_time
    if pa.types.is_integer(type_):
        return lambda raw: check_integer(raw, type_)
    if name == "confidence":
        return check_confidence
    suffixes: list[tuple[str, Callable[[pa.Array], Checked]]] = [
        ("_ip", check_ip), ("_fqdn", check_fqdn), ("_registered_domain", check_fqdn),
        ("_url", check_url), ("_network", check_network), ("_country", check_country),
        ("tlp", check_tlp)]
    for suffix, fn in suffixes:
        if name.endswith(suffix) and name != "feed_url":
            return fn
    return check_string


# ---------------------------------------------------------------------------------------
# validation of a whole table
# ---------------------------------------------------------------------------------------
def _column(table: pa.Table, name: str) -> pa.Array | None:
    if name not in table.column_names:
        return None
    col = table.column(name).combine_chunks()
    return col.cast(pa.string()) if pa.types.is_dictionary(col.type) else col


def _with_constants(table: pa.Table, constants: Mapping[str, Any]) -> pa.Table:
    """Fill each field named in `constants` where the row has no value of its own."""
    for name, value in constants.items():
        if value is None or name not in EVENT.names:
            continue
        col = _column(table, name)
        const = pa.array([value] * table.num_rows, type=pa.scalar(value).type)
        if col is None:
            table = table.append_column(name, const)
        else:
            filled = pc.coalesce(_blank_to_null(col), const.cast(col.type))
            table = table.set_column(table.column_names.index(name), name, filled)
    return table


def _url_hosts(url: pa.Array) -> pa.Array:
    host = pc.struct_field(pc.extract_regex(url, _URL_HOST), "host")
    return pc.replace_substring_regex(pc.utf8_lower(host), r"^\[|\]$", "")


def _derive_from_url(cols: dict[str, pa.Array]) -> None:
    """A URL names a host: fill source_fqdn (or source_ip) from it when the feed did not,
    so that URL-only feeds (OpenPhish, URLhaus) can be attributed."""
    url = cols.get("source_url")
    if url is None or url.null_count == len(url):
        return
    host = _url_hosts(url)
    ip, _, _ = check_ip(host)
    fqdn, _, _ = check_fqdn(pc.if_else(pc.is_valid(ip), None, host))
    cols["source_ip"] = pc.coalesce(cols["source_ip"], ip)
    cols["source_fqdn"] = pc.coalesce(cols["source_fqdn"], fqdn)


def _registered(fqdn: pa.Array) -> pa.Array | None:
    try:
        from bluelamp.domains import registered_domains
    except ImportError:  # contract 3 not there: leave the column empty
        return None
    return registered_domains(fqdn)


def _classification(cols: dict[str, pa.Array]) -> np.ndarray:
    """Fill a missing class from the type; flag pairs that are not in the taxonomy."""
    tax = cols["classification_taxonomy"]
    typ = cols["classification_type"]
    from_type = pc.take(pa.array(list(taxonomy.CLASS_OF_TYPE.values())),
                        pc.index_in(typ, pa.array(list(taxonomy.CLASS_OF_TYPE))))
    tax = pc.coalesce(pc.utf8_lower(tax), from_type)
    typ = pc.utf8_lower(typ)
    cols["classification_taxonomy"], cols["classification_type"] = tax, typ
    pair = pc.binary_join_element_wise(tax, pc.fill_null(typ, ""), "/")
    valid = pa.array(sorted({f"{c}/{t}" for c, t in taxonomy.PAIRS} |
                            {f"{c}/" for c in taxonomy.CLASSES}))
    ok = pc.or_(pc.is_null(pair), pc.is_in(pair, valid))
    ok = pc.and_(ok, pc.or_(pc.is_null(typ), pc.is_valid(tax)))
    return ~np.asarray(ok.to_numpy(zero_copy_only=False), dtype=bool)


def validate_events(
    table: pa.Table,
    source: str,
    *,
    feed: str | None = None,
    constants: Mapping[str, Any] | None = None,
    observed: dt.datetime | None = None,
) -> tuple[pa.Table, list[RecordError]]:
    """Check and normalise every field; return the good rows in the `EVENT` schema (with
    ids, raw references, observation time) and one located error per bad row.

    `table` has EVENT field names (strings or typed), optionally `_line` and `extra`;
    `constants` fill fields the rows leave empty (feed_name, tlp, classification, ...).
    """
    n = table.num_rows
    consts = {"feed_name": feed, **(constants or {})}
    table = _with_constants(table, consts)
    cols: dict[str, pa.Array] = {}
    bad: dict[str, tuple[np.ndarray, str]] = {}
    for f in EVENT.fields:
        raw = _column(table, f.name)
        if raw is None:
            cols[f.name] = pa.nulls(n, f.type)
            continue
        raw = _blank_to_null(raw)
        out, mask, reason = checker(f.name, f.type)(raw)
        cols[f.name] = out
        if mask.any():
            bad[f.name] = (mask, reason)
    _derive_from_url(cols)
    bad_class = _classification(cols)
    if bad_class.any():
        bad["classification_type"] = (bad_class, "not a class/type pair of the ENISA taxonomy")
    no_subject = np.ones(n, dtype=bool)
    for name in SUBJECT_FIELDS:
        no_subject &= np.asarray(cols[name].is_null().to_numpy(zero_copy_only=False))
    for mask, _ in bad.values():
        no_subject &= ~mask  # a rejected subject is reported as such, not as missing
    if no_subject.any():
        bad["subject"] = (no_subject, "no subject: none of " + ", ".join(SUBJECT_FIELDS))
    lines = _column(table, LINE)
    line_arr = lines if lines is not None else pa.array(np.arange(1, n + 1))
    _finish(cols, n, source, line_arr, observed)
    rows_bad = np.zeros(n, dtype=bool)
    for mask, _ in bad.values():
        rows_bad |= mask
    errors = _errors(table, bad, rows_bad, source, line_arr, consts.get("feed_name"))
    good = pa.Table.from_arrays([cols[name] for name in EVENT.names], schema=EVENT.arrow)
    return good.filter(pa.array(~rows_bad)), errors


def _finish(cols: dict[str, pa.Array], n: int, source: str, lines: pa.Array,
            observed: dt.datetime | None) -> None:
    """Fields derived from the others: observation time, count, raw reference, id."""
    now = observed or dt.datetime.now(dt.UTC)
    cols["time_observed"] = pc.coalesce(cols["time_observed"], pa.scalar(now, TIMESTAMP))
    cols["time_last_seen"] = pc.coalesce(cols["time_last_seen"], cols["time_source"],
                                         cols["time_observed"])
    cols["count"] = pc.coalesce(cols["count"], pa.scalar(1, pa.int64()))
    ref = pc.binary_join_element_wise(pa.scalar(source), lines.cast(pa.string()), ":")
    cols["raw_ref"] = pc.coalesce(cols["raw_ref"], ref)
    if cols["source_registered_domain"].null_count == n and cols["source_fqdn"].null_count < n:
        registered = _registered(cols["source_fqdn"])
        if registered is not None:
            cols["source_registered_domain"] = registered.cast(pa.string())
    if cols["feed_name"].null_count:
        cols["feed_name"] = pc.fill_null(cols["feed_name"], "unknown")
    cols["id"] = pc.coalesce(cols["id"], event_ids(pa.table(cols)))


def _errors(table: pa.Table, bad: dict[str, tuple[np.ndarray, str]], rows_bad: np.ndarray,
            source: str, lines: pa.Array, feed: str | None) -> list[RecordError]:
    """One error per bad row: every field that failed, the first one in the location."""
    if not rows_bad.any():
        return []
    index = np.flatnonzero(rows_bad)
    sub = table.take(pa.array(index)).drop_columns(
        [c for c in table.column_names if c == LINE])
    rows = sub.to_pylist()
    line_values = lines.take(pa.array(index)).to_pylist()
    errors = []
    for k, i in enumerate(index):
        failed = [(name, reason) for name, (mask, reason) in bad.items() if mask[i]]
        raw = rows[k]
        parts = [f"{name} {json.dumps(raw.get(name), default=str)}: {reason}"
                 if raw.get(name) is not None else f"{reason}" for name, reason in failed]
        message = f"feed {feed or '?'}: " + "; ".join(parts)
        errors.append(RecordError(Location(source, line=line_values[k], field=failed[0][0]),
                                  message, sample=dumps(raw)))
    return errors


# ---------------------------------------------------------------------------------------
# ids and aggregation
# ---------------------------------------------------------------------------------------
def event_ids(table: pa.Table) -> pa.Array:
    """Stable id per row: the first 32 hex digits of SHA-256 over feed, classification,
    subject and source time (`ID_FIELDS`, '|'-separated, empty for null, time in Unix
    microseconds). Re-ingesting the same row always gives the same id."""
    parts = []
    for name in ID_FIELDS:
        col = table.column(name) if name in table.column_names else pa.nulls(table.num_rows)
        if pa.types.is_timestamp(col.type):
            col = col.cast(pa.int64())
        parts.append(pc.fill_null(col.cast(pa.string()), ""))
    keys = pc.binary_join_element_wise(*parts, "|") if parts else pa.array([])
    return pa.array([hashlib.sha256(k.encode()).hexdigest()[:32]
                     for k in keys.to_pylist()], pa.string())


def aggregate(events: pa.Table) -> pa.Table:
    """Collapse rows with the same id into one: first values kept, `count` summed,
    `time_last_seen` the latest. A no-op (and cheap) when ids are already unique."""
    if events.num_rows == 0 or pc.count_distinct(events.column("id")).as_py() == \
            events.num_rows:
        return events
    keep = [n for n in EVENT.names if n not in ("id", "count", "time_last_seen")]
    grouped = events.group_by("id", use_threads=False).aggregate(
        [(n, "first") for n in keep] + [("count", "sum"), ("time_last_seen", "max")])
    renamed = grouped.rename_columns(
        [c.rsplit("_first", 1)[0] if c.endswith("_first") else c for c in grouped.column_names])
    renamed = renamed.rename_columns(
        [{"count_sum": "count", "time_last_seen_max": "time_last_seen"}.get(c, c)
         for c in renamed.column_names])
    return EVENT.conform(renamed)


# ---------------------------------------------------------------------------------------
# our own findings as events
# ---------------------------------------------------------------------------------------
FINDING_CLASSES: tuple[tuple[str, str | None, str, str], ...] = (
    # (word in finding type, subject kind or None for any, ENISA class, ENISA type);
    # the first match wins, so the specific rows come first.
    ("phish", None, "fraud", "phishing"),
    ("spam", None, "abusive-content", "spam"),
    ("ddos", None, "availability", "ddos"),
    ("scan", None, "information-gathering", "scanner"),
    ("brute", None, "intrusion-attempts", "brute-force"),
    ("dga", "domain", "other", "dga-domain"),
    ("c2", "domain", "malicious-code", "c2-server"),
    ("c2", "ip", "malicious-code", "c2-server"),
    ("beacon", "domain", "malicious-code", "c2-server"),
    ("tunnel", "domain", "malicious-code", "c2-server"),
    ("malware", "url", "malicious-code", "malware-distribution"),
    ("malware", "domain", "malicious-code", "malware-distribution"),
    ("dga", None, "malicious-code", "infected-system"),
    ("c2", None, "malicious-code", "infected-system"),
    ("beacon", None, "malicious-code", "infected-system"),
    ("tunnel", None, "malicious-code", "infected-system"),
    ("infect", None, "malicious-code", "infected-system"),
    ("", None, "other", "undetermined"),
)


def classify_finding(finding_type: str, subject_kind: str) -> tuple[str, str]:
    """ENISA (class, type) of a finding, from its type name and what it is about."""
    lowered = finding_type.lower()
    for word, kind, cls, typ in FINDING_CLASSES:
        if word in lowered and kind in (None, subject_kind):
            return cls, typ
    return "other", "undetermined"


def findings_to_events(findings: pa.Table, *, observed: dt.datetime | None = None) -> pa.Table:
    """Turn detector findings (FINDING schema) into EVENT rows: classified by ENISA, the
    subject in source_ip / source_fqdn / source_url, score as confidence, evidence and
    explanation in `extra`. A client that is a pseudonym, not an address, stays in `extra`."""
    if findings.num_rows == 0:
        return EVENT.empty_table()
    rows = findings.to_pylist()
    classes = [classify_finding(r["type"], r["subject_kind"]) for r in rows]
    subject = findings.column("subject").combine_chunks()
    kind = findings.column("subject_kind").combine_chunks()
    ip, _, _ = check_ip(pc.if_else(pc.is_in(kind, pa.array(["ip", "client"])), subject, None))
    extra = [dumps({"evidence": json.loads(r["evidence"] or "{}"),
                    "explanation": r["explanation"], "subject": r["subject"],
                    "subject_kind": r["subject_kind"], "sensor": r["sensor"]}) for r in rows]
    loose = pa.table({
        "id": pa.nulls(len(rows), pa.string()),
        "time_source": findings.column("first_seen"),
        "time_last_seen": findings.column("last_seen"),
        "count": findings.column("count"),
        "classification_taxonomy": [c for c, _ in classes],
        "classification_type": [t for _, t in classes],
        "classification_identifier": findings.column("type"),
        "source_ip": ip,
        "source_fqdn": pc.if_else(pc.equal(kind, "domain"), subject, None),
        "source_url": pc.if_else(pc.equal(kind, "url"), subject, None),
        "feed_name": pc.binary_join_element_wise("bluelamp", findings.column("detector"), "/"),
        "feed_provider": pa.array(["bluelamp"] * len(rows)),
        "confidence": findings.column("score"),
        "tlp": findings.column("tlp"),
        "raw_ref": pc.binary_join_element_wise("finding", findings.column("id"), ":"),
        "extra": extra,
    })
    good, _errors = validate_events(loose, "findings", observed=observed)
    return good
