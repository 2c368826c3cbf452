/*
 * Layout 3 of a commit log batch (cbserver/storage/batch_codec.py): the parts shared by the
 * C modules that write it, the batch codec (_batch_codec.c) and the disk queue
 * (_disk_queue.c, which encodes each mutation as the engine queues it). Little-endian:
 *
 *   header  14 bytes: tag cb 03, u64 batch seqno, u32 count (mutations)
 *   write   32-byte head: u8 kind 0, u16 key_len, u32 value_len, u32 flags, u64 cas,
 *           u8 datatype, u64 seqno, u32 expiry; then the key, then the value
 *   delete  11-byte head: u8 kind 1, u16 key_len, u64 seqno; then the key
 *
 * pack_entry checks an entry as batch_codec.py does (exact types and ranges; the first bad
 * field raises TypeError or ValueError with the Python reference's message, prefixed by
 * where the entry is, an entry_at) and packs its head.
 */
#ifndef CBSERVER_LAYOUT3_H
#define CBSERVER_LAYOUT3_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define TAG_0 0xcb
#define TAG_1 0x03
#define HEADER_LEN 14
#define WRITE_HEAD 32
#define DELETE_HEAD 11
#define KIND_WRITE 0
#define KIND_DELETE 1
#define RECORD_ITEMS 7
#define ROW_FIELDS 7
#define KEY_MAX 65535

typedef const unsigned char *pos_t;

/* Where an entry is, for messages: "<op>: entry <index>: ", or "<op>: " if index < 0. */
typedef struct {
    const char *op;
    Py_ssize_t index;
} entry_at;

static inline uint16_t
get_u16(pos_t p)
{
    return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t
get_u32(pos_t p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t
get_u64(pos_t p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static inline unsigned char *
put_u16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    return p + 2;
}

static inline unsigned char *
put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
    return p + 4;
}

static inline unsigned char *
put_u64(unsigned char *p, uint64_t v)
{
    put_u32(p, (uint32_t)v);
    return put_u32(p + 4, (uint32_t)(v >> 32));
}

/* Format the "<op>: entry <index>: " prefix of a message ("<op>: " if the index is < 0). */
static void
entry_prefix(char *where, size_t size, entry_at at)
{
    if (at.index < 0) {
        PyOS_snprintf(where, size, "%s: ", at.op);
    }
    else {
        PyOS_snprintf(where, size, "%s: entry %zd: ", at.op, at.index);
    }
}

/* Raise TypeError "<where><what> must be <expected>, not <type name of obj>". */
static void
wrong_type(entry_at at, const char *what, const char *expected, PyObject *obj)
{
    char where[64];
    entry_prefix(where, sizeof(where), at);
    PyObject *name = PyType_GetName(Py_TYPE(obj));
    if (name != NULL) {
        PyErr_Format(PyExc_TypeError, "%s%s must be %s, not %U", where, what, expected, name);
        Py_DECREF(name);
    }
}

/* Read a non-negative exact int of up to 64 bits into *out; 0 if it is negative or
 * wider. On 3.11 straight from its digits (a call per field cost a third of an encode);
 * later versions changed the layout, so they call the API. */
static inline int
exact_u64(PyObject *obj, uint64_t *out)
{
#if PY_VERSION_HEX < 0x030C0000
    Py_ssize_t size = Py_SIZE(obj);
    const digit *digits = ((PyLongObject *)obj)->ob_digit;
    uint64_t value = 0;
    if (size < 0) {
        return 0;
    }
    while (size-- > 0) {
        if (value >> (64 - PyLong_SHIFT)) {
            return 0;
        }
        value = value << PyLong_SHIFT | digits[size];
    }
    *out = value;
    return 1;
#else
    unsigned long long value = PyLong_AsUnsignedLongLong(obj);
    if (value == (unsigned long long)-1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    *out = value;
    return 1;
#endif
}

/* Read an exact int in 0..max; else raise TypeError or ValueError naming the entry and field. */
static inline int
read_uint(PyObject *obj, uint64_t max, uint64_t *out, entry_at at, const char *field)
{
    if (!PyLong_CheckExact(obj)) {
        wrong_type(at, field, "an int", obj);
        return -1;
    }
    if (exact_u64(obj, out) && *out <= max) {
        return 0;
    }
    char where[64];
    entry_prefix(where, sizeof(where), at);
    PyErr_Format(PyExc_ValueError, "%s%s %S is out of range 0..%llu", where, field, obj,
                 (unsigned long long)max);
    return -1;
}

/* Check one record and pack its head into out; return the value's length, or -1. */
static Py_ssize_t
pack_write(PyObject *state, entry_at at, Py_ssize_t key_len, unsigned char *out)
{
    PyObject *value = PyTuple_GET_ITEM(state, 0);
    if (!PyBytes_CheckExact(value)) {
        wrong_type(at, "value", "bytes", value);
        return -1;
    }
    Py_ssize_t value_len = PyBytes_GET_SIZE(value);
    if ((uint64_t)value_len > UINT32_MAX) {
        char where[64];
        entry_prefix(where, sizeof(where), at);
        PyErr_Format(PyExc_ValueError, "%svalue is %zd bytes long (at most %lu allowed)", where,
                     value_len, (unsigned long)UINT32_MAX);
        return -1;
    }
    uint64_t flags, cas, datatype, seqno, expiry;
    if (read_uint(PyTuple_GET_ITEM(state, 1), UINT32_MAX, &flags, at, "flags") < 0
        || read_uint(PyTuple_GET_ITEM(state, 2), UINT64_MAX, &cas, at, "cas") < 0
        || read_uint(PyTuple_GET_ITEM(state, 3), UINT8_MAX, &datatype, at, "datatype") < 0
        || read_uint(PyTuple_GET_ITEM(state, 4), UINT64_MAX, &seqno, at, "seqno") < 0
        || read_uint(PyTuple_GET_ITEM(state, 5), UINT32_MAX, &expiry, at, "expiry") < 0) {
        return -1;
    }
    out[0] = KIND_WRITE;
    out = put_u16(out + 1, (uint16_t)key_len);
    out = put_u32(out, (uint32_t)value_len);
    out = put_u32(out, (uint32_t)flags);
    out = put_u64(out, cas);
    *out++ = (unsigned char)datatype;
    out = put_u64(out, seqno);
    put_u32(out, (uint32_t)expiry);
    return value_len;
}

/* Raise the TypeError of a state that is neither a record nor a delete's seqno. */
static void
refuse_state(PyObject *state, entry_at at)
{
    char where[64];
    entry_prefix(where, sizeof(where), at);
    PyObject *kind = PyTuple_CheckExact(state)
        ? PyUnicode_FromFormat("a tuple of %zd items", PyTuple_GET_SIZE(state))
        : PyType_GetName(Py_TYPE(state));
    if (kind != NULL) {
        PyErr_Format(PyExc_TypeError, "%sthe state must be a record tuple of 7 items or a "
                     "delete's seqno (an int), not %U", where, kind);
        Py_DECREF(kind);
    }
}

/* Check an entry (key and state) and pack its head at out; return the bytes the entry
 * takes, with *head_len set to its head's, or -1. */
static Py_ssize_t
pack_entry(PyObject *key, PyObject *state, entry_at at, unsigned char *out,
           Py_ssize_t *head_len)
{
    if (!PyBytes_CheckExact(key)) {
        wrong_type(at, "the key", "bytes", key);
        return -1;
    }
    Py_ssize_t key_len = PyBytes_GET_SIZE(key);
    if (key_len == 0 || key_len > KEY_MAX) {
        char where[64];
        entry_prefix(where, sizeof(where), at);
        PyErr_Format(PyExc_ValueError, "%sthe key is %zd bytes long (1..%d allowed)", where,
                     key_len, KEY_MAX);
        return -1;
    }
    if (PyLong_CheckExact(state)) {
        uint64_t seqno;
        if (read_uint(state, UINT64_MAX, &seqno, at, "the delete's seqno") < 0) {
            return -1;
        }
        out[0] = KIND_DELETE;
        put_u64(put_u16(out + 1, (uint16_t)key_len), seqno);
        *head_len = DELETE_HEAD;
        return DELETE_HEAD + key_len;
    }
    if (!PyTuple_CheckExact(state) || PyTuple_GET_SIZE(state) != RECORD_ITEMS) {
        refuse_state(state, at);
        return -1;
    }
    Py_ssize_t value_len = pack_write(state, at, key_len, out);
    if (value_len < 0) {
        return -1;
    }
    *head_len = WRITE_HEAD;
    return WRITE_HEAD + key_len + value_len;
}

#endif
