"""Categories of public reports and how one is suggested: the data triage works from, in one
place. (Which body acts on each category is `[reports] routes` in the settings.)"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: what a member of the public can choose; the suspension desk uses the same names
CATEGORIES: dict[str, str] = {
    "phishing": "Phishing: a fake login, bank or delivery page that asks for details",
    "fraud": "Fraud or scam: fake investment, shop that never delivers, fake support",
    "unlicensed-medicines": "Medicines sold without prescription or licence",
    "counterfeit-goods": "Counterfeit goods: fake brands, replicas",
    "malware": "Malware: a download or page that infects computers",
    "other": "Something else, or not sure",
}

#: words in the URL or the reporter's description that point at a category
KEYWORDS: dict[str, tuple[str, ...]] = {
    "unlicensed-medicines": ("pharma", "pharmacy", "pills", "meds", "rx", "viagra", "cialis",
                             "tramadol", "xanax", "prescription", "medicine"),
    "counterfeit-goods": ("replica", "replicas", "counterfeit", "fake-watch", "outlet",
                          "cheap-nike", "designer-bags", "knockoff"),
    "fraud": ("invest", "investment", "crypto", "bitcoin", "lottery", "prize", "winner",
              "loan", "giveaway", "refund", "tax-rebate", "scam"),
    "phishing": ("login", "log-in", "signin", "sign-in", "verify", "verification", "account",
                 "secure", "banking", "password", "suspended", "unlock", "wallet", "parcel",
                 "delivery"),
    "malware": ("download", ".exe", ".apk", ".scr", "invoice.zip", "update-flash", "malware"),
}

#: event and finding types in the lake that settle a category
LAKE_TYPES: dict[str, str] = {
    "phishing": "phishing", "phishing-domain": "phishing", "malware-distribution": "malware",
    "c2-server": "malware", "c2-beacon": "malware", "fraud": "fraud",
}

_WORD = re.compile(r"[a-z0-9]+(?:[-.][a-z0-9]+)*")


@dataclass(frozen=True)
class Suggestion:
    category: str
    reasons: tuple[str, ...]
    strong: bool  # backed by evidence (lake, lookalike), not only by words


def _keyword_hits(text: str) -> dict[str, list[str]]:
    words = set(_WORD.findall(text.lower()))
    parts = {p for w in words for p in re.split(r"[-.]", w)}
    hits: dict[str, list[str]] = {}
    for category, keywords in KEYWORDS.items():
        found = [k for k in keywords if k in words or k in parts or ("." in k and k in text)]
        if found:
            hits[category] = found
    return hits


def suggest(url: str, description: str, claimed: str | None, lookalike: str | None = None,
            lake_types: Iterable[str] = ()) -> Suggestion:
    """The category triage proposes, strongest evidence first: the lake's own verdict, a
    brand lookalike (phishing), words in the URL and description, the reporter's choice."""
    for t in lake_types:
        if t in LAKE_TYPES:
            return Suggestion(LAKE_TYPES[t], (f"Bluelamp's events/findings say {t}",), True)
    if lookalike:
        return Suggestion("phishing", (lookalike,), True)
    hits = _keyword_hits(f"{url} {description}")
    if claimed in CATEGORIES and claimed != "other" and claimed in hits:
        return Suggestion(claimed, (f"words {', '.join(hits[claimed])}",
                                    "the reporter's choice"), False)
    for category in KEYWORDS:  # in the order of KEYWORDS: the specific before the generic
        if category in hits:
            return Suggestion(category, (f"words {', '.join(hits[category])}",), False)
    if claimed in CATEGORIES:
        return Suggestion(str(claimed), ("the reporter's choice",), False)
    return Suggestion("other", ("nothing points at a category",), False)


def body_for(category: str | None, routes: Mapping[str, str]) -> str | None:
    """The body that acts on `category` (None: nobody by rule; triage decides)."""
    return routes.get(category or "")
