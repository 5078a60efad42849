"""Reported URLs: undo defanging (`hxxp`, `[.]`, `(dot)`), normalise to one spelling, and
find URLs in free text and HTML.

Normalisation is idempotent (normalising a normalised URL changes nothing; a property test
checks it): scheme and host lower-case, host as IDNA A-labels or a canonical IP literal,
user info, default port and fragment dropped, percent-escapes in one spelling (unreserved
characters decoded, the rest upper-case hex), dot segments removed, empty path "/"."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlsplit

import idna

from bluelamp.domains import registered_domain
from bluelamp.errors import InputError

MAX_URL = 2048
SCHEMES = {"http": 80, "https": 443}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# "'" is escaped although RFC 3986 allows it: it is stripped as a quote around pasted URLs
_PATH_OK = _UNRESERVED | frozenset("!$&()*+,;=:@/")
_QUERY_OK = _PATH_OK | frozenset("?")
_HEX = frozenset("0123456789abcdefABCDEF")
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9_-]{1,63}\.)+[a-z0-9_-]{1,63}$")

# defanging, as analysts and mail filters write it
_SCHEME_FANG = re.compile(r"^(?:h[xt*]{2}p|h__p|hxxxp)(s?)(?:\[:\]|\[://\]|:)(?:\[//\]|//)?",
                          re.IGNORECASE)
_DOT_FANG = re.compile(r"\s*[\[({<]\s*(?:\.|dot|punkt|point)\s*[\])}>]\s*", re.IGNORECASE)
_AT_FANG = re.compile(r"\s*[\[({]\s*(?:@|at)\s*[\])}]\s*", re.IGNORECASE)
_COLON_FANG = re.compile(r"\[:\]|\[://\]")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_OTHER_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:(?!\d)", re.IGNORECASE)


class UrlError(InputError):
    """Not a URL we can act on (named in the message)."""


@dataclass(frozen=True)
class NormalUrl:
    url: str
    scheme: str
    host: str  # A-labels, or an IP address
    registered_domain: str | None  # None for IP addresses and names without one

    @property
    def is_ip(self) -> bool:
        return self.registered_domain is None and _is_ip(self.host)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def defang(text: str) -> str:
    """Undo defanging in a URL's scheme and authority (the path is left alone: `(.)` may be
    real there)."""
    text = text.strip().strip("<>\"'")
    text = re.sub(r"\s+", "", text)
    match = _SCHEME_FANG.match(text)
    if match:
        text = f"http{match.group(1).lower()}://" + text[match.end():]
    text = _COLON_FANG.sub(lambda m: "://" if "//" in m.group(0) else ":", text, count=1)
    head, sep, rest = text.partition("://")
    if not sep:
        head, rest = "", text
    cut = re.search(r"[/?#]", rest)
    authority, tail = (rest[:cut.start()], rest[cut.start():]) if cut else (rest, "")
    authority = _AT_FANG.sub("@", _DOT_FANG.sub(".", authority))
    return f"{head}{sep}{authority}{tail}"


def _percent(text: str, allowed: frozenset[str]) -> str:
    """One spelling of percent-escapes: unreserved decoded, others upper-case hex, stray '%'
    and characters outside `allowed` escaped (UTF-8)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "%" and i + 2 < n and text[i + 1] in _HEX and text[i + 2] in _HEX:
            decoded = chr(int(text[i + 1:i + 3], 16))
            out.append(decoded if decoded in _UNRESERVED else "%" + text[i + 1:i + 3].upper())
            i += 3
            continue
        if ch in allowed:
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))
        i += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, for an absolute path."""
    output: list[str] = []
    for segment in path.split("/")[1:]:
        if segment == "..":
            if output:
                output.pop()
        elif segment != ".":
            output.append(segment)
    trailing = path.endswith(("/.", "/..")) and bool(output)
    result = "/" + "/".join(output)
    return result + "/" if trailing and not result.endswith("/") else result


def _host(raw: str | None, original: str) -> str:
    if not raw:
        raise UrlError(f"{original[:200]!r}: no host name")
    host = raw.rstrip(".").lower()
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError, ValueError):
            raise UrlError(f"{original[:200]!r}: host {raw[:100]!r} is not a valid "
                           "internationalised name") from None
    if not _HOST.match(host):
        raise UrlError(f"{original[:200]!r}: {host[:100]!r} is not a host name with a domain")
    return host


def normalise(text: str, max_chars: int = MAX_URL) -> NormalUrl:
    """The one spelling of a reported URL (a bare host or defanged URL is accepted)."""
    if len(text) > max_chars:
        raise UrlError(f"URL longer than {max_chars} characters")
    cleaned = defang(text)
    if not cleaned:
        raise UrlError("empty URL")
    if not _SCHEME.match(cleaned):
        if _OTHER_SCHEME.match(cleaned):  # mailto:, javascript:, data: ... (not host:port)
            raise UrlError(f"{text[:200]!r}: only http and https URLs can be reported")
        cleaned = "http://" + cleaned.removeprefix("//")
    scheme = cleaned.split("://", 1)[0].lower()
    if scheme not in SCHEMES:
        raise UrlError(f"{text[:200]!r}: only http and https URLs can be reported")
    try:
        parts = urlsplit(cleaned)
        port = parts.port
        hostname = parts.hostname
    except ValueError as exc:
        raise UrlError(f"{text[:200]!r}: {exc}") from None
    host = _host(hostname, text)
    shown = f"[{host}]" if ":" in host else host
    netloc = shown if port in (None, SCHEMES[scheme]) else f"{shown}:{port}"
    path = _remove_dot_segments(_percent(parts.path or "/", _PATH_OK) if parts.path else "/")
    if not path.startswith("/"):
        path = "/" + path
    query = _percent(parts.query, _QUERY_OK)
    url = f"{scheme}://{netloc}{path}" + (f"?{query}" if query else "")
    if len(url) > max_chars:
        raise UrlError(f"URL longer than {max_chars} characters once normalised")
    reg = None if _is_ip(host) else registered_domain(host)
    return NormalUrl(url, scheme, host, reg)


# ------------------------------------------------------------------ finding URLs in text

_TEXT_URL = re.compile(
    r"(?:h[xt*]{2}ps?|h__ps?)(?:\[:\]|\[://\]|:)(?:\[//\]|//)[^\s<>\"'`{}|\\^]+"
    r"|\bwww(?:\.|\[\.\])[a-z0-9-]+(?:\.|\[\.\]|\(\.\))[^\s<>\"'`{}|\\^]+",
    re.IGNORECASE)
_TRAILING = ".,;:!?)]}>'\""


def find_urls(text: str, limit: int = 50) -> list[str]:
    """URL-looking strings in free text (fanged or defanged), in order, without repeats."""
    found: list[str] = []
    for match in _TEXT_URL.finditer(text):
        candidate = match.group(0)
        while candidate and candidate[-1] in _TRAILING:
            # a ")" that closes a "(" inside the URL stays (Wikipedia-style paths)
            if candidate[-1] == ")" and candidate.count("(") >= candidate.count(")"):
                break
            candidate = candidate[:-1]
        if candidate and candidate not in found:
            found.append(candidate)
            if len(found) >= limit:
                break
    return found


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src", "action") and value:
                self.links.append(value.strip())

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def find_urls_in_html(html: str, limit: int = 50) -> list[str]:
    """Link targets (href, src, form action) and URLs in the visible text of an HTML part."""
    parser = _Links()
    try:
        parser.feed(html)
        parser.close()
    except (AssertionError, ValueError):  # the stdlib parser gives up on some garbage
        pass
    found: list[str] = []
    for link in parser.links:
        if link.lower().startswith(("http://", "https://")) and link not in found:
            found.append(link)
    for url in find_urls(" ".join(parser.text), limit):
        if url not in found:
            found.append(url)
    return found[:limit]
