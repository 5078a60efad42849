"""Every writer: files that the real tools and independent parsers accept, reproducible
bytes, and round trips through Bluelamp's own readers."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import struct
import subprocess
from array import array
from pathlib import Path

import dns.message
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bluelamp.simulate.writers import FORMATS, write
from bluelamp.sources.base import read_path
from bluelamp.sources.dnstap_pb import classes
from bluelamp.sources.fstrm import FrameBatch, read_frames
from conftest import require_binary  # tests/conftest.py (on sys.path under pytest)


def _written(tmp_path: Path, table: pa.Table, fmt: str, suffix: str = "") -> Path:
    path = tmp_path / f"out.{fmt}{suffix}"
    write(table, path, fmt)
    return path


def _read_back(path: Path, fmt: str) -> pa.Table:
    chunks = list(read_path(path, fmt))
    errors = [str(e) for c in chunks for e in c.errors]
    assert not errors, errors[:5]
    return pa.Table.from_batches([c.batch for c in chunks if c.batch is not None])


@pytest.mark.parametrize("fmt", FORMATS)
def test_same_table_same_bytes_and_gzip(tmp_path: Path, sample: pa.Table, fmt: str) -> None:
    part = sample.slice(0, 3000)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = _written(tmp_path / "a", part, fmt), _written(tmp_path / "b", part, fmt)
    assert a.read_bytes() == b.read_bytes() and a.stat().st_size > 1000
    z1 = _written(tmp_path / "a", part, fmt, ".gz")
    z2 = _written(tmp_path / "b", part, fmt, ".gz")
    assert z1.read_bytes() == z2.read_bytes()
    assert gzip.decompress(z1.read_bytes()) == a.read_bytes()


# ------------------------------------------------------------------------------------------
# round trips through the project's readers
# ------------------------------------------------------------------------------------------
EXACT = ("ts", "client", "client_port", "server", "qname", "qtype", "rcode", "answers", "ttl",
         "response_size", "transport", "sensor")


@pytest.mark.parametrize("fmt", ["parquet", "csv", "ndjson"])
def test_tabular_round_trip_is_exact(tmp_path: Path, sample: pa.Table, fmt: str) -> None:
    back = _read_back(_written(tmp_path, sample, fmt), fmt)
    for name in EXACT:
        assert back.column(name).equals(sample.column(name)), name


def _zeek_answers(table: pa.Table) -> list[list[str] | None]:
    """What Zeek logs: no answers is unset (null); TXT as `TXT <length> <text>`."""
    out: list[list[str] | None] = []
    for answers, qtype in zip(table.column("answers").to_pylist(),
                              table.column("qtype").to_pylist(), strict=True):
        if not answers:
            out.append(None)
        else:
            out.append([f"TXT {len(a)} {a}" if qtype == 16 else a for a in answers])
    return out


@pytest.mark.parametrize("fmt", ["zeek", "zeek-json"])
def test_zeek_round_trip(tmp_path: Path, sample: pa.Table, fmt: str) -> None:
    back = _read_back(_written(tmp_path, sample, fmt), fmt)
    assert back.num_rows == sample.num_rows
    for name in ("ts", "client", "client_port", "server", "qname", "qtype", "rcode", "ttl"):
        assert back.column(name).equals(sample.column(name)), name
    assert back.column("answers").to_pylist() == _zeek_answers(sample)


def test_bind_round_trip(tmp_path: Path, sample: pa.Table) -> None:
    back = _read_back(_written(tmp_path, sample, "bind"), "bind")
    assert back.num_rows == sample.num_rows
    ms = pc.multiply(pc.divide(sample.column("ts").cast(pa.int64()), 1000), 1000)
    assert back.column("ts").cast(pa.int64()).equals(ms)  # the query log has milliseconds
    for name in ("client", "client_port", "server", "qname", "qtype"):
        assert back.column(name).equals(sample.column(name)), name
    assert back.column("rcode").null_count == back.num_rows  # a query log has no answers


@pytest.mark.parametrize("fmt", ["dnstap", "pcap"])
def test_wire_round_trip(tmp_path: Path, sample: pa.Table, fmt: str) -> None:
    back = _read_back(_written(tmp_path, sample, fmt), fmt)
    assert back.num_rows == sample.num_rows
    order = pc.sort_indices(back, [("ts", "ascending"), ("client", "ascending"),
                                   ("client_port", "ascending")])
    back = back.take(order)
    want = sample.take(pc.sort_indices(sample, [("ts", "ascending"), ("client", "ascending"),
                                                ("client_port", "ascending")]))
    for name in ("ts", "client", "client_port", "server", "qname", "qtype", "rcode", "ttl",
                 "response_size"):
        assert back.column(name).equals(want.column(name)), name
    # the wire decoder presents A/AAAA/CNAME/PTR/TXT answers (contract 1); compare those
    qtype = want.column("qtype").to_numpy()
    got, exp = back.column("answers").to_pylist(), want.column("answers").to_pylist()
    mismatch = [i for i in range(len(exp)) if got[i] != exp[i] and qtype[i] in (1, 28, 5, 12,
                                                                                16)]
    assert not mismatch, [(got[i], exp[i]) for i in mismatch[:3]]


# ------------------------------------------------------------------------------------------
# independent checks of the binary formats
# ------------------------------------------------------------------------------------------
def _ones_complement_ok(data: bytes) -> bool:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total == 0xFFFF


def test_pcap_is_valid_ethernet_ip_udp_dns(tmp_path: Path, sample: pa.Table) -> None:
    part = sample  # every message of every record type, tunnels included
    data = _written(tmp_path, part, "pcap").read_bytes()
    magic, major, minor, _, _, snaplen, link = struct.unpack("<IHHiIII", data[:24])
    assert (magic, major, minor, link) == (0xA1B2C3D4, 2, 4, 1)
    pos, queries, responses, last = 24, 0, 0, 0
    while pos < len(data):
        sec, usec, incl, orig = struct.unpack("<IIII", data[pos : pos + 16])
        assert incl == orig <= snaplen and usec < 1_000_000
        pkt = data[pos + 16 : pos + 16 + incl]
        pos += 16 + incl
        ethertype = struct.unpack("!H", pkt[12:14])[0]
        if ethertype == 0x0800:
            ip, src, dst, proto = pkt[14:34], pkt[26:30], pkt[30:34], pkt[23]
            assert _ones_complement_ok(ip)
            udp = pkt[34:]
            pseudo = src + dst + struct.pack("!BBH", 0, 17, len(udp))
        else:
            assert ethertype == 0x86DD
            src, dst, proto = pkt[22:38], pkt[38:54], pkt[20]
            udp = pkt[54:]
            pseudo = src + dst + struct.pack("!IxxxB", len(udp), 17)
        assert proto == 17 and struct.unpack("!H", udp[4:6])[0] == len(udp)
        assert _ones_complement_ok(pseudo + udp)
        msg = dns.message.from_wire(udp[8:])
        sport, dport = struct.unpack("!HH", udp[:4])
        if dport == 53:
            queries += 1
            assert not msg.flags & 0x8000
        else:
            responses += 1
            assert sport == 53 and msg.flags & 0x8000
        last = max(last, sec * 1_000_000 + usec)
    assert queries == part.num_rows
    assert responses == part.num_rows - part.column("rcode").null_count


def test_dnstap_parses_with_protobuf_and_dnspython(tmp_path: Path, sample: pa.Table) -> None:
    part = sample
    path = _written(tmp_path, part, "dnstap")
    dnstap_cls, _ = classes()
    kinds: list[int] = []
    qnames = set()
    with path.open("rb") as f:
        for batch in read_frames(f):
            assert isinstance(batch, FrameBatch), batch
            for a, b in zip(batch.starts.tolist(), batch.ends.tolist(), strict=True):
                frame = dnstap_cls()
                frame.ParseFromString(batch.data[a:b])
                m = frame.message
                kinds.append(m.type)
                wire = m.query_message if m.type == 5 else m.response_message
                msg = dns.message.from_wire(wire)
                qnames.add(msg.question[0].name.to_text(omit_final_dot=True))
                assert frame.identity == b"sim-resolver-1" and m.response_port == 53
    assert kinds.count(5) == part.num_rows
    assert kinds.count(6) == part.num_rows - part.column("rcode").null_count
    assert len(qnames) > 100


def test_dnstap_is_accepted_by_fstrm_dump(tmp_path: Path, sample: pa.Table) -> None:
    tool = require_binary("fstrm_dump", "fstrm-bin")
    path = _written(tmp_path, sample.slice(0, 500), "dnstap")
    done = subprocess.run([tool, str(path)], capture_output=True, text=True, timeout=60,
                          check=True)
    out = done.stdout + done.stderr  # control frames are reported on stderr
    assert "FSTRM_CONTROL_START" in out and '"protobuf:dnstap.Dnstap"' in out
    assert out.count("Data frame") == 500 + 500 - sample.slice(0, 500).column("rcode").null_count
    assert "FSTRM_CONTROL_STOP" in out


def test_zeek_header_is_well_formed(tmp_path: Path, sample: pa.Table) -> None:
    lines = _written(tmp_path, sample.slice(0, 2000), "zeek").read_text().splitlines()
    assert lines[0] == "#separator \\x09"
    meta = {line.split("\t", 1)[0]: line.split("\t", 1)[1] for line in lines[1:8]}
    assert meta["#set_separator"] == "," and meta["#unset_field"] == "-"
    assert meta["#path"] == "dns"
    fields, types = meta["#fields"].split("\t"), meta["#types"].split("\t")
    assert len(fields) == len(types) == 24 and fields[0] == "ts" and types[0] == "time"
    data = [line for line in lines if not line.startswith("#")]
    assert len(data) == 2000
    assert all(len(line.split("\t")) == len(fields) for line in data)
    assert lines[-1].startswith("#close\t") and lines[5].startswith("#open\t")
    ts = np.array([float(line.split("\t", 1)[0]) for line in data])
    assert (np.diff(ts) >= 0).all()


def test_checksum_helper_agrees_with_a_plain_one() -> None:
    from bluelamp.simulate.wireformats import _checksum

    for data in (b"\x45\x00\x00\x3c\x1c\x46\x40\x00\x40\x11\x00\x00\xac\x10\x0a\x63\xac\x10"
                 b"\x0a\x0c", b"abc", bytes(range(255))):
        words = array("H", data + b"\0" * (len(data) % 2))
        words.byteswap() if struct.pack("=H", 1) == b"\x01\x00" else None
        total = sum(words)
        while total >> 16:
            total = (total & 0xFFFF) + (total >> 16)
        assert _checksum(data) == ~total & 0xFFFF


def test_fast_packet_framing_equals_the_obvious_one() -> None:
    from bluelamp.simulate.wireformats import _Framer, _packet, word_sum

    framer = _Framer()
    cases = [(bytes([10, 20, 1, 2]), bytes([10, 20, 255, 53]), 51234, 53),
             (bytes([10, 20, 255, 53]), bytes([10, 20, 1, 2]), 53, 51234),
             (bytes(range(16)), bytes(range(16, 32)), 60000, 53),
             (bytes(range(16, 32)), bytes(range(16)), 53, 60000)]
    for body in (b"", b"\x01", b"\x01\x00\x00\x01" * 7 + b"\xff", bytes(range(200))):
        for txid in (0, 1, 0xFFFF, 0x1234):
            message = struct.pack("!H", txid) + body
            for src, dst, sport, dport in cases:
                fast = framer.packet(src, dst, sport, dport, message, txid, word_sum(body),
                                     70000 + txid)
                assert fast == _packet(src, dst, sport, dport, message, 70000 + txid)


def test_fast_dnstap_encoding_equals_the_project_encoder() -> None:
    from bluelamp.simulate.wireformats import VERSION, Exchange, _ld, dnstap_payload
    from bluelamp.sources.dnstap import DnstapMessage, encode_dnstap

    prefix = _ld(b"\x0a", b"sim") + _ld(b"\x12", VERSION)
    for client, server in ((bytes([10, 20, 1, 2]), bytes([10, 20, 255, 53])),
                           (bytes(range(16)), bytes(range(16, 32)))):
        for ts in (0, 1_741_000_000_123_456, 4_000_000_000_999_999):
            ex = Exchange(ts, 4321, client, server, 50_000, 7, b"Q" * 40, b"R" * 300, 0, 0)
            assert dnstap_payload(5, ex, prefix) == encode_dnstap(DnstapMessage(
                5, query_address=client, response_address=server, query_port=50_000,
                response_port=53, query_time_us=ts, query_message=ex.query), b"sim", VERSION)
            assert dnstap_payload(6, ex, prefix) == encode_dnstap(DnstapMessage(
                6, query_address=client, response_address=server, query_port=50_000,
                response_port=53, query_time_us=ts, response_time_us=ts + 4321,
                response_message=ex.response), b"sim", VERSION)


def test_zeek_lines_survive_control_characters_and_separators() -> None:
    import datetime as dt

    from bluelamp.schema import DNS
    from bluelamp.simulate.textformats import zeek_lines

    table = DNS.from_rows([{
        "ts": dt.datetime(2025, 1, 1, tzinfo=dt.UTC), "client": "192.0.2.1", "client_port": 5,
        "server": "192.0.2.53", "qname": "bad\tname\n.example", "qtype": 16, "rcode": 0,
        "answers": ["a,b\tc"], "ttl": 60}])
    (line,) = zeek_lines(table).to_pylist()
    fields = line.split("\t")
    assert len(fields) == 24 and "\n" not in line
    assert fields[9] == "bad\\x09name\\x0a.example"
    assert fields[21] == "TXT 5 a\\x2cb\\x09c"


TEXT = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x2FF), max_size=12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.fixed_dictionaries({
    "ts": st.integers(0, 4_000_000_000_000_000).map(
        lambda us: dt.datetime.fromtimestamp(us // 1_000_000, dt.UTC).replace(
            microsecond=us % 1_000_000 if us % 3 else 0)),
    "client": st.none() | TEXT, "client_port": st.none() | st.integers(0, 65535),
    "qname": st.none() | TEXT, "qtype": st.none() | st.integers(0, 65535),
    "answers": st.none() | st.lists(TEXT, max_size=3), "ttl": st.none() | st.integers(0, 2**31),
}), min_size=1, max_size=20))
def test_column_wise_ndjson_equals_json_dumps(rows: list[dict[str, object]]) -> None:
    from bluelamp.schema import DNS, json_value
    from bluelamp.simulate.writers import json_lines

    table = DNS.from_rows(rows)
    expected = [json.dumps({k: json_value(v) for k, v in row.items()}, separators=(",", ":"),
                           ensure_ascii=False) for row in table.to_pylist()]
    assert json_lines(table).to_pylist() == expected


@pytest.mark.parametrize("fmt", FORMATS)
def test_sparse_foreign_tables_are_written_and_read_back(tmp_path: Path, fmt: str) -> None:
    """A table with only ts and qname (what a minimal reader gives) is still written as a
    file its reader accepts."""
    from bluelamp.schema import DNS

    table = DNS.from_rows([
        {"ts": dt.datetime(2025, 1, 1, tzinfo=dt.UTC), "qname": "example.com"},
        {"ts": dt.datetime(2025, 1, 1, 0, 0, 1, tzinfo=dt.UTC), "qname": "x.example.com",
         "qtype": 28, "rcode": 0, "answers": ["2001:db8::5"], "client": "2001:db8::1",
         "client_port": 4242, "server": "2001:db8::53", "ttl": 60}])
    back = _read_back(_written(tmp_path, table, fmt), fmt)
    back = back.take(pc.sort_indices(back, [("ts", "ascending")]))  # unanswered come last
    assert back.num_rows == 2
    assert back.column("qname").to_pylist() == ["example.com", "x.example.com"]
    assert back.column("ts").equals(table.column("ts"))


def _zeek_json_reference(table: pa.Table) -> list[dict[str, object]]:
    """What Zeek's JSON writer logs for each row, spelled out row by row."""
    from bluelamp.simulate import dnsenc, rowmeta
    from bluelamp.simulate.textformats import zeek_query

    h = rowmeta.row_hash(table)
    uid, txid, rtt = rowmeta.zeek_uids(h), rowmeta.txids(h), rowmeta.rtts_us(h)
    out = []
    for i, row in enumerate(table.to_pylist()):
        ts = table.column("ts").cast(pa.int64())[i].as_py()
        obj: dict[str, object] = {"ts": ts / 1e6, "uid": uid[i], "id.orig_h": row["client"],
                                  "id.orig_p": row["client_port"], "id.resp_h": row["server"],
                                  "id.resp_p": 53, "proto": row["transport"] or "udp",
                                  "trans_id": int(txid[i]), "query": zeek_query(row["qname"]),
                                  "qclass": 1, "qclass_name": "C_INTERNET",
                                  "qtype": row["qtype"], "AA": False, "TC": False, "RD": True,
                                  "RA": row["rcode"] is not None, "Z": 0, "rejected": False}
        if row["qtype"] is not None:
            obj["qtype_name"] = dnsenc.qtype_name(row["qtype"])
        if row["rcode"] is not None:
            obj |= {"rtt": int(rtt[i]) / 1e6, "rcode": row["rcode"],
                    "rcode_name": dnsenc.RCODE_NAMES.get(row["rcode"], f"RCODE{row['rcode']}")}
        if row["answers"]:
            obj["answers"] = [f"TXT {len(a)} {a}" if row["qtype"] == 16 else a
                              for a in row["answers"]]
            obj["TTLs"] = [float(row["ttl"] or 0)] * len(row["answers"])
        out.append({k: v for k, v in obj.items() if v is not None})
    return out


def test_zeek_json_objects_are_what_zeek_logs(tmp_path: Path, sample: pa.Table) -> None:
    part = sample.slice(0, 5000)
    lines = _written(tmp_path, part, "zeek-json").read_text().splitlines()
    assert [json.loads(line) for line in lines] == _zeek_json_reference(part)


def test_dnstap_keeps_the_transport(tmp_path: Path) -> None:
    from bluelamp.schema import DNS

    rows = [{"ts": dt.datetime(2025, 1, 1, 0, 0, i, tzinfo=dt.UTC), "qname": f"n{i}.example",
             "qtype": 1, "rcode": 3, "client": "192.0.2.7", "client_port": 1000 + i,
             "server": "192.0.2.53", "transport": t}
            for i, t in enumerate(("udp", "tcp", "dot", "doh", "doq"))]
    back = _read_back(_written(tmp_path, DNS.from_rows(rows), "dnstap"), "dnstap")
    back = back.take(pc.sort_indices(back, [("ts", "ascending")]))
    assert back.column("transport").to_pylist() == ["udp", "tcp", "dot", "doh", "doq"]
