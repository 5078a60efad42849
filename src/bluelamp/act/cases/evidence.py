"""Evidence files: stored once by SHA-256 (content-addressed, `<dir>/ab/cd/<sha256>`), with
size and type limits. The type is decided from the content, not from the name or the
client's claim, and must be in `suspensions.evidence_types`."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bluelamp.act.cases.desk import CaseError

MAGIC = ((b"%PDF-", "application/pdf"), (b"\x89PNG\r\n\x1a\n", "image/png"),
         (b"\xff\xd8\xff", "image/jpeg"))


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int
    media_type: str
    path: Path


def sniff(head: bytes, filename: str) -> str:
    for magic, media in MAGIC:
        if head.startswith(magic):
            return media
    if b"\x00" in head:
        return "application/octet-stream"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the head
            return "application/octet-stream"
    lower = filename.lower()
    if lower.endswith(".eml"):
        return "message/rfc822"
    return "text/csv" if lower.endswith(".csv") else "text/plain"


def path_of(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256[2:4] / sha256


def store(root: Path, chunks: Iterable[bytes], filename: str, max_bytes: int,
          allowed: Iterable[str]) -> Stored:
    """Stream `chunks` to a temporary file while hashing, then move it into place (atomic;
    a file already there with the same digest is the same content)."""
    root.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    head = b""
    fd, tmp = tempfile.mkstemp(dir=root, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise CaseError(f"{filename}: larger than {max_bytes} bytes", 413)
                if len(head) < 4096:
                    head += chunk[:4096 - len(head)]
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise CaseError(f"{filename}: empty file", 422)
        media = sniff(head, filename)
        if media not in set(allowed):
            raise CaseError(f"{filename}: type {media} is not accepted as evidence", 415)
        sha = digest.hexdigest()
        final = path_of(root, sha)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
        return Stored(sha, size, media, final)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
