"""Property: the pins-file reader, fed valid pins files and their truncated, bit-flipped, oversized and deeply nested
variants, ends (within hypothesis's 10 s deadline per case) with either the pins an independent reading of the same
bytes gives, or one line naming the file."""

from __future__ import annotations

import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frechet.errors import WeightsError
from frechet.pins import MAX_BYTES, read_pins

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


def _expected(raw: bytes) -> dict[str, str] | None:
    """The pins of ``raw`` by the format's definition, read with the standard library alone: UTF-8 text holding one
    JSON object, at most MAX_BYTES, every value a whole sha256 in hex of any case (compared in lower case), a URL
    pinned twice only to the same digest; None for anything else."""
    if len(raw) > MAX_BYTES:
        return None
    try:
        pairs = json.loads(raw.decode("utf-8"), object_pairs_hook=lambda items: ("object", items))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not (isinstance(pairs, tuple) and pairs[0] == "object"):
        return None
    pins: dict[str, str] = {}
    for url, digest in pairs[1]:
        if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
            return None
        if pins.get(url, digest.lower()) != digest.lower():
            return None
        pins[url] = digest.lower()
    return pins


_digests = st.binary(min_size=32, max_size=32).map(bytes.hex)
_cased = st.tuples(_digests, st.booleans()).map(lambda pair: pair[0].upper() if pair[1] else pair[0])
_pins = st.dictionaries(st.text(min_size=1, max_size=30), _cased, max_size=5)


@st.composite
def _variants(draw) -> bytes:
    raw = json.dumps(draw(_pins), indent=draw(st.sampled_from([None, 1]))).encode()
    kinds = ["valid", "truncated", "bit-flipped", "nested", "wrapped", "prefix", "retyped", "twice", "oversized"]
    kind = draw(st.sampled_from(kinds))
    if kind == "truncated":
        return raw[: draw(st.integers(0, max(len(raw) - 1, 0)))]
    if kind == "bit-flipped" and raw:
        flips = draw(st.lists(st.tuples(st.integers(0, len(raw) - 1), st.integers(0, 7)), min_size=1, max_size=4))
        data = bytearray(raw)
        for index, bit in flips:
            data[index] ^= 1 << bit
        return bytes(data)
    depth = draw(st.integers(1, 100_000))
    if kind == "nested":  # a value nested deep inside the object
        return b'{"https://example.invalid/a": ' + b"[" * depth + b"]" * depth + b"}"
    if kind == "wrapped":  # the whole file nested deep
        return b"[" * depth + raw + b"]" * depth
    url = draw(st.text(max_size=30))  # any text, control characters included
    if kind == "prefix":
        return json.dumps({url: draw(_digests)[: draw(st.integers(0, 63))]}).encode()
    if kind == "retyped":
        value = draw(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.lists(st.integers())))
        return json.dumps({url: value}).encode()
    if kind == "twice":
        first, second = json.dumps({url: draw(_cased)}), json.dumps({url: draw(_cased)})
        return (first[:-1] + ", " + second[1:]).encode()
    if kind == "oversized":
        return raw + b" " * (MAX_BYTES + 1 - len(raw))
    return raw


@settings(max_examples=150, deadline=10_000, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(raw=_variants())
def test_the_pins_reader_gives_the_pins_or_one_line_naming_the_file(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("pins") / "frechet-pins.json"
    path.write_bytes(raw)
    expected = _expected(raw)
    try:
        pins = read_pins(path)
    except WeightsError as error:
        message = str(error)
        assert expected is None, f"refused a valid pins file: {message}"
        assert message.startswith(f"{path}: broken pins file (") and "\n" not in message
        return
    assert pins == expected
