"""Golden and negative tests of the infected-client detector."""

from __future__ import annotations

from bluelamp.detect.infected import InfectedClients

from .helpers import row, run

BOTS = ("10.0.0.1", "10.0.0.2")
#: a campaign's generated names (none exists) and the one that resolves (its C2)
DEAD = [f"qwrtzp{c}x.com" for c in "abcdefgh"]
C2 = "qwrtzpmx.com"


def bot_rows(names: list[str], c2: str, cycles: int = 2, cycle_s: float = 900) -> list[dict]:
    rows = []
    for client in BOTS:
        for k in range(cycles):
            base = 60 + k * cycle_s + (7 if client.endswith("2") else 0)
            rows += [row(base + 0.35 * i, client, n, 3) for i, n in enumerate(names)]
            rows.append(row(base + 0.35 * len(names), client, c2, 0))
    return rows


def benign_rows() -> list[dict]:
    """Benign names that look random (CDN hosts, hashed ad frames) resolve; browser probes
    are single labels; a typo of a live site; a DNSBL miss under a live zone."""
    rows = []
    for i in range(20):
        client = f"10.0.1.{i}"
        rows += [
            row(100 + i, client, f"d{i}a2b3c4d5e6f{i}.cloudfront.net"),
            row(101 + i, client, f"{i}f3a9c7e1b2d4.safeframe.googlesyndication.com"),
            row(102 + i, client, "kqjzvhxwpt", 3),
            row(103 + i, client, f"xkcd{i}qzv.corp.internal", 3),
            row(104 + i, client, "www.google.com"),
            row(105 + i, client, "gooogle.com", 3),
            row(106 + i, client, f"{i}.2.0.192.zen.spamhaus.org", 3),
            row(107 + i, client, "www.spamhaus.org"),
        ]
    return rows


def test_golden_campaign_c2_and_family() -> None:
    found = run(InfectedClients(), bot_rows(DEAD, C2) + benign_rows())
    clients = sorted(f.subject for f in found if f.subject_kind == "client")
    assert clients == list(BOTS)
    c2 = [f for f in found if f.type == "dga-c2"]
    assert [f.subject for f in c2] == [C2]
    for f in found:
        if f.subject_kind != "client":
            continue
        ev = f.evidence
        assert ev["dead_nx_domains"] == len(DEAD)
        assert ev["shared_domains"] == len(DEAD)
        assert ev["nx_queries"] == 2 * len(DEAD)
        assert ev["c2_domain"] == C2
        assert ev["campaign_size"] == 2
        assert "shared" in ev["rules"]
        assert f.count == 2 * len(DEAD)
        assert f.explanation.startswith(f"Client {f.subject} got NXDOMAIN for 8 registered")
    assert len({f.evidence["campaign"] for f in found}) == 1


def test_known_family_is_named() -> None:
    names = ["mdcwmtiwmjua.com", "mdcwmtiwmjua.info", "mdcwmtiwmjua.net", "mdewmtiwmjua.org",
             "mdewmtiwmjua.com", "mdiwmtiwmjua.info", "mdiwmtiwmjua.net", "mdmwmtiwmjua.com"]
    found = run(InfectedClients(), bot_rows(names, "mdqwmtiwmjua.com"))
    families = {f.evidence["family"] for f in found}
    assert families == {"sisron"}


def test_word_list_dga_caught_by_sharing() -> None:
    """Dictionary-word names score low as DGA; two hosts failing on the same eight of them
    is the evidence."""
    words = ["gardenlight", "riverstone", "silverhouse", "morningtable", "quietforest",
             "happyorange", "goldenchair", "windowpaper"]
    names = [f"{w}.net" for w in words]
    found = run(InfectedClients(), bot_rows(names, "brightwater.net") + benign_rows())
    flagged = sorted(f.subject for f in found if f.subject_kind == "client")
    assert flagged == list(BOTS)
    assert all(f.evidence["median_dga_score"] < 0.5 for f in found
               if f.subject_kind == "client")


def test_benign_random_looking_names_are_not_flagged() -> None:
    assert run(InfectedClients(), benign_rows()) == []


def test_a_few_typos_are_not_an_infection() -> None:
    rows = [row(10 * i, "10.0.2.1", f"{n}.com", 3)
            for i, n in enumerate(["gogle", "facebok", "amazn", "yotube"])]
    rows += [row(5 + 10 * i, "10.0.2.2", f"{n}.com", 3)
             for i, n in enumerate(["gogle", "twiter"])]
    assert run(InfectedClients(), rows) == []


def test_single_bot_with_generated_names_retried() -> None:
    """One bot, no partner: its generated names come back every cycle (persistence) and look
    generated (lexical score)."""
    names = ["xkqzvbnmrtw.com", "pqlrzxwvkj.net", "zzkqxvbnwp.org", "wqzxkvbrtl.info"]
    rows = [row(60 + k * 900 + 0.35 * i, "10.0.0.9", n, 3)
            for k in range(3) for i, n in enumerate(names)]
    found = run(InfectedClients(), rows)
    assert [f.subject for f in found] == ["10.0.0.9"]
    assert found[0].evidence["rules"] == ["persistent-generated"]
    assert found[0].evidence["persistent_domains"] == len(names)
