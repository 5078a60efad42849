"""Bulk DNS wire-format decoding (RFC 1035) into Arrow columns.

Why hand-written: dnstap, pcap and the live listener hand us hundreds of thousands of DNS
messages a second. dnspython builds a Python object per message, name and record, which is
about fifty times too slow for that path. Here every message of a batch is decoded at once:
the messages sit in one buffer with start/end offsets, and numpy walks all of them in
lock-step (header, then label after label of every name, then answer record after answer
record). The Python-level loop runs once per *label position* or *record position*, not once
per message. dnspython stays the reference in the tests (round trips must agree).

Only what the `dns` schema needs is decoded: first question (name, type), RCODE, answer
records (A/AAAA addresses, CNAME/DNAME/NS/PTR/MX targets, TXT text) and their smallest TTL.
"""

from __future__ import annotations

import itertools
import socket
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

I64 = np.int64

#: answer types rendered into `answers`; other types still count for `ttl`
TYPE_A, TYPE_NS, TYPE_CNAME, TYPE_PTR, TYPE_MX, TYPE_TXT, TYPE_AAAA, TYPE_DNAME = (
    1, 2, 5, 12, 15, 16, 28, 39,
)
NAME_TYPES = (TYPE_NS, TYPE_CNAME, TYPE_PTR, TYPE_DNAME)
MAX_NAME_WIRE = 255

# error codes (first error wins for a message)
_OK, _SHORT, _NOQ, _NAME, _QTAIL, _RR, _RDATA = range(7)
_REASONS = {
    _SHORT: "message shorter than the 12-byte DNS header",
    _NOQ: "no question (QDCOUNT is 0)",
    _NAME: "bad domain name in the question (label past the end, bad pointer or too long)",
    _QTAIL: "question truncated (type/class past the end)",
    _RR: "answer record truncated or its owner name is bad",
    _RDATA: "answer RDATA is malformed",
}


@dataclass
class DecodedMessages:
    """One entry per input message, in input order (see docs/formats.md)."""

    qname: pa.Array
    qtype: pa.Array
    rcode: pa.Array
    answers: pa.Array
    ttl: pa.Array
    size: pa.Array
    is_response: np.ndarray
    errors: list[tuple[int, str]] = field(default_factory=list)


class WireBuffer:
    """The message buffer as uint8 with clipped gathers (reads past the end return the last
    byte; callers check bounds against the message end themselves)."""

    def __init__(self, data: bytes | bytearray | memoryview | np.ndarray) -> None:
        arr = data if isinstance(data, np.ndarray) else np.frombuffer(data, dtype=np.uint8)
        self.a = arr if arr.size else np.zeros(1, dtype=np.uint8)
        self.last = self.a.size - 1

    def u8(self, idx: np.ndarray) -> np.ndarray:
        return self.a.take(idx, mode="clip").astype(I64)

    def u16(self, idx: np.ndarray) -> np.ndarray:
        return (self.u8(idx) << 8) | self.u8(idx + 1)

    def u32(self, idx: np.ndarray) -> np.ndarray:
        return (self.u16(idx) << 16) | self.u16(idx + 2)


@dataclass
class _Walk:
    """Result of walking names: position after each name in its own record, validity, and
    (when collected) the label segments in order."""

    after: np.ndarray
    ok: np.ndarray
    #: where each name starts, and whether it followed a compression pointer
    origin: np.ndarray
    jumped: np.ndarray
    #: label segments, step by step (a name contributes at most one label per step)
    owner: np.ndarray
    start: np.ndarray
    length: np.ndarray
    #: where each step begins in owner/start/length
    step_starts: tuple[int, ...] = ()


def walk_names(buf: WireBuffer, base: np.ndarray, limit: np.ndarray, pos: np.ndarray,
               *, collect: bool) -> _Walk:
    """Walk one name per entry, all in lock-step. `base` is the message start (for
    compression pointers), `limit` the message end, `pos` where the name starts.

    A pointer must point strictly before every position visited so far in this name (as
    dnspython requires), which guarantees termination on hostile input. Without `collect`
    (skipping a name to reach what follows) the walk stops at the first pointer: the name
    it points to is not needed, only checked to lie before it."""
    n = pos.size
    p = pos.astype(I64).copy()
    lowest = p.copy()
    after = np.full(n, -1, I64)
    total = np.zeros(n, I64)
    ok = np.ones(n, bool)
    segs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    active = np.arange(n)
    while active.size:
        pp, lim = p[active], limit[active]
        b = buf.u8(pp)
        inb = pp < lim
        is_end = inb & (b == 0)
        is_ptr = inb & (b >= 0xC0)
        is_lab = inb & (b > 0) & (b < 0x40)
        bad = ~(is_end | is_ptr | is_lab)
        # end of name: remember where the record continues (unless a pointer already did)
        e = active[is_end]
        after[e] = np.where(after[e] < 0, p[e] + 1, after[e])
        total[e] += 1
        # compression pointers
        pt = active[is_ptr]
        tgt = base[pt] + (((b[is_ptr] & 0x3F) << 8) | buf.u8(p[pt] + 1))
        ptr_ok = (p[pt] + 1 < limit[pt]) & (tgt < lowest[pt])
        after[pt] = np.where(after[pt] < 0, p[pt] + 2, after[pt])
        p[pt] = tgt
        lowest[pt] = np.minimum(lowest[pt], tgt)
        # labels
        lb = active[is_lab]
        ln = b[is_lab]
        lab_ok = p[lb] + 1 + ln <= limit[lb]
        if collect and lb.size:
            # only labels inside the message: a failed name may have collected some
            segs.append((lb[lab_ok], p[lb[lab_ok]] + 1, ln[lab_ok]))
        p[lb] += ln + 1
        total[lb] += ln + 1
        bad_idx = np.concatenate([active[bad], pt[~ptr_ok], lb[~lab_ok]])
        ok[bad_idx] = False
        # a walk that only skips a name stops at its first pointer: the record goes on
        # after the pointer, which has been checked to point backwards
        cont = ((is_ptr & collect) | is_lab) & ok[active] & (total[active] <= MAX_NAME_WIRE)
        active = active[cont]
    ok &= total <= MAX_NAME_WIRE
    if segs:
        owner = np.concatenate([s[0] for s in segs])
        start = np.concatenate([s[1] for s in segs])
        length = np.concatenate([s[2] for s in segs])
    else:
        owner = start = length = np.zeros(0, I64)
    steps = tuple(np.cumsum([0] + [s[0].size for s in segs])[:-1].tolist())
    return _Walk(after, ok, pos, lowest < pos, owner, start, length, steps)


# bytes that may appear verbatim in a label; everything else takes the slow path
_PLAIN = np.zeros(256, bool)
_PLAIN[0x21:0x7F] = True
_PLAIN[[ord("."), ord("\\")]] = False
_PLAIN_OR_DOT = _PLAIN.copy()
_PLAIN_OR_DOT[ord(".")] = True
_LOWER = np.arange(256, dtype=np.uint8)
_LOWER[ord("A"):ord("Z") + 1] += 32


def escape_label(label: bytes) -> str:
    """Presentation form of one label: lower-case; `.` and `\\` escaped with a backslash;
    bytes outside printable ASCII as \\DDD."""
    out = []
    for byte in label.lower():
        if byte in (0x2E, 0x5C):
            out.append("\\" + chr(byte))
        elif 0x21 <= byte <= 0x7E:
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:03d}")
    return "".join(out)


def names_to_text(buf: WireBuffer, n: int, walk: _Walk) -> pa.Array:
    """Assemble the collected labels of `n` names into a string array (lower-case, no
    trailing dot, root as "."); names that failed are null.

    Each step of the walk holds at most one label per name, so output positions come from
    a running length per name, step after step, without sorting the labels by name."""
    owner, start, length = walk.owner, walk.start, walk.length
    bounds = [*walk.step_starts, owner.size]
    label_chars = np.zeros(n, I64)
    labels = np.zeros(n, I64)
    for a, b in itertools.pairwise(bounds):
        label_chars[owner[a:b]] += length[a:b]
        labels[owner[a:b]] += 1
    chars = label_chars + np.maximum(labels - 1, 0)
    root = walk.ok & (labels == 0)
    chars[root] = 1  # the root name is written "."
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(chars, out=offsets[1:])
    out = np.empty(int(offsets[-1]), np.uint8)
    out[offsets[:-1][root]] = ord(".")
    # names without pointers (nearly all question names) are one run of wire bytes: copy
    # it whole; the length bytes inside become dots below
    run = walk.ok & ~walk.jumped & (labels > 0)
    _copy_runs(buf, out, walk.origin[run] + 1, offsets[:-1][run], chars[run])
    per_label = ~run[owner]
    written = offsets[:-1].astype(I64)  # next free position per name
    begun = np.zeros(n, bool)  # a name's first label may come at any step (pointers)
    dst = np.empty(owner.size, I64)
    for a, b in itertools.pairwise(bounds):
        o = owner[a:b]
        sep = o[begun[o]]  # a separator before every label but a name's first
        out[written[sep]] = ord(".")
        written[sep] += 1
        begun[o] = True
        dst[a:b] = written[o]
        written[o] += length[a:b]
    ps, pd, pl = start[per_label], dst[per_label], length[per_label]
    lab_cum = np.cumsum(pl) - pl
    ramp = np.arange(int(pl.sum()), dtype=I64)
    out[np.repeat(pd - lab_cum, pl) + ramp] = _LOWER[buf.a[np.repeat(ps - lab_cum, pl) + ramp]]
    valid = np.packbits(walk.ok, bitorder="little")
    arr = pa.Array.from_buffers(pa.string(), n, [pa.py_buffer(valid), pa.py_buffer(offsets),
                                                 pa.py_buffer(out)])
    flagged = _needs_escapes(out, offsets, labels, root)
    flagged = flagged[walk.ok[flagged]]
    if flagged.size:
        arr = _escape_slow(buf, arr, owner, start, length, flagged)
    return arr


def _needs_escapes(out: np.ndarray, offsets: np.ndarray, labels: np.ndarray,
                   root: np.ndarray) -> np.ndarray:
    """Names holding a byte that must be escaped: outside printable ASCII, a backslash,
    or a '.' inside a label (seen as more dots than separators). Usually none: one pass
    over the text says so."""
    odd = ~_PLAIN_OR_DOT[out]
    dots = out == ord(".")
    expected = np.maximum(labels - 1, 0) + root
    if not odd.any() and int(dots.sum()) == int(expected.sum()):
        return np.zeros(0, I64)

    def per_name(mask: np.ndarray) -> np.ndarray:
        cum = np.zeros(mask.size + 1, I64)
        np.cumsum(mask, out=cum[1:])
        return cum[offsets[1:]] - cum[offsets[:-1]]

    return np.flatnonzero((per_name(odd) > 0) | (per_name(dots) != expected))


def _copy_runs(buf: WireBuffer, out: np.ndarray, src: np.ndarray, dst: np.ndarray,
               length: np.ndarray) -> None:
    """out[dst[i]:dst[i]+length[i]] = lower(buf[src[i]:src[i]+length[i]]), all at once."""
    cum = np.cumsum(length) - length
    ramp = np.arange(int(length.sum()), dtype=I64)
    out[np.repeat(dst - cum, length) + ramp] = _LOWER[buf.a[np.repeat(src - cum, length)
                                                            + ramp]]


def _escape_slow(buf: WireBuffer, arr: pa.Array, owner: np.ndarray, start: np.ndarray,
                 length: np.ndarray, names: np.ndarray) -> pa.Array:
    """Re-render, in Python, the few names that hold bytes needing escapes."""
    texts = []
    for name in names:
        segs = np.flatnonzero(owner == name)
        texts.append(".".join(
            escape_label(buf.a[start[s]:start[s] + length[s]].tobytes()) for s in segs))
    mask = np.zeros(len(arr), bool)
    mask[names] = True
    return pc.replace_with_mask(arr, pa.array(mask), pa.array(texts, pa.string()))


@dataclass
class _Records:
    """Answer records of all messages, flattened: message index, position, type, TTL and
    RDATA location."""

    msg: np.ndarray
    k: np.ndarray
    rtype: np.ndarray
    ttl: np.ndarray
    rs: np.ndarray
    rl: np.ndarray


def decode_messages(data: bytes | bytearray | memoryview | np.ndarray,
                    starts: np.ndarray, ends: np.ndarray) -> DecodedMessages:
    """Decode messages `data[starts[i]:ends[i]]` (contract 1 in the helpers' API)."""
    buf = WireBuffer(data)
    s = np.asarray(starts, I64)
    e = np.asarray(ends, I64)
    n = s.size
    err = np.where(e - s < 12, _SHORT, _OK)
    flags = buf.u16(s + 2)
    qd, an = buf.u16(s + 4), buf.u16(s + 6)
    is_resp = (flags >> 15).astype(bool) & (err == _OK)
    err = np.where((err == _OK) & (qd == 0), _NOQ, err)
    qwalk = walk_names(buf, s, e, s + 12, collect=True)
    qwalk.ok &= err == _OK
    err = np.where((err == _OK) & ~qwalk.ok, _NAME, err)
    qtail = qwalk.after
    err = np.where((err == _OK) & (qtail + 4 > e), _QTAIL, err)
    qtype = buf.u16(qtail)
    pos = _skip_questions(buf, s, e, qtail + 4, qd - 1, err)
    recs = _walk_answers(buf, s, e, pos, np.where(is_resp, an, 0), err)
    texts, rendered = _render_answers(buf, s, e, recs, err)
    good = err == _OK
    qwalk.ok = good
    qname = names_to_text(buf, n, qwalk)
    errors = [(int(i), _REASONS[int(err[i])]) for i in np.flatnonzero(~good)]
    return DecodedMessages(
        qname=qname,
        qtype=pa.array(qtype.astype(np.uint16), pa.uint16(), mask=~good),
        rcode=pa.array((flags & 0xF).astype(np.uint8), pa.uint8(), mask=~(good & is_resp)),
        answers=_answer_lists(n, recs, texts, rendered, good & is_resp),
        ttl=_min_ttl(n, recs, good),
        size=pa.array((e - s).astype(np.uint32), pa.uint32()),
        is_response=is_resp & good,
        errors=errors,
    )


def _skip_questions(buf: WireBuffer, s: np.ndarray, e: np.ndarray, pos: np.ndarray,
                    more: np.ndarray, err: np.ndarray) -> np.ndarray:
    """Skip questions after the first (rare: QDCOUNT > 1)."""
    pos = pos.copy()
    k = 0
    while True:
        idx = np.flatnonzero((more > k) & (err == _OK))
        if not idx.size:
            return pos
        w = walk_names(buf, s[idx], e[idx], pos[idx], collect=False)
        bad = ~w.ok | (w.after + 4 > e[idx])
        err[idx[bad]] = _QTAIL
        pos[idx] = w.after + 4
        k += 1


def _walk_answers(buf: WireBuffer, s: np.ndarray, e: np.ndarray, pos: np.ndarray,
                  an: np.ndarray, err: np.ndarray) -> _Records:
    """Step through answer record k of every message that has one, for k = 0, 1, ..."""
    pos = pos.copy()
    parts: list[tuple[np.ndarray, ...]] = []
    k = 0
    while True:
        idx = np.flatnonzero((an > k) & (err == _OK))
        if not idx.size:
            break
        w = walk_names(buf, s[idx], e[idx], pos[idx], collect=False)
        fixed = w.after
        rl = buf.u16(fixed + 8)
        rs = fixed + 10
        bad = ~w.ok | (rs > e[idx]) | (rs + rl > e[idx])
        err[idx[bad]] = _RR
        keep = ~bad
        i = idx[keep]
        parts.append((i, np.full(i.size, k, I64), buf.u16(fixed[keep]),
                      buf.u32(fixed[keep] + 4), rs[keep], rl[keep]))
        pos[i] = rs[keep] + rl[keep]
        k += 1
    if not parts:
        empty = np.zeros(0, I64)
        return _Records(empty, empty, empty, empty, empty, empty)
    cols = [np.concatenate([p[j] for p in parts]) for j in range(6)]
    return _Records(*cols)


def _render_answers(buf: WireBuffer, s: np.ndarray, e: np.ndarray, recs: _Records,
                    err: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """Presentation text of the renderable answers; returns the texts and, for each text,
    its index into `recs`."""
    pieces: list[pa.Array] = []
    which: list[np.ndarray] = []
    a = np.flatnonzero((recs.rtype == TYPE_A) & (recs.rl == 4))
    pieces.append(_ipv4_text(buf, recs.rs[a]))
    which.append(a)
    aaaa = np.flatnonzero((recs.rtype == TYPE_AAAA) & (recs.rl == 16))
    pieces.append(addresses_text(buf.a[recs.rs[aaaa][:, None] + np.arange(16)]))
    which.append(aaaa)
    for rtype, skip in [(t, 0) for t in NAME_TYPES] + [(TYPE_MX, 2)]:
        idx = np.flatnonzero((recs.rtype == rtype) & (recs.rl > skip))
        if not idx.size:
            continue
        m = recs.msg[idx]
        w = walk_names(buf, s[m], e[m], recs.rs[idx] + skip, collect=True)
        err[m[~w.ok]] = _RDATA
        pieces.append(names_to_text(buf, idx.size, w))
        which.append(idx)
    txt = np.flatnonzero(recs.rtype == TYPE_TXT)
    texts = [_txt_text(buf.a[r:r + n].tobytes()) for r, n in zip(recs.rs[txt], recs.rl[txt],
                                                                   strict=True)]
    err[recs.msg[txt[np.array([t is None for t in texts], bool)]]] = _RDATA
    pieces.append(pa.array(texts, pa.string()))
    which.append(txt)
    return pa.concat_arrays(pieces), np.concatenate(which)


def _ipv4_text(buf: WireBuffer, rs: np.ndarray) -> pa.Array:
    if not rs.size:
        return pa.array([], pa.string())
    return addresses_text(buf.a[np.minimum(rs[:, None] + np.arange(4), buf.last)])


def addresses_text(raw: np.ndarray) -> pa.Array:
    """Text of IPv4 or IPv6 addresses given as an (n, 4) or (n, 16) uint8 array.
    Addresses repeat a lot (clients, the server, popular answers), so only the distinct
    ones are formatted, through a hash-based dictionary encoding."""
    n, width = raw.shape
    if not n:
        return pa.array([], pa.string())
    fixed = pa.Array.from_buffers(pa.binary(width), n,
                                  [None, pa.py_buffer(np.ascontiguousarray(raw))])
    enc = fixed.dictionary_encode()
    family = socket.AF_INET if width == 4 else socket.AF_INET6
    words = [socket.inet_ntop(family, b) for b in enc.dictionary.to_pylist()]
    return pa.array(words, pa.string()).take(enc.indices)


def _txt_text(rdata: bytes) -> str | None:
    """TXT RDATA as text: its character-strings concatenated (non-printable bytes as \\DDD,
    backslash doubled); None if the lengths do not add up."""
    parts, i = [], 0
    while i < len(rdata):
        n = rdata[i]
        if i + 1 + n > len(rdata):
            return None
        parts.append(rdata[i + 1:i + 1 + n])
        i += 1 + n
    out = []
    for byte in b"".join(parts):
        if byte == 0x5C:
            out.append("\\\\")
        elif 0x20 <= byte <= 0x7E:
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:03d}")
    return "".join(out)


def _answer_lists(n: int, recs: _Records, texts: pa.Array, rendered: np.ndarray,
                  present: np.ndarray) -> pa.Array:
    """list<string> per message in record order; null where `present` is false."""
    msg = recs.msg[rendered]
    keep = present[msg]
    msg, k, rendered_idx = msg[keep], recs.k[rendered][keep], np.flatnonzero(keep)
    order = np.lexsort((k, msg))
    values = texts.take(pa.array(rendered_idx[order]))
    counts = np.bincount(msg, minlength=n)
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(counts, out=offsets[1:])
    valid = np.packbits(present, bitorder="little")
    return pa.Array.from_buffers(pa.list_(pa.string()), n,
                                 [pa.py_buffer(valid), pa.py_buffer(offsets)],
                                 children=[values])


def _min_ttl(n: int, recs: _Records, good: np.ndarray) -> pa.Array:
    ttl = np.full(n, np.iinfo(np.uint32).max, I64)
    np.minimum.at(ttl, recs.msg, recs.ttl)
    has = good & (np.bincount(recs.msg, minlength=n) > 0)
    return pa.array(ttl.astype(np.uint32), pa.uint32(), mask=~has)
