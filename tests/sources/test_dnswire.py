"""The bulk DNS wire parser against dnspython (the reference) and against hostile bytes."""

from __future__ import annotations

import dns.flags
import dns.ipv6
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bluelamp.sources.dnswire import decode_messages


def _decode(messages: list[bytes]):  # type: ignore[no-untyped-def]
    lengths = np.array([len(m) for m in messages], np.int64)
    ends = np.cumsum(lengths)
    return decode_messages(b"".join(messages), ends - lengths, ends)


def _label_text(label: bytes) -> str:
    """The documented presentation rule, written independently of the implementation."""
    text = ""
    for byte in label:
        if 65 <= byte <= 90:
            byte += 32
        if byte in b".\\":
            text += "\\" + chr(byte)
        elif 33 <= byte <= 126:
            text += chr(byte)
        else:
            text += f"\\{byte:03d}"
    return text


def _name_text(name: dns.name.Name) -> str:
    labels = [lab for lab in name.labels if lab]
    return ".".join(_label_text(lab) for lab in labels) if labels else "."


def _txt_text(strings: tuple[bytes, ...]) -> str:
    return "".join(chr(b) if 32 <= b <= 126 and b != 92 else ("\\\\" if b == 92 else
                                                             f"\\{b:03d}")
                   for b in b"".join(strings))


labels = st.one_of(
    st.from_regex(r"[a-zA-Z0-9-]{1,20}", fullmatch=True).map(str.encode),
    st.binary(min_size=1, max_size=12),
)
names = st.lists(labels, min_size=0, max_size=5).map(
    lambda ls: dns.name.Name([*ls, b""])).filter(lambda n: len(n.to_wire()) <= 255)
answers = st.one_of(
    st.tuples(st.just("A"), st.binary(min_size=4, max_size=4).map(
        lambda b: ".".join(str(x) for x in b))),
    st.tuples(st.just("AAAA"), st.binary(min_size=16, max_size=16).map(dns.ipv6.inet_ntoa)),
    st.tuples(st.sampled_from(["CNAME", "NS", "PTR"]), names),
    st.tuples(st.just("MX"), names),
    st.tuples(st.just("TXT"), st.lists(st.binary(max_size=20), min_size=1, max_size=3)),
)


def _build(qname: dns.name.Name, qtype: int, rcode: int, is_response: bool,
           records: list[tuple[str, object]], ttls: list[int]) -> dns.message.Message:
    q = dns.message.make_query(qname, qtype)
    if not is_response:
        return q
    r = dns.message.make_response(q)
    r.set_rcode(rcode)
    for (rtype, value), ttl in zip(records, ttls, strict=True):
        if rtype in ("A", "AAAA"):
            rd = dns.rdata.from_text("IN", rtype, str(value))
        elif rtype == "MX":
            rd = dns.rdata.from_text("IN", "MX", "10 " + value.to_text())  # type: ignore[attr-defined]
        elif rtype == "TXT":
            import dns.rdtypes.ANY.TXT as txt

            rd = txt.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, value)  # type: ignore[arg-type]
        else:
            rd = dns.rdata.from_text("IN", rtype, value.to_text())  # type: ignore[attr-defined]
        rrset = dns.rrset.RRset(qname, dns.rdataclass.IN, rd.rdtype)
        rrset.add(rd, ttl)
        r.answer.append(rrset)
    return r


def _expected(records: list[tuple[str, object]]) -> list[str]:
    out = []
    for rtype, value in records:
        if rtype in ("A", "AAAA"):
            out.append(str(value))
        elif rtype == "TXT":
            out.append(_txt_text(tuple(value)))  # type: ignore[arg-type]
        else:
            out.append(_name_text(value))  # type: ignore[arg-type]
    return out


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(names, st.sampled_from([1, 2, 5, 15, 16, 28, 65, 255]),
                          st.integers(0, 15), st.booleans(),
                          st.lists(answers, max_size=4), st.integers(0, 2**31 - 1)),
                min_size=1, max_size=8))
def test_round_trip_matches_dnspython(cases: list[tuple]) -> None:  # type: ignore[type-arg]
    msgs = [_build(name, qtype, rcode, resp, recs, [ttl + i for i in range(len(recs))])
            for name, qtype, rcode, resp, recs, ttl in cases]
    wires = [m.to_wire() for m in msgs]
    dec = _decode(wires)
    assert dec.errors == []
    for i, ((_name, qtype, rcode, resp, recs, ttl), wire) in enumerate(zip(cases, wires,
                                                                          strict=True)):
        parsed = dns.message.from_wire(wire)  # the reference parse of the same bytes
        assert dec.qname[i].as_py() == _name_text(parsed.question[0].name)
        assert dec.qtype[i].as_py() == qtype
        assert dec.size[i].as_py() == len(wire)
        assert bool(dec.is_response[i]) == resp
        if resp:
            assert dec.rcode[i].as_py() == rcode
            # one RRset per record was appended, so the wire holds them in input order
            assert dec.answers[i].as_py() == _expected(recs)
            assert dec.ttl[i].as_py() == (ttl if recs else None)
        else:
            assert dec.rcode[i].as_py() is None and dec.answers[i].as_py() is None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=80), min_size=1, max_size=10))
def test_random_bytes_never_crash(blobs: list[bytes]) -> None:
    dec = _decode(blobs)
    n = len(blobs)
    assert len(dec.qname) == len(dec.qtype) == len(dec.answers) == len(dec.ttl) == n
    bad = {i for i, _ in dec.errors}
    assert bad <= set(range(n))
    for i in bad:
        assert dec.qname[i].as_py() is None
    for i in set(range(n)) - bad:
        assert dec.qname[i].as_py() is not None


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_messages_never_crash(data: st.DataObject) -> None:
    msg = _build(dns.name.from_text("a.example.com"), 1, 0, True,
                 [("CNAME", dns.name.from_text("b.example.com")), ("A", "192.0.2.1")],
                 [10, 20])
    wire = bytearray(msg.to_wire())
    for _ in range(data.draw(st.integers(1, 4))):
        wire[data.draw(st.integers(0, len(wire) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(wire)))
    dec = _decode([bytes(wire), bytes(wire[:cut])])
    assert len(dec.qname) == 2


def _header(qd: int = 1, an: int = 0, flags: int = 0x8180) -> bytes:
    return b"\x12\x34" + flags.to_bytes(2, "big") + qd.to_bytes(2, "big") + \
        an.to_bytes(2, "big") + b"\x00\x00\x00\x00"


def test_pointer_loops_and_forward_pointers_are_errors() -> None:
    loop = _header() + b"\xc0\x0c" + b"\x00\x01\x00\x01"  # points at itself
    forward = _header() + b"\xc0\x0e\x00" + b"\x00\x01\x00\x01"
    dec = _decode([loop, forward])
    assert [i for i, _ in dec.errors] == [0, 1]
    assert "pointer" in dec.errors[0][1]


def test_answer_pointer_chain_loop_is_an_error() -> None:
    # answer owner is a pointer to a label followed by a pointer back to that label
    q = b"\x01a\x00\x00\x01\x00\x01"
    rr = b"\x01b\xc0\x1d" + b"\x00\x01\x00\x01\x00\x00\x00\x05\x00\x04\x01\x02\x03\x04"
    dec = _decode([_header(an=1) + q + rr])
    assert dec.errors and dec.qname[0].as_py() is None


def test_too_long_name_is_an_error() -> None:
    name = b"".join(b"\x3f" + b"a" * 63 for _ in range(4)) + b"\x00"  # 257 bytes
    dec = _decode([_header() + name + b"\x00\x01\x00\x01"])
    assert dec.errors and "name" in dec.errors[0][1]


def test_short_header_no_question_and_truncated_answers() -> None:
    good = _build(dns.name.from_text("ok.example"), 1, 0, True, [("A", "192.0.2.7")], [5])
    wire = good.to_wire()
    dec = _decode([b"\x00" * 11, _header(qd=0), wire[:-3], wire])
    reasons = dict(dec.errors)
    assert set(reasons) == {0, 1, 2}
    assert "header" in reasons[0] and "QDCOUNT" in reasons[1] and "truncated" in reasons[2]
    assert dec.qname[3].as_py() == "ok.example" and dec.answers[3].as_py() == ["192.0.2.7"]


def test_escapes_and_case() -> None:
    name = dns.name.Name([b"MiXeD", b"a.b", b"sp ace", b"\xff\\", b""])
    dec = _decode([dns.message.make_query(name, "A").to_wire(),
                   dns.message.make_query(dns.name.root, "NS").to_wire()])
    assert dec.qname.to_pylist() == ["mixed.a\\.b.sp\\032ace.\\255\\\\", "."]


def test_empty_input() -> None:
    dec = decode_messages(b"", np.zeros(0, np.int64), np.zeros(0, np.int64))
    assert len(dec.qname) == 0 and dec.errors == []


def test_names_that_start_with_a_pointer() -> None:
    """A target compressed to a pointer at its first byte (then labels after the jump)."""
    q = dns.message.make_query("www.example.com", "A")
    r = dns.message.make_response(q)
    r.answer.append(dns.rrset.from_text("www.example.com.", 5, "IN", "CNAME", "example.com."))
    r.answer.append(dns.rrset.from_text("example.com.", 5, "IN", "CNAME", "www.example.com."))
    r.answer.append(dns.rrset.from_text("www.example.com.", 5, "IN", "MX", "0 ."))
    dec = _decode([r.to_wire()])
    assert dec.answers[0].as_py() == ["example.com", "www.example.com", "."]
