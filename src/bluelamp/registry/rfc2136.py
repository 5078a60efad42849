"""A registry adapter for zones served by an authoritative DNS server that accepts RFC 2136
dynamic updates signed with TSIG (Knot DNS, BIND, PowerDNS).

Model: a registry zone (a TLD or second-level zone) holds, per registered name, either a
delegation (NS, DS, glue below the name) or, in a flat zone, the name's own records (A,
AAAA, MX, TXT, ...). Both are handled the same way, by owner name:

- **hold** deletes every RRset at and below the name: a delegation's NS/DS/glue go, so the
  registry answers NXDOMAIN and the name stops resolving everywhere once caches expire.
- **redirect** deletes the same RRsets and adds A/AAAA records for the name and `*.name`
  pointing at the web server that shows Bluelamp's suspension landing page.

The undo record is the exact set of RRsets at and below the name, read by a TSIG-signed
AXFR just before the change (`axfr.py`); the update carries those RRsets as value-dependent
prerequisites (RFC 2136 §2.4.2), so a zone that changed in between is refused instead of
overwritten. Every change is checked by a DNS query to the server afterwards, and a
reinstatement by reading the zone back and comparing RRsets exactly.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.update

from bluelamp.registry.axfr import axfr, kdig_axfr
from bluelamp.registry.base import RegistryError, RRset, Undo, rrsets_of, zone_of
from bluelamp.settings import SuspensionSettings

# Records a DNSSEC signer maintains itself: not part of an undo record (the server re-signs
# what an update changes, so old signatures could not be put back, and need not be).
SIGNER_TYPES = frozenset({dns.rdatatype.RRSIG, dns.rdatatype.NSEC, dns.rdatatype.NSEC3,
                          dns.rdatatype.NSEC3PARAM, dns.rdatatype.DNSKEY, dns.rdatatype.CDS,
                          dns.rdatatype.CDNSKEY})


@dataclass
class DnsUpdateAdapter:
    zones: list[str]
    server: str
    port: int
    key: dns.tsig.Key
    timeout: float = 5.0
    redirect_v4: list[str] = field(default_factory=list)
    redirect_v6: list[str] = field(default_factory=list)
    redirect_ttl: int = 300
    kdig: str | None = None  # read zones with Knot's kdig instead of the Python reader
    name: str = "rfc2136"

    @classmethod
    def from_settings(cls, s: SuspensionSettings) -> DnsUpdateAdapter:
        if not s.tsig_secret:
            raise RegistryError("suspensions.tsig_secret is not set: updates must be signed")
        if not s.zones:
            raise RegistryError("suspensions.zones is empty: no zone to change")
        key = dns.tsig.Key(s.tsig_name, s.tsig_secret, s.tsig_algorithm)
        return cls([z.lower().strip(".") for z in s.zones], s.server, s.port, key, s.timeout,
                   list(s.redirect_ipv4), list(s.redirect_ipv6), s.redirect_ttl, s.kdig)

    # ------------------------------------------------------------------ reading the zone

    def snapshot(self, domains: Sequence[str]) -> dict[str, Undo]:
        """One AXFR per zone, however many names (a bulk request reads each zone once)."""
        by_zone: dict[str, set[str]] = defaultdict(set)
        for domain in domains:
            zone = zone_of(domain, self.zones)
            if zone is None:
                raise RegistryError(f"{domain}: not in a zone this registry runs")
            by_zone[zone].add(domain)
        out: dict[str, Undo] = {}
        for zone, names in by_zone.items():
            try:
                serial, found = _rrsets_under(self._records(zone, names), names)
            except (dns.exception.DNSException, OSError) as exc:
                raise RegistryError(f"zone transfer of {zone} from {self.server}:{self.port} "
                                    f"failed: {exc!r}") from None
            for domain in names:
                out[domain] = {"adapter": self.name, "zone": zone, "serial": serial,
                               "rrsets": [r.to_json() for r in sorted(found[domain])]}
        return out

    def _records(self, zone: str, names: set[str]) -> Iterator[dns.rrset.RRset]:
        if self.kdig is None:
            return axfr(self.server, self.port, zone + ".", self.key, self.timeout)
        wanted = {n + "." for n in names}
        return kdig_axfr(self.kdig, self.server, self.port, zone + ".", self.key,
                         self.timeout, lambda owner: _under(owner, wanted))

    # ------------------------------------------------------------------ changing it

    def _send(self, update: dns.update.UpdateMessage, what: str) -> None:
        try:
            response = dns.query.tcp(update, self.server, port=self.port, timeout=self.timeout)
        except (dns.exception.DNSException, OSError, EOFError) as exc:
            raise RegistryError(f"{what}: update refused or unanswered: {exc!r}") from None
        if response.rcode() != dns.rcode.NOERROR:
            raise RegistryError(f"{what}: server answered {dns.rcode.to_text(response.rcode())}")

    def _update(self, zone: str) -> dns.update.UpdateMessage:
        return dns.update.UpdateMessage(zone + ".", keyring=self.key)

    def suspend(self, domain: str, action: str, undo: Undo) -> str:
        before = rrsets_of(undo)
        if not before:
            raise RegistryError(f"{domain}: the zone holds no records for this name")
        if action == "redirect" and not (self.redirect_v4 or self.redirect_v6):
            raise RegistryError("redirect needs suspensions.redirect_ipv4 or redirect_ipv6")
        update = self._update(undo["zone"])
        _require(update, before)
        for owner in sorted({r.owner for r in before}):
            update.delete(owner)
        if action == "redirect":
            for owner in (domain + ".", f"*.{domain}."):
                for rdtype, addrs in (("A", self.redirect_v4), ("AAAA", self.redirect_v6)):
                    for addr in addrs:
                        update.add(owner, self.redirect_ttl, rdtype, addr)
        self._send(update, f"{action} {domain}")
        if action == "redirect":
            return self._until(lambda: self._check_redirect(domain))
        return self._until(lambda: self._check_held(domain))

    def reinstate(self, domain: str, undo: Undo) -> str:
        """Delete what a suspension can have left at the name (nothing, or the redirect
        records at the name and `*.name`) and at every owner of the undo record, add the
        undo record's RRsets back, then read the zone back and compare exactly. (The
        read-back is the costly part on a big zone, so the state before is not read too.)"""
        wanted = rrsets_of(undo)
        update = self._update(undo["zone"])
        owners = {domain + ".", f"*.{domain}."} | {r.owner for r in wanted}
        for owner in sorted(owners):
            update.delete(owner)
        for r in wanted:
            update.add(r.owner, _rdataset(r, r.ttl))
        self._send(update, f"reinstate {domain}")

        def check() -> str:
            after = rrsets_of(self.snapshot([domain])[domain])
            if after != wanted:
                raise RegistryError(f"{domain}: zone after reinstatement differs from the "
                                    f"undo record: {len(after)} RRsets, {len(wanted)} expected")
            return f"restored {len(wanted)} RRsets; AXFR read-back identical"

        return self._until(check)

    # ------------------------------------------------------------------ verification

    def query(self, name: str, rdtype: str) -> dns.message.Message:
        """Ask the authoritative server directly (no recursion)."""
        q = dns.message.make_query(name, rdtype)
        q.flags &= ~dns.flags.RD
        try:
            return dns.query.udp(q, self.server, port=self.port, timeout=self.timeout)
        except (dns.exception.DNSException, OSError) as exc:
            raise RegistryError(f"verification query {name}/{rdtype} failed: {exc!r}") from None

    def _check_held(self, domain: str) -> str:
        for rdtype in ("A", "NS"):
            reply = self.query(domain, rdtype)
            if reply.rcode() != dns.rcode.NXDOMAIN:
                raise RegistryError(f"{domain}: still answers {rdtype} with "
                                    f"{dns.rcode.to_text(reply.rcode())} after hold")
        return f"verified: {domain} A and NS answer NXDOMAIN at {self.server}:{self.port}"

    def _check_redirect(self, domain: str) -> str:
        seen = []
        for rdtype, addrs in (("A", self.redirect_v4), ("AAAA", self.redirect_v6)):
            if not addrs:
                continue
            reply = self.query(domain, rdtype)
            got = {rd.to_text() for rrs in reply.answer for rd in rrs
                   if rrs.rdtype == dns.rdatatype.from_text(rdtype)}
            if got != set(addrs):
                raise RegistryError(f"{domain}: {rdtype} answers {sorted(got)} after "
                                    f"redirect, expected {sorted(addrs)}")
            seen.append(f"{rdtype} {' '.join(sorted(got))}")
        return f"verified: {domain} answers {'; '.join(seen)} at {self.server}:{self.port}"

    def _until(self, check: Callable[[], str]) -> str:
        """Servers apply an update before answering it, but a secondary set as `server`
        may lag: retry a check briefly before calling it failed."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                return check()
            except RegistryError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


def _under(owner: str, wanted: set[str]) -> bool:
    """`owner` (absolute, lower-case) is one of `wanted` or below one."""
    labels = owner.split(".")
    return any(".".join(labels[i:]) in wanted for i in range(len(labels)))


def _rdataset(r: RRset, ttl: int) -> dns.rdataset.Rdataset:
    return dns.rdataset.from_text_list("IN", r.rdtype, ttl, list(r.rdatas))


def _require(update: dns.update.UpdateMessage, rrsets: Iterable[RRset]) -> None:
    """Value-dependent prerequisites: the update applies only to the zone we read."""
    for r in rrsets:
        update.present(r.owner, _rdataset(r, 0))


def _rrsets_under(records: Iterable[dns.rrset.RRset],
                  names: set[str]) -> tuple[int, dict[str, list[RRset]]]:
    """The zone's SOA serial, and the RRsets at or below each of `names` (owner walked up
    label by label, so the cost is per record, not per record × name)."""
    serial = 0
    grouped: dict[tuple[str, str, str], tuple[int, set[str]]] = {}
    for rrset in records:
        if rrset.rdtype == dns.rdatatype.SOA and serial == 0:
            serial = rrset[0].serial
        if rrset.rdtype in SIGNER_TYPES:
            continue
        owner = rrset.name.to_text().lower()
        labels = owner.rstrip(".").split(".")
        for i in range(len(labels)):
            candidate = ".".join(labels[i:])
            if candidate in names:
                rdtype = dns.rdatatype.to_text(rrset.rdtype)
                ttl, rdatas = grouped.setdefault((candidate, owner, rdtype), (rrset.ttl, set()))
                rdatas.update(rd.to_text() for rd in rrset)
    found: dict[str, list[RRset]] = {n: [] for n in names}
    for (name, owner, rdtype), (ttl, rdatas) in grouped.items():
        found[name].append(RRset(owner, rdtype, ttl, tuple(sorted(rdatas))))
    return serial, found
