"""Property tests of the sans-I/O codec: round trips, arbitrary chunking, garbage."""
from hypothesis import given, settings, strategies as st

from couchbase.protocol import (Frame, FrameDecoder, FrameError, Magic, decode_frame,
                                encode_frame_info, encode_request, encode_response,
                                parse_frame_infos, vbucket_for_key)
from couchbase.protocol import extras, sasl

keys = st.binary(max_size=250)
short = st.binary(max_size=64)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
u64 = st.integers(0, 0xFFFFFFFFFFFFFFFF)


@st.composite
def frames(draw):
    magic = draw(st.sampled_from(list(Magic)))
    flex = magic in (Magic.ALT_REQUEST, Magic.ALT_RESPONSE)
    frame = Frame(magic, draw(st.integers(0, 255)),
                  key=draw(st.binary(max_size=255 if flex else 300)),
                  extras=draw(st.binary(max_size=40)), value=draw(st.binary(max_size=300)),
                  opaque=draw(u32), cas=draw(u64), datatype=draw(st.integers(0, 255)),
                  framing_extras=draw(st.binary(max_size=30)) if flex else b"")
    if frame.is_request:
        frame.vbucket = draw(u16)
    else:
        frame.status = draw(u16)
    return frame


@given(frames())
def test_round_trip(frame):
    assert decode_frame(frame.encode()) == frame


@given(st.lists(frames(), max_size=8), st.data())
def test_arbitrary_chunking_yields_the_same_frames(batch, data):
    wire = b"".join(f.encode() for f in batch)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=10)))
    decoder = FrameDecoder()
    out = []
    prev = 0
    for cut in cuts + [len(wire)]:
        decoder.feed(wire[prev:cut])
        prev = cut
        out.extend(decoder)
    assert out == batch
    assert decoder.buffered == 0


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_garbage_raises_only_frame_error(garbage):
    decoder = FrameDecoder(max_body=1 << 16)
    try:
        decoder.feed(garbage)
        list(decoder)
    except FrameError:
        pass
    try:
        decode_frame(garbage)
    except FrameError:
        pass


def test_absurd_body_length_is_refused_from_the_header():
    decoder = FrameDecoder(max_body=1024)
    decoder.feed(encode_request(0, b"k")[:8] + (10**9).to_bytes(4, "big") + bytes(12))
    try:
        decoder.next_frame()
    except FrameError as exc:
        assert "exceeds" in str(exc)
    else:
        raise AssertionError("an absurd body length must be refused")


def test_request_and_response_helpers():
    req = decode_frame(encode_request(0x01, b"k", extras.pack_store(5, 10), b"v", vbucket=7, opaque=3))
    assert (req.opcode, req.key, req.value, req.vbucket, req.opaque) == (1, b"k", b"v", 7, 3)
    assert extras.unpack_store(req.extras) == (5, 10)
    resp = decode_frame(encode_response(0x00, 1, value=b"Not found", opaque=3))
    assert (resp.status, resp.value, resp.is_request) == (1, b"Not found", False)
    flex = decode_frame(encode_request(0x01, b"k", framing_extras=encode_frame_info(1, b"\x01")))
    assert flex.magic == Magic.ALT_REQUEST
    assert parse_frame_infos(flex.framing_extras) == [(1, b"\x01")]


@given(st.lists(st.tuples(st.integers(0, 40), st.binary(max_size=40)), max_size=5))
def test_frame_infos_round_trip(infos):
    wire = b"".join(encode_frame_info(i, p) for i, p in infos)
    assert parse_frame_infos(wire) == infos


@given(st.lists(st.tuples(u16, keys, st.integers(0, 255), u64), max_size=5))
def test_observe_round_trip(entries):
    assert extras.decode_observe_response(extras.encode_observe_response(entries)) == entries
    pairs = [(vb, k) for vb, k, _, _ in entries]
    assert extras.decode_observe_request(extras.encode_observe_request(pairs)) == pairs


def test_vbucket_hash_matches_the_reference_values():
    assert vbucket_for_key(b"foo", 1 << 15) == 3187
    assert vbucket_for_key(b"hello", 1 << 15) == 13840
    assert vbucket_for_key(b"foo", 1024) == 3187 % 1024


def test_scram_and_cram_md5_agree_between_client_and_server():
    for mech in sasl.SCRAM_HASHES:
        client = sasl.ScramClient(mech, "bucket", "pw")
        server = sasl.ScramServer(mech)
        final = server.final(client.final(server.first(client.first(), lambda u: "pw")))
        client.verify(final)
        bad = sasl.ScramClient(mech, "bucket", "wrong")
        server = sasl.ScramServer(mech)
        try:
            server.final(bad.final(server.first(bad.first(), lambda u: "pw")))
        except sasl.SaslError:
            pass
        else:
            raise AssertionError("a wrong password must not verify")
    challenge = sasl.cram_md5_challenge()
    response = sasl.cram_md5_response("bucket", "pw", challenge)
    assert sasl.cram_md5_verify(response, challenge, lambda u: "pw") == "bucket"
    assert sasl.parse_plain(sasl.plain_message("u", "p")) == ("u", "p")
