/*
 * cbserver.kv._fast_path: the KV fast path of cbserver.kv.fast_path, in C.
 *
 * serve_fast(session, bucket, data, pos, out) -> int serves GET/GETQ/GETK/GETKQ hits on
 * plain records and SET/SETQ without CAS straight off a receive buffer, exactly as the
 * Python serve_fast_python does: that function and its docstring are the specification
 * (the same requests served, the same stop at the first request it cannot serve, with
 * nothing changed for that request, byte-identical replies appended to ``out`` as the
 * same list items, and the same calls into the bucket). Why C: once the Python loop was
 * tuned to the bytecode, the interpreter itself was most of a request's CPU time. The
 * engine stays in Python: a SET is Bucket.set_plain, a record with an expiry or a lock
 * asks Bucket.is_plain, and the GET hits and SETs served are added to the machine
 * integers of Bucket.fast_counts once per call (Bucket.statistics reports them). fast_bucket(session) is the twin of fast_bucket_python: which
 * bucket, if any, a connection's fast path may serve.
 *
 * The request bytes are untrusted: every length is checked before the bytes it covers
 * are read. Wire constants are #defined below; the module exports them and
 * fast_path.py compares them with couchbase.protocol at import, so they cannot drift
 * silently. The only module state is interned attribute names and struct.error.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* Wire constants (checked against couchbase.protocol by fast_path.py). */
#define HEADER_LEN 24
#define MAX_KEY_LEN 250
#define MAX_VALUE_LEN (20 * 1024 * 1024)
#define MAGIC_REQUEST 0x80
#define MAGIC_RESPONSE 0x81
#define OP_GET 0x00
#define OP_SET 0x01
#define OP_GETQ 0x09
#define OP_GETK 0x0c
#define OP_GETKQ 0x0d
#define OP_SETQ 0x11
#define DATATYPE_JSON 0x01
/* SET extras (flags, expiration) and the mutation token (vBucket UUID, seqno). */
#define STORE_EXTRAS_LEN 8
#define TOKEN_LEN 16
/* A GET reply carries 4 bytes of flags as extras. */
#define FLAGS_LEN 4
#define SET_REQUEST_LEN (HEADER_LEN + STORE_EXTRAS_LEN)

/* The engine's record: (value, flags, cas, datatype, seqno, expiry, lock_expiry). */
#define RECORD_LEN 7
#define RECORD_VALUE 0
#define RECORD_FLAGS 1
#define RECORD_CAS 2
#define RECORD_DATATYPE 3
#define RECORD_SEQNO 4
#define RECORD_EXPIRY 5
#define RECORD_LOCK_EXPIRY 6
/* Bucket.fast_counts: GET hits, SETs. */
#define FAST_GETS 0
#define FAST_SETS 1
#define FAST_COUNTS 2

#define U8_MAX 0xffULL
#define U32_MAX 0xffffffffULL
#define U64_MAX 0xffffffffffffffffULL

typedef struct {
    PyObject *settings;
    PyObject *num_vbuckets;
    PyObject *records;
    PyObject *get;
    PyObject *json;
    PyObject *mutation_seqno;
    PyObject *set_plain;
    PyObject *is_plain;
    PyObject *fast_counts;
    PyObject *vbucket_uuid;
    PyObject *bucket;
    PyObject *server;
    PyObject *buckets;
    PyObject *default_name;
    PyObject *password;
    PyObject *deleted;
    PyObject *warming_up;
    PyObject *struct_error;
} module_state;

/* What one serve_fast call works with, read once per call as the Python version does. */
typedef struct {
    module_state *st;
    PyObject *session;
    PyObject *bucket;
    PyObject *records;  /* the bucket's dict (owned) */
    PyObject *lookup;   /* its bound ``get`` when it is not exactly a dict (owned), else NULL */
    PyObject *out;
    const unsigned char *data;
    Py_ssize_t end;
    long long vbuckets;
    int json;
    Py_ssize_t gets;
    Py_ssize_t sets;
} call_context;

/* What serving one request came to. */
typedef enum { SERVED, STOP, FAILED } outcome;

static inline unsigned int
read_u16(const unsigned char *p)
{
    return (unsigned int)p[0] << 8 | (unsigned int)p[1];
}

static inline uint32_t
read_u32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline uint64_t
read_u64(const unsigned char *p)
{
    return (uint64_t)read_u32(p) << 32 | read_u32(p + 4);
}

static inline void
write_u16(unsigned char *p, unsigned int v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

static inline void
write_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static inline void
write_u64(unsigned char *p, uint64_t v)
{
    write_u32(p, (uint32_t)(v >> 32));
    write_u32(p + 4, (uint32_t)v);
}

/*
 * A record field as the unsigned integer of at most ``max`` a reply field holds; -1 with
 * struct.error set (what the Python version's pack raises) naming the key, the
 * operation and the field when it is no integer or out of range.
 */
static int
wire_uint(module_state *st, PyObject *value, unsigned long long max, const char *field,
          const char *operation, PyObject *key, unsigned long long *result)
{
    PyObject *index = PyNumber_Index(value);
    if (index == NULL) {
        if (PyErr_ExceptionMatches(PyExc_TypeError)) {
            PyErr_Format(st->struct_error, "%s of key %R: record %s %R is not an integer",
                         operation, key, field, value);
        }
        return -1;
    }
    unsigned long long number = PyLong_AsUnsignedLongLong(index);
    Py_DECREF(index);
    if (number == (unsigned long long)-1 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError)) {
            return -1;
        }
        PyErr_Clear();
    }
    else if (number <= max) {
        *result = number;
        return 0;
    }
    PyErr_Format(st->struct_error, "%s of key %R: record %s %R does not fit the reply "
                 "(0 to %llu)", operation, key, field, value, max);
    return -1;
}

/* len(value) of a record's value: a bytes object's size directly, else len(). */
static inline Py_ssize_t
value_length(PyObject *value)
{
    return PyBytes_CheckExact(value) ? PyBytes_GET_SIZE(value) : PyObject_Size(value);
}

/* ``out.append(item)`` that consumes the reference to ``item``; -1 on error. */
static int
append_new(PyObject *out, PyObject *item)
{
    if (item == NULL) {
        return -1;
    }
    int failed = PyList_Append(out, item);
    Py_DECREF(item);
    return failed;
}

/* The record stored under ``key`` (a new reference), NULL when missing or on error. */
static PyObject *
lookup_record(call_context *ctx, PyObject *key)
{
    if (ctx->lookup == NULL) {
        PyObject *record = PyDict_GetItemWithError(ctx->records, key);
        Py_XINCREF(record);
        return record;
    }
    PyObject *record = PyObject_CallOneArg(ctx->lookup, key);
    if (record == Py_None) {
        Py_DECREF(record);
        return NULL;
    }
    return record;
}

/* True (1) when ``object.<name>`` is true, 0 when false, -1 on error. */
static int
attr_is_true(PyObject *object, PyObject *name)
{
    PyObject *value = PyObject_GetAttr(object, name);
    if (value == NULL) {
        return -1;
    }
    int truth = PyObject_IsTrue(value);
    Py_DECREF(value);
    return truth;
}

/*
 * True (1) when a GET may serve ``record``: no expiry and no lock, or Bucket.is_plain
 * says it is neither locked nor expired now; 0 when not, -1 on error.
 */
static int
record_is_plain(call_context *ctx, PyObject *record)
{
    int timed = PyObject_IsTrue(PyTuple_GET_ITEM(record, RECORD_EXPIRY));
    if (timed == 0) {
        timed = PyObject_IsTrue(PyTuple_GET_ITEM(record, RECORD_LOCK_EXPIRY));
    }
    if (timed <= 0) {
        return timed < 0 ? -1 : 1;
    }
    PyObject *answer = PyObject_CallMethodOneArg(ctx->bucket, ctx->st->is_plain, record);
    if (answer == NULL) {
        return -1;
    }
    int plain = PyObject_IsTrue(answer);
    Py_DECREF(answer);
    return plain;
}

/* Append the reply to a GET-family hit on ``record``: header and flags, key (GETK), value. */
static int
append_get_reply(call_context *ctx, const unsigned char *request, PyObject *key,
                 PyObject *record)
{
    module_state *st = ctx->st;
    PyObject *value = PyTuple_GET_ITEM(record, RECORD_VALUE);
    unsigned int opcode = request[1];
    int with_key = opcode == OP_GETK || opcode == OP_GETKQ;
    Py_ssize_t key_len = with_key ? PyBytes_GET_SIZE(key) : 0;
    unsigned long long datatype = 0, cas, flags;
    /* Checked in the order of the Python version's arguments and pack fields. */
    Py_ssize_t value_len = value_length(value);
    if (value_len < 0) {
        return -1;
    }
    if (ctx->json && wire_uint(st, PyTuple_GET_ITEM(record, RECORD_DATATYPE), U8_MAX,
                               "datatype", "GET", key, &datatype) < 0) {
        return -1;
    }
    if ((unsigned long long)value_len > U32_MAX - FLAGS_LEN - (unsigned long long)key_len) {
        PyErr_Format(st->struct_error, "GET of key %R: a value of %zd bytes does not fit "
                     "a reply", key, value_len);
        return -1;
    }
    if (wire_uint(st, PyTuple_GET_ITEM(record, RECORD_CAS), U64_MAX, "cas", "GET", key,
                  &cas) < 0
            || wire_uint(st, PyTuple_GET_ITEM(record, RECORD_FLAGS), U32_MAX, "flags", "GET",
                         key, &flags) < 0) {
        return -1;
    }
    PyObject *header = PyBytes_FromStringAndSize(NULL, HEADER_LEN + FLAGS_LEN);
    if (header == NULL) {
        return -1;
    }
    unsigned char *p = (unsigned char *)PyBytes_AS_STRING(header);
    memset(p, 0, HEADER_LEN + FLAGS_LEN);
    p[0] = MAGIC_RESPONSE;
    p[1] = (unsigned char)opcode;
    write_u16(p + 2, (unsigned int)key_len);
    p[4] = FLAGS_LEN;
    p[5] = (unsigned char)datatype;
    write_u32(p + 8, (uint32_t)(FLAGS_LEN + key_len + value_len));
    memcpy(p + 12, request + 12, 4);  /* opaque, echoed as sent */
    write_u64(p + 16, cas);
    write_u32(p + 24, (uint32_t)flags);
    if (append_new(ctx->out, header) < 0
            || (with_key && PyList_Append(ctx->out, key) < 0)) {
        return -1;
    }
    return PyList_Append(ctx->out, value);
}

/* Serve the GET/GETQ/GETK/GETKQ at ``pos`` (a whole header is there); ``*stop`` is where
 * the next request starts. */
static outcome
serve_get(call_context *ctx, Py_ssize_t pos, Py_ssize_t *stop)
{
    const unsigned char *request = ctx->data + pos;
    unsigned int key_len = read_u16(request + 2);
    if (request[0] != MAGIC_REQUEST || request[4] != 0 || read_u32(request + 8) != key_len
            || key_len == 0 || key_len > MAX_KEY_LEN
            || (long long)read_u16(request + 6) >= ctx->vbuckets
            || (Py_ssize_t)key_len > ctx->end - pos - HEADER_LEN) {
        return STOP;
    }
    PyObject *key = PyBytes_FromStringAndSize((const char *)request + HEADER_LEN, key_len);
    if (key == NULL) {
        return FAILED;
    }
    outcome result = FAILED;
    PyObject *record = lookup_record(ctx, key);
    if (record == NULL) {
        result = PyErr_Occurred() ? FAILED : STOP;
        goto done;
    }
    if (!PyTuple_CheckExact(record) || PyTuple_GET_SIZE(record) != RECORD_LEN) {
        PyErr_Format(PyTuple_CheckExact(record) ? PyExc_ValueError : PyExc_TypeError,
                     "GET of key %R: the bucket's record %R is not a %d-tuple", key, record,
                     RECORD_LEN);
        goto done;
    }
    int plain = record_is_plain(ctx, record);
    if (plain <= 0) {
        result = plain < 0 ? FAILED : STOP;
        goto done;
    }
    ctx->gets++;
    if (append_get_reply(ctx, request, key, record) < 0) {
        goto done;
    }
    *stop = pos + HEADER_LEN + key_len;
    result = SERVED;
done:
    Py_XDECREF(record);
    Py_DECREF(key);
    return result;
}

/*
 * Append the reply to a served SET: the bare header, or one with a mutation token
 * (vBucket UUID and seqno) when HELLO asked for it. The fields are read and checked in
 * the Python version's order: session.mutation_seqno, record[CAS], bucket.vbucket_uuid,
 * record[SEQNO].
 */
static int
append_set_reply(call_context *ctx, const unsigned char *request, PyObject *key,
                 PyObject *record)
{
    module_state *st = ctx->st;
    int with_token = attr_is_true(ctx->session, st->mutation_seqno);
    if (with_token < 0) {
        return -1;
    }
    static const char *const names[3] = {"cas", "vbucket_uuid", "seqno"};
    PyObject *fields[3] = {NULL, NULL, NULL};
    unsigned long long numbers[3] = {0, 0, 0};
    int count = with_token ? 3 : 1, failed = 0;
    for (int i = 0; i < count && !failed; i++) {
        fields[i] = i == 1 ? PyObject_GetAttr(ctx->bucket, st->vbucket_uuid)
                           : PySequence_GetItem(record, i == 0 ? RECORD_CAS : RECORD_SEQNO);
        failed = fields[i] == NULL;
    }
    for (int i = 0; i < count && !failed; i++) {
        failed = wire_uint(st, fields[i], U64_MAX, names[i], "SET", key, &numbers[i]) < 0;
    }
    for (int i = 0; i < count; i++) {
        Py_XDECREF(fields[i]);
    }
    if (failed) {
        return -1;
    }
    Py_ssize_t extras_len = with_token ? TOKEN_LEN : 0;
    PyObject *reply = PyBytes_FromStringAndSize(NULL, HEADER_LEN + extras_len);
    if (reply == NULL) {
        return -1;
    }
    unsigned char *p = (unsigned char *)PyBytes_AS_STRING(reply);
    memset(p, 0, HEADER_LEN);
    p[0] = MAGIC_RESPONSE;
    p[1] = OP_SET;
    p[4] = (unsigned char)extras_len;
    write_u32(p + 8, (uint32_t)extras_len);
    memcpy(p + 12, request + 12, 4);  /* opaque, echoed as sent */
    write_u64(p + 16, numbers[0]);
    if (with_token) {
        write_u64(p + 24, numbers[1]);
        write_u64(p + 32, numbers[2]);
    }
    return append_new(ctx->out, reply);
}

/* Serve the SET/SETQ at ``pos`` (header and extras are there) through Bucket.set_plain. */
static outcome
serve_set(call_context *ctx, Py_ssize_t pos, Py_ssize_t *stop)
{
    const unsigned char *request = ctx->data + pos;
    unsigned int key_len = read_u16(request + 2);
    unsigned int datatype = request[5];
    uint64_t body_len = read_u32(request + 8);
    if (request[0] != MAGIC_REQUEST || request[4] != STORE_EXTRAS_LEN
            || datatype > DATATYPE_JSON || read_u64(request + 16) != 0
            || key_len == 0 || key_len > MAX_KEY_LEN
            || (long long)read_u16(request + 6) >= ctx->vbuckets
            || body_len > (uint64_t)(ctx->end - pos - HEADER_LEN)
            || body_len < key_len + STORE_EXTRAS_LEN
            || body_len - STORE_EXTRAS_LEN - key_len > MAX_VALUE_LEN) {
        return STOP;
    }
    const char *key_start = (const char *)request + SET_REQUEST_LEN;
    Py_ssize_t value_len = (Py_ssize_t)(body_len - STORE_EXTRAS_LEN - key_len);
    PyObject *args[6] = {
        ctx->bucket,
        PyBytes_FromStringAndSize(key_start, key_len),
        PyBytes_FromStringAndSize(key_start + key_len, value_len),
        PyLong_FromUnsignedLong(read_u32(request + 24)),
        PyLong_FromUnsignedLong(read_u32(request + 28)),
        PyLong_FromUnsignedLong(datatype),
    };
    outcome result = FAILED;
    PyObject *record = NULL;
    if (args[1] == NULL || args[2] == NULL || args[3] == NULL || args[4] == NULL
            || args[5] == NULL) {
        goto done;
    }
    record = PyObject_VectorcallMethod(ctx->st->set_plain, args, 6, NULL);
    if (record == NULL) {
        goto done;
    }
    if (record == Py_None) {
        result = STOP;
        goto done;
    }
    ctx->sets++;
    if (request[1] != OP_SETQ && append_set_reply(ctx, request, args[1], record) < 0) {
        goto done;
    }
    *stop = pos + HEADER_LEN + (Py_ssize_t)body_len;
    result = SERVED;
done:
    Py_XDECREF(record);
    for (int i = 1; i < 6; i++) {
        Py_XDECREF(args[i]);
    }
    return result;
}

/* Read what one call needs of session and bucket, in the Python version's order. */
static int
open_context(call_context *ctx, PyObject *session, PyObject *bucket, PyObject *data,
             PyObject *out)
{
    module_state *st = ctx->st;
    ctx->session = session;
    ctx->bucket = bucket;
    ctx->out = out;
    ctx->data = (const unsigned char *)PyBytes_AS_STRING(data);
    ctx->end = PyBytes_GET_SIZE(data);
    ctx->gets = ctx->sets = 0;
    ctx->records = ctx->lookup = NULL;
    PyObject *settings = PyObject_GetAttr(bucket, st->settings);
    if (settings == NULL) {
        return -1;
    }
    PyObject *vbuckets = PyObject_GetAttr(settings, st->num_vbuckets);
    Py_DECREF(settings);
    if (vbuckets == NULL) {
        return -1;
    }
    ctx->vbuckets = PyLong_AsLongLong(vbuckets);
    Py_DECREF(vbuckets);
    if (ctx->vbuckets == -1 && PyErr_Occurred()) {
        return -1;
    }
    ctx->records = PyObject_GetAttr(bucket, st->records);
    if (ctx->records == NULL) {
        return -1;
    }
    if (!PyDict_CheckExact(ctx->records)) {
        ctx->lookup = PyObject_GetAttr(ctx->records, st->get);
        if (ctx->lookup == NULL) {
            return -1;
        }
    }
    ctx->json = attr_is_true(session, st->json);
    return ctx->json < 0 ? -1 : 0;
}

/* The fast path's counters of one call added to Bucket.fast_counts once: a writable
 * buffer of at least FAST_COUNTS int64 (an array("q")). */
static int
count_served(call_context *ctx)
{
    if (ctx->gets == 0 && ctx->sets == 0) {
        return 0;
    }
    PyObject *counts = PyObject_GetAttr(ctx->bucket, ctx->st->fast_counts);
    if (counts == NULL) {
        return -1;
    }
    Py_buffer view;
    int failed = PyObject_GetBuffer(counts, &view, PyBUF_WRITABLE | PyBUF_FORMAT) < 0;
    Py_DECREF(counts);
    if (failed) {
        return -1;
    }
    if (view.itemsize != sizeof(int64_t) || view.format == NULL || strcmp(view.format, "q")
            || view.len < FAST_COUNTS * (Py_ssize_t)sizeof(int64_t)) {
        PyErr_Format(PyExc_TypeError, "Bucket.fast_counts must be an array('q') of at "
                     "least %d counters, not format %s of %zd bytes", FAST_COUNTS,
                     view.format == NULL ? "?" : view.format, view.len);
        PyBuffer_Release(&view);
        return -1;
    }
    int64_t *slots = view.buf;
    slots[FAST_GETS] += ctx->gets;
    slots[FAST_SETS] += ctx->sets;
    PyBuffer_Release(&view);
    return 0;
}

PyDoc_STRVAR(serve_fast_doc,
"serve_fast(session, bucket, data, pos, out) -> int\n\n"
"Serve the fast-path requests of the bytes ``data`` from ``pos`` on, appending their\n"
"replies to the list ``out``; return the offset of the first request left for the\n"
"full path (the C twin of cbserver.kv.fast_path.serve_fast_python).");

static PyObject *
serve_fast(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5) {
        PyErr_Format(PyExc_TypeError, "serve_fast() takes 5 positional arguments "
                     "(session, bucket, data, pos, out), %zd given", nargs);
        return NULL;
    }
    PyObject *data = args[2], *out = args[4];
    if (!PyBytes_Check(data) || !PyList_Check(out)) {
        PyErr_Format(PyExc_TypeError, "serve_fast() needs bytes data and a list out, not "
                     "%.100s and %.100s", Py_TYPE(data)->tp_name, Py_TYPE(out)->tp_name);
        return NULL;
    }
    Py_ssize_t pos = PyNumber_AsSsize_t(args[3], PyExc_OverflowError);
    if (pos == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (pos < 0) {
        PyErr_Format(PyExc_ValueError, "serve_fast() offset %zd is negative", pos);
        return NULL;
    }
    call_context ctx = {.st = PyModule_GetState(module)};
    PyObject *result = NULL;
    if (open_context(&ctx, args[0], args[1], data, out) < 0) {
        goto done;
    }
    for (;;) {
        Py_ssize_t left = ctx.end - pos, stop = pos;
        outcome served;
        if (left < HEADER_LEN) {
            break;
        }
        switch (ctx.data[pos + 1]) {
        case OP_GET: case OP_GETQ: case OP_GETK: case OP_GETKQ:
            served = serve_get(&ctx, pos, &stop);
            break;
        case OP_SET: case OP_SETQ:
            served = left < SET_REQUEST_LEN ? STOP : serve_set(&ctx, pos, &stop);
            break;
        default:
            served = STOP;
        }
        if (served == FAILED) {
            goto done;
        }
        if (served == STOP) {
            break;
        }
        pos = stop;
    }
    if (count_served(&ctx) == 0) {
        result = PyLong_FromSsize_t(pos);
    }
done:
    Py_XDECREF(ctx.records);
    Py_XDECREF(ctx.lookup);
    return result;
}

/* The ``default`` bucket when it exists and has no password (a new reference), else
 * None; what Session.data_bucket gives a connection that chose no bucket. */
static PyObject *
open_default_bucket(module_state *st, PyObject *session)
{
    PyObject *server = PyObject_GetAttr(session, st->server);
    if (server == NULL) {
        return NULL;
    }
    PyObject *buckets = PyObject_GetAttr(server, st->buckets);
    Py_DECREF(server);
    if (buckets == NULL) {
        return NULL;
    }
    PyObject *bucket = PyDict_CheckExact(buckets)
        ? Py_XNewRef(PyDict_GetItemWithError(buckets, st->default_name))
        : PyObject_CallMethodOneArg(buckets, st->get, st->default_name);
    Py_DECREF(buckets);
    if (bucket == NULL) {
        return PyErr_Occurred() ? NULL : Py_NewRef(Py_None);
    }
    if (bucket == Py_None) {
        return bucket;
    }
    /* Bucket.password is settings.password; read without the property's frame. */
    PyObject *settings = PyObject_GetAttr(bucket, st->settings);
    int locked = settings == NULL ? -1 : attr_is_true(settings, st->password);
    Py_XDECREF(settings);
    if (locked != 0) {
        Py_DECREF(bucket);
        return locked < 0 ? NULL : Py_NewRef(Py_None);
    }
    return bucket;
}

PyDoc_STRVAR(fast_bucket_doc,
"fast_bucket(session) -> Bucket | None\n\n"
"The bucket the fast path may serve for ``session``; None when every request must take\n"
"the full path (no bucket, bucket deleted or warming up). The C twin of\n"
"cbserver.kv.fast_path.fast_bucket_python.");

static PyObject *
fast_bucket(PyObject *module, PyObject *session)
{
    module_state *st = PyModule_GetState(module);
    PyObject *bucket = PyObject_GetAttr(session, st->bucket);
    if (bucket == Py_None) {
        Py_DECREF(bucket);
        bucket = open_default_bucket(st, session);
    }
    if (bucket == NULL || bucket == Py_None) {
        return bucket;
    }
    int closed = attr_is_true(bucket, st->deleted);
    if (closed == 0) {
        closed = attr_is_true(bucket, st->warming_up);
    }
    if (closed != 0) {
        Py_DECREF(bucket);
        return closed < 0 ? NULL : Py_NewRef(Py_None);
    }
    return bucket;
}

static PyMethodDef methods[] = {
    {"serve_fast", (PyCFunction)(void (*)(void))serve_fast, METH_FASTCALL, serve_fast_doc},
    {"fast_bucket", fast_bucket, METH_O, fast_bucket_doc},
    {NULL, NULL, 0, NULL},
};

/* The interned names and struct.error the calls use, plus the constants to check. */
static int
exec_module(PyObject *module)
{
    module_state *st = PyModule_GetState(module);
    struct { PyObject **slot; const char *name; } names[] = {
        {&st->settings, "settings"}, {&st->num_vbuckets, "num_vbuckets"},
        {&st->records, "records"}, {&st->get, "get"}, {&st->json, "json"},
        {&st->mutation_seqno, "mutation_seqno"}, {&st->set_plain, "set_plain"},
        {&st->is_plain, "is_plain"}, {&st->fast_counts, "fast_counts"},
        {&st->vbucket_uuid, "vbucket_uuid"}, {&st->bucket, "bucket"},
        {&st->server, "server"}, {&st->buckets, "buckets"}, {&st->default_name, "default"},
        {&st->password, "password"}, {&st->deleted, "deleted"},
        {&st->warming_up, "warming_up"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        *names[i].slot = PyUnicode_InternFromString(names[i].name);
        if (*names[i].slot == NULL) {
            return -1;
        }
    }
    PyObject *struct_module = PyImport_ImportModule("struct");
    if (struct_module == NULL) {
        return -1;
    }
    st->struct_error = PyObject_GetAttrString(struct_module, "error");
    Py_DECREF(struct_module);
    if (st->struct_error == NULL) {
        return -1;
    }
    struct { const char *name; long value; } constants[] = {
        {"HEADER_LEN", HEADER_LEN}, {"MAX_KEY_LEN", MAX_KEY_LEN},
        {"MAX_VALUE_LEN", MAX_VALUE_LEN}, {"MAGIC_REQUEST", MAGIC_REQUEST},
        {"MAGIC_RESPONSE", MAGIC_RESPONSE}, {"OP_GET", OP_GET}, {"OP_SET", OP_SET},
        {"OP_GETQ", OP_GETQ}, {"OP_GETK", OP_GETK}, {"OP_GETKQ", OP_GETKQ},
        {"OP_SETQ", OP_SETQ}, {"DATATYPE_JSON", DATATYPE_JSON},
        {"STORE_EXTRAS_LEN", STORE_EXTRAS_LEN}, {"TOKEN_LEN", TOKEN_LEN},
        {"RECORD_LEN", RECORD_LEN}, {"RECORD_VALUE", RECORD_VALUE},
        {"RECORD_FLAGS", RECORD_FLAGS}, {"RECORD_CAS", RECORD_CAS},
        {"RECORD_DATATYPE", RECORD_DATATYPE}, {"RECORD_SEQNO", RECORD_SEQNO},
        {"RECORD_EXPIRY", RECORD_EXPIRY}, {"RECORD_LOCK_EXPIRY", RECORD_LOCK_EXPIRY},
        {"FAST_GETS", FAST_GETS}, {"FAST_SETS", FAST_SETS}, {"FAST_COUNTS", FAST_COUNTS},
    };
    for (size_t i = 0; i < sizeof constants / sizeof constants[0]; i++) {
        if (PyModule_AddIntConstant(module, constants[i].name, constants[i].value) < 0) {
            return -1;
        }
    }
    return 0;
}

static int
traverse_module(PyObject *module, visitproc visit, void *arg)
{
    module_state *st = PyModule_GetState(module);
    Py_VISIT(st->struct_error);
    return 0;
}

static int
clear_module(PyObject *module)
{
    module_state *st = PyModule_GetState(module);
    Py_CLEAR(st->settings);
    Py_CLEAR(st->num_vbuckets);
    Py_CLEAR(st->records);
    Py_CLEAR(st->get);
    Py_CLEAR(st->json);
    Py_CLEAR(st->mutation_seqno);
    Py_CLEAR(st->set_plain);
    Py_CLEAR(st->is_plain);
    Py_CLEAR(st->fast_counts);
    Py_CLEAR(st->vbucket_uuid);
    Py_CLEAR(st->bucket);
    Py_CLEAR(st->server);
    Py_CLEAR(st->buckets);
    Py_CLEAR(st->default_name);
    Py_CLEAR(st->password);
    Py_CLEAR(st->deleted);
    Py_CLEAR(st->warming_up);
    Py_CLEAR(st->struct_error);
    return 0;
}

static void
free_module(void *module)
{
    clear_module((PyObject *)module);
}

static PyModuleDef_Slot slots[] = {
    {Py_mod_exec, exec_module},
    {0, NULL},
};

PyDoc_STRVAR(module_doc,
"The KV fast path of cbserver.kv.fast_path in C: serve_fast and fast_bucket, with the\n"
"wire constants it was compiled with (checked against couchbase.protocol at import).");

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "cbserver.kv._fast_path",
    .m_doc = module_doc,
    .m_size = sizeof(module_state),
    .m_methods = methods,
    .m_slots = slots,
    .m_traverse = traverse_module,
    .m_clear = clear_module,
    .m_free = free_module,
};

PyMODINIT_FUNC
PyInit__fast_path(void)
{
    return PyModuleDef_Init(&module_def);
}
