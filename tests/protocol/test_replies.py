"""Property tests of the lean batch codec: it agrees with the frame codec on every
response, in any chunking, and rejects what the frame codec rejects."""
import pytest
from hypothesis import given, strategies as st

from couchbase.protocol import (FrameDecoder, FrameError, Magic, decode_frame,
                                encode_request, encode_response)
from couchbase.protocol.replies import Reply, first_reply, pack_request, split_replies

u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
u64 = st.integers(0, 0xFFFFFFFFFFFFFFFF)


@st.composite
def responses(draw):
    flex = draw(st.booleans())
    return encode_response(draw(st.integers(0, 255)), draw(u16),
                           key=draw(st.binary(max_size=255 if flex else 300)),
                           extras=draw(st.binary(max_size=40)),
                           value=draw(st.binary(max_size=300)), opaque=draw(u32),
                           cas=draw(u64), datatype=draw(st.integers(0, 255)),
                           framing_extras=draw(st.binary(min_size=1, max_size=20)) if flex
                           else b"")


def _as_reply(wire: bytes) -> Reply:
    frame = decode_frame(wire)
    return Reply(frame.opcode, frame.status, frame.opaque, frame.cas, frame.extras,
                 frame.key, frame.value)


@given(st.integers(0, 255), st.binary(max_size=300), st.binary(max_size=40),
       st.binary(max_size=300), u16, u32, u64)
def test_pack_request_matches_encode_request(opcode, key, extras, value, vbucket, opaque, cas):
    assert pack_request(opcode, key, extras, value, vbucket, opaque, cas) == encode_request(
        opcode, key, extras, value, vbucket=vbucket, opaque=opaque, cas=cas)


def test_pack_request_names_the_key_when_a_field_overflows():
    with pytest.raises(FrameError, match="b'k'"):
        pack_request(1, b"k", b"", b"", 0x10000, 1, 0)


@given(st.lists(responses(), max_size=8), st.data())
def test_split_in_any_chunking_agrees_with_the_frame_decoder(batch, data):
    wire = b"".join(batch)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=6)))
    buf = b""
    got = []
    start = 0
    for cut in cuts + [len(wire)]:
        buf += wire[start:cut]
        start = cut
        replies, pos = split_replies(buf)
        got.extend(replies)
        buf = buf[pos:]
    assert buf == b""
    assert got == [_as_reply(w) for w in batch]
    decoder = FrameDecoder()
    decoder.feed(wire)
    assert len(list(decoder)) == len(got)


@given(responses(), st.binary(max_size=30))
def test_first_reply_is_the_first_classic_response(wire, tail):
    reply, stop = first_reply(wire + tail)
    if wire[0] == Magic.RESPONSE:
        assert reply == _as_reply(wire) and stop == len(wire)
    else:
        assert (reply, stop) == (None, 0)
    assert first_reply(wire[:-1]) == (None, 0)


@pytest.mark.parametrize("wire", [
    encode_request(0, b"k"),                                   # a request, not a response
    b"\x42" + bytes(23),                                       # unknown magic
    encode_response(0, 0, b"key", b"ext")[:2] + b"\x00\x09\x05" + bytes(19),  # lengths > body
])
def test_malformed_input_is_rejected(wire):
    with pytest.raises(FrameError):
        split_replies(wire)
    assert first_reply(wire) == (None, 0)


def test_oversized_body_is_refused_from_the_header():
    header = encode_response(0, 0, value=b"x" * 10)[:24]
    with pytest.raises(FrameError, match="exceeds"):
        split_replies(header, max_body=5)
