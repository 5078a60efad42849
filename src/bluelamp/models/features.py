"""Lexical features of DNS labels, computed in numpy over a padded code matrix.

No per-name Python loop: labels become rows of a uint8 matrix of character codes (via the Arrow
string buffers), and every feature is an array operation over that matrix. Rows are processed
in buckets of similar length so that short labels do not pay for the longest one.

Features (all of one label, without dots):
- hashed character n-grams, n = 1..4, with begin/end markers, each order scaled to mean 1/count
  (the linear model sees the average weight of the label's n-grams per order);
- dense features: length, digit / vowel / hyphen ratios, longest consonant and digit runs,
  letter–digit switches, distinct-character ratio, Shannon entropy, mean log-likelihood of
  the label's character trigrams under an English-word model, and coverage of the label by
  dictionary words of 4+ and 6+ letters (this is what separates word-list DGAs from
  random-character ones, and real brand names from both).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MAX_LEN = 63  # a DNS label holds at most 63 octets; longer inputs are cut
PAD, BOS, EOS = 0, 40, 41
ALPHABET = 42  # 0 pad, 1-26 a-z, 27-36 0-9, 37 '-', 38 '_', 39 other byte, 40 BOS, 41 EOS
NGRAM_ORDERS = (1, 2, 3, 4)
WORD_MIN, WORD_MAX = 4, 10
WORD_LEVELS = (4, 6)  # coverage by words of at least 4 and at least 6 letters
_HASH_MULT = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: a multiply and a shift
_WORD_BASE = np.uint64(1_000_003)

DENSE_NAMES = (
    "length",
    "digit_ratio",
    "vowel_ratio",
    "hyphen_ratio",
    "max_consonant_run",
    "max_digit_run",
    "letter_digit_switches",
    "distinct_ratio",
    "entropy",
    "english_trigram_loglik",
    "word_cover4",
    "word_cover6",
    "longest_word",
)


def _code_table() -> np.ndarray:
    table = np.full(256, 39, dtype=np.uint8)
    table[ord("a") : ord("z") + 1] = np.arange(1, 27)
    table[ord("A") : ord("Z") + 1] = np.arange(1, 27)
    table[ord("0") : ord("9") + 1] = np.arange(27, 37)
    table[ord("-")] = 37
    table[ord("_")] = 38
    return table


CODES = _code_table()
_IS_VOWEL = np.zeros(ALPHABET, dtype=bool)
_IS_VOWEL[[1, 5, 9, 15, 21, 25]] = True  # a e i o u y
_IS_LETTER = np.zeros(ALPHABET, dtype=bool)
_IS_LETTER[1:27] = True
_IS_DIGIT = np.zeros(ALPHABET, dtype=bool)
_IS_DIGIT[27:37] = True


def encode(labels: pa.Array | Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Labels → (codes uint8 [n, width], lengths int64 [n]); width = longest label (≤ 63).

    Nulls encode as empty labels. Bytes are mapped with `CODES` (case-insensitive).
    """
    arr = labels if isinstance(labels, pa.Array) else pa.array(list(labels), type=pa.string())
    if not pa.types.is_string(arr.type):
        arr = arr.cast(pa.string())
    arr = pc.fill_null(arr, "")
    arr = pc.utf8_slice_codeunits(arr, 0, MAX_LEN)
    if not isinstance(arr, pa.Array):  # pragma: no cover - pc returns arrays for arrays
        arr = arr.combine_chunks()
    arr = arr.cast(pa.binary())
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32, count=n + 1, offset=arr.offset * 4)
    data_buf = arr.buffers()[2]
    data = np.frombuffer(data_buf, np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    starts = offsets[:-1].astype(np.int64)
    lengths = np.minimum(offsets[1:] - offsets[:-1], MAX_LEN).astype(np.int64)
    width = int(lengths.max()) if n else 0
    cols = np.arange(width, dtype=np.int64)
    valid = cols[None, :] < lengths[:, None]
    if data.size == 0:
        return np.zeros((n, width), dtype=np.uint8), lengths
    pos = np.where(valid, starts[:, None] + cols[None, :], 0)
    codes = np.where(valid, CODES[data[pos]], PAD).astype(np.uint8)
    return codes, lengths


def framed(codes: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Codes with BOS in column 0 and EOS right after each label: shape [n, width + 2]."""
    n, width = codes.shape
    out = np.zeros((n, width + 2), dtype=np.int64)
    out[:, 0] = BOS
    out[:, 1 : width + 1] = codes
    out[np.arange(n), lengths + 1] = EOS
    return out


def ngram_ids(frame: np.ndarray, lengths: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact n-gram ids (base ALPHABET) and validity mask, both [n, width + 3 - order]."""
    n, width2 = frame.shape
    span = width2 - order + 1
    ids = np.zeros((n, span), dtype=np.int64)
    for j in range(order):
        ids = ids * ALPHABET + frame[:, j : j + span]
    valid = np.arange(span)[None, :] < (lengths + 3 - order)[:, None]
    return ids, valid


def hash_ids(ids: np.ndarray, order: int, bits: int) -> np.ndarray:
    """Map exact n-gram ids of one order to buckets in [0, 2**bits)."""
    mixed = (ids.astype(np.uint64) + np.uint64(order << 40)) * _HASH_MULT
    return (mixed >> np.uint64(64 - bits)).astype(np.int64)


@dataclass(frozen=True)
class HashedNgrams:
    """Sparse hashed n-gram features: flat (row, bucket, value) triplets."""

    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray


def hashed_ngrams(frame: np.ndarray, lengths: np.ndarray, bits: int) -> HashedNgrams:
    rows, cols, vals = [], [], []
    n = frame.shape[0]
    row_index = np.arange(n)
    for order in NGRAM_ORDERS:
        ids, valid = ngram_ids(frame, lengths, order)
        buckets = hash_ids(ids, order, bits)
        count = np.maximum(valid.sum(axis=1), 1)
        r = np.broadcast_to(row_index[:, None], valid.shape)[valid]
        rows.append(r)
        cols.append(buckets[valid])
        vals.append((1.0 / count)[r])
    return HashedNgrams(np.concatenate(rows), np.concatenate(cols), np.concatenate(vals))


def ngram_scores(frame: np.ndarray, lengths: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Linear score of hashed n-grams: per order, the mean weight of the label's n-grams."""
    bits = int(np.log2(weights.size))
    total = np.zeros(frame.shape[0], dtype=np.float64)
    for order in NGRAM_ORDERS:
        ids, valid = ngram_ids(frame, lengths, order)
        w = np.where(valid, weights[hash_ids(ids, order, bits)], 0.0)
        total += w.sum(axis=1) / np.maximum(valid.sum(axis=1), 1)
    return total


# ------------------------------------------------------------------ dense features


def _max_run(mask: np.ndarray) -> np.ndarray:
    """Longest run of True per row, vectorised over columns."""
    run = np.zeros(mask.shape[0], dtype=np.int64)
    best = np.zeros(mask.shape[0], dtype=np.int64)
    for j in range(mask.shape[1]):
        run = np.where(mask[:, j], run + 1, 0)
        np.maximum(best, run, out=best)
    return best


_C_LOG_C = np.r_[0.0, np.arange(1, MAX_LEN + 1) * np.log2(np.arange(1, MAX_LEN + 1))]


def _entropy(codes: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shannon entropy (bits) and count of distinct characters per row.

    H = log2(L) - (1/L) * sum(c * log2 c) over character counts c, with c*log2(c) from a table.
    """
    n = codes.shape[0]
    flat = (np.arange(n, dtype=np.int64)[:, None] * ALPHABET + codes).ravel()
    counts = np.bincount(flat, minlength=n * ALPHABET).reshape(n, ALPHABET)[:, 1:]
    length = np.maximum(lengths, 1)
    ent = np.log2(length) - _C_LOG_C[counts].sum(axis=1) / length  # counts <= MAX_LEN
    return np.maximum(ent, 0.0), (counts > 0).sum(axis=1)


def word_hashes(codes: np.ndarray, lengths: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Polynomial hashes of every all-letter window of length k, and their validity."""
    for kk, h, valid in iter_word_hashes(codes, lengths, k, k):
        if kk == k:
            return h, valid
    raise ValueError(f"no window of length {k} in width {codes.shape[1]}")


def iter_word_hashes(
    codes: np.ndarray, lengths: np.ndarray, k_min: int, k_max: int
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """(k, hashes, valid) for window lengths k_min..k_max, each built from the previous one
    (one multiply-add per window instead of k)."""
    width = codes.shape[1]
    h = codes.astype(np.uint64)
    letters = _IS_LETTER[codes]
    for k in range(2, min(k_max, width) + 1):
        span = width - k + 1
        h = h[:, :span] * _WORD_BASE + codes[:, k - 1 :].astype(np.uint64)
        letters = letters[:, :span] & _IS_LETTER[codes[:, k - 1 :]]
        if k >= k_min:
            valid = letters & (np.arange(span)[None, :] <= (lengths - k)[:, None])
            yield k, h, valid


def word_bucket(h: np.ndarray, bits: int) -> np.ndarray:
    return ((h * _HASH_MULT) >> np.uint64(64 - bits)).astype(np.int64)


def word_coverage(
    codes: np.ndarray, lengths: np.ndarray, bitset: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Coverage by dictionary words of ≥4 and ≥6 letters [n, 2], and longest word found [n].

    `bitset` is a packed bit array (uint8) of word hashes; a false-positive rate of about
    1 % per window is harmless for a feature.
    """
    n, width = codes.shape
    bits = int(np.log2(bitset.size * 8))
    diff = np.zeros((len(WORD_LEVELS), n, width + 1), dtype=np.int16)
    longest = np.zeros(n, dtype=np.int64)
    for k, h, valid in iter_word_hashes(codes, lengths, WORD_MIN, WORD_MAX):
        b = word_bucket(h, bits)
        found = valid & ((bitset[b >> 3] >> (b & 7).astype(np.uint8)) & 1).astype(bool)
        hits = found.astype(np.int16)
        longest = np.where(found.any(axis=1), k, longest)
        span = found.shape[1]
        for level, min_k in enumerate(WORD_LEVELS):
            if k >= min_k:
                diff[level, :, :span] += hits
                diff[level, :, k : k + span] -= hits
    covered = np.cumsum(diff, axis=2, dtype=np.int16)[:, :, :width] > 0
    cover = covered.sum(axis=2).T / np.maximum(lengths, 1)[:, None]
    return cover, longest


def make_bitset(words: Sequence[str], bits: int) -> np.ndarray:
    """Packed bit array of the hashes of `words` (letters only, WORD_MIN..WORD_MAX long)."""
    keep = [w for w in words if WORD_MIN <= len(w) <= WORD_MAX and w.isascii() and w.isalpha()]
    bitset = np.zeros(1 << (bits - 3), dtype=np.uint8)
    if not keep:
        return bitset
    codes, lengths = encode(keep)
    for k in range(WORD_MIN, WORD_MAX + 1):
        sel = lengths == k
        if not sel.any():
            continue
        h, _ = word_hashes(codes[sel][:, :k], lengths[sel], k)
        b = word_bucket(h[:, 0], bits)
        np.bitwise_or.at(bitset, b >> 3, (1 << (b & 7)).astype(np.uint8))
    return bitset


def english_trigram_table(words: Sequence[str]) -> np.ndarray:
    """Log-probabilities of character trigrams (with BOS/EOS) in `words`, add-one smoothed,
    as a flat float32 table indexed by exact trigram id."""
    codes, lengths = encode([w for w in words if w.isascii() and w.isalpha()])
    ids, valid = ngram_ids(framed(codes, lengths), lengths, 3)
    counts = np.bincount(ids[valid], minlength=ALPHABET**3).astype(np.float64) + 1.0
    ctx = counts.reshape(ALPHABET**2, ALPHABET).sum(axis=1, keepdims=True)
    return np.log(counts.reshape(ALPHABET**2, ALPHABET) / ctx).ravel().astype(np.float32)


def dense_features(
    codes: np.ndarray, lengths: np.ndarray, trigram_logp: np.ndarray, bitset: np.ndarray
) -> np.ndarray:
    """The DENSE_NAMES features, float64 [n, len(DENSE_NAMES)]."""
    length = np.maximum(lengths, 1).astype(np.float64)
    letter = _IS_LETTER[codes]
    digit = _IS_DIGIT[codes]
    vowel = _IS_VOWEL[codes]
    consonant = letter & ~vowel
    switches = (letter[:, 1:] & digit[:, :-1]) | (digit[:, 1:] & letter[:, :-1])
    ent, distinct = _entropy(codes, lengths)
    frame = framed(codes, lengths)
    ids, valid = ngram_ids(frame, lengths, 3)
    loglik = np.where(valid, trigram_logp[ids], 0.0).sum(axis=1) / np.maximum(valid.sum(1), 1)
    cover, longest = word_coverage(codes, lengths, bitset)
    return np.column_stack(
        [
            lengths.astype(np.float64),
            digit.sum(1) / length,
            vowel.sum(1) / np.maximum(letter.sum(1), 1),
            (codes == 37).sum(1) / length,
            _max_run(consonant),
            _max_run(digit),
            switches.sum(1),
            distinct / length,
            ent,
            loglik,
            cover,
            longest,
        ]
    )
