"""The sqlite journal's compact encodings (schema 3) round-trip exactly and stay small."""

from __future__ import annotations

import hashlib

from hypothesis import given, strategies as st

from odirouter_async.batch.journal import Journal
from odirouter_async.batch.journal_codec import (
    pack_hash,
    pack_key,
    pack_outcome,
    unpack_hash,
    unpack_key,
    unpack_outcome,
)


@given(st.binary(max_size=2000))
def test_any_outcome_round_trips(payload: bytes) -> None:
    """Every outcome body (including ones starting with the marker byte) comes back byte for byte."""
    assert unpack_outcome(pack_outcome(payload)) == payload


@given(st.text(max_size=80))
def test_any_key_and_hash_round_trip(text: str) -> None:
    """Keys and hashes of any shape come back unchanged (content keys and hex hashes as blobs)."""
    assert unpack_key(pack_key(text)) == text
    assert unpack_hash(pack_hash(text)) == text


@given(st.integers(min_value=1, max_value=10**12), st.binary(max_size=40))
def test_content_keys_are_blobs_of_17_bytes_and_up(n: int, seed: bytes) -> None:
    """A content key is stored as 16 bytes plus the occurrence digits, and round-trips."""
    key = Journal.keys_for([{"seed": seed.hex()}] * 1)[0].rsplit("-", 1)[0] + f"-{n}"
    packed = pack_key(key)
    assert isinstance(packed, bytes) and len(packed) == 16 + len(str(n))
    assert unpack_key(packed) == key
    digest = hashlib.sha256(seed).hexdigest()
    assert pack_hash(digest) == bytes.fromhex(digest)


def test_a_typical_result_body_shrinks_to_under_half() -> None:
    """A queue result body (three copies of the request id, one output) is stored in < 50 % of its size."""
    rid = "mmsu_01m8r3mgver84p57vfqvc2r1yd"
    body = (
        f'{{"request_id":"{rid}","outputs":[{{"type":"image","url":"https://cdn.example/files/{rid}_0.png",'
        f'"content_type":"image/png","file_name":"{rid}_0.png","file_size":2048,"width":1024,'
        f'"height":1024}}],"metadata":{{"prompt":"a photo of a cat number 17"}}}}'
    ).encode()
    stored = pack_outcome(body)
    assert stored is not None and len(stored) < len(body) / 2
    assert unpack_outcome(stored) == body
