"""Frame Streams codec: round trips, bad input located by byte offset, interoperability
with the reference implementation's `fstrm_dump`."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bluelamp.sources.fstrm import (
    CONTENT_TYPE_DNSTAP,
    Control,
    ControlType,
    FrameBatch,
    FrameError,
    FrameWriter,
    StreamDecoder,
    decode_control,
    encode_control,
    encode_data,
    read_frames,
)


def _file(payloads: list[bytes], content_type: bytes = CONTENT_TYPE_DNSTAP) -> bytes:
    out = io.BytesIO()
    with FrameWriter(out, content_type) as writer:
        writer.write_many(payloads)
    return out.getvalue()


def _read(data: bytes, batch_size: int = 1000) -> tuple[list[bytes], list[FrameError]]:
    frames: list[bytes] = []
    errors: list[FrameError] = []
    for item in read_frames(io.BytesIO(data), batch_size=batch_size):
        if isinstance(item, FrameError):
            errors.append(item)
        else:
            assert isinstance(item, FrameBatch)
            frames += [item.data[s:e] for s, e in zip(item.starts, item.ends, strict=True)]
    return frames, errors


payload_lists = st.lists(st.binary(min_size=1, max_size=300), max_size=40)


@settings(max_examples=100, deadline=None)
@given(payload_lists, st.integers(1, 50))
def test_write_read_round_trip(payloads: list[bytes], batch_size: int) -> None:
    frames, errors = _read(_file(payloads), batch_size)
    assert frames == payloads and errors == []


@settings(max_examples=100, deadline=None)
@given(payload_lists, st.integers(1, 7))
def test_stream_decoder_byte_by_byte(payloads: list[bytes], step: int) -> None:
    data = encode_control(ControlType.READY, [CONTENT_TYPE_DNSTAP]) + _file(payloads)
    dec = StreamDecoder()
    events: list[object] = []
    for i in range(0, len(data), step):
        events += dec.feed(data[i:i + step])
    kinds = [e.type for e in events if isinstance(e, Control)]
    assert kinds == [ControlType.READY, ControlType.START, ControlType.STOP]
    assert [e[1] for e in events if isinstance(e, tuple)] == payloads
    assert not dec.buf


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.booleans())
def test_garbage_never_crashes(junk: bytes, with_header: bool) -> None:
    data = (encode_control(ControlType.START, [CONTENT_TYPE_DNSTAP]) if with_header else b"")
    frames, errors = _read(data + junk)
    assert len(errors) <= 1
    assert sum(len(f) + 4 for f in frames) <= len(junk)
    for e in errors:
        assert 0 <= e.offset <= len(data + junk)


def test_truncated_file_keeps_good_frames() -> None:
    data = _file([b"one", b"two", b"three"])
    cut = data[:-12]  # STOP (12 bytes) gone: then cut inside "three" too
    frames, errors = _read(cut[:-2])
    assert frames == [b"one", b"two"]
    assert len(errors) == 1 and "truncated" in errors[0].reason
    assert errors[0].offset == len(_file([b"one", b"two"])) - 12  # where "three" begins


def test_oversize_frame_is_located() -> None:
    good = _file([b"a"])[:-12]
    data = good + (50_000_000).to_bytes(4, "big") + b"xyz"
    frames, errors = _read(data)
    assert frames == [b"a"]
    assert errors[0].offset == len(good) and "exceeds" in errors[0].reason


def test_wrong_content_type() -> None:
    frames, errors = _read(_file([b"x"], b"protobuf:other.Thing"))
    assert frames == [] and errors[0].offset == 0
    assert "other.Thing" in errors[0].reason and "dnstap" in errors[0].reason


def test_data_before_start_and_control_junk() -> None:
    frames, errors = _read(encode_data(b"early") + _file([b"x"]))
    assert frames == [] and "before the START" in errors[0].reason
    bad_control = (0).to_bytes(4, "big") + (10_000).to_bytes(4, "big")
    frames, errors = _read(bad_control)
    assert "control frame" in errors[0].reason


def test_concatenated_streams() -> None:
    frames, errors = _read(_file([b"a", b"b"]) + _file([b"c"]))
    assert frames == [b"a", b"b", b"c"] and errors == []


def test_control_round_trip() -> None:
    raw = encode_control(ControlType.ACCEPT, [b"one", b"two"])
    ctl = decode_control(raw[8:])
    assert ctl.type == ControlType.ACCEPT and ctl.content_types == (b"one", b"two")
    with pytest.raises(FrameError):
        decode_control((99).to_bytes(4, "big"))
    with pytest.raises(ValueError):
        encode_data(b"")


def test_fstrm_dump_reads_what_we_write(tmp_path: Path) -> None:
    """The reference implementation (libfstrm's fstrm_dump) accepts our files."""
    tool = shutil.which("fstrm_dump")
    if tool is None:
        pytest.skip("fstrm_dump not installed (Debian package fstrm-bin)")
    path = tmp_path / "x.fstrm"
    path.write_bytes(_file([b"hello", b"world!"]))
    out = subprocess.run([tool, str(path)], capture_output=True, text=True, timeout=10)
    text = out.stdout + out.stderr
    assert "protobuf:dnstap.Dnstap" in text
    assert "Data frame (5) bytes" in text and "Data frame (6) bytes" in text
    assert "FSTRM_CONTROL_STOP" in text
