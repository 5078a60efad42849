"""URL normalisation and defanging: examples, and properties (never crash, idempotent)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bluelamp.act.reports.urls import UrlError, defang, find_urls, find_urls_in_html, normalise


@pytest.mark.parametrize(("raw", "url"), [
    ("hxxp://evil[.]example/login", "http://evil.example/login"),
    ("hxxps[:]//secure-login(dot)bank[.]example/a/../b?x=1#frag",
     "https://secure-login.bank.example/b?x=1"),
    ("HXXPS://Evil.Example:443/%7euser/%2fx", "https://evil.example/~user/%2Fx"),
    ("evil{.}example", "http://evil.example/"),
    ("<http://paypal.com@phish.example:8080/p a th>", "http://phish.example:8080/path"),
    ("http://[2001:DB8::1]/", "http://[2001:db8::1]/"),
    ("http://bücher.example/", "http://xn--bcher-kva.example/"),
    ("www[.]shop[.]example/cheap", "http://www.shop.example/cheap"),
    ("'https://evil.example/it's'", "https://evil.example/it%27s"),
    ("httpbin.example/get", "http://httpbin.example/get"),
])
def test_examples(raw: str, url: str) -> None:
    assert normalise(raw).url == url


@pytest.mark.parametrize("raw", ["", "ftp://x.example/", "javascript:alert(1)",
                                 "http://localhost/", "http://exa mple/",
                                 "http://x.example:99999/", "mailto:a@b.example",
                                 "example.com/redirect?u=http://x.example"])
def test_refused(raw: str) -> None:
    if raw == "example.com/redirect?u=http://x.example":  # a bare host with a URL inside is fine
        assert normalise(raw).host == "example.com"
        return
    with pytest.raises(UrlError):
        normalise(raw)


def test_registered_domain() -> None:
    n = normalise("https://a.b.evil.co.uk/x")
    assert (n.host, n.registered_domain) == ("a.b.evil.co.uk", "evil.co.uk")
    assert normalise("http://192.0.2.1/x").registered_domain is None


def test_find_urls_in_text_and_html() -> None:
    text = ("Look at hxxp://evil[.]example/a). Also (https://b.example/x_(y)) and "
            "www.shop.example/z.")
    assert find_urls(text) == ["hxxp://evil[.]example/a", "https://b.example/x_(y)",
                               "www.shop.example/z"]
    html = '<a href="https://c.example/login">click</a> text http://d.example/q'
    assert find_urls_in_html(html) == ["https://c.example/login", "http://d.example/q"]


URLISH = st.one_of(
    st.text(max_size=200),
    st.builds(lambda s, h, p: f"{s}{h}{p}",
              st.sampled_from(["http://", "hxxps[:]//", "https://", "", "//", "HTTP://"]),
              st.from_regex(r"[a-zA-Z0-9\-\[\]().é]{1,30}\.[a-z]{2,6}", fullmatch=True),
              st.text(alphabet=st.characters(codec="utf-8"), max_size=60)),
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(URLISH)
def test_normalise_never_crashes_and_is_idempotent(raw: str) -> None:
    try:
        first = normalise(raw)
    except UrlError:
        return
    again = normalise(first.url)
    assert again == first
    assert defang(first.url) == first.url


@settings(max_examples=200)
@given(st.text(max_size=400))
def test_find_urls_is_idempotent(text: str) -> None:
    found = find_urls(text)
    assert find_urls(" ".join(found)) == found
    find_urls_in_html(text)  # never raises
