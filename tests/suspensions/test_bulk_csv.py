"""The bulk CSV parser: located errors, good names kept, duplicates merged (property test)."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bluelamp.act.cases.bulk import parse_names
from bluelamp.errors import InputError

LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
GOOD = st.builds(lambda a, b: f"{a}.{b}.test", LABEL, LABEL)
BAD = st.sampled_from(["not a name", "-lead.test", "trail-.test", "a..b", "x" * 64 + ".test",
                       "under_score.test", "semi;colon.test", "."])
LINE = st.one_of(GOOD.map(lambda n: ("good", n)), BAD.map(lambda n: ("bad", n)),
                 st.just(("blank", "")), st.just(("comment", "# a comment")),
                 GOOD.map(lambda n: ("good", n.upper() + ".")))


@settings(max_examples=150, deadline=None)
@given(st.lists(LINE, max_size=40), st.booleans())
def test_every_line_is_a_name_an_error_or_skipped(lines: list[tuple[str, str]],
                                                  header: bool) -> None:
    text = ["domain,note"] if header else []
    text += [f"{v},x" if header and kind in ("good", "bad") else v for kind, v in lines]
    result = parse_names(io.BytesIO("\n".join(text).encode()), "up.csv")
    offset = 2 if header else 1
    expected_errors = [i + offset for i, (k, _) in enumerate(lines) if k == "bad"]
    assert [e.location.line for e in result.errors] == expected_errors
    assert all(e.location.source == "up.csv" for e in result.errors)
    first: dict[str, int] = {}
    for i, (kind, value) in enumerate(lines):
        if kind == "good":
            first.setdefault(value.lower().rstrip("."), i + offset)
    assert result.names == list(first)
    assert result.lines == list(first.values())
    goods = [v.lower().rstrip(".") for k, v in lines if k == "good"]
    assert sum(result.merged.values()) == len(goods) - len(first)


def test_urls_give_their_host_and_idn_becomes_a_label() -> None:
    result = parse_names([b"https://Shop.Reg.Test/buy?x=1", "bücher.reg.test".encode()], "f")
    assert result.names == ["shop.reg.test", "xn--bcher-kva.reg.test"]


def test_undecodable_and_overlong_lines_are_located() -> None:
    result = parse_names([b"ok.reg.test", b"\xff\xfe.reg.test", b"a" * 5000, b"ok2.reg.test"],
                         "f.csv")
    assert result.names == ["ok.reg.test", "ok2.reg.test"]
    assert [(e.location.line, e.message) for e in result.errors] == [
        (2, "not UTF-8"), (3, "line too long")]


def test_too_many_names_is_refused_naming_the_line() -> None:
    lines = [f"n{i}.reg.test".encode() for i in range(11)]
    with pytest.raises(InputError, match=r"f\.csv:11"):
        parse_names(lines, "f.csv", max_names=10)


def test_a_header_without_domain_column_is_data() -> None:
    result = parse_names([b"name.reg.test,other", b"two.reg.test"], "f")
    assert result.names == ["name.reg.test", "two.reg.test"]


def test_25000_names_parse_quickly() -> None:
    import time

    data = "\n".join(f"name{i}.reg.test" for i in range(25_000)).encode()
    start = time.perf_counter()
    result = parse_names(io.BytesIO(data), "big.csv")
    assert len(result.names) == 25_000 and not result.errors
    assert time.perf_counter() - start < 10  # generous: a shared CI machine
