"""Hashcash-style proof-of-work for anonymous submissions, instead of a third-party captcha.

The server hands out a challenge `bits:timestamp:random:mac` (the MAC, keyed by a server
secret, means the server keeps no state until a solution comes back). The client finds a
nonce such that SHA-256("<challenge>:<nonce>") starts with `bits` zero bits (2^bits tries on
average; the page's small script does it) and sends both. The server checks the MAC, the
age, the difficulty and the hash, and remembers spent challenges until they expire, so one
solution buys one report. (The memory is per process: behind several workers a solution
could be replayed once per worker, which the rate limits bound.)"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable

from bluelamp.textutil import is_decimal


def leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte == 0:
            bits += 8
            continue
        return bits + 8 - byte.bit_length()
    return bits


def solve(challenge: str, bits: int) -> str:
    """The first nonce that solves `challenge` (what the browser script does; for tests and
    API clients)."""
    nonce = 0
    while True:
        digest = hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()
        if leading_zero_bits(digest) >= bits:
            return str(nonce)
        nonce += 1


class ProofOfWork:
    def __init__(self, secret: bytes, bits: int, ttl: float = 900,
                 clock: Callable[[], float] = time.time, max_spent: int = 200_000) -> None:
        self.secret = secret
        self.bits = bits
        self.ttl = ttl
        self.clock = clock
        self.max_spent = max_spent
        self._spent: dict[str, float] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.bits > 0

    def _mac(self, body: str) -> str:
        return hmac.new(self.secret, body.encode(), hashlib.sha256).hexdigest()[:32]

    def challenge(self) -> str:
        body = f"{self.bits}:{int(self.clock())}:{secrets.token_hex(8)}"
        return f"{body}:{self._mac(body)}"

    def check(self, challenge: str | None, nonce: str | None) -> str | None:
        """None when the work is done and fresh; else why not (shown to the client)."""
        if not self.enabled:
            return None
        if not challenge or not nonce or len(challenge) > 200 or len(nonce) > 40:
            return "the proof-of-work is missing: enable JavaScript, or use the API"
        parts = challenge.split(":")
        if len(parts) != 4 or not is_decimal(parts[0]) or not is_decimal(parts[1]):
            return "malformed proof-of-work challenge"
        body = ":".join(parts[:3])
        if not hmac.compare_digest(self._mac(body), parts[3]):
            return "proof-of-work challenge was not issued by this server"
        issued = int(parts[1])
        if int(parts[0]) < self.bits:
            return "proof-of-work challenge is too easy"
        now = self.clock()
        if not (now - self.ttl <= issued <= now + 5):
            return "proof-of-work challenge expired: reload the page"
        digest = hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()
        if leading_zero_bits(digest) < int(parts[0]):
            return "proof-of-work is wrong"
        return self._spend(challenge, issued + self.ttl, now)

    def _spend(self, challenge: str, expires: float, now: float) -> str | None:
        with self._lock:
            if challenge in self._spent:
                return "proof-of-work was already used: reload the page"
            if len(self._spent) >= self.max_spent:
                self._spent = {c: t for c, t in self._spent.items() if t > now}
                if len(self._spent) >= self.max_spent:
                    return "too many submissions right now: try again in a few minutes"
            self._spent[challenge] = expires
        return None
