"""The ENISA Reference Incident Classification Taxonomy (RSIT), as data, in one place.

Every event carries `classification_taxonomy` (a class) and `classification_type` (a type
within that class). The classes and types are those of the reference taxonomy maintained by
the ENISA/TF-CSIRT working group (github.com/enisaeu/Reference-Security-Incident-Taxonomy-Task-
Force), with the machine-readable names IntelMQ uses for them, so that events map onto
IntelMQ's harmonisation without translation. The few IntelMQ-only types in `other`
(blocklist, dga-domain, proxy, tor, malware, unknown) are kept because feeds use them.
"""

from __future__ import annotations

from types import MappingProxyType

_TAXONOMY: dict[str, tuple[str, ...]] = {
    "abusive-content": ("spam", "harmful-speech", "violence"),
    "malicious-code": ("infected-system", "c2-server", "malware-distribution",
                       "malware-configuration"),
    "information-gathering": ("scanner", "sniffing", "social-engineering"),
    "intrusion-attempts": ("ids-alert", "brute-force", "exploit"),
    "intrusions": ("privileged-account-compromise", "unprivileged-account-compromise",
                   "application-compromise", "system-compromise", "burglary"),
    "availability": ("dos", "ddos", "misconfiguration", "sabotage", "outage"),
    "information-content-security": ("unauthorised-information-access",
                                     "unauthorised-information-modification", "data-loss",
                                     "data-leak"),
    "fraud": ("unauthorised-use-of-resources", "copyright", "masquerade", "phishing"),
    "vulnerable": ("weak-crypto", "ddos-amplifier", "potentially-unwanted-accessible",
                   "information-disclosure", "vulnerable-system"),
    "other": ("other", "undetermined", "blocklist", "dga-domain", "proxy", "tor", "malware",
              "unknown"),
    "test": ("test",),
}

#: class -> its types (read-only)
TAXONOMY = MappingProxyType(_TAXONOMY)
#: every class name
CLASSES: tuple[str, ...] = tuple(_TAXONOMY)
#: type -> its class. Type names are unique across classes except "other", which lives in
#: class "other"; this map is how a feed that only names a type gets its class.
CLASS_OF_TYPE = MappingProxyType({t: c for c, types in _TAXONOMY.items() for t in types})
#: every (class, type) pair that is valid
PAIRS: frozenset[tuple[str, str]] = frozenset(
    (c, t) for c, types in _TAXONOMY.items() for t in types
)


def is_valid(taxonomy: str | None, type_: str | None) -> bool:
    """True when both are null, or `type_` is a type of class `taxonomy` (or `type_` is null
    and `taxonomy` is a class)."""
    if taxonomy is None:
        return type_ is None
    if type_ is None:
        return taxonomy in _TAXONOMY
    return (taxonomy, type_) in PAIRS


def class_of(type_: str) -> str:
    """The class a type belongs to; KeyError for an unknown type."""
    return CLASS_OF_TYPE[type_]


def markdown() -> str:
    """The taxonomy as a Markdown table (for docs)."""
    lines = ["| class (`classification_taxonomy`) | types (`classification_type`) |",
             "| --- | --- |"]
    lines += [f"| `{c}` | {', '.join(f'`{t}`' for t in types)} |" for c, types in
              _TAXONOMY.items()]
    return "\n".join(lines) + "\n"
