"""The hand-written DNS encoder against dnspython (the reference parser)."""

from __future__ import annotations

from ipaddress import ip_address

import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdatatype
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bluelamp.simulate import dnsenc

LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=20)
NAME = st.lists(LABEL, min_size=1, max_size=5).map(".".join)
RAW_LABEL = st.binary(min_size=1, max_size=30)
IPV4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
IPV6 = st.ip_addresses(v=6).map(str)


def _escaped(label: bytes) -> str:
    """Presentation form of a raw label, as dnspython writes it."""
    return dns.name.Name([label, b""]).to_text(omit_final_dot=True)


@given(st.lists(RAW_LABEL, min_size=1, max_size=4))
def test_names_with_any_bytes_encode_as_dnspython_does(labels: list[bytes]) -> None:
    text = ".".join(_escaped(label) for label in labels)
    assert dnsenc.name_to_wire(text) == dns.name.Name([*labels, b""]).to_wire()


@given(NAME, st.sampled_from([1, 28, 16, 15, 65, 43, 48, 12, 33, 10]), st.integers(0, 65535),
       st.booleans())
def test_queries_parse(qname: str, qtype: int, txid: int, do: bool) -> None:
    msg = dns.message.from_wire(dnsenc.encode_query(txid, qname, qtype, do=do))
    assert msg.id == txid
    assert msg.question[0].name == dns.name.from_text(qname)
    assert msg.question[0].rdtype == qtype
    assert msg.edns == 0 and bool(msg.ednsflags & 0x8000) == do
    assert msg.flags & 0x0100  # RD


ANSWERS = st.one_of(
    st.tuples(st.just(1), st.lists(NAME, max_size=2, unique=True),
              st.lists(IPV4, min_size=1, max_size=4, unique=True)),
    st.tuples(st.just(28), st.lists(NAME, max_size=2, unique=True), st.lists(
        IPV6, min_size=1, max_size=3, unique=True)),
    st.tuples(st.just(5), st.just([]), st.lists(NAME, min_size=1, max_size=1)),
    st.tuples(st.just(12), st.just([]), st.lists(NAME, min_size=1, max_size=2, unique=True)),
    st.tuples(st.just(15), st.just([]), st.lists(
        st.tuples(st.integers(0, 100), NAME).map(lambda t: f"{t[0]} {t[1]}"), min_size=1,
        max_size=3, unique=True)),
    st.tuples(st.just(16), st.just([]), st.lists(
        st.text(alphabet="abcXYZ =;:/+0123", max_size=600), min_size=1, max_size=2,
        unique=True)),
    st.tuples(st.just(10), st.just([]), st.lists(
        st.binary(min_size=1, max_size=200).map(lambda b: f"\\# {len(b)} {b.hex()}"),
        min_size=1, max_size=1)),
)


@settings(max_examples=150, deadline=None)
@given(NAME, ANSWERS, st.integers(0, 65535), st.integers(0, 86400))
def test_responses_parse_and_match(qname: str, spec: tuple[int, list[str], list[str]],
                                   txid: int, ttl: int) -> None:
    qtype, chain, records = spec
    assume(qname not in chain)  # a chain that loops back is not an answer
    answers = [*chain, *records]
    wire = dnsenc.encode_response(txid, qname, qtype, 0, answers, ttl)
    msg = dns.message.from_wire(wire)
    assert msg.id == txid and msg.rcode() == dns.rcode.NOERROR
    assert msg.flags & 0x8000 and msg.flags & 0x0080  # QR, RA
    got_chain = [rr for rr in msg.answer if rr.rdtype == 5 and qtype != 5]
    assert [str(rr[0].target).rstrip(".") for rr in got_chain] == chain
    final = [rr for rr in msg.answer if rr.rdtype == qtype]
    values = [rd for rr in final for rd in rr]
    assert len(values) == len(records)
    if qtype in (1, 28):  # compared as addresses: text forms of e.g. ::ffff:0:0 differ
        assert sorted(ip_address(str(v)) for v in values) == sorted(map(ip_address, records))
    if qtype == 16:
        assert sorted(b"".join(v.strings).decode() for v in values) == sorted(records)
    # the owner of each record follows the chain
    owner = dns.name.from_text(qname)
    for rr in msg.answer:
        assert rr.name == owner
        if rr.rdtype == 5 and qtype != 5:
            owner = rr[0].target
    assert all(rr.ttl == ttl for rr in msg.answer)
    assert dnsenc.response_size(qname, qtype, 0, answers) == len(wire)


@given(NAME, st.sampled_from([1, 28, 16, 33, 64]), st.sampled_from([0, 2, 3, 5]))
def test_negative_answers_carry_an_soa(qname: str, qtype: int, rcode: int) -> None:
    wire = dnsenc.encode_response(7, qname, qtype, rcode, [], None)
    msg = dns.message.from_wire(wire)
    assert msg.rcode() == rcode and not msg.answer
    assert msg.authority[0].rdtype == dns.rdatatype.SOA
    assert dnsenc.response_size(qname, qtype, rcode, []) == len(wire)


@pytest.mark.parametrize(("qtype", "answer"), [
    (65, '1 . alpn="h2,h3"'),
    (43, "12345 13 2 " + "ab" * 32),
    (48, "257 3 13 " + "A" * 88),
    (33, "0 100 389 dc1.corp.internal."),
])
def test_other_record_types_parse(qtype: int, answer: str) -> None:
    msg = dns.message.from_wire(dnsenc.encode_response(1, "x.example.net", qtype, 0,
                                                       [answer], 60))
    assert msg.answer[0].rdtype == qtype
    assert msg.answer[0][0] == dns.rdata.from_text("IN", qtype, answer)


def test_bad_names_are_refused() -> None:
    with pytest.raises(ValueError, match="label length"):
        dnsenc.name_to_wire("a..b")
    with pytest.raises(ValueError, match="label length"):
        dnsenc.name_to_wire("x" * 64 + ".com")
    with pytest.raises(ValueError, match="255"):
        dnsenc.name_to_wire(".".join(["abcdefghi"] * 30))
