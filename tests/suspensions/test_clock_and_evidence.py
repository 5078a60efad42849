"""The working-day clock, evidence storage, and the EPP adapter against its test double."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest

from bluelamp.act.cases import evidence
from bluelamp.act.cases.clock import add_working_days
from bluelamp.act.cases.desk import CaseError
from bluelamp.registry.base import RegistryError
from bluelamp.registry.epp import HOLD, LOCKS, EppAdapter, InMemoryEppRegistry

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
ALLOWED = ["image/png", "application/pdf", "text/plain"]


def test_ten_working_days_skip_weekends() -> None:
    friday = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)
    assert add_working_days(friday, 10, []) == dt.datetime(2026, 12, 4, 15, 0, tzinfo=dt.UTC)


def test_public_holidays_are_skipped() -> None:
    received = dt.datetime(2026, 12, 18, 9, 30, tzinfo=dt.UTC)  # a Friday
    holidays = [dt.date(2026, 12, 25), dt.date(2026, 12, 28), dt.date(2027, 1, 1)]
    # working days: 21 22 23 24 | 29 30 31 | 4 5 6 -> the 10th is Wed 6 January
    assert add_working_days(received, 10, holidays).date() == dt.date(2027, 1, 6)


def test_a_weekend_complaint_starts_counting_on_monday() -> None:
    saturday = dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC)
    assert add_working_days(saturday, 1, []).date() == dt.date(2026, 11, 23)


def test_evidence_is_content_addressed(tmp_path: Path) -> None:
    a = evidence.store(tmp_path, [PNG[:5], PNG[5:]], "shot.png", 1000, ALLOWED)
    b = evidence.store(tmp_path, [PNG], "again.png", 1000, ALLOWED)
    assert a.sha256 == b.sha256 == hashlib.sha256(PNG).hexdigest()
    assert a.path == tmp_path / a.sha256[:2] / a.sha256[2:4] / a.sha256
    assert a.path.read_bytes() == PNG and a.media_type == "image/png"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize(("data", "status"), [(b"MZ\x90\x00binary", 415), (b"", 422),
                                              (b"x" * 2000, 413)])
def test_evidence_limits(tmp_path: Path, data: bytes, status: int) -> None:
    with pytest.raises(CaseError) as caught:
        evidence.store(tmp_path, [data], "f.bin", 1000, ALLOWED)
    assert caught.value.status == status
    assert not any(p.is_file() for p in tmp_path.rglob("*"))  # nothing half-stored


def test_a_renamed_executable_is_not_a_pdf(tmp_path: Path) -> None:
    with pytest.raises(CaseError, match="not accepted"):
        evidence.store(tmp_path, [b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 50], "report.pdf",
                       1000, ALLOWED)


def test_epp_hold_and_exact_reinstatement_on_the_test_double() -> None:
    registry = InMemoryEppRegistry({"shop.example": {"clientTransferProhibited"}})
    adapter = EppAdapter(registry)
    undo = adapter.snapshot(["shop.example"])["shop.example"]
    adapter.suspend("shop.example", "hold", undo)
    assert registry.statuses["shop.example"] == {HOLD, *LOCKS, "clientTransferProhibited"}
    adapter.reinstate("shop.example", undo)
    assert registry.statuses["shop.example"] == {"clientTransferProhibited"}
    with pytest.raises(RegistryError, match="only hold"):
        adapter.suspend("shop.example", "redirect", undo)


def test_epp_ok_status_comes_back() -> None:
    registry = InMemoryEppRegistry({"a.example": {"ok"}})
    adapter = EppAdapter(registry)
    undo = adapter.snapshot(["a.example"])["a.example"]
    adapter.suspend("a.example", "hold", undo)
    assert "ok" not in registry.statuses["a.example"]
    adapter.reinstate("a.example", undo)
    assert registry.statuses["a.example"] == {"ok"}
