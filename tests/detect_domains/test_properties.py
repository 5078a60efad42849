"""Property tests: every detector that parses something (query names, answer strings,
allow-list entries) takes arbitrary input without raising and stays within its contract."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bluelamp.detect.fast_flux import FastFlux
from bluelamp.detect.newly_observed import NewlyObserved
from bluelamp.detect.seenset import SeenSet
from bluelamp.detect.spam import SpamBots, parse_networks
from bluelamp.detect.tunnel import Tunnel
from bluelamp.detect.water_torture import WaterTorture

from .helpers import at, dns, run

label = st.text(st.characters(codec="utf-8"), min_size=1,
                max_size=70) | st.from_regex(r"\A(xn--)?[a-z0-9\\-]{1,63}\Z")
qnames = st.lists(label, min_size=1, max_size=5).map(".".join)
answers = st.lists(st.none() | st.ip_addresses().map(str) | qnames
                   | st.from_regex(r"\A\d{1,3}(\.\d{1,3}){3}\Z"), max_size=6)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(qnames, st.sampled_from([1, 5, 10, 15, 16, 28, None]),
                          st.sampled_from([0, 2, 3, 5, None]), answers), min_size=1,
                max_size=20))
def test_detectors_take_any_names_and_answers(rows: list) -> None:
    table = dns([{"ts": at(i), "client": f"10.0.0.{i % 3}", "qname": q, "qtype": t,
                  "rcode": r, "answers": a, "ttl": 30, "response_size": 100}
                 for i, (q, t, r, a) in enumerate(rows)])
    # thresholds at their floor (0 where allowed), so that every code path runs
    for det in (Tunnel(min_unique=0, min_mean_len=0, min_entropy=0),
                WaterTorture(min_client_unique=0, min_unique=0),
                FastFlux(min_networks=1, min_wide_networks=1), SpamBots(min_domains=0),
                NewlyObserved(seen=SeenSet(100), warmup_windows=0, min_queries=1)):
        for f in run(det, table):
            assert f.subject and f.explanation and 0 <= f.score <= 1
            if det.name == "fast-flux":  # only real IPv4 addresses are counted
                for a in f.evidence["sample_addresses"]:
                    assert ipaddress.ip_address(a).version == 4


@settings(max_examples=80, deadline=None)
@given(st.lists(st.text(max_size=30) | st.from_regex(r"\A10\.\d{1,3}\.0\.0/(8|16|24)\Z")
                | st.ip_addresses().map(str), max_size=5))
def test_mail_server_entries_parse_or_fail_naming_the_entry(entries: list[str]) -> None:
    try:
        nets = parse_networks(entries)
    except ValueError as exc:
        assert "[detect] mail_servers" in str(exc)
        bad = [e for e in entries if not _is_net(e)]
        assert bad and repr(bad[0]) in str(exc)
    else:
        assert len(nets) == len(entries)


def _is_net(entry: str) -> bool:
    try:
        ipaddress.ip_network(entry.strip(), strict=False)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("capacity,fp", [(0, 0.01), (10, 0.0), (10, 1.0)])
def test_seen_set_rejects_bad_sizes(capacity: int, fp: float) -> None:
    with pytest.raises(ValueError):
        SeenSet(capacity, fp)
