"""The remediation knowledge base covers every ENISA type, and has its own entry for every
type our detectors and feeds produce."""

from __future__ import annotations

import pytest

from bluelamp import taxonomy
from bluelamp.events import FINDING_CLASSES
from bluelamp.web.advice import ADVICE, DEFAULT, advice_for

# types the feed parsers set (sources/feeds: abuse.ch, lists, phishing, Shadowserver,
# Spamhaus, STIX) besides those findings map to
FEED_TYPES = {"malware-distribution", "c2-server", "infected-system", "scanner", "phishing",
              "system-compromise", "brute-force", "spam", "weak-crypto", "vulnerable-system",
              "blocklist", "proxy", "ddos-amplifier"}


@pytest.mark.parametrize("event_type", sorted(taxonomy.CLASS_OF_TYPE))
def test_every_enisa_type_has_fitting_advice(event_type: str) -> None:
    advice = advice_for(event_type)
    if taxonomy.CLASS_OF_TYPE[event_type] not in ("other", "test"):
        assert advice is not DEFAULT
    assert advice.title and advice.why and len(advice.steps) >= 2


def test_produced_types_have_their_own_entry() -> None:
    produced = {t for _, _, _, t in FINDING_CLASSES} | FEED_TYPES
    assert produced - set(ADVICE) == set()


def test_identifier_is_more_specific_than_type() -> None:
    assert advice_for("undetermined", "nxdomain-burst").title == ADVICE["undetermined"].title
    assert advice_for("no-such-type") is DEFAULT
