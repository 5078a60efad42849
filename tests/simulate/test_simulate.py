"""The simulated traffic: determinism, schema, realism, and labels that match the rows."""

from __future__ import annotations

import datetime as dt
import json
from ipaddress import ip_address, ip_network

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bluelamp import resources
from bluelamp.schema import DNS
from bluelamp.simulate import LABELS, SimConfig, Simulation, simulate_day
from bluelamp.simulate.benign import typo
from bluelamp.simulate.dga import check_families, family_names

START = dt.datetime(2025, 3, 4, tzinfo=dt.UTC)  # as in conftest.py


def _rows_of(dns: pa.Table, client: str) -> pa.Table:
    return dns.filter(pc.equal(dns.column("client"), client))


def test_same_seed_same_tables_other_seed_other_tables() -> None:
    a = simulate_day(clients=40, hours=3, seed=5, start=START)
    b = simulate_day(clients=40, hours=3, seed=5, start=START)
    c = simulate_day(clients=40, hours=3, seed=6, start=START)
    assert a[0].equals(b[0]) and a[1].equals(b[1])
    assert not a[0].equals(c[0])


def test_slices_are_the_day_in_order() -> None:
    """Streaming (bounded memory) gives exactly the rows of simulate_day."""
    whole, labels = simulate_day(clients=30, hours=2.5, seed=2, start=START)
    sim = Simulation(SimConfig(clients=30, hours=2.5, seed=2, start=START))
    tables = list(sim.tables())
    assert len(tables) == 3 and tables[-1].num_rows < tables[0].num_rows
    assert pa.concat_tables(tables).equals(whole)
    assert sim.labels().equals(labels)


def test_schema_sorted_and_in_the_window(day: tuple[pa.Table, pa.Table]) -> None:
    dns, labels = day
    assert dns.schema.equals(DNS.arrow)
    assert labels.schema.equals(LABELS.arrow)
    ts = dns.column("ts").cast(pa.int64()).to_numpy()
    assert (np.diff(ts) >= 0).all()
    start = int(START.timestamp() * 1e6)
    assert ts[0] >= start and ts[-1] < start + 24 * 3600 * 10**6
    for name in ("client", "client_port", "server", "qname", "qtype", "rcode", "transport",
                 "sensor", "response_size"):
        assert dns.column(name).null_count == 0, name


def test_volume_is_realistic(day: tuple[pa.Table, pa.Table]) -> None:
    """A few thousand queries per client per day (a stub resolver caches the rest)."""
    dns, _ = day
    per_client = dns.num_rows / 150
    assert 1000 < per_client < 6000


def test_diurnal_rhythm(day: tuple[pa.Table, pa.Table]) -> None:
    dns, labels = day
    benign = set(labels.filter(pc.invert(labels.column("malicious")))
                 .column("client").to_pylist())
    mask = pc.is_in(dns.column("client"), pa.array(sorted(benign)))
    hour = pc.hour(dns.filter(mask).column("ts")).to_numpy()
    per_hour = np.bincount((hour + 1) % 24, minlength=24)  # local time, UTC+1
    assert per_hour[10] > 4 * per_hour[3]  # mid-morning is much busier than the night
    assert per_hour[3] > 0  # servers and IoT never sleep


def test_benign_nxdomain_rate_and_kinds(day: tuple[pa.Table, pa.Table]) -> None:
    dns, labels = day
    benign = labels.filter(pc.invert(labels.column("malicious")))
    rate = pc.sum(benign.column("nxdomain")).as_py() / pc.sum(benign.column("queries")).as_py()
    assert 0.01 <= rate <= 0.03
    assert set(benign.column("family").to_pylist()) >= {"workstation", "mobile", "server"}
    qtypes = set(dns.column("qtype").to_pylist())
    assert {1, 28, 65, 15, 16, 12, 43, 48}.issubset(qtypes)


def test_benign_names_that_look_random(day: tuple[pa.Table, pa.Table]) -> None:
    dns, _ = day
    names = dns.column("qname")
    for pattern in (r"^d[a-z0-9]{13}\.cloudfront\.net$", r"^e\d+\.[a-z]+\.akamaiedge\.net$",
                    r"\.execute-api\.[a-z0-9-]+\.amazonaws\.com$", r"\.googlevideo\.com$",
                    r"\.in-addr\.arpa$", r"^pub-[0-9a-f]{32}\.r2\.dev$",
                    r"^[a-z2-7]{52}\.cdn\.ampproject\.org$", r"^[0-9a-f]{32}\.fr\.sophosxl"):
        assert pc.any(pc.match_substring_regex(names, pattern)).as_py(), pattern
    # Chromium's probes: single labels of 7-15 letters, NXDOMAIN
    probes = dns.filter(pc.match_substring_regex(names, r"^[a-z]{7,15}$"))
    assert probes.num_rows > 50
    assert set(probes.column("rcode").to_pylist()) == {3}
    # search-domain suffixes
    assert pc.any(pc.match_substring(names, ".corp.internal")).as_py()


def test_answers_are_stable_per_name(day: tuple[pa.Table, pa.Table]) -> None:
    dns, _ = day
    a = dns.filter(pc.and_(pc.equal(dns.column("qtype"), 1), pc.equal(dns.column("rcode"), 0)))
    seen: dict[str, list[str]] = {}
    for name, answers in zip(a.column("qname").to_pylist()[:20000],
                             a.column("answers").to_pylist()[:20000], strict=True):
        assert seen.setdefault(name, answers) == answers
    assert any(len(v) > 1 and not v[0][0].isdigit() for v in seen.values())  # CNAME chains


def test_dga_labels_match_rows(day: tuple[pa.Table, pa.Table]) -> None:
    dns, labels = day
    dga = labels.filter(pc.equal(labels.column("label"), "dga")).to_pylist()
    assert len(dga) >= 5
    campaigns: dict[str, set[str]] = {}
    for lab in dga:
        rows = _rows_of(dns, lab["client"])
        names = set(lab["domains"])
        assert set(names) <= set(family_names()[lab["family"]])
        mine = rows.filter(pc.is_in(rows.column("qname"), pa.array(sorted(names))))
        assert mine.num_rows == lab["queries"] > 0
        assert pc.sum(pc.equal(mine.column("rcode"), 3)).as_py() == lab["nxdomain"]
        assert mine.column("ts")[0].as_py() == lab["first_seen"]
        c2 = mine.filter(pc.equal(mine.column("qname"), lab["c2_domain"]))
        assert c2.num_rows > 0 and set(c2.column("rcode").to_pylist()) == {0}
        assert c2.column("answers")[0].as_py() == [lab["c2_address"]]
        campaigns.setdefault(lab["campaign"], set()).add(lab["client"])
    assert any(len(c) > 1 for c in campaigns.values())  # bots of one campaign share names


def test_beacons_keep_their_period(day: tuple[pa.Table, pa.Table]) -> None:
    dns, labels = day
    beacons = labels.filter(pc.equal(labels.column("label"), "beacon")).to_pylist()
    assert beacons
    for lab in beacons:
        assert 60 <= lab["period_s"] <= 3600 and 0 <= lab["jitter"] <= 0.3
        rows = _rows_of(dns, lab["client"])
        rows = rows.filter(pc.equal(rows.column("qname"), lab["c2_domain"]))
        assert rows.num_rows == lab["queries"]
        gaps = np.diff(rows.column("ts").cast(pa.int64()).to_numpy()) / 1e6
        assert abs(np.median(gaps) - lab["period_s"]) <= lab["period_s"] * 0.31
        assert gaps.min() >= lab["period_s"] * (1 - lab["jitter"]) - 1e-3
        assert gaps.max() <= lab["period_s"] * (1 + lab["jitter"]) + 1e-3


def test_tunnels_use_real_names_and_their_tools_types(day: tuple[pa.Table, pa.Table]) -> None:
    dns, labels = day
    tunnels = labels.filter(pc.equal(labels.column("label"), "tunnel")).to_pylist()
    assert {t["family"] for t in tunnels} == {"iodine", "dns2tcp"}
    for lab in tunnels:
        rows = _rows_of(dns, lab["client"])
        rows = rows.filter(pc.ends_with(rows.column("qname"), "." + lab["c2_domain"]))
        assert rows.num_rows == lab["queries"] > 300
        qtypes = set(rows.column("qtype").to_pylist())
        assert qtypes <= ({10, 16, 5, 15} if lab["family"] == "iodine" else {16})
        lengths = pc.utf8_length(rows.column("qname")).to_numpy()
        assert np.median(lengths) > 30  # payload-carrying names
        # the names are the capture's, base domain remapped
        captured = {n.rsplit(b".", 2)[0].lower() for n in resources.tunnel_names(
            lab["family"])[:20000]}
        first_labels = {n.rsplit(".", 2)[0] for n in rows.column("qname").to_pylist()
                        if "\\" not in n}
        assert len(first_labels & {c.decode("latin-1") for c in captured}) > 0.5 * len(
            first_labels)


def test_dga_families_can_be_chosen() -> None:
    _, labels = simulate_day(clients=200, hours=1, seed=3, start=START,
                             dga_families=["banjori", "pushdo"], dga_fraction=0.05)
    fams = set(labels.filter(pc.equal(labels.column("label"), "dga"))
               .column("family").to_pylist())
    assert fams == {"banjori", "pushdo"}
    with pytest.raises(ValueError, match="unknown DGA families"):
        simulate_day(clients=10, hours=1, dga_families=["nosuchfamily"])
    everything = set(family_names())
    assert set(check_families(("-banjori", "-pushdo"))) == everything - {"banjori", "pushdo"}
    with pytest.raises(ValueError, match="no DGA family"):
        check_families(tuple(f"-{f}" for f in everything))


def test_every_client_has_one_kind_of_label(day: tuple[pa.Table, pa.Table]) -> None:
    dns, labels = day
    clients = set(dns.column("client").unique().to_pylist())
    labelled = labels.column("client").to_pylist()
    assert set(labelled) == clients
    benign = set(labels.filter(pc.invert(labels.column("malicious"))).column("client")
                 .to_pylist())
    malicious = set(labels.filter(labels.column("malicious")).column("client").to_pylist())
    assert not benign & malicious


def test_typos_look_like_typos() -> None:
    assert typo("www.facebook.com", 0) != "www.facebook.com"
    assert typo("google.com", 3) == "google.cm"
    for h in range(20):
        t = typo("example.org", h)
        assert t != "example.org" and abs(len(t) - len("example.org")) <= 1


def test_config_is_checked() -> None:
    with pytest.raises(ValueError, match="clients"):
        SimConfig(clients=0)
    with pytest.raises(ValueError, match="unknown behaviours"):
        Simulation(SimConfig(clients=5, hours=1, extra=("nosuch",)))


def test_optional_behaviours() -> None:
    dns, labels = simulate_day(clients=200, hours=24, seed=8, start=START,
                               extra=("spam", "water-torture", "fast-flux", "phishing"))
    by = {lab: labels.filter(pc.equal(labels.column("label"), lab)).to_pylist()
          for lab in ("spam", "water-torture", "fast-flux", "phishing")}
    assert all(by.values()), {k: len(v) for k, v in by.items()}
    spam = _rows_of(dns, by["spam"][0]["client"])
    assert pc.sum(pc.equal(spam.column("qtype"), 15)).as_py() >= 50
    victim = by["water-torture"][0]["registered_domain"]
    flood = dns.filter(pc.ends_with(dns.column("qname"), "." + victim))
    assert flood.num_rows == sum(r["queries"] for r in by["water-torture"])
    assert set(flood.column("rcode").to_pylist()) == {2, 3}
    assert len(flood.column("qname").unique()) > 0.95 * flood.num_rows  # random labels
    flux = dns.filter(pc.equal(dns.column("qname"), by["fast-flux"][0]["c2_domain"]))
    addresses = {a for answers in flux.column("answers").to_pylist() for a in answers}
    assert len(addresses) > 20 and set(flux.column("ttl").to_pylist()) == {150}
    assert len({a.rsplit(".", 1)[0] for a in addresses}) > 10  # many networks
    kinds = {r["family"] for r in by["phishing"]}
    assert kinds == {"combosquat", "typosquat", "homoglyph"}
    assert all(r["client"] is None and r["queries"] > 0 for r in by["phishing"])


def test_answer_addresses_are_public_unicast(day: tuple[pa.Table, pa.Table]) -> None:
    """Plausible public addresses: no private, documentation or reserved ranges, except the
    loopback-range answers block lists give."""
    dns, _ = day
    rows = dns.filter(pc.is_in(dns.column("qtype"), pa.array([1, 28], pa.uint16())))
    values = {a for answers in rows.column("answers").to_pylist() for a in answers}
    addresses = [ip_address(v) for v in values if v[0].isdigit() or ":" in v]
    assert len(addresses) > 1000
    bad = [a for a in addresses if not a.is_global and a not in ip_network("127.0.0.0/8")]
    assert not bad, bad[:5]


def test_benign_heartbeats_are_periodic_and_benign(day: tuple[pa.Table, pa.Table]) -> None:
    dns, labels = day
    benign = set(labels.filter(pc.invert(labels.column("malicious"))).column("client")
                 .to_pylist())
    rows = dns.filter(pc.equal(dns.column("qname"), "api.datadoghq.com"))
    if rows.num_rows == 0:  # the seed gave no agent that name; any IoT endpoint will do
        rows = dns.filter(pc.match_substring(dns.column("qname"), "-ats.iot."))
    clients = set(rows.column("client").to_pylist())
    assert clients and clients <= benign
    one = rows.filter(pc.equal(rows.column("client"), sorted(clients)[0]))
    gaps = np.diff(one.column("ts").cast(pa.int64()).to_numpy()) / 1e6
    assert len(gaps) > 20 and gaps.std() / gaps.mean() < 0.05


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 12), st.floats(0.05, 3.0), st.integers(0, 2**32 - 1),
       st.integers(0, 23))
def test_any_small_configuration_works(clients: int, hours: float, seed: int,
                                       hour: int) -> None:
    start = START + dt.timedelta(hours=hour)
    dns, labels = simulate_day(clients=clients, hours=hours, seed=seed, start=start)
    ts = dns.column("ts").cast(pa.int64()).to_numpy()
    assert (np.diff(ts) >= 0).all()
    assert set(dns.column("client").to_pylist()) <= set(labels.column("client").to_pylist())
    assert labels.num_rows == clients


def test_dga_sets_change_at_midnight() -> None:
    dns, labels = simulate_day(clients=60, hours=48, seed=4, start=START, dga_fraction=0.05)
    lab = labels.filter(pc.equal(labels.column("label"), "dga")).to_pylist()[0]
    daily = json.loads(lab["detail"])["daily_c2"]
    assert len(daily) == 2 and daily[0][0] != daily[1][0]
    rows = _rows_of(dns, lab["client"])
    rows = rows.filter(pc.is_in(rows.column("qname"), pa.array(lab["domains"])))
    day = pc.day(rows.column("ts")).to_numpy()
    first, second = (set(rows.filter(pa.array(day == d)).column("qname").to_pylist())
                     for d in (4, 5))
    assert first and second and len(first & second) < 0.5 * len(first)
    for c2, address in daily:  # a registered name answers every day
        answered = rows.filter(pc.equal(rows.column("qname"), c2))
        assert all(a == [address] for a in answered.column("answers").to_pylist())
        assert set(answered.column("rcode").to_pylist()) <= {0}


def test_addresses_are_written_canonically() -> None:
    """Answers are compared as text by readers and detectors: RFC 5952 form only."""
    from bluelamp.simulate.zone import address_v4, address_v6

    for i in range(20_000):
        name = f"host{i}.domain{i % 97}.example"
        assert str(ip_address(address_v6(name))) == address_v6(name)
        assert str(ip_address(address_v4(name))) == address_v4(name)
