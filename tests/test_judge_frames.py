"""The judge's frame reader on its own (tools/grade/session.py ``_read_frames``): what the runner
sends is untrusted, so every frame is checked before the judge keeps a byte of it. Fast: no
sandbox, no runner, frames written by hand."""

from __future__ import annotations

import io
import json
import queue

import pytest

from tools.grade import session


def _line(message: dict) -> bytes:
    return json.dumps(message).encode() + b"\n"


def _call(grade_id="g", which="visible") -> bytes:
    return _line({"type": "call", "grade_id": grade_id, "which": which})


def _result(payload: bytes, grade_id="g", which="visible", nbytes=None) -> bytes:
    size = len(payload) if nbytes is None else nbytes
    return _line({"type": "result", "grade_id": grade_id, "which": which, "nbytes": size}) + payload


def _read(data: bytes, allowance: int = session.MAX_TOTAL) -> list[tuple]:
    out: queue.Queue = queue.Queue()
    session._read_frames(io.BytesIO(data), out, allowance)
    items = []
    while not out.empty():
        items.append(out.get())
    return items


def test_good_frames_arrive_in_order_with_their_payloads():
    data = _line({"type": "hello"}) + _call() + _result(b"abc") + _line({"type": "done"})
    items = _read(data)
    assert [kind for kind, _, _ in items] == ["message"] * 4 + ["eof"]
    assert items[2][1]["type"] == "result" and items[2][2] == b"abc"


def test_a_payload_cut_short_is_never_delivered():
    items = _read(_call() + _result(b"abc", nbytes=10))
    assert [kind for kind, _, _ in items] == ["message", "eof"]  # the call only


def test_a_line_without_its_end_is_malformed():
    assert [kind for kind, _, _ in _read(b'{"type": "hello"}')] == ["malformed"]


def test_an_oversized_line_is_malformed():
    huge = _line({"type": "hello", "pad": "x" * session.MAX_LINE})
    assert _read(huge)[-1][0] == "malformed"


@pytest.mark.parametrize("line", [b"not json\n", b"[1, 2]\n", b'"text"\n', b"[" * 100_000 + b"\n"])
def test_what_is_not_a_json_object_is_malformed(line):
    assert _read(line)[-1][0] == "malformed"


@pytest.mark.parametrize("nbytes", [-1, "10", 1.5, session.MAX_PAYLOAD + 1])
def test_a_size_that_is_not_a_small_count_ends_the_run(nbytes):
    line = _line({"type": "result", "grade_id": "g", "which": "visible", "nbytes": nbytes})
    assert _read(_call() + line)[-1][0] == "overflow"


@pytest.mark.parametrize("frames", [
    _result(b"abc"),  # a result nobody called for
    _call("g", "visible") + _result(b"abc", "g", "fresh"),  # the result of another call
    _call() + _result(b"abc") + _call() + _result(b"abc"),  # the same result twice
    _line({"type": "hello", "nbytes": 3}) + b"abc",  # a payload on another frame
    _call() + _line({"type": "hello"}) + _result(b"abc"),  # not right after its call
], ids=["uncalled", "other-key", "twice", "not-a-result", "not-right-after"])
def test_forged_payloads_are_malformed(frames):
    items = _read(frames)
    assert items[-1][0] == "malformed"
    kept = [payload for kind, _, payload in items if kind == "message" and payload]
    # At most the one payload the judge asked for (the first result of "twice").
    assert len(kept) <= 1


def test_the_notebooks_allowance_bounds_all_frames_together():
    data = _call() + _result(b"x" * 1000)
    assert _read(data, allowance=10_000)[-1][0] == "eof"
    assert _read(data, allowance=500)[-1][0] == "overflow"
    assert all(payload == b"" for _, _, payload in _read(data, allowance=500))
