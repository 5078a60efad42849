"""Is a host name a lookalike of a protected brand? (One host at a time, for triage.)

Written when Bluelamp had no brand detector; the DNS detector `bluelamp.detect.lookalike`
now works on whole windows of traffic and needs a keyword next to the brand for a
combosquat, while a reported URL is already suspect, so triage keeps this small checker
(same brand list by default: `LookalikeChecker.from_settings`). The registered label and
the subdomain labels are reduced to a "skeleton" (IDNA decoded, NFKC, common
homoglyphs and digit substitutions folded, hyphens dropped) and compared with each brand:

- homoglyph: the skeleton is the brand but the label is not (раураl, paypa1, rnicrosoft);
- typosquat: the label is within one or two edits of the brand (paypall, amazn);
- combosquat: the brand is a hyphen-separated token of the label, or (brands of five or
  more letters) a part of it (paypal-secure-login, securepaypal);
- subdomain: a subdomain label carries the brand (paypal.com.account-check.example);
- tld-swap: the label is the brand under another suffix (paypal.support).

The brand's own registered domains (and names under them) are never lookalikes."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import idna

from bluelamp.domains import split_name
from bluelamp.settings import DetectSettings, ReportSettings, Settings

# Latin lookalikes from Cyrillic and Greek, and the usual digit substitutions.
_GLYPHS = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i",
    "ј": "j", "ѕ": "s", "һ": "h", "ԁ": "d", "ɡ": "g", "ո": "n", "ν": "v", "α": "a",
    "ο": "o", "ρ": "p", "τ": "t", "ι": "i", "κ": "k", "ε": "e", "ѵ": "v", "ӏ": "l",
    "0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
    "$": "s", "@": "a", "!": "i", "|": "l",
})
_PAIRS = (("rn", "m"), ("vv", "w"), ("cl", "d"), ("ii", "u"))
KIND_SCORE = {"homoglyph": 0.95, "typosquat": 0.85, "combosquat": 0.8, "subdomain": 0.75,
              "tld-swap": 0.7}


@dataclass(frozen=True)
class Lookalike:
    brand: str
    kind: str
    score: float
    label: str  # the label that imitates the brand

    def describe(self) -> str:
        return f"{self.kind} of the protected brand {self.brand!r} ({self.label!r})"


def _unicode(label: str) -> str:
    if label.startswith("xn--"):
        try:
            return idna.decode(label)
        except (idna.IDNAError, UnicodeError, ValueError):
            return label
    return label


def skeleton(label: str) -> str:
    """The label as a reader sees it: IDNA decoded, compatibility-folded, homoglyphs and
    digit substitutions replaced by Latin letters, accents and hyphens dropped."""
    text = unicodedata.normalize("NFKD", _unicode(label).lower())
    text = "".join(c for c in text if not unicodedata.combining(c)).translate(_GLYPHS)
    for pair, letter in _PAIRS:
        text = text.replace(pair, letter)
    return text.replace("-", "").replace("_", "")


def edit_distance(a: str, b: str, cap: int = 3) -> int:
    """Damerau-Levenshtein (adjacent transpositions) distance, or `cap` when larger."""
    if abs(len(a) - len(b)) >= cap:
        return cap
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return min(prev[-1], cap)


class LookalikeChecker:
    """Checks host names against a protected-brand list (brand → its genuine domains)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> LookalikeChecker:
        """`[reports] protected_brands`, else the detector's `[detect] protected_brands`."""
        return cls(settings.reports.protected_brands or settings.detect.protected_brands)

    @classmethod
    def for_reports(cls, conf: ReportSettings) -> LookalikeChecker:
        """From the `[reports]` section alone (the detector's default brands when empty)."""
        return cls(conf.protected_brands or DetectSettings().protected_brands)

    def __init__(self, brands: Mapping[str, Sequence[str]]) -> None:
        self.brands = {b.lower(): tuple(d.lower().strip(".") for d in ds)
                       for b, ds in brands.items() if b.strip()}

    def _genuine(self, host: str, brand: str) -> bool:
        return any(host == d or host.endswith("." + d) for d in self.brands[brand])

    def check(self, host: str) -> Lookalike | None:
        """The strongest imitation of a protected brand in `host`, or None."""
        parts = split_name(host.lower().strip("."))
        if parts is None:
            return None
        best: Lookalike | None = None
        for brand in self.brands:
            if self._genuine(host.lower(), brand):
                continue
            found = self._match(brand, parts.label, parts.subdomain)
            if found and (best is None or found.score > best.score):
                best = found
        return best

    def _match(self, brand: str, label: str, subdomain: str) -> Lookalike | None:
        target = skeleton(brand)
        skel = skeleton(label)
        tokens = [skeleton(t) for t in label.split("-")]
        if label == brand:
            return Lookalike(brand, "tld-swap", KIND_SCORE["tld-swap"], label)
        if skel == target:
            return Lookalike(brand, "homoglyph", KIND_SCORE["homoglyph"], label)
        if _typo(skel, target):
            return Lookalike(brand, "typosquat", KIND_SCORE["typosquat"], label)
        if target in tokens or (len(target) >= 5 and target in skel):
            return Lookalike(brand, "combosquat", KIND_SCORE["combosquat"], label)
        for sub in filter(None, subdomain.split(".")):
            if skeleton(sub) == target or target in [skeleton(t) for t in sub.split("-")]:
                return Lookalike(brand, "subdomain", KIND_SCORE["subdomain"], sub)
        return None


def _squeeze(text: str) -> str:
    return "".join(c for i, c in enumerate(text) if i == 0 or c != text[i - 1])


def _typo(skel: str, target: str) -> bool:
    """Within one edit (two for brands longer than six letters); a brand of three letters
    only counts a doubled letter (dhll), as one edit of a short name hits too many words."""
    if len(target) < 4:
        return skel != target and _squeeze(skel) == _squeeze(target)
    return edit_distance(skel, target) <= (1 if len(target) <= 6 else 2)
