"""Magic bytes, opcodes, status codes, datatype bits and HELLO features of the
memcached binary protocol with the Couchbase extensions (protocol.md 1-3)."""
from enum import IntEnum

HEADER_LEN = 24
MAX_KEY_LEN = 250
MAX_VALUE_LEN = 20 * 1024 * 1024
#: Relative expirations up to 30 days; larger values are absolute Unix times.
RELATIVE_EXPIRY_LIMIT = 30 * 24 * 3600
#: INCR/DECR expiry that means "do not create a missing counter".
ARITH_NO_CREATE = 0xFFFFFFFF
#: CAS reported by a plain GET on a locked item.
LOCKED_CAS = 0xFFFFFFFFFFFFFFFF


class Magic(IntEnum):
    REQUEST = 0x80
    RESPONSE = 0x81
    SERVER_REQUEST = 0x82
    SERVER_RESPONSE = 0x83
    ALT_REQUEST = 0x08
    ALT_RESPONSE = 0x18


REQUEST_MAGICS = frozenset((Magic.REQUEST, Magic.ALT_REQUEST, Magic.SERVER_RESPONSE))
RESPONSE_MAGICS = frozenset((Magic.RESPONSE, Magic.ALT_RESPONSE, Magic.SERVER_REQUEST))
FLEX_MAGICS = frozenset((Magic.ALT_REQUEST, Magic.ALT_RESPONSE))


class Opcode(IntEnum):
    GET = 0x00
    SET = 0x01
    ADD = 0x02
    REPLACE = 0x03
    DELETE = 0x04
    INCREMENT = 0x05
    DECREMENT = 0x06
    QUIT = 0x07
    FLUSH = 0x08
    GETQ = 0x09
    NOOP = 0x0A
    VERSION = 0x0B
    GETK = 0x0C
    GETKQ = 0x0D
    APPEND = 0x0E
    PREPEND = 0x0F
    STAT = 0x10
    SETQ = 0x11
    ADDQ = 0x12
    REPLACEQ = 0x13
    DELETEQ = 0x14
    INCREMENTQ = 0x15
    DECREMENTQ = 0x16
    QUITQ = 0x17
    FLUSHQ = 0x18
    APPENDQ = 0x19
    PREPENDQ = 0x1A
    VERBOSITY = 0x1B
    TOUCH = 0x1C
    GAT = 0x1D
    GATQ = 0x1E
    HELLO = 0x1F
    SASL_LIST_MECHS = 0x20
    SASL_AUTH = 0x21
    SASL_STEP = 0x22
    GET_REPLICA = 0x83
    SELECT_BUCKET = 0x89
    OBSERVE_SEQNO = 0x91
    OBSERVE = 0x92
    GET_LOCKED = 0x94
    UNLOCK_KEY = 0x95
    GET_META = 0xA0
    SET_CLUSTER_CONFIG = 0xB4
    GET_CLUSTER_CONFIG = 0xB5
    GET_COLLECTION_ID = 0xBB
    SUBDOC_MULTI_LOOKUP = 0xD0
    SUBDOC_MULTI_MUTATION = 0xD1
    GET_ERROR_MAP = 0xFE


#: Quiet opcode -> its loud twin.
QUIET_TO_LOUD = {
    Opcode.GETQ: Opcode.GET,
    Opcode.GETKQ: Opcode.GETK,
    Opcode.SETQ: Opcode.SET,
    Opcode.ADDQ: Opcode.ADD,
    Opcode.REPLACEQ: Opcode.REPLACE,
    Opcode.DELETEQ: Opcode.DELETE,
    Opcode.INCREMENTQ: Opcode.INCREMENT,
    Opcode.DECREMENTQ: Opcode.DECREMENT,
    Opcode.QUITQ: Opcode.QUIT,
    Opcode.FLUSHQ: Opcode.FLUSH,
    Opcode.APPENDQ: Opcode.APPEND,
    Opcode.PREPENDQ: Opcode.PREPEND,
    Opcode.GATQ: Opcode.GAT,
}
LOUD_TO_QUIET = {loud: quiet for quiet, loud in QUIET_TO_LOUD.items()}
#: Quiet opcodes that stay silent on a miss (reads) rather than on success.
QUIET_ON_MISS = frozenset((Opcode.GETQ, Opcode.GETKQ, Opcode.GATQ))


class Status(IntEnum):
    SUCCESS = 0x00
    KEY_ENOENT = 0x01
    KEY_EEXISTS = 0x02
    E2BIG = 0x03
    EINVAL = 0x04
    NOT_STORED = 0x05
    DELTA_BADVAL = 0x06
    NOT_MY_VBUCKET = 0x07
    NO_BUCKET = 0x08
    LOCKED = 0x09
    DCP_STREAM_NOT_FOUND = 0x0A
    OPAQUE_NO_MATCH = 0x0B
    EWOULDTHROTTLE = 0x0C
    ECONFIG_ONLY = 0x0D
    NOT_LOCKED = 0x0E
    CAS_VALUE_INVALID = 0x0F
    AUTH_STALE = 0x1F
    AUTH_ERROR = 0x20
    AUTH_CONTINUE = 0x21
    ERANGE = 0x22
    ROLLBACK = 0x23
    EACCESS = 0x24
    NOT_INITIALIZED = 0x25
    UNKNOWN_FRAME_INFO = 0x80
    UNKNOWN_COMMAND = 0x81
    ENOMEM = 0x82
    NOT_SUPPORTED = 0x83
    EINTERNAL = 0x84
    EBUSY = 0x85
    ETMPFAIL = 0x86
    XATTR_EINVAL = 0x87
    UNKNOWN_COLLECTION = 0x88
    CANNOT_APPLY_COLLECTIONS_MANIFEST = 0x8A
    UNKNOWN_SCOPE = 0x8C
    DCP_STREAMID_INVALID = 0x8D
    DURABILITY_INVALID_LEVEL = 0xA0
    DURABILITY_IMPOSSIBLE = 0xA1
    SYNC_WRITE_IN_PROGRESS = 0xA2
    SYNC_WRITE_AMBIGUOUS = 0xA3
    SYNC_WRITE_RECOMMIT_IN_PROGRESS = 0xA4
    SUBDOC_PATH_ENOENT = 0xC0
    SUBDOC_MULTI_PATH_FAILURE = 0xCC
    SUBDOC_SUCCESS_DELETED = 0xCD


#: Short texts 2.x servers put in the value of error replies.
STATUS_TEXT = {
    Status.KEY_ENOENT: "Not found",
    Status.KEY_EEXISTS: "Data exists for key",
    Status.E2BIG: "Too large",
    Status.EINVAL: "Invalid arguments",
    Status.NOT_STORED: "Not stored",
    Status.DELTA_BADVAL: "Non-numeric server-side value for incr or decr",
    Status.NOT_MY_VBUCKET: "I'm not responsible for this vbucket",
    Status.AUTH_ERROR: "Auth failure",
    Status.ERANGE: "Out of range",
    Status.UNKNOWN_COMMAND: "Unknown command",
    Status.ENOMEM: "Out of memory",
    Status.NOT_SUPPORTED: "Not supported",
    Status.EINTERNAL: "Internal error",
    Status.EBUSY: "Server too busy",
    Status.ETMPFAIL: "Temporary failure",
}


class Datatype(IntEnum):
    RAW = 0x00
    JSON = 0x01
    SNAPPY = 0x02
    XATTR = 0x04


class Feature(IntEnum):
    DATATYPE = 0x01
    TLS = 0x02
    TCPNODELAY = 0x03
    MUTATION_SEQNO = 0x04
    TCPDELAY = 0x05
    XATTR = 0x06
    XERROR = 0x07
    SELECT_BUCKET = 0x08
    SNAPPY = 0x0A
    JSON = 0x0B
    DUPLEX = 0x0C
    CLUSTERMAP_CHANGE_NOTIFICATION = 0x0D
    UNORDERED_EXECUTION = 0x0E
    TRACING = 0x0F
    ALT_REQUEST_SUPPORT = 0x10
    SYNC_REPLICATION = 0x11
    COLLECTIONS = 0x12
    SNAPPY_EVERYWHERE = 0x13
    PRESERVE_TTL = 0x14
    VATTR = 0x15
    SUBDOC_CREATE_AS_DELETED = 0x17
    SUBDOC_DOCUMENT_MACRO_SUPPORT = 0x18
    SUBDOC_REPLACE_BODY_WITH_XATTR = 0x19
    REPORT_UNIT_USAGE = 0x1A
    NON_BLOCKING_THROTTLING_MODE = 0x1B
    SUBDOC_REPLICA_READ = 0x1C
    GET_CLUSTER_CONFIG_WITH_KNOWN_VERSION = 0x1D
    DEDUPE_NOT_MY_VBUCKET_CLUSTERMAP = 0x1E
    CLUSTERMAP_CHANGE_NOTIFICATION_BRIEF = 0x1F
    SUBDOC_BINARY_XATTR = 0x21


class ObserveState(IntEnum):
    FOUND = 0x00
    PERSISTED = 0x01
    NOT_FOUND = 0x80
    LOGICALLY_DELETED = 0x81
