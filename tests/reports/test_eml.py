"""The e-mail intake parser: forwarded phishing, ARF reports, and garbage (never raises)."""

from __future__ import annotations

import contextlib
from pathlib import Path

from hypothesis import given, note, settings
from hypothesis import strategies as st

from bluelamp.act.reports.eml import parse_eml
from bluelamp.act.reports.urls import UrlError, normalise

HERE = Path(__file__).parent / "fixtures"


def test_forwarded_phish() -> None:
    parsed = parse_eml((HERE / "forwarded-phish.eml").read_bytes())
    assert parsed.reporter == "alice@citizen.example"
    assert parsed.original_from == "service@paypa1-secure.example"
    assert parsed.original_subject == "Your account has been suspended"
    assert not parsed.is_arf
    assert {normalise(u).url for u in parsed.urls} == {
        "https://paypa1-secure.example/login",
        "https://paypa1-secure.example/login?id=42",
        "https://cdn.paypa1-secure.example/logo.png"}
    assert parsed.errors == []


def test_arf_report() -> None:
    parsed = parse_eml((HERE / "arf-report.eml").read_bytes())
    assert parsed.is_arf
    assert parsed.feedback["feedback-type"] == ["fraud"]
    assert parsed.source_ip == "192.0.2.1"
    assert parsed.original_from == "billing@rx-cheap-pills.example"
    assert parsed.original_subject == "Cheap meds, no prescription"
    assert parsed.urls == ["http://rx-cheap-pills.example/buy?ref=mail"]


def test_no_urls_is_an_error_not_an_exception() -> None:
    parsed = parse_eml(b"From: a@b.example\r\nSubject: hi\r\n\r\nnothing here\r\n")
    assert parsed.urls == [] and "no http" in parsed.errors[0]


@settings(max_examples=300)
@given(st.binary(max_size=2000))
def test_garbage_never_raises(data: bytes) -> None:
    first = parse_eml(data)
    assert parse_eml(data) == first  # deterministic
    for url in first.urls:
        with contextlib.suppress(UrlError):
            normalise(url)


MIME = st.builds(
    lambda ctype, body, charset: (
        f"From: x@y.example\r\nContent-Type: {ctype}; charset={charset}\r\n"
        f"Content-Transfer-Encoding: quoted-printable\r\n\r\n{body}").encode("utf-8", "replace"),
    st.sampled_from(["text/plain", "text/html", "message/feedback-report", "message/rfc822",
                     "multipart/mixed", "multipart/report", "text/rfc822-headers"]),
    st.lists(st.one_of(st.text(max_size=30), st.sampled_from([
        "http://a.example/x", "hxxps://b[.]example/y?z=1", '<a href="https://c.example/p">',
        "www.d.example/q)", "https://e.example/%41%2f.", "https://xn--bcher-kva.example/",
        "http://[2001:db8::1]:8080/a/../b", "HTTPS://F.EXAMPLE/(x)"])), max_size=12)
    .map(" ".join),
    st.sampled_from(["utf-8", "bogus", "latin-1", ""]))


@settings(max_examples=300)
@given(MIME)
def test_structured_garbage_never_raises(data: bytes) -> None:
    parsed = parse_eml(data)
    assert len(parsed.urls) <= 50


@settings(max_examples=300)
@given(MIME)
def test_parsing_its_own_output_again_changes_nothing(data: bytes) -> None:
    """Idempotent: the normalised URLs found, written into a new message, are found again
    (those a text can carry unambiguously: a trailing '.' or ')' reads as punctuation)."""
    urls = []
    for url in parse_eml(data).urls:
        with contextlib.suppress(UrlError):
            urls.append(normalise(url).url)
    urls = [u for u in dict.fromkeys(urls) if u[-1] not in ".,;:!?)]}>'\""]
    note(f"urls: {urls}")
    message = "From: a@b.example\r\nSubject: again\r\n\r\n" + "\r\n".join(urls) + "\r\n"
    again = [normalise(u).url for u in parse_eml(message.encode()).urls]
    assert again == urls
