"""Spam bots: clients that are not mail servers looking up the mail exchangers (MX) of many
different domains.

Only a mail server needs MX records: a workstation, phone or IoT device that asks for the MX
of dozens of recipient domains in an hour is delivering mail itself, which is what spam
bots do (direct-to-MX delivery, bypassing the provider's smarthost). Per client and window
the detector counts MX questions and their distinct registered domains (min-hash sketch);
a client with at least `min_domains` distinct MX domains is flagged unless it is in
`[detect] mail_servers` (addresses or CIDR blocks of the operator's own mail servers).

Known false positives: mail servers that are not in the allow-list (the finding says so:
add them), and mail-testing or anti-spam appliances that check MX records in bulk.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluelamp.detect import lexical
from bluelamp.detect.base import Finding, WindowContext
from bluelamp.detect.state import KeyedAggregate
from bluelamp.domains import registered_domains

MX = 15
SKETCH_K = 24
_SKETCH = tuple(lexical.sketch_names(SKETCH_K))
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Sequence[str]) -> tuple[Network, ...]:
    """Addresses or CIDR blocks (an address is its own /32 or /128); raises ValueError
    naming the bad entry."""
    out = []
    for entry in entries:
        try:
            out.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"[detect] mail_servers: {entry!r} is not an address or CIDR "
                             f"block ({exc})") from None
    return tuple(out)


@dataclass
class SpamBots:
    """Flag non-mail-server clients with MX look-ups of many distinct domains."""

    window: dt.timedelta = dt.timedelta(hours=1)
    min_domains: int = 40
    mail_servers: tuple[Network, ...] = field(default_factory=tuple)
    max_findings: int = 1000
    name: str = "spam-bot"
    finding_type: str = "spam-bot"
    key: str = "client"
    columns: tuple[str, ...] = ("ts", "client", "qname", "qtype", "sensor")

    def init_state(self, ctx: WindowContext) -> KeyedAggregate:
        return KeyedAggregate(keys=("client",), sums=("mx",),
                              mins=("first", "sample_a", "sensor", *_SKETCH),
                              maxs=("last", "sample_b"), rank="mx")

    def update(self, state: KeyedAggregate, batch: pa.RecordBatch,
               ctx: WindowContext) -> KeyedAggregate:
        is_mx = pc.fill_null(pc.and_(pc.equal(batch.column("qtype"), MX),
                                     pc.is_valid(batch.column("client"))), False)
        if not pc.any(is_mx).as_py():
            return state
        rows = pa.table({c: batch.column(c) for c in ("ts", "client", "qname", "sensor")}
                        ).filter(is_mx)
        domain = pc.coalesce(registered_domains(rows.column("qname")), rows.column("qname"))
        part = {"client": rows.column("client"),
                "mx": pa.array(np.ones(rows.num_rows, dtype=np.int64)),
                "first": rows.column("ts"), "sample_a": domain,
                "sensor": rows.column("sensor"), "last": rows.column("ts"),
                "sample_b": domain,
                **lexical.sketch_columns(lexical.string_hash64(domain), SKETCH_K)}
        state.add_rows(pa.table(part), ctx)
        return state

    def emit(self, state: KeyedAggregate, ctx: WindowContext) -> list[Finding]:
        table = state.merge(ctx)
        if table.num_rows == 0:
            return []
        mx = table.column("mx").to_numpy().astype(np.float64)
        domains = np.minimum(np.round(lexical.estimate(table, SKETCH_K)), mx)
        hits = np.flatnonzero(domains >= self.min_domains)
        rows = table.take(pa.array(hits)).select(
            ["client", "mx", "first", "last", "sample_a", "sample_b", "sensor"]).to_pylist()
        out = []
        for row, n in zip(rows, domains[hits], strict=True):
            if self._is_mail_server(row["client"]):
                ctx.drop("allowed-mail-server")
                continue
            out.append((row, int(n)))
        out.sort(key=lambda rn: (-rn[1], rn[0]["client"]))
        if len(out) > self.max_findings:
            ctx.drop("findings-over-cap", len(out) - self.max_findings)
        return [self._finding(r, n, ctx) for r, n in out[: self.max_findings]]

    def _is_mail_server(self, client: str) -> bool:
        try:
            address = ipaddress.ip_address(client)
        except ValueError:
            return False  # a pseudonym: cannot be in an address allow-list
        return any(address in net for net in self.mail_servers)

    def _finding(self, row: dict[str, Any], domains: int, ctx: WindowContext) -> Finding:
        minutes = max((row["last"] - row["first"]).total_seconds() / 60, 1 / 60)
        evidence = {"client": row["client"], "mx_queries": row["mx"],
                    "distinct_domains": domains,
                    "sample_domains": sorted({row["sample_a"], row["sample_b"]}),
                    "minutes": round(minutes, 1), "min_domains": self.min_domains,
                    "window_start": ctx.start.isoformat()}
        explanation = (
            f"Client {row['client']}, which is not a listed mail server, looked up the mail "
            f"exchangers of about {domains} different domains ({row['mx']} MX queries in "
            f"{minutes:.0f} minutes), the way a spam bot delivers mail directly: check that "
            f"host for malware and block its outbound port 25 (or add it to [detect] "
            f"mail_servers if it is a mail server).")
        return Finding(
            detector=self.name, type=self.finding_type, subject_kind="client",
            subject=row["client"],
            score=round(min(0.99, max(0.0, 1.0 - 0.5 * self.min_domains / max(domains, 1))), 4),
            first_seen=row["first"], last_seen=row["last"], count=row["mx"],
            evidence=evidence, explanation=explanation, sensor=row["sensor"])


def spam_bots(window: dt.timedelta | None = None, settings: Any = None) -> SpamBots:
    from bluelamp.detect.domain_settings import detect_settings

    servers = parse_networks(detect_settings(settings).mail_servers)
    return (SpamBots(window=window, mail_servers=servers) if window
            else SpamBots(mail_servers=servers))


DETECTORS = [spam_bots]
