"""STIX 2.1 (validated by the OASIS stix2-validator in strict mode), MISP feed and RPZ zone
exports, each read back by Bluelamp's own feed parsers; and the `bluelamp share` commands."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stix2validator import ValidationOptions, validate_file, validate_string
from typer.testing import CliRunner

from bluelamp.act.share import misp, rpz, stix
from bluelamp.cli import app
from bluelamp.schema import EVENT
from bluelamp.sources.feeds.misp import Misp
from bluelamp.sources.feeds.stix import bundle_rows

from .conftest import NOW, SECRETS, share_events

STRICT = ValidationOptions(strict=True)


def _events() -> pa.Table:
    return EVENT.from_rows(share_events())


def _no_secrets(text: str) -> None:
    leaked = [s for s in SECRETS if s in text]
    assert leaked == [], f"TLP-restricted data leaked: {leaked}"


def test_stix_bundle_is_valid_in_strict_mode_and_has_every_object_kind() -> None:
    bundle = stix.bundle(_events(), "amber", notes={"s-ip-amber": "case 42"})
    result = validate_string(json.dumps(bundle), STRICT)
    assert result.is_valid, [str(e) for o in result.object_results for e in o.errors]
    kinds = {o["type"] for o in bundle["objects"]}
    assert {"indicator", "ipv4-addr", "ipv6-addr", "domain-name", "url", "malware",
            "infrastructure", "sighting", "relationship", "marking-definition", "identity",
            "note"} <= kinds
    markings = {o["id"] for o in bundle["objects"] if o["type"] == "marking-definition"}
    assert markings == {stix.TLP_IDS["clear"], stix.TLP_IDS["green"], stix.TLP_IDS["amber"]}
    _no_secrets(json.dumps(bundle))


def test_stix_round_trips_through_the_feed_parser() -> None:
    bundle = stix.bundle(_events(), "amber")
    back = {(r.get("source_ip") or r.get("source_fqdn") or r.get("source_url"), r["tlp"],
             r.get("classification_type")) for r in bundle_rows(bundle)}
    assert back == {("198.51.100.7", "amber", "infected-system"),
                    ("c2.hosting.example", "green", "c2-server"),
                    ("http://login.hosting.example/verify", "clear", "phishing"),
                    ("2001:db8:100::5", "green", "infected-system"),
                    ("phish.other.example", "clear", "phishing")}


def test_stix_clearance_green_drops_amber() -> None:
    bundle = stix.bundle(_events(), "green")
    text = json.dumps(bundle)
    assert "198.51.100.7" not in text and "c2.hosting.example" in text
    assert stix.TLP_IDS["amber"] not in text


def test_stix_ids_are_stable() -> None:
    assert stix.bundle(_events())["objects"] == stix.bundle(_events())["objects"]


# URLs as event validation admits them (scheme://host/...), names as any text
urls = st.builds(lambda p: "http://h.example/" + p, st.text(st.characters(
    min_codepoint=33, max_codepoint=126), max_size=30))
names = st.text(st.sampled_from("ab-._'\\:é"), min_size=1, max_size=30)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.tuples(urls, st.just("source_url")),
                 st.tuples(names, st.just("source_fqdn"))))
def test_stix_patterns_escape_any_value(case: tuple[str, str]) -> None:
    """Quotes and backslashes in a value cannot break the pattern (validator parses it)."""
    value, field = case
    table = EVENT.from_rows([{"id": "x", "time_observed": NOW, "feed_name": "t",
                              field: value, "tlp": "clear"}])
    bundle = stix.bundle(table)
    assert validate_string(json.dumps(bundle), STRICT).is_valid
    parsed = [r for r in bundle_rows(bundle)]
    if field == "source_url":
        assert [r.get(field) for r in parsed] == [stix.uri(value)]
    elif stix.is_hostname(value):
        assert [r.get(field) for r in parsed] == [value]
    else:  # not a name STIX accepts: left out, the bundle stays valid
        assert parsed == []


def test_misp_feed_round_trips(tmp_path: Path) -> None:
    count = misp.write_feed(_events(), tmp_path, "amber")
    assert count == 5
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert len(manifest) == 5 and all((tmp_path / f"{u}.json").exists() for u in manifest)
    hashes = (tmp_path / "hashes.csv").read_text().splitlines()
    assert len(hashes) == 8 and all(len(h.split(",")[0]) == 32 for h in hashes)
    _no_secrets("".join(p.read_text() for p in tmp_path.iterdir()))
    with (tmp_path / "manifest.json").open("rb") as fh:
        loose = list(Misp().loose(fh, str(tmp_path / "manifest.json"), batch_size=100))
    rows = pa.concat_tables([part.table for part in loose], promote_options="default").to_pylist()
    got = {(r.get("source_ip") or r.get("source_fqdn") or r.get("source_url"), r["tlp"])
           for r in rows}
    assert ("198.51.100.7", "tlp:amber") in got
    assert ("http://login.hosting.example/verify", "tlp:clear") in got
    assert len(rows) == 8


def test_rpz_zone_lists_blockable_domains_only() -> None:
    names = rpz.domains(_events(), "amber")
    assert names == ["c2.hosting.example", "login.hosting.example", "phish.other.example"]
    text = rpz.zone_text(names, "rpz.bluelamp.", serial=1)
    assert "login.hosting.example CNAME ." in text and "*.login.hosting.example CNAME ." in text
    _no_secrets(text)
    import dns.zone

    zone = dns.zone.from_text(text, origin="rpz.bluelamp.", relativize=False)
    assert zone.get_rdataset("c2.hosting.example.rpz.bluelamp.", "CNAME") is not None


def test_rpz_skips_names_that_are_not_dns_names() -> None:
    text = rpz.zone_text(["ok.example", "a" * 300 + ".example", "bad..example"], serial=1)
    assert "ok.example CNAME ." in text and "bad..example" not in text


runner = CliRunner()


def test_share_commands_write_valid_outputs(tmp_path: Path, share_lake: Path) -> None:
    out = tmp_path / "b.json"
    r = runner.invoke(app, ["share", "stix", "--out", str(out), "--since", "7d", "--tlp",
                            "amber", "--lake", str(share_lake)])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["indicators"] == 5
    assert validate_file(str(out), STRICT).is_valid
    _no_secrets(out.read_text())
    r = runner.invoke(app, ["share", "misp", "--out", str(tmp_path / "misp"), "--lake",
                            str(share_lake)])
    assert r.exit_code == 0 and json.loads(r.output)["events"] == 5, r.output
    r = runner.invoke(app, ["share", "rpz", "--out", str(tmp_path / "z.rpz"), "--zone",
                            "rpz.test.", "--lake", str(share_lake)])
    assert r.exit_code == 0 and json.loads(r.output)["domains"] == 3, r.output
    _no_secrets((tmp_path / "z.rpz").read_text())


@pytest.mark.parametrize("level", ["red", "amber+strict"])
def test_share_commands_never_write_above_amber(tmp_path: Path, share_lake: Path,
                                                level: str) -> None:
    out = tmp_path / "b.json"
    r = runner.invoke(app, ["share", "stix", "--out", str(out), "--tlp", level, "--lake",
                            str(share_lake)])
    assert r.exit_code == 0, r.output
    _no_secrets(out.read_text())


def test_share_rejects_a_bad_tlp(tmp_path: Path, share_lake: Path) -> None:
    r = runner.invoke(app, ["share", "stix", "--out", str(tmp_path / "x"), "--tlp", "purple",
                            "--lake", str(share_lake)])
    assert r.exit_code != 0 and "TLP" in r.output




@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_cursor_and_next_tokens_refuse_garbage_cleanly(text: str) -> None:
    """Client-supplied paging tokens are parsed: anything not issued by us is a clear
    ValueError (422/400 to the client), never another exception."""
    from bluelamp.act.feeds import pull
    from bluelamp.act.share import taxii

    for decode in (pull.decode_cursor, taxii.decode_next):
        with contextlib.suppress(ValueError):
            decode(text)


def test_cursor_round_trip() -> None:
    from bluelamp.act.feeds import pull

    assert pull.decode_cursor(pull.encode_cursor(NOW, "e'1")) == (NOW, "e'1")
