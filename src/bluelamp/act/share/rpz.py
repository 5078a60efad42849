"""An RPZ zone (DNS Response Policy Zone) for protective resolvers: every shareable domain
of a blocking type answers NXDOMAIN (`CNAME .`), itself and every name under it.

Only names are listed (QNAME triggers): listing addresses would block shared hosting for
innocent neighbours. Written with dnspython so that every owner name is valid DNS."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dns.exception
import dns.name
import pyarrow as pa
import pyarrow.compute as pc

from bluelamp.act.feeds import tlp

#: ENISA types whose domains a resolver should refuse
BLOCK_TYPES = ("phishing", "c2-server", "malware-distribution", "malware-configuration",
               "dga-domain", "blocklist", "malware", "masquerade")


def domains(events: pa.Table, clearance: str = "amber") -> list[str]:
    """Distinct names to block, from events a resolver operator may receive."""
    gated = tlp.shareable(events, clearance)
    if gated.num_rows == 0:
        return []
    keep = pc.and_(pc.is_in(gated.column("classification_type"), pa.array(BLOCK_TYPES)),
                   pc.is_valid(gated.column("source_fqdn")))
    names = pc.unique(gated.filter(pc.fill_null(keep, False)).column("source_fqdn"))
    return sorted(str(n).lower().rstrip(".") for n in names.to_pylist() if n)


def zone_text(names: list[str], origin: str = "rpz.bluelamp.",
              serial: int | None = None) -> str:
    """Zone file text: SOA, NS, then `<name> CNAME .` and `*.<name> CNAME .` per name."""
    zone = dns.name.from_text(origin)
    serial = serial or int(dt.datetime.now(dt.UTC).strftime("%y%m%d%H%M"))
    lines = [f"$ORIGIN {zone.to_text()}", "$TTL 300",
             f"@ SOA localhost. hostmaster.localhost. {serial} 3600 600 86400 300",
             "@ NS localhost."]
    for name in names:
        try:
            owner = dns.name.from_text(name, origin=None).relativize(dns.name.root)
            relative = dns.name.Name(owner.labels + zone.labels)
        except (dns.exception.DNSException, ValueError):
            continue  # not a valid DNS name: nothing a resolver could match
        text = owner.to_text()
        if len(relative.to_wire() or b"") > 255 - 2:  # room for the "*." label
            continue
        lines += [f"{text} CNAME .", f"*.{text} CNAME ."]
    return "\n".join(lines) + "\n"


def write_zone(events: pa.Table, out: Path, origin: str = "rpz.bluelamp.",
               clearance: str = "amber") -> int:
    names = domains(events, clearance)
    out.write_text(zone_text(names, origin))
    return len(names)
