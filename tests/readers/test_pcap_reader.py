"""pcap / pcapng reader: link layers, IPv4/IPv6, UDP and TCP, pairing, bad input."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from readers_pcapbuild import (
    ethernet,
    ip_packet,
    pcap,
    pcapng,
    query,
    response,
    sll,
    sll2,
    tcp,
    udp,
)

import bluelamp.sources.pcapfile as pcapfile
from bluelamp.schema import DNS
from bluelamp.sources.base import read_path

T0 = 1_700_000_000.0


def read_all(data: bytes, tmp_path: Path, name: str = "dns.pcap") -> tuple[pa.Table, list]:
    path = tmp_path / name
    path.write_bytes(data)
    chunks = list(read_path(path))  # auto-detected
    batches = [c.batch for c in chunks if c.batch is not None]
    return (pa.Table.from_batches(batches, schema=DNS.arrow),
            [e for c in chunks for e in c.errors])


def exchange(client: str, server: str, name: str, qid: int, t: float, *, port: int = 40000,
             frame=ethernet, answers: tuple[str, ...] = ("192.0.2.7",), qtype: str = "A"
             ) -> list[tuple[float, bytes]]:
    return [
        (t, frame(ip_packet(client, server, 17, udp(port, 53, query(name, qtype, qid))))),
        (t + 0.01, frame(ip_packet(server, client, 17, udp(53, port, response(
            name, qtype, qid, answers)))))]


@pytest.mark.parametrize("container", [pcap, pcapng])
@pytest.mark.parametrize(("linktype", "frame"), [
    (1, ethernet), (1, lambda ip: ethernet(ip, vlan=42)), (113, sll), (276, sll2),
    (101, lambda ip: ip)])
def test_link_layers_and_containers(tmp_path: Path, container, linktype: int, frame) -> None:
    packets = (exchange("192.0.2.1", "192.0.2.53", "Example.COM", 7, T0, frame=frame)
               + exchange("2001:db8::1", "2001:db8::53", "v6.test", 8, T0 + 1, frame=frame,
                          answers=("2001:db8::7",), qtype="AAAA"))
    table, errors = read_all(container(packets, linktype=linktype), tmp_path)
    assert errors == []
    rows = table.to_pylist()
    assert [(r["client"], r["server"], r["qname"], r["qtype"], r["rcode"], r["answers"])
            for r in rows] == [
        ("192.0.2.1", "192.0.2.53", "example.com", 1, 0, ["192.0.2.7"]),
        ("2001:db8::1", "2001:db8::53", "v6.test", 28, 0, ["2001:db8::7"])]
    assert rows[0]["ts"].timestamp() == T0 and rows[0]["client_port"] == 40000
    assert rows[0]["ttl"] == 300 and rows[0]["response_size"] > 12
    assert rows[0]["transport"] == "udp"


def test_unanswered_and_orphan_responses(tmp_path: Path) -> None:
    q_only = (T0, ethernet(ip_packet("192.0.2.1", "192.0.2.53", 17,
                                     udp(1111, 53, query("lost.test", qid=3)))))
    r_only = (T0 + 2, ethernet(ip_packet("192.0.2.53", "192.0.2.2", 17, udp(
        53, 2222, response("orphan.test", qid=4, rcode=3)))))
    table, errors = read_all(pcap([q_only, r_only]), tmp_path)
    rows = table.to_pylist()
    assert errors == []
    assert (rows[0]["qname"], rows[0]["rcode"], rows[0]["response_size"]) == ("lost.test",
                                                                              None, None)
    assert (rows[1]["qname"], rows[1]["rcode"], rows[1]["client"], rows[1]["client_port"]) == (
        "orphan.test", 3, "192.0.2.2", 2222)


def test_same_id_different_clients_pair_correctly(tmp_path: Path) -> None:
    a = exchange("192.0.2.1", "192.0.2.53", "a.test", 9, T0, answers=("192.0.2.10",))
    b = exchange("192.0.2.2", "192.0.2.53", "b.test", 9, T0, answers=("192.0.2.20",))
    table, _ = read_all(pcap([a[0], b[0], b[1], a[1]]), tmp_path)
    got = {r["client"]: r["answers"] for r in table.to_pylist()}
    assert got == {"192.0.2.1": ["192.0.2.10"], "192.0.2.2": ["192.0.2.20"]}


def test_tcp_messages_spanning_segments_with_retransmission(tmp_path: Path) -> None:
    q = query("tcp.test", qid=11)
    r = response("tcp.test", qid=11, answers=("192.0.2.99",))
    qs = len(q).to_bytes(2, "big") + q
    rs = len(r).to_bytes(2, "big") + r
    c, s = "192.0.2.1", "192.0.2.53"
    packets = [
        (T0, ethernet(ip_packet(c, s, 6, tcp(5555, 53, 1000, b"", flags=0x02)))),
        (T0 + 0.001, ethernet(ip_packet(c, s, 6, tcp(5555, 53, 1001, qs[:5])))),
        (T0 + 0.002, ethernet(ip_packet(c, s, 6, tcp(5555, 53, 1001, qs[:5])))),  # retransmit
        (T0 + 0.003, ethernet(ip_packet(c, s, 6, tcp(5555, 53, 1006, qs[5:])))),
        (T0 + 0.004, ethernet(ip_packet(s, c, 6, tcp(53, 5555, 9000, rs[:1])))),
        (T0 + 0.005, ethernet(ip_packet(s, c, 6, tcp(53, 5555, 9001, rs[1:])))),
    ]
    table, errors = read_all(pcapng(packets), tmp_path)
    assert errors == []
    rows = table.to_pylist()
    assert len(rows) == 1
    assert rows[0]["transport"] == "tcp" and rows[0]["answers"] == ["192.0.2.99"]
    assert rows[0]["ts"].timestamp() == pytest.approx(T0 + 0.003)


def test_pairing_across_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pcapfile, "READ_BYTES", 300)  # a few packets per batch
    packets = []
    for i in range(10):
        packets += exchange("192.0.2.1", "192.0.2.53", f"n{i}.test", i, T0 + i)
    table, errors = read_all(pcap(packets), tmp_path)
    assert errors == [] and table.num_rows == 10
    assert table.column("rcode").null_count == 0


def test_bad_messages_and_truncated_capture(tmp_path: Path) -> None:
    good = exchange("192.0.2.1", "192.0.2.53", "ok.test", 1, T0)
    short = (T0 + 1, ethernet(ip_packet("192.0.2.1", "192.0.2.53", 17, udp(1, 53, b"\x00\x01"))))
    broken_ip = (T0 + 2, ethernet(b"\x45\x00"))
    data = pcap([*good, short, broken_ip])
    table, errors = read_all(data[:-3] + b"", tmp_path)  # cut inside the last record
    assert table.column("qname").to_pylist() == ["ok.test"]
    messages = [e.message for e in errors]
    assert any("bad DNS message" in m for m in messages)
    assert any("capture ends inside" in m for m in messages)
    offsets = [e.location.offset for e in errors]
    assert all(o is not None for o in offsets)
    table, errors = read_all(gzip.compress(pcap([*good, short, broken_ip])), tmp_path,
                             "dns.pcap.gz")
    assert table.num_rows == 1
    assert sorted(e.message.split(":")[0] for e in errors) == ["bad DNS message",
                                                               "malformed packet"]


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(
    st.tuples(st.just("good"), st.from_regex(r"[a-z0-9]{1,10}\.[a-z]{2,6}", fullmatch=True)),
    st.tuples(st.just("bad"), st.binary(max_size=11))), min_size=1, max_size=25))
def test_property_pcap(tmp_path: Path, items: list) -> None:
    packets, want, bad_offsets = [], [], []
    offset = 24
    for i, (kind, value) in enumerate(items):
        if kind == "good":
            pair = exchange("192.0.2.1", "192.0.2.53", value, i, T0 + i, port=1000 + i)
            want.append(value)
        else:
            pair = [(T0 + i, ethernet(ip_packet("192.0.2.1", "192.0.2.53", 17,
                                                udp(1000 + i, 53, value))))]
            bad_offsets.append(offset)
        for p in pair:
            offset += 16 + len(p[1])
        packets += pair
    table, errors = read_all(pcap(packets), tmp_path)
    assert table.column("qname").to_pylist() == want
    assert [e.location.offset for e in errors] == bad_offsets


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from([pcap, pcapng]), st.binary(max_size=400), st.integers(0, 3))
def test_property_garbage_after_good_packets_never_crashes(tmp_path: Path, container,
                                                           junk: bytes, keep: int) -> None:
    packets = []
    for i in range(keep):
        packets += exchange("192.0.2.1", "192.0.2.53", f"k{i}.test", i, T0 + i)
    table, errors = read_all(container(packets) + junk, tmp_path)
    # every complete exchange before the junk is read; junk never raises
    assert table.column("qname").to_pylist()[:keep] == [f"k{i}.test" for i in range(keep)]
    assert all(e.location.source.endswith("dns.pcap") for e in errors)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.binary(min_size=0, max_size=80), min_size=1, max_size=20),
       st.sampled_from([1, 101, 113, 276, 0]))
def test_property_random_frames_are_named_or_ignored(tmp_path: Path, frames: list[bytes],
                                                     linktype: int) -> None:
    frame = {1: ethernet, 101: lambda ip: ip, 113: sll, 276: sll2,
             0: lambda ip: (2).to_bytes(4, "little") + ip}[linktype]  # 0: BSD loopback
    good = exchange("192.0.2.9", "192.0.2.53", "good.test", 77, T0 + 100, frame=frame)
    packets = [(T0 + i, f) for i, f in enumerate(frames)] + good
    table, errors = read_all(pcapng(packets, linktype=linktype), tmp_path)
    assert "good.test" in table.column("qname").to_pylist()
    offsets = [e.location.offset for e in errors if e.location.offset is not None]
    assert offsets == sorted(offsets)
