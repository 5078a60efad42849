"""dnstap reader and live listener: real samples, google.protobuf as the reference decoder,
pairing without double counting, located errors, and the listener's handshake/reconnects."""

from __future__ import annotations

import gzip
import threading
from pathlib import Path

import dns.message
import dns.rcode
import dns.rrset
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bluelamp.sources.base import detect_format, read_path
from bluelamp.sources.dnstap import DnstapMessage, DnstapReader, encode_dnstap
from bluelamp.sources.dnstap_pb import classes
from bluelamp.sources.fstrm import (
    CONTENT_TYPE_DNSTAP,
    FrameSender,
    FrameWriter,
    connect,
    encode_control,
    read_frames,
)
from bluelamp.sources.live import DnstapListener, Endpoint

T0 = 1_763_700_000_000_000  # µs


def _rows(path: Path, batch_size: int = 65_536) -> tuple[list[dict], list]:  # type: ignore[type-arg]
    rows, errors = [], []
    for chunk in read_path(path, batch_size=batch_size):
        errors += chunk.errors
        if chunk.batch is not None:
            rows += chunk.batch.to_pylist()
    return rows, errors


def _pair(name: str, rcode: int = 0, answer: str | None = "192.0.2.1",
          ident: int = 7) -> tuple[bytes, bytes]:
    q = dns.message.make_query(name, "A")
    q.id = ident
    r = dns.message.make_response(q)
    r.set_rcode(rcode)
    if answer:
        r.answer.append(dns.rrset.from_text(name + ".", 60, "IN", "A", answer))
    return q.to_wire(), r.to_wire()


def _transaction(name: str, i: int, **kw: object) -> list[bytes]:
    q, r = _pair(name, ident=i, **kw)  # type: ignore[arg-type]
    common = {"query_address": bytes([10, 0, 0, 1 + i % 200]), "query_port": 1000 + i,
              "response_address": bytes([10, 0, 0, 53]), "response_port": 53}
    t = T0 + i * 1000
    return [encode_dnstap(DnstapMessage(5, query_time_us=t, query_message=q, **common),  # type: ignore[arg-type]
                          identity=b"r1"),
            encode_dnstap(DnstapMessage(6, query_time_us=t, response_time_us=t + 300,  # type: ignore[arg-type]
                                        response_message=r, **common), identity=b"r1")]


def _write(path: Path, frames: list[bytes]) -> Path:
    with path.open("wb") as out, FrameWriter(out) as writer:
        writer.write_many(frames)
    return path


# ------------------------------------------------------------------ real samples


def _reference(path: Path) -> list[tuple[int, str, int, int | None, list[str]]]:
    """Decode a sample with google.protobuf + dnspython (independent of our decoders)."""
    dnstap_cls, _ = classes()
    out = []
    with path.open("rb") as f:
        for item in read_frames(f):
            assert not isinstance(item, Exception)
            for s, e in zip(item.starts, item.ends, strict=True):
                m = dnstap_cls.FromString(item.data[s:e]).message
                wire = m.response_message if m.HasField("response_message") else \
                    m.query_message
                msg = dns.message.from_wire(wire)
                out.append((m.type, msg.question[0].name.to_text(True).lower(),
                            msg.question[0].rdtype, msg.rcode(),
                            [rr.to_text() for rrset in msg.answer for rr in rrset]))
    return out


@pytest.mark.parametrize(("sample", "golden"), [
    # values read off `fstrm_dump` output and checked with dnspython (see _reference)
    ("dnswire-test.dnstap", {"qname": "google.com", "qtype": 1, "rcode": 0,
                             "answers": ["216.58.211.14"], "ttl": 300, "client": "0.0.0.0",
                             "server": "172.17.0.1", "transport": "udp", "sensor": None,
                             "response_size": 44, "client_port": 60417}),
    ("go-dnscollector.fstrm", {"qname": "www.google.com", "qtype": 1, "rcode": 0,
                               "answers": ["216.58.213.68"], "ttl": 273,
                               "client": "172.19.0.1", "server": "172.19.0.2",
                               "transport": "udp", "sensor": "dnsdist",
                               "response_size": 59, "client_port": 46390}),
])
def test_real_samples(fixtures: Path, sample: str, golden: dict[str, object]) -> None:
    path = fixtures / "dnstap" / sample
    ref = _reference(path)
    # each sample is one query and its response: one row, not two
    assert [r[0] for r in ref] in ([11, 12], [5, 6])
    rows, errors = _rows(path)
    assert errors == [] and len(rows) == 1
    row = rows[0]
    assert {k: row[k] for k in golden} == golden
    _, qname, qtype, rcode, answers = ref[1]
    assert (row["qname"], row["qtype"], row["rcode"]) == (qname, qtype, rcode)
    assert [a.split()[-1] for a in answers] == row["answers"]
    assert detect_format(path.read_bytes()).name == "dnstap"


def test_dnswire_sample_timestamp(fixtures: Path) -> None:
    rows, _ = _rows(fixtures / "dnstap" / "dnswire-test.dnstap")
    # query_time_sec 1573730567 and query_time_nsec 83350 (fstrm_dump bytes 0x40 / 0x4d)
    assert int(rows[0]["ts"].timestamp() * 1_000_000) == 1573730567 * 1_000_000 + 83


# ------------------------------------------------------------------ protobuf cross-check

addrs = st.one_of(st.binary(min_size=4, max_size=4), st.binary(min_size=16, max_size=16))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([1, 2, 5, 6, 9, 10, 11, 12]), addrs,
                          st.integers(0, 65535), st.integers(1, 7),
                          st.integers(0, 2**40), st.booleans(), st.text(max_size=10)),
                min_size=1, max_size=20))
def test_protobuf_encoded_frames_decode(tmp_path_factory: pytest.TempPathFactory,
                                        items: list[tuple]) -> None:  # type: ignore[type-arg]
    """Frames built by google.protobuf (the reference encoder) decode to the same fields."""
    dnstap_cls, _ = classes()
    frames, want = [], []
    for i, (mtype, addr, port, proto, t_us, has_id, ident) in enumerate(items):
        q, r = _pair(f"n{i}.example", ident=i)
        d = dnstap_cls(type=1)
        if has_id:
            d.identity = ident.encode()
        m = d.message
        m.type, m.socket_protocol, m.query_address, m.query_port = mtype, proto, addr, port
        m.query_time_sec, m.query_time_nsec = t_us // 10**6, t_us % 10**6 * 1000
        if mtype % 2:
            m.query_message = q
        else:
            m.response_message = r
        frames.append(d.SerializeToString())
        want.append((f"n{i}.example", 0 if mtype % 2 == 0 else None, port,
                     ident if has_id else None, t_us))
    path = _write(tmp_path_factory.mktemp("pb") / "x.dnstap", frames)
    rows, errors = _rows(path)
    assert errors == []
    # queries never answered in this stream stay as rows; responses pair with nothing here
    got = sorted((r["qname"], r["rcode"], r["client_port"], r["sensor"],
                  int(r["ts"].timestamp() * 10**6 + 0.5)) for r in rows)
    assert got == sorted(want)
    assert all(r["transport"] in ("udp", "tcp", "dot", "doh", "doq") for r in rows)


def test_encoder_matches_google_protobuf() -> None:
    dnstap_cls, _ = classes()
    raw = encode_dnstap(DnstapMessage(6, query_address=b"\x0a\x00\x00\x01", query_port=5353,
                                      socket_protocol=2, query_time_us=T0 + 5,
                                      response_message=b"\x00" * 12), identity=b"id")
    d = dnstap_cls.FromString(raw)
    assert d.identity == b"id" and d.type == 1
    m = d.message
    assert (m.type, m.query_port, m.socket_protocol) == (6, 5353, 2)
    assert m.query_time_sec * 10**6 + m.query_time_nsec // 1000 == T0 + 5


# ------------------------------------------------------------------ mapping and pairing


def test_pairing_across_batches_and_unanswered(tmp_path: Path) -> None:
    frames = []
    for i in range(10):
        frames += _transaction(f"t{i}.example", i)
    q_only, _ = _pair("lonely.example", ident=999)
    frames.append(encode_dnstap(DnstapMessage(5, query_time_us=T0, query_message=q_only,
                                              query_address=b"\x0a\x00\x00\x09")))
    nx = _transaction("nx.example", 50, rcode=3, answer=None)
    upstream = encode_dnstap(DnstapMessage(3, query_time_us=T0, query_message=q_only))
    path = _write(tmp_path / "p.dnstap", [*frames, *nx, upstream])
    for batch_size in (1, 2, 3, 1000):  # pairs split across batches must not double count
        rows, errors = _rows(path, batch_size)
        assert errors == []
        names = sorted(r["qname"] for r in rows)
        assert names == sorted([f"t{i}.example" for i in range(10)] + ["lonely.example",
                                                                       "nx.example"])
        lonely = next(r for r in rows if r["qname"] == "lonely.example")
        assert lonely["rcode"] is None and lonely["answers"] is None
        assert lonely["response_size"] is None
        nxrow = next(r for r in rows if r["qname"] == "nx.example")
        assert nxrow["rcode"] == 3 and nxrow["answers"] == []


def test_slow_answers_pair_and_unanswered_queries_expire(tmp_path: Path) -> None:
    """A response 2 s (stream time) after its query, with many batches in between, still
    pairs; a query unanswered for more than the 3 s hold becomes its own row."""
    frames: list[bytes] = []
    q_slow, r_slow = _pair("slow.example", ident=1)
    q_lost, _ = _pair("lost.example", ident=2)
    addr = {"query_address": b"\x0a\x00\x00\x01", "query_port": 3000}
    frames.append(encode_dnstap(DnstapMessage(5, query_time_us=T0, query_message=q_slow,
                                              **addr)))  # type: ignore[arg-type]
    frames.append(encode_dnstap(DnstapMessage(5, query_time_us=T0, query_message=q_lost,
                                              **addr)))  # type: ignore[arg-type]
    for i in range(20):  # 20 transactions over the next 10 s, one per batch below
        frames += [encode_dnstap(DnstapMessage(6, query_time_us=T0 + i * 500_000,
                                               response_message=_pair(f"f{i}.example")[1]))]
        if i == 4:
            frames.append(encode_dnstap(DnstapMessage(
                6, query_time_us=T0 + 2_000_000, response_message=r_slow, **addr)))  # type: ignore[arg-type]
    rows, errors = _rows(_write(tmp_path / "slow.dnstap", frames), batch_size=1)
    assert errors == []
    names = [r["qname"] for r in rows]
    assert names.count("slow.example") == 1 and names.count("lost.example") == 1
    lost = next(r for r in rows if r["qname"] == "lost.example")
    assert lost["rcode"] is None
    # emitted once stream time passed T0 + 3 s, i.e. before the end of the input
    assert names.index("lost.example") < len(names) - 1


def test_response_without_query_time_borrows_it(tmp_path: Path) -> None:
    q, r = _pair("late.example", ident=3)
    common = {"query_address": b"\x0a\x00\x00\x01", "query_port": 4000}
    frames = [encode_dnstap(DnstapMessage(5, query_time_us=T0, query_message=q, **common)),  # type: ignore[arg-type]
              encode_dnstap(DnstapMessage(6, response_time_us=T0 + 2_000_000,  # type: ignore[arg-type]
                                          response_message=r, **common))]
    rows, _ = _rows(_write(tmp_path / "b.dnstap", frames))
    assert len(rows) == 1 and int(rows[0]["ts"].timestamp() * 10**6) == T0


def test_bad_frames_are_located_and_good_ones_kept(tmp_path: Path) -> None:
    good = _transaction("good.example", 1)
    garbage = b"\xff\xff\xff\xff\xff"
    bad_dns = encode_dnstap(DnstapMessage(6, query_time_us=T0, response_message=b"\x00\x01"))
    no_time = encode_dnstap(DnstapMessage(6, response_message=_pair("x.example")[1]))
    path = _write(tmp_path / "bad.dnstap", [good[0], garbage, bad_dns, no_time, good[1]])
    rows, errors = _rows(path)
    assert [r["qname"] for r in rows] == ["good.example"]
    assert len(errors) == 3
    header = len(encode_control(0x02, [CONTENT_TYPE_DNSTAP]))  # type: ignore[arg-type]
    first_bad = header + 4 + len(good[0])
    assert errors[0].location.offset == first_bad
    assert errors[0].location.source == str(path) and "protobuf" in errors[0].message
    assert "DNS message" in errors[1].message and "header" in errors[1].message
    assert "time" in errors[2].message
    assert str(path) in str(errors[0]) and f"@{first_bad}" in str(errors[0])


def test_truncated_and_wrong_type_files(tmp_path: Path) -> None:
    data = _write(tmp_path / "t.dnstap", _transaction("a.example", 1)).read_bytes()
    trunc = tmp_path / "trunc.dnstap"
    trunc.write_bytes(data[:-20])
    rows, errors = _rows(trunc)
    assert [r["qname"] for r in rows] == ["a.example"]  # the query survives, unpaired
    assert "truncated" in errors[0].message and errors[0].location.offset is not None
    wrong = tmp_path / "wrong.fstrm"
    with wrong.open("wb") as out, FrameWriter(out, b"protobuf:other") as writer:
        writer.write(b"x")
    reader = DnstapReader()
    chunks = list(reader.read(wrong.open("rb"), str(wrong), batch_size=10))
    assert chunks[0].errors and "protobuf:other" in chunks[0].errors[0].message
    assert not reader.sniff(wrong.read_bytes())


def test_gzip_transparent(tmp_path: Path) -> None:
    raw = _write(tmp_path / "g.dnstap", _transaction("gz.example", 1)).read_bytes()
    gz = tmp_path / "g.dnstap.gz"
    gz.write_bytes(gzip.compress(raw))
    rows, errors = _rows(gz)
    assert errors == [] and [r["qname"] for r in rows] == ["gz.example"]


def test_ipv6_and_transport(tmp_path: Path) -> None:
    _q, r = _pair("six.example")
    v6 = bytes.fromhex("20010db8000000000000000000000001")
    frame = encode_dnstap(DnstapMessage(6, query_address=v6, socket_protocol=3,
                                        query_time_us=T0, response_message=r))
    rows, _ = _rows(_write(tmp_path / "v6.dnstap", [frame]))
    assert rows[0]["client"] == "2001:db8::1" and rows[0]["transport"] == "dot"


# ------------------------------------------------------------------ live listener


def _serve(listener: DnstapListener, stop: threading.Event, out: list) -> threading.Thread:  # type: ignore[type-arg]
    def run() -> None:
        out.extend(listener.chunks(stop))
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("kind", ["tcp", "unix"])
def test_listener_handshake_reconnect_and_stop(tmp_path: Path, kind: str) -> None:
    where = "tcp:127.0.0.1:0" if kind == "tcp" else f"unix:{tmp_path / 's.sock'}"
    listener = DnstapListener(Endpoint.parse(where), batch_size=4, flush_interval=0.1)
    stop, chunks = threading.Event(), []
    thread = _serve(listener, stop, chunks)
    try:
        for round_ in range(3):  # three "resolver restarts"
            sender = FrameSender(connect(listener.address))
            for i in range(5):
                sender.send(_transaction(f"r{round_}-{i}.example", round_ * 10 + i))
            if round_ < 2:
                sender.close()  # STOP, FINISH
            else:
                sender.sock.close()  # dropped without STOP
    finally:
        import time

        time.sleep(0.5)
        stop.set()
        thread.join(10)
        listener.close()
    rows = [r for c in chunks if c.batch is not None for r in c.batch.to_pylist()]
    names = sorted(r["qname"] for r in rows)
    assert names == sorted(f"r{a}-{i}.example" for a in range(3) for i in range(5))
    assert all(r["rcode"] == 0 for r in rows)
    assert listener.stats.connections == 3 and listener.stats.frames == 30
    assert not [e for c in chunks for e in c.errors]


def test_listener_rejects_wrong_content_type(tmp_path: Path) -> None:
    listener = DnstapListener("tcp:127.0.0.1:0", flush_interval=0.1)
    stop, chunks = threading.Event(), []
    thread = _serve(listener, stop, chunks)
    try:
        with pytest.raises(Exception):  # noqa: B017 - closed without ACCEPT
            FrameSender(connect(listener.address), content_type=b"protobuf:other")
    finally:
        stop.set()
        thread.join(10)
        listener.close()
    errors = [e for c in chunks for e in c.errors]
    assert errors and "protobuf:other" in errors[0].message
    assert "connection 1" in errors[0].location.source


def test_listener_reports_bad_frames_by_connection(tmp_path: Path) -> None:
    listener = DnstapListener("tcp:127.0.0.1:0", flush_interval=0.1)
    stop, chunks = threading.Event(), []
    thread = _serve(listener, stop, chunks)
    try:
        sender = FrameSender(connect(listener.address))
        sender.send([_transaction("ok.example", 1)[1], b"\xff\xff\xff"])
        sender.close()
    finally:
        import time

        time.sleep(0.4)
        stop.set()
        thread.join(10)
        listener.close()
    rows = [r for c in chunks if c.batch is not None for r in c.batch.to_pylist()]
    errors = [e for c in chunks for e in c.errors]
    assert [r["qname"] for r in rows] == ["ok.example"]
    assert len(errors) == 1 and "connection 1" in errors[0].location.source
    assert errors[0].location.offset is not None and errors[0].location.offset > 0


def test_endpoint_parse() -> None:
    assert Endpoint.parse("tcp:127.0.0.1:6000").port == 6000
    assert Endpoint.parse("unix:/x/y.sock").path == "/x/y.sock"
    from bluelamp.errors import ConfigError

    with pytest.raises(ConfigError):
        Endpoint.parse("udp:1.2.3.4:5")


def test_batches_conform_to_schema(tmp_path: Path) -> None:
    from bluelamp.schema import DNS

    path = _write(tmp_path / "s.dnstap", _transaction("s.example", 1))
    chunk = next(c for c in read_path(path) if c.batch is not None)
    assert chunk.batch is not None and chunk.batch.schema.equals(DNS.arrow)
    assert isinstance(chunk.batch, pa.RecordBatch)



def test_listener_bind_errors_are_clear() -> None:
    from bluelamp.errors import ConfigError

    first = DnstapListener("tcp:127.0.0.1:0")
    try:
        with pytest.raises(ConfigError, match=r"cannot listen on tcp:127\.0\.0\.1"):
            DnstapListener(first.address)
    finally:
        first.close()
    with pytest.raises(ConfigError, match="No such file"):
        DnstapListener("unix:/nonexistent-dir/x.sock")


def test_listener_survives_a_garbage_connection() -> None:
    import socket as so
    import time

    listener = DnstapListener("tcp:127.0.0.1:0", flush_interval=0.1)
    stop, chunks = threading.Event(), []
    thread = _serve(listener, stop, chunks)
    try:
        host, port = listener.address.split(":")[1:]
        junk = so.create_connection((host, int(port)))
        junk.sendall(b"\x7f\xff\xff\xff" + b"x" * 64)  # a 2 GiB "frame"
        sender = FrameSender(connect(listener.address))
        sender.send(_transaction("after.example", 1))
        sender.close()
        junk.close()
        time.sleep(0.4)
    finally:
        stop.set()
        thread.join(10)
        listener.close()
    rows = [r for c in chunks if c.batch is not None for r in c.batch.to_pylist()]
    errors = [e for c in chunks for e in c.errors]
    assert [r["qname"] for r in rows] == ["after.example"]
    assert len(errors) == 1 and "exceeds" in errors[0].message
    assert errors[0].location.offset == 0 and "connection 1" in errors[0].location.source


def test_listener_accepts_unidirectional_senders() -> None:
    """Writers configured without the handshake (e.g. Unbound with dnstap-bidirectional:
    no, fstrm_replay) send START, data and STOP and never wait for an answer."""
    import time

    from bluelamp.sources.fstrm import ControlType, encode_data

    listener = DnstapListener("tcp:127.0.0.1:0", flush_interval=0.1)
    stop, chunks = threading.Event(), []
    thread = _serve(listener, stop, chunks)
    try:
        sock = connect(listener.address)
        frames = _transaction("uni.example", 1)
        sock.sendall(encode_control(ControlType.START, [CONTENT_TYPE_DNSTAP])
                     + b"".join(encode_data(f) for f in frames)
                     + encode_control(ControlType.STOP))
        sock.close()
        time.sleep(0.4)
    finally:
        stop.set()
        thread.join(10)
        listener.close()
    rows = [r for c in chunks if c.batch is not None for r in c.batch.to_pylist()]
    assert [r["qname"] for r in rows] == ["uni.example"]
    assert not [e for c in chunks for e in c.errors]


def test_stop_reads_frames_already_sent() -> None:
    """Frames a resolver sent just before SIGTERM are in socket buffers: not lost."""
    from bluelamp.sources.fstrm import ControlType, encode_data

    listener = DnstapListener("tcp:127.0.0.1:0")
    try:
        sock = connect(listener.address)
        sock.sendall(encode_control(ControlType.START, [CONTENT_TYPE_DNSTAP])
                     + b"".join(encode_data(f) for f in _transaction("last.example", 1)))
        stop = threading.Event()
        stop.set()  # stopped before the loop ever read the connection
        chunks = list(listener.chunks(stop))
        sock.close()
    finally:
        listener.close()
    rows = [r for c in chunks if c.batch is not None for r in c.batch.to_pylist()]
    assert [r["qname"] for r in rows] == ["last.example"]


# ------------------------------------------------------------------ hostile payloads


def _decode_payloads(payloads: list[bytes]):  # type: ignore[no-untyped-def]
    import numpy as np

    from bluelamp.sources.dnstap import decode_frames

    lengths = np.array([len(p) for p in payloads], np.int64)
    ends = np.cumsum(lengths)
    return decode_frames(b"".join(payloads), ends - lengths, ends)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=120), min_size=1, max_size=12))
def test_random_payloads_never_crash(payloads: list[bytes]) -> None:
    dec = _decode_payloads(payloads)
    assert dec.table.num_rows <= len(payloads)
    assert all(0 <= i < len(payloads) for i, _ in dec.errors)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_frames_never_crash(data: st.DataObject) -> None:
    frames = [bytearray(f) for f in _transaction("m.example", 3)]
    for frame in frames:
        for _ in range(data.draw(st.integers(0, 3))):
            frame[data.draw(st.integers(0, len(frame) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(frames[1])))
    payloads = [bytes(frames[0]), bytes(frames[1][:cut])]
    dec = _decode_payloads(payloads)
    # every frame is either a row, an error, paired away or a skipped message type
    assert dec.table.num_rows + len(dec.errors) + dec.skipped <= 2
    for name in dec.table.column("qname").to_pylist():
        assert name is not None
