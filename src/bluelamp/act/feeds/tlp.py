"""Traffic Light Protocol 2.0 as an order, and the one gate every outgoing channel uses.

Levels rank clear < green < amber < amber+strict < red. A recipient has a *clearance* (the
highest level it may receive); nothing above it leaves. Sharing channels never carry
amber+strict (the recipient's own organisation only, which an automated feed cannot
guarantee) or red (named people only): `MAX_SHARED` caps every clearance. An event without a
label is treated as amber, as the subscriber view does.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bluelamp.schema import TLP_LEVELS

RANK = {level: i for i, level in enumerate(TLP_LEVELS)}
RANK["white"] = RANK["clear"]  # TLP 1.0 spelling
UNLABELLED = "amber"
MAX_SHARED = "amber"
#: clearances a recipient may be given (amber+strict and red never leave automatically)
CLEARANCES = TLP_LEVELS[: RANK[MAX_SHARED] + 1]
#: rank of a value that is not a TLP level: above red, so it never passes
UNKNOWN_RANK = len(TLP_LEVELS)


def rank(level: str) -> int:
    """Rank of one level name (case-insensitive, 'tlp:' prefix allowed)."""
    key = level.strip().lower().removeprefix("tlp:").strip()
    if key not in RANK:
        raise ValueError(f"not a TLP level: {level!r} (one of {', '.join(TLP_LEVELS)})")
    return RANK[key]


def clearance(level: str) -> str:
    """A recipient clearance, capped at MAX_SHARED."""
    r = min(rank(level), RANK[MAX_SHARED])
    return TLP_LEVELS[r]


def ranks(tlp: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Per-row rank of a TLP column (null → amber, unknown spelling → above red)."""
    text = pc.utf8_lower(pc.fill_null(tlp, UNLABELLED))
    text = pc.replace_substring_regex(text, r"^tlp:\s*", "")
    keys = pa.array(list(RANK))
    values = np.array(list(RANK.values()), dtype=np.int64)
    idx = pc.index_in(text, value_set=keys)
    idx_np = np.asarray(pc.fill_null(idx, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
    return np.where(idx_np >= 0, values[np.maximum(idx_np, 0)], UNKNOWN_RANK)


def shareable(events: pa.Table, level: str) -> pa.Table:
    """The rows of `events` a recipient with clearance `level` may receive."""
    if events.num_rows == 0:
        return events
    limit = RANK[clearance(level)]
    return events.filter(pa.array(ranks(events.column("tlp")) <= limit))
