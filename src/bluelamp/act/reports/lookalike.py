"""Is a reported host a lookalike of a protected brand? Triage's view of
`bluelamp.detect.brands`, the decision the DNS lookalike detector uses too (same skeleton,
same kinds, same scores, the same brand and keyword lists by default).

A reported URL is already suspect, so triage also asks for the two host kinds the
detector leaves out: *subdomain* (`paypal.com.account-check.example`) and *tld-swap*
(`paypal.support`). The brand's own registered domains (and names under them) are never
lookalikes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bluelamp.detect.brands import Brands, Verdict
from bluelamp.settings import DetectSettings, ReportSettings, Settings

#: hosts whose verdict a checker remembers (a campaign reports one host many times; intake
#: and triage both check it); emptied when it would grow past this
MEMO = 10_000


class LookalikeChecker:
    """Checks host names against a protected-brand list (brand → its genuine domains)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> LookalikeChecker:
        """`[reports] protected_brands`, else the detector's `[detect] protected_brands`;
        the detector's `[detect] lookalike_keywords`."""
        return cls(settings.reports.protected_brands or settings.detect.protected_brands,
                   settings.detect.lookalike_keywords)

    @classmethod
    def for_reports(cls, conf: ReportSettings) -> LookalikeChecker:
        """From the `[reports]` section alone (the detector's default brands when empty)."""
        return cls(conf.protected_brands or DetectSettings().protected_brands)

    def __init__(self, brands: Mapping[str, Sequence[str]],
                 keywords: Sequence[str] | None = None) -> None:
        """`keywords`: what makes a brand + word label a combosquat (default: the
        detector's default `[detect] lookalike_keywords`)."""
        words = DetectSettings().lookalike_keywords if keywords is None else keywords
        self.brands = Brands(brands, words, host_kinds=True)
        self._memo: dict[str, Verdict | None] = {}

    def check(self, host: str) -> Verdict | None:
        """The strongest imitation of a protected brand in `host`, or None."""
        return self.check_all([host])[0]

    def check_all(self, hosts: Sequence[str]) -> list[Verdict | None]:
        """`check` of many hosts, the ones not remembered in one query. (Safe to call from
        several threads: the memo is only read with `get` and replaced wholesale.)"""
        memo = self._memo
        known = {h: memo[h] for h in set(hosts) if h in memo}
        fresh = [h for h in dict.fromkeys(hosts) if h not in known]
        if fresh:
            found = dict(zip(fresh, self.brands.verdicts(fresh), strict=True))
            known.update(found)
            self._memo = ({} if len(memo) + len(found) > MEMO else dict(memo)) | found
        return [known[h] for h in hosts]
