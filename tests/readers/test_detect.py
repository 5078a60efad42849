"""Every registered reader recognises its own sample and rejects every other sample, and
`detect_format` (which tries readers by sniff priority) picks the right one."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from readers_pcapbuild import ethernet, ip_packet, pcap, pcapng, query, udp

from bluelamp.schema import DNS
from bluelamp.sources.base import SNIFF_BYTES, detect_format, readers

FIXTURES = Path(__file__).parent.parent / "fixtures"


def _parquet() -> bytes:
    buf = io.BytesIO()
    pq.write_table(DNS.empty_table(), buf)
    return buf.getvalue()


def _packet() -> list[tuple[float, bytes]]:
    return [(1.0, ethernet(ip_packet("192.0.2.1", "192.0.2.53", 17,
                                     udp(1000, 53, query("a.test")))))]


SAMPLES: dict[str, list[bytes]] = {
    "zeek": [(FIXTURES / "zeek" / "opt.basic.dns.log").read_bytes()],
    "zeek-json": [json.dumps({"ts": 1.5, "uid": "C1", "id.orig_h": "192.0.2.1",
                              "id.orig_p": 1, "query": "a.test"}).encode() + b"\n"],
    "bind": [b"21-Nov-2026 09:00:00.123 queries: info: client @0x7f3a2c0d8e10 192.0.2.1#53421"
             b" (example.com): query: example.com IN A +E(0)K (192.0.2.53)\n",
             b"Nov 21 09:00:02 ns1 named[1234]: client 192.0.2.9#5353 (x.test): query: "
             b"x.test IN A + (192.0.2.53)\n"],
    "pcap": [pcap(_packet()), pcapng(_packet())],
    "parquet": [_parquet()],
    "csv": [b'"ts","client","qname"\n2026-11-21T09:00:00Z,192.0.2.1,a.test\n'],
    "ndjson": [b'{"ts":"2026-11-21T09:00:00Z","client":"192.0.2.1","qname":"a.test"}\n'],
    "dnstap": [p.read_bytes() for p in sorted((FIXTURES / "dnstap").glob("*"))
               if p.suffix in (".dnstap", ".fstrm")],
}


def test_every_registered_reader_has_a_sample() -> None:
    assert set(readers()) <= set(SAMPLES), "add a sample for the new reader here"


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sniff_own_sample_and_reject_others(name: str) -> None:
    registered = readers()
    if name not in registered:
        pytest.skip(f"{name} reader not registered")
    for own in SAMPLES[name]:
        head = own[:SNIFF_BYTES]
        assert registered[name].sniff(head), f"{name} does not recognise its own sample"
        assert detect_format(head).name == name
    for other, samples in SAMPLES.items():
        if other == name:
            continue
        for sample in samples:
            assert not registered[name].sniff(sample[:SNIFF_BYTES]), (
                f"{name} claims the {other} sample")


def test_every_reader_has_a_section_in_docs() -> None:
    text = (Path(__file__).parent.parent.parent / "docs" / "formats.md").read_text()
    for name in readers():
        assert f"`--format {name}`" in text, f"docs/formats.md lacks a section for {name}"
