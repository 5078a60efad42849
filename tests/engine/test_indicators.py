from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bluelamp.detect.engine import Engine, default_detectors
from bluelamp.detect.indicators import IndicatorList, IndicatorMatch, indicator_match, match_names
from bluelamp.errors import InputError

from .helpers import at, dns


@pytest.fixture
def listfile(tmp_path: Path) -> Path:
    path = tmp_path / "c2.txt"
    path.write_text("# C2 list\nEvil.COM.\n*.bad.org\n203.0.113.0/24  # a net\n"
                    "198.51.100.7\n2001:db8:66::/48\n\n")
    return path


def run(table: pa.Table, det: IndicatorMatch) -> list:
    engine = Engine([det])
    return engine.process(table) + engine.flush()


def test_list_parsing(listfile: Path) -> None:
    lists = IndicatorList.from_files([listfile])
    assert lists.domains == {"evil.com": "c2.txt", "bad.org": "c2.txt"}
    assert lists.addresses == {"198.51.100.7": "c2.txt"}
    assert sorted(map(str, lists.networks)) == ["2001:db8:66::/48", "203.0.113.0/24"]


def test_bad_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("ok.example\nhttp://x/y\n")
    with pytest.raises(InputError, match=r"bad\.txt:2"):
        IndicatorList.from_files([path])


def test_match_names_most_specific_parent() -> None:
    names = pa.array(["a.b.evil.com", "evil.com", "notevil.com", "x.sub.evil.com", None,
                      "com", "evil.com.example"])
    got = match_names(names, pa.array(["evil.com", "sub.evil.com"]))
    assert got.to_pylist() == ["evil.com", "evil.com", None, "sub.evil.com", None, None,
                               None]


label = st.text(alphabet="abcxyz0-", min_size=1, max_size=4)


@given(st.lists(st.lists(label, min_size=1, max_size=5).map(".".join), max_size=30),
       st.lists(st.lists(label, min_size=1, max_size=3).map(".".join), min_size=1,
                max_size=5))
def test_match_names_agrees_with_a_plain_loop(names: list[str], listed: list[str]) -> None:
    def slow(name: str) -> str | None:
        labels = name.split(".")
        for i in range(len(labels)):
            if ".".join(labels[i:]) in listed:
                return ".".join(labels[i:])
        return None

    got = match_names(pa.array(names, pa.string()), pa.array(listed))
    assert got.to_pylist() == [slow(n) for n in names]


def test_golden_findings(listfile: Path) -> None:
    table = dns([
        {"ts": at(1), "client": "10.0.0.1", "qname": "c2.evil.com", "answers": ["192.0.2.1"]},
        {"ts": at(2), "client": "10.0.0.1", "qname": "c2.evil.com", "answers": []},
        {"ts": at(3), "client": "10.0.0.1", "qname": "www.bad.org"},
        {"ts": at(4), "client": "10.0.0.2", "qname": "cdn.example",
         "answers": ["cname.example", "203.0.113.77"]},
        {"ts": at(5), "client": "10.0.0.3", "qname": "x.example", "answers": ["198.51.100.7"]},
        {"ts": at(6), "client": "10.0.0.4", "qname": "v6.example",
         "answers": ["2001:db8:66::1", "2001:db8:67::1"]},
        {"ts": at(7), "client": "10.0.0.5", "qname": "notevil.com", "answers": ["203.0.114.1"]},
    ])
    found = run(table, indicator_match([listfile]))  # type: ignore[arg-type]
    got = {f.subject: (f.count, f.first_seen, f.last_seen,
                       [(h["indicator"], h["via"], h["count"], h["sample"])
                        for h in f.evidence["indicators"]]) for f in found}
    assert got == {
        "10.0.0.1": (3, at(1), at(3), [("evil.com", "qname", 2, "c2.evil.com"),
                                       ("bad.org", "qname", 1, "www.bad.org")]),
        "10.0.0.2": (1, at(4), at(4), [("203.0.113.0/24", "answer", 1, "203.0.113.77")]),
        "10.0.0.3": (1, at(5), at(5), [("198.51.100.7", "answer", 1, "198.51.100.7")]),
        "10.0.0.4": (1, at(6), at(6), [("2001:db8:66::/48", "answer", 1, "2001:db8:66::1")]),
    }
    first = next(f for f in found if f.subject == "10.0.0.1")
    assert first.explanation.startswith(
        "Client 10.0.0.1 looked up c2.evil.com, which matches evil.com on list c2.txt and 1 "
        "other listed indicator(s), 3 time(s) between")
    assert first.evidence["indicators"][0]["list"] == "c2.txt"
    assert {f.type for f in found} == {"indicator-match"}


def test_no_list_means_no_detector() -> None:
    assert indicator_match([]) is None
    assert "indicator-match" not in [d.name for d in default_detectors()]


def test_default_detectors_pass_options(listfile: Path) -> None:
    import datetime as dt

    dets = default_detectors(indicators=[listfile], window=dt.timedelta(minutes=10))
    names = [d.name for d in dets]
    assert "indicator-match" in names and "nxdomain-burst" in names
    assert all(d.window == dt.timedelta(minutes=10) for d in dets
               if d.name in ("indicator-match", "nxdomain-burst"))


def test_bad_answers_are_not_matched(listfile: Path) -> None:
    table = dns([{"ts": at(1), "client": "a", "qname": "q.example",
                  "answers": ["999.1.1.1", "203.0.113", "::zz", "evil.com"]}])
    assert run(table, indicator_match([listfile])) == []  # type: ignore[arg-type]


def test_settings_window_applies_only_when_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime as dt

    from bluelamp.detect import engine
    from bluelamp.detect.nxdomain import NxdomainBurst
    from bluelamp.settings import load_settings

    def five_minutes(window: dt.timedelta = dt.timedelta(minutes=5)) -> NxdomainBurst:
        return NxdomainBurst(window=window)

    monkeypatch.setattr(engine, "detector_factories", lambda: {"x": five_minutes})
    monkeypatch.delenv("BLUELAMP_ENGINE__WINDOW_SECONDS", raising=False)
    monkeypatch.setenv("BLUELAMP_CONFIG", "")
    (own,) = default_detectors(load_settings())
    assert own.window == dt.timedelta(minutes=5)
    monkeypatch.setenv("BLUELAMP_ENGINE__WINDOW_SECONDS", "600")
    (chosen,) = default_detectors(load_settings())
    assert chosen.window == dt.timedelta(minutes=10)


def test_sensor_is_carried_to_the_finding(listfile: Path) -> None:
    table = dns([{"ts": at(1), "client": "a", "qname": "x.evil.com", "sensor": "res-9"}])
    (f,) = run(table, indicator_match([listfile]))  # type: ignore[arg-type]
    assert f.sensor == "res-9"
