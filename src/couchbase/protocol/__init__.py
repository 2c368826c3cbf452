"""Sans-I/O core of the memcached binary protocol with Couchbase extensions.

Shared by the client (``couchbase``) and the server (``cbserver``): frames, opcodes,
statuses, extras layouts, the incremental decoder, vBucket hashing and SASL math.
It performs no I/O and imports nothing else from the project.
"""
from .constants import (ARITH_NO_CREATE, HEADER_LEN, LOCKED_CAS, MAX_KEY_LEN, MAX_VALUE_LEN,
                        QUIET_ON_MISS, QUIET_TO_LOUD, LOUD_TO_QUIET, RELATIVE_EXPIRY_LIMIT,
                        STATUS_TEXT, Datatype, Feature, Magic, ObserveState, Opcode, Status)
from .decoder import FrameDecoder
from .frames import (Frame, FrameError, decode_frame, encode_frame_info, encode_request,
                     encode_response, parse_frame_infos)
from .vbucket import vbucket_for_key

__all__ = [
    "ARITH_NO_CREATE", "HEADER_LEN", "LOCKED_CAS", "MAX_KEY_LEN", "MAX_VALUE_LEN",
    "QUIET_ON_MISS", "QUIET_TO_LOUD", "LOUD_TO_QUIET", "RELATIVE_EXPIRY_LIMIT", "STATUS_TEXT",
    "Datatype", "Feature", "Magic", "ObserveState", "Opcode", "Status", "FrameDecoder", "Frame",
    "FrameError", "decode_frame", "encode_frame_info", "encode_request", "encode_response",
    "parse_frame_infos", "vbucket_for_key",
]
