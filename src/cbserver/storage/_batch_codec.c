/*
 * cbserver.storage._batch_codec: layout 3 of a commit log batch, in C.
 *
 * The reference is cbserver/storage/batch_codec.py (its *_python functions); this module
 * gives the same bytes, results and exceptions, messages included. The layout and the
 * entry checks it shares with the disk queue are in _layout3.h.
 *
 * encode_batch(seqno, entries) -> bytes: a first pass checks every entry (exact types,
 * ranges; the first bad field in entry order raises TypeError or ValueError naming the
 * entry index and the field), sums the size and packs each head into a scratch buffer;
 * the second allocates the one bytes object and copies heads, keys and values into it.
 * No Python code runs between the passes (a bytes object is not tracked by the cyclic
 * GC, so making one runs no collection), so the list is the same in both.
 *
 * decode_batch3(payload) -> (seqno, entries): the flat entries, records with lock_expiry
 * 0.0. The payload is checked whole before any object is made, then walked again with
 * every bound checked again: making objects may run a collection, whose finalizers (or
 * the threads they let run) may change a bytearray payload; a payload whose entries
 * change in number meanwhile raises RuntimeError.
 *
 * coalesce(payloads) -> Folded: the newest state per key over all payloads as SQLite
 * rows (see coalesce_python). The buffer of every payload is held until the end; the
 * scan, which checks each payload and files each entry in a hash table (open
 * addressing, linear probing, a seeded 64-bit multiply-xor hash) keyed by the key's
 * bytes and pointing at its newest entry, touches raw memory only and so runs without
 * the GIL when the payloads hold RELEASE_GIL_BYTES or more. Keys sit in a dense array in
 * the order they first appear (the order of a dict), which the rows follow. A slot keeps
 * the kind and value length read when its entry was checked, so a payload changed by
 * another thread meanwhile gives wrong rows, never a read out of bounds.
 *
 * The error class (batch_codec.BatchLayoutError) and the result class (batch_codec.Folded)
 * come from configure(error_class, folded_class), which batch_codec.load_c calls on import;
 * decode_batch3 and coalesce raise RuntimeError before it.
 */
#include "_layout3.h"

/* A coalesce whose payloads hold this many bytes scans them without the GIL. */
#define RELEASE_GIL_BYTES 16384
/* Slots of a new hash table index (a power of two); it doubles at half full. */
#define FIRST_SLOTS 1024

typedef struct {
    PyObject *error;  /* batch_codec.BatchLayoutError, NULL before configure */
    PyObject *folded; /* batch_codec.Folded */
    PyObject *zero;   /* 0.0, the lock_expiry of a decoded record */
    uint64_t seed;    /* of the key hash, random per process */
} codec_state;

/* What is wrong with a payload, found without the GIL and raised with it. */
typedef enum {
    BAD_TAG,
    SHORT_HEADER,
    MISSING_ENTRY,
    BAD_KIND,
    SHORT_HEAD,
    EMPTY_KEY,
    SHORT_BODY,
    TRAILING,
    VISIT_FAILED, /* the visitor's error: out of memory (coalesce) or an exception set */
} problem_t;

typedef struct {
    problem_t problem;
    Py_ssize_t offset; /* the byte the message names */
    Py_ssize_t index;  /* the entry */
    uint64_t count;    /* entries in the header */
    uint64_t left;     /* bytes left */
    uint64_t need;     /* bytes needed, or the bad kind */
    unsigned char head[2];
    Py_ssize_t head_len;
} layout_error;

/* Called with each checked entry: its head, kind, key and value length. */
typedef int (*visit_fn)(void *ctx, pos_t entry, unsigned kind, pos_t key, size_t key_len,
                        uint32_t value_len);

/* ------------------------------------------------------------------ the payload walk */

/* Check one payload and hand each entry to visit; 0, or -1 with err filled in. */
static inline int
scan_payload(pos_t data, Py_ssize_t len, uint64_t *seqno, uint64_t *count, visit_fn visit,
             void *ctx, layout_error *err)
{
    if ((len >= 1 && data[0] != TAG_0) || (len >= 2 && data[1] != TAG_1)) {
        err->problem = BAD_TAG;
        err->head_len = len < 2 ? len : 2;
        memcpy(err->head, data, (size_t)err->head_len);
        return -1;
    }
    if (len < HEADER_LEN) {
        err->problem = SHORT_HEADER;
        err->offset = len;
        return -1;
    }
    *seqno = get_u64(data + 2);
    *count = get_u32(data + 10);
    err->count = *count;
    Py_ssize_t offset = HEADER_LEN;
    for (Py_ssize_t n = 0; (uint64_t)n < *count; n++) {
        err->offset = offset;
        err->index = n;
        if (offset == len) {
            err->problem = MISSING_ENTRY;
            return -1;
        }
        unsigned kind = data[offset];
        Py_ssize_t head;
        if (kind == KIND_WRITE) {
            head = WRITE_HEAD;
        }
        else if (kind == KIND_DELETE) {
            head = DELETE_HEAD;
        }
        else {
            err->problem = BAD_KIND;
            err->need = kind;
            return -1;
        }
        Py_ssize_t left = len - offset;
        if (left < head) {
            err->problem = SHORT_HEAD;
            err->left = (uint64_t)left;
            err->need = (uint64_t)head;
            return -1;
        }
        pos_t entry = data + offset;
        size_t key_len = get_u16(entry + 1);
        if (key_len == 0) {
            err->problem = EMPTY_KEY;
            err->offset = offset + 1;
            return -1;
        }
        uint32_t value_len = kind == KIND_WRITE ? get_u32(entry + 3) : 0;
        uint64_t body = (uint64_t)key_len + value_len;
        if ((uint64_t)(left - head) < body) {
            err->problem = SHORT_BODY;
            err->offset = offset + head;
            err->left = (uint64_t)(left - head);
            err->need = body;
            return -1;
        }
        if (visit(ctx, entry, kind, entry + head, key_len, value_len) < 0) {
            err->problem = VISIT_FAILED;
            return -1;
        }
        offset += head + (Py_ssize_t)body;
    }
    if (offset != len) {
        err->problem = TRAILING;
        err->offset = offset;
        err->left = (uint64_t)(len - offset);
        return -1;
    }
    return 0;
}

/* The message of a layout error (the same as batch_codec.py's), or NULL. */
static PyObject *
layout_message(const layout_error *err)
{
    switch (err->problem) {
    case BAD_TAG: {
        char hex[5] = {0};
        static const char digits[] = "0123456789abcdef";
        for (Py_ssize_t i = 0; i < err->head_len; i++) {
            hex[2 * i] = digits[err->head[i] >> 4];
            hex[2 * i + 1] = digits[err->head[i] & 15];
        }
        return PyUnicode_FromFormat("byte 0: not a layout 3 batch (starts %s, layout 3 starts "
                                    "cb03)", hex);
    }
    case SHORT_HEADER:
        return PyUnicode_FromFormat("byte %zd: truncated header (%zd of %d bytes)", err->offset,
                                    err->offset, HEADER_LEN);
    case MISSING_ENTRY:
        return PyUnicode_FromFormat("byte %zd: payload ends after %zd of %llu entries",
                                    err->offset, err->index, (unsigned long long)err->count);
    case BAD_KIND:
        return PyUnicode_FromFormat("byte %zd: entry %zd has unknown kind %llu (0 is a write, "
                                    "1 a delete)", err->offset, err->index,
                                    (unsigned long long)err->need);
    case SHORT_HEAD:
        return PyUnicode_FromFormat("byte %zd: entry %zd truncated (%llu bytes left, its header "
                                    "needs %llu)", err->offset, err->index,
                                    (unsigned long long)err->left, (unsigned long long)err->need);
    case EMPTY_KEY:
        return PyUnicode_FromFormat("byte %zd: entry %zd has an empty key", err->offset,
                                    err->index);
    case SHORT_BODY:
        return PyUnicode_FromFormat("byte %zd: entry %zd truncated (%llu bytes left, key and "
                                    "value need %llu)", err->offset, err->index,
                                    (unsigned long long)err->left, (unsigned long long)err->need);
    case TRAILING:
        return PyUnicode_FromFormat("byte %zd: %llu bytes after the last of %llu entries",
                                    err->offset, (unsigned long long)err->left,
                                    (unsigned long long)err->count);
    case VISIT_FAILED:
        break;
    }
    PyErr_SetString(PyExc_SystemError, "_batch_codec: no message for this layout error");
    return NULL;
}

/* Raise BatchLayoutError for err, prefixed by "payload <index>: " when index >= 0. */
static void
raise_layout_error(codec_state *state, const layout_error *err, Py_ssize_t payload)
{
    PyObject *message = layout_message(err);
    if (message != NULL && payload >= 0) {
        Py_SETREF(message, PyUnicode_FromFormat("payload %zd: %U", payload, message));
    }
    if (message != NULL) {
        PyErr_SetObject(state->error, message);
        Py_DECREF(message);
    }
}

static codec_state *
configured_state(PyObject *module)
{
    codec_state *state = PyModule_GetState(module);
    if (state->error == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "cbserver.storage._batch_codec: configure() was "
                        "not called (import cbserver.storage.batch_codec, whose load_c does)");
        return NULL;
    }
    return state;
}

/* ------------------------------------------------------------------------- encode */

PyDoc_STRVAR(encode_batch_doc,
"encode_batch(seqno, entries, /)\n--\n\n"
"Return the layout 3 payload of batch seqno with flat entries [key, state, ...].\n\n"
"Raises TypeError or ValueError naming the entry index and the field for anything\n"
"batch_codec.encode_batch_python refuses, with the same message.");

static PyObject *
encode_batch(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "encode_batch expected 2 arguments, got %zd", nargs);
        return NULL;
    }
    uint64_t seqno;
    if (read_uint(args[0], UINT64_MAX, &seqno, (entry_at){"encode_batch", -1},
                  "the batch seqno") < 0) {
        return NULL;
    }
    PyObject *entries = args[1];
    if (!PyList_CheckExact(entries)) {
        wrong_type((entry_at){"encode_batch", -1}, "entries", "a list", entries);
        return NULL;
    }
    Py_ssize_t items = PyList_GET_SIZE(entries);
    if (items % 2) {
        PyErr_Format(PyExc_ValueError, "encode_batch: entries must hold key, state pairs (odd "
                     "length %zd)", items);
        return NULL;
    }
    Py_ssize_t count = items / 2;
    if ((uint64_t)count > UINT32_MAX) {
        PyErr_Format(PyExc_ValueError, "encode_batch: %zd entries, at most %lu allowed", count,
                     (unsigned long)UINT32_MAX);
        return NULL;
    }
    unsigned char *heads = PyMem_Malloc((size_t)(count > 0 ? count : 1) * WRITE_HEAD);
    if (heads == NULL) {
        return PyErr_NoMemory();
    }
    Py_ssize_t size = HEADER_LEN;
    unsigned char *head = heads;
    for (Py_ssize_t i = 0; i < count; i++) {
        Py_ssize_t head_len;
        Py_ssize_t taken = pack_entry(PyList_GET_ITEM(entries, 2 * i),
                                      PyList_GET_ITEM(entries, 2 * i + 1),
                                      (entry_at){"encode_batch", i}, head, &head_len);
        if (taken < 0) {
            PyMem_Free(heads);
            return NULL;
        }
        if (taken > PY_SSIZE_T_MAX - size) {
            PyMem_Free(heads);
            return PyErr_NoMemory();
        }
        size += taken;
        head += head_len;
    }
    PyObject *payload = PyBytes_FromStringAndSize(NULL, size);
    if (payload == NULL) {
        PyMem_Free(heads);
        return NULL;
    }
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(payload);
    *out++ = TAG_0;
    *out++ = TAG_1;
    out = put_u32(put_u64(out, seqno), (uint32_t)count);
    head = heads;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *key = PyList_GET_ITEM(entries, 2 * i);
        Py_ssize_t head_len = head[0] == KIND_WRITE ? WRITE_HEAD : DELETE_HEAD;
        memcpy(out, head, (size_t)head_len);
        out += head_len;
        head += head_len;
        memcpy(out, PyBytes_AS_STRING(key), (size_t)PyBytes_GET_SIZE(key));
        out += PyBytes_GET_SIZE(key);
        PyObject *state = PyList_GET_ITEM(entries, 2 * i + 1);
        if (head_len == WRITE_HEAD) {
            PyObject *value = PyTuple_GET_ITEM(state, 0);
            memcpy(out, PyBytes_AS_STRING(value), (size_t)PyBytes_GET_SIZE(value));
            out += PyBytes_GET_SIZE(value);
        }
    }
    PyMem_Free(heads);
    return payload;
}

/* ------------------------------------------------------------------------- decode */

typedef struct {
    PyObject *list;
    Py_ssize_t at;
    PyObject *zero;
} decode_ctx;

/* Raise the error of a payload that changed between the check and the decode (a
 * bytearray, changed by a finalizer or by a thread that one let run). */
static void
payload_changed(void)
{
    PyErr_SetString(PyExc_RuntimeError, "decode_batch3: the payload changed while it was "
                    "being decoded");
}

static int
count_entry(void *Py_UNUSED(ctx), pos_t Py_UNUSED(entry), unsigned Py_UNUSED(kind),
            pos_t Py_UNUSED(key), size_t Py_UNUSED(key_len), uint32_t Py_UNUSED(value_len))
{
    return 0;
}

/* Set item i of a new tuple, stealing obj; -1 if obj is NULL (an exception set). */
static inline int
put_item(PyObject *tuple, Py_ssize_t i, PyObject *obj)
{
    if (obj == NULL) {
        return -1;
    }
    PyTuple_SET_ITEM(tuple, i, obj);
    return 0;
}

/* Put an entry's key and state into the list (GIL held); -1 with an exception set. */
static int
decode_entry(void *ctx, pos_t entry, unsigned kind, pos_t key, size_t key_len,
             uint32_t value_len)
{
    decode_ctx *out = ctx;
    if (out->at == PyList_GET_SIZE(out->list)) {
        payload_changed();
        return -1;
    }
    PyObject *key_obj = PyBytes_FromStringAndSize((const char *)key, (Py_ssize_t)key_len);
    if (key_obj == NULL) {
        return -1;
    }
    PyList_SET_ITEM(out->list, out->at++, key_obj);
    PyObject *state;
    if (kind == KIND_DELETE) {
        state = PyLong_FromUnsignedLongLong(get_u64(entry + 3));
        if (state == NULL) {
            return -1;
        }
    }
    else {
        state = PyTuple_New(RECORD_ITEMS);
        if (state == NULL) {
            return -1;
        }
        if (put_item(state, 0, PyBytes_FromStringAndSize((const char *)key + key_len,
                                                         value_len)) < 0
            || put_item(state, 1, PyLong_FromUnsignedLong(get_u32(entry + 7))) < 0
            || put_item(state, 2, PyLong_FromUnsignedLongLong(get_u64(entry + 11))) < 0
            || put_item(state, 3, PyLong_FromLong(entry[19])) < 0
            || put_item(state, 4, PyLong_FromUnsignedLongLong(get_u64(entry + 20))) < 0
            || put_item(state, 5, PyLong_FromUnsignedLong(get_u32(entry + 28))) < 0) {
            Py_DECREF(state);
            return -1;
        }
        PyTuple_SET_ITEM(state, 6, Py_NewRef(out->zero));
    }
    PyList_SET_ITEM(out->list, out->at++, state);
    return 0;
}

PyDoc_STRVAR(decode_batch3_doc,
"decode_batch3(payload, /)\n--\n\n"
"Return (seqno, flat entries) of a layout 3 payload (any bytes-like object); records\n"
"come back with lock_expiry 0.0. Raises batch_codec.BatchLayoutError.");

static PyObject *
decode_batch3(PyObject *module, PyObject *payload)
{
    codec_state *state = configured_state(module);
    Py_buffer view;
    if (state == NULL || PyObject_GetBuffer(payload, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    pos_t data = view.buf;
    uint64_t seqno, count;
    layout_error err;
    PyObject *result = NULL;
    if (scan_payload(data, view.len, &seqno, &count, count_entry, NULL, &err) < 0) {
        raise_layout_error(state, &err, -1);
        goto done;
    }
    decode_ctx ctx = {PyList_New((Py_ssize_t)count * 2), 0, state->zero};
    if (ctx.list == NULL) {
        goto done;
    }
    if (scan_payload(data, view.len, &seqno, &count, decode_entry, &ctx, &err) < 0) {
        if (err.problem != VISIT_FAILED) {
            raise_layout_error(state, &err, -1);
        }
        Py_DECREF(ctx.list);
        goto done;
    }
    if (ctx.at != PyList_GET_SIZE(ctx.list)) {
        payload_changed();
        Py_DECREF(ctx.list);
        goto done;
    }
    PyObject *seqno_obj = PyLong_FromUnsignedLongLong(seqno);
    if (seqno_obj != NULL) {
        result = PyTuple_Pack(2, seqno_obj, ctx.list);
        Py_DECREF(seqno_obj);
    }
    Py_DECREF(ctx.list);
done:
    PyBuffer_Release(&view);
    return result;
}

/* ----------------------------------------------------------------------- coalesce */

/* A distinct key and its newest entry. */
typedef struct {
    pos_t key;          /* where the key first appears */
    pos_t entry;        /* the head of the newest entry of the key */
    uint64_t hash;
    uint32_t value_len; /* of the newest entry, as checked */
    uint16_t key_len;
    uint8_t kind;       /* of the newest entry, as checked */
} slot_t;

typedef struct {
    slot_t *keys;   /* in the order they first appear */
    size_t used;
    size_t room;
    size_t *index;  /* 1 + position in keys, or 0 for a free slot */
    size_t mask;    /* slots in index - 1 */
    uint64_t seed;
} table_t;

static inline uint64_t
mix(uint64_t h)
{
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    h *= UINT64_C(0xc4ceb9fe1a85ec53);
    return h ^ (h >> 33);
}

static inline uint64_t
hash_key(pos_t key, size_t len, uint64_t seed)
{
    uint64_t h = seed ^ (len * UINT64_C(0x9e3779b97f4a7c15));
    for (; len >= 8; key += 8, len -= 8) {
        h = (h ^ get_u64(key)) * UINT64_C(0x9fb21c651e98df25);
        h ^= h >> 29;
    }
    uint64_t tail = 0;
    for (size_t i = 0; i < len; i++) {
        tail |= (uint64_t)key[i] << (8 * i);
    }
    return mix(h ^ tail);
}

/* Double the index and file every key in it again; -1 when out of memory. */
static int
grow_index(table_t *table)
{
    size_t slots = (table->mask + 1) * 2;
    if (slots > PY_SSIZE_T_MAX / sizeof(size_t)) {
        return -1;
    }
    size_t *index = PyMem_RawCalloc(slots, sizeof(size_t));
    if (index == NULL) {
        return -1;
    }
    size_t mask = slots - 1;
    for (size_t at = 0; at < table->used; at++) {
        size_t i = table->keys[at].hash & mask;
        while (index[i] != 0) {
            i = (i + 1) & mask;
        }
        index[i] = at + 1;
    }
    PyMem_RawFree(table->index);
    table->index = index;
    table->mask = mask;
    return 0;
}

/* File an entry under its key (no GIL needed); -1 when out of memory. */
static int
file_entry(void *ctx, pos_t entry, unsigned kind, pos_t key, size_t key_len,
           uint32_t value_len)
{
    table_t *table = ctx;
    uint64_t hash = hash_key(key, key_len, table->seed);
    size_t i = hash & table->mask;
    for (size_t at; (at = table->index[i]) != 0; i = (i + 1) & table->mask) {
        slot_t *slot = &table->keys[at - 1];
        if (slot->hash == hash && slot->key_len == key_len
            && memcmp(slot->key, key, key_len) == 0) {
            slot->entry = entry;
            slot->value_len = value_len;
            slot->kind = (uint8_t)kind;
            return 0;
        }
    }
    if (table->used == table->room) {
        if (table->room > PY_SSIZE_T_MAX / 2 / sizeof(slot_t)) {
            return -1;
        }
        slot_t *keys = PyMem_RawRealloc(table->keys, table->room * 2 * sizeof(slot_t));
        if (keys == NULL) {
            return -1;
        }
        table->keys = keys;
        table->room *= 2;
    }
    table->keys[table->used] = (slot_t){key, entry, hash, value_len, (uint16_t)key_len,
                                        (uint8_t)kind};
    table->index[i] = ++table->used;
    return table->used * 2 > table->mask + 1 ? grow_index(table) : 0;
}

/* Scan every payload into the table; the index of the payload that failed, or -1. */
static Py_ssize_t
scan_payloads(const Py_buffer *views, Py_ssize_t n, table_t *table, uint64_t *seqno,
              uint64_t *entries, layout_error *err)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        uint64_t batch_seqno, count;
        if (scan_payload(views[i].buf, views[i].len, &batch_seqno, &count, file_entry, table,
                         err) < 0) {
            return i;
        }
        *seqno = batch_seqno > *seqno ? batch_seqno : *seqno;
        *entries += count;
    }
    return -1;
}

/* Append obj to list at *at, stealing it; -1 if obj is NULL (an exception set). */
static inline int
put(PyObject *list, Py_ssize_t *at, PyObject *obj)
{
    if (obj == NULL) {
        return -1;
    }
    PyList_SET_ITEM(list, (*at)++, obj);
    return 0;
}

/* Fill upserts and deletes from the table (GIL held); -1 with an exception set. */
static int
fill_rows(const table_t *table, PyObject *upserts, PyObject *deletes, uint64_t *max_cas)
{
    Py_ssize_t row = 0, gone = 0;
    for (size_t at = 0; at < table->used; at++) {
        const slot_t *slot = &table->keys[at];
        PyObject *key = PyByteArray_FromStringAndSize((const char *)slot->key,
                                                      (Py_ssize_t)slot->key_len);
        if (slot->kind == KIND_DELETE) {
            if (put(deletes, &gone, key) < 0) {
                return -1;
            }
            continue;
        }
        pos_t entry = slot->entry;
        uint64_t cas = get_u64(entry + 11);
        *max_cas = cas > *max_cas ? cas : *max_cas;
        int64_t cas_sql = cas > INT64_MAX ? -(int64_t)(UINT64_MAX - cas) - 1 : (int64_t)cas;
        if (put(upserts, &row, key) < 0
            || put(upserts, &row, PyByteArray_FromStringAndSize(
                   (const char *)entry + WRITE_HEAD + slot->key_len, slot->value_len)) < 0
            || put(upserts, &row, PyLong_FromUnsignedLong(get_u32(entry + 7))) < 0
            || put(upserts, &row, PyLong_FromUnsignedLong(get_u32(entry + 28))) < 0
            || put(upserts, &row, PyLong_FromLongLong(cas_sql)) < 0
            || put(upserts, &row, PyLong_FromLong(entry[19])) < 0
            || put(upserts, &row, PyLong_FromUnsignedLongLong(get_u64(entry + 20))) < 0) {
            return -1;
        }
    }
    return 0;
}

/* Build the Folded result from the table (GIL held), or NULL. */
static PyObject *
make_folded(codec_state *state, const table_t *table, uint64_t seqno, uint64_t entries)
{
    Py_ssize_t writes = 0;
    for (size_t at = 0; at < table->used; at++) {
        writes += table->keys[at].kind == KIND_WRITE;
    }
    Py_ssize_t deleted = (Py_ssize_t)table->used - writes;
    if (writes > PY_SSIZE_T_MAX / ROW_FIELDS) {
        return PyErr_NoMemory();
    }
    uint64_t max_cas = 0;
    PyObject *args[5] = {NULL, NULL, NULL, NULL, NULL};
    PyObject *result = NULL;
    args[0] = PyList_New(writes * ROW_FIELDS);
    args[1] = args[0] == NULL ? NULL : PyList_New(deleted);
    if (args[1] != NULL && fill_rows(table, args[0], args[1], &max_cas) == 0
        && (args[2] = PyLong_FromUnsignedLongLong(max_cas)) != NULL
        && (args[3] = PyLong_FromUnsignedLongLong(seqno)) != NULL
        && (args[4] = PyLong_FromUnsignedLongLong(entries)) != NULL) {
        result = PyObject_Vectorcall(state->folded, args, 5, NULL);
    }
    for (int i = 0; i < 5; i++) {
        Py_XDECREF(args[i]);
    }
    return result;
}

PyDoc_STRVAR(coalesce_doc,
"coalesce(payloads, /)\n--\n\n"
"Decode layout 3 payloads (bytes-like objects) in order and return the newest state per\n"
"key as batch_codec.Folded(upserts, deletes, max_cas, seqno, entries), rows in the order\n"
"keys first appear; see batch_codec.coalesce_python. Raises batch_codec.BatchLayoutError\n"
"naming the payload's index. The scan lets go of the GIL when the payloads hold at least\n"
"RELEASE_GIL_BYTES bytes.");

static PyObject *
coalesce(PyObject *module, PyObject *payloads)
{
    codec_state *state = configured_state(module);
    if (state == NULL) {
        return NULL;
    }
    /* A tuple: taking a buffer may run Python code (__buffer__), which cannot change it. */
    PyObject *items = PySequence_Tuple(payloads);
    if (items == NULL) {
        return NULL;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(items);
    Py_buffer *views = PyMem_Calloc((size_t)(n > 0 ? n : 1), sizeof(Py_buffer));
    Py_ssize_t held = 0;
    Py_ssize_t total = 0;
    PyObject *result = NULL;
    table_t table = {NULL, 0, FIRST_SLOTS / 2, NULL, FIRST_SLOTS - 1, state->seed};
    if (views == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (; held < n; held++) {
        if (PyObject_GetBuffer(PyTuple_GET_ITEM(items, held), &views[held],
                               PyBUF_SIMPLE) < 0) {
            goto done;
        }
        if (total < RELEASE_GIL_BYTES) { /* only compared with it, so never overflows */
            total += views[held].len;
        }
    }
    table.keys = PyMem_RawMalloc(table.room * sizeof(slot_t));
    table.index = PyMem_RawCalloc(FIRST_SLOTS, sizeof(size_t));
    if (table.keys == NULL || table.index == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    uint64_t seqno = 0, entries = 0;
    layout_error err;
    Py_ssize_t failed;
    if (total >= RELEASE_GIL_BYTES) {
        Py_BEGIN_ALLOW_THREADS
        failed = scan_payloads(views, n, &table, &seqno, &entries, &err);
        Py_END_ALLOW_THREADS
    }
    else {
        failed = scan_payloads(views, n, &table, &seqno, &entries, &err);
    }
    if (failed < 0) {
        result = make_folded(state, &table, seqno, entries);
    }
    else if (err.problem == VISIT_FAILED) {
        PyErr_NoMemory();
    }
    else {
        raise_layout_error(state, &err, failed);
    }
done:
    PyMem_RawFree(table.keys);
    PyMem_RawFree(table.index);
    for (Py_ssize_t i = 0; i < held; i++) {
        PyBuffer_Release(&views[i]);
    }
    PyMem_Free(views);
    Py_DECREF(items);
    return result;
}

/* ------------------------------------------------------------------------- module */

PyDoc_STRVAR(configure_doc,
"configure(error_class, folded_class, /)\n--\n\n"
"Raise error_class (batch_codec.BatchLayoutError) for a malformed payload and return\n"
"folded_class(upserts, deletes, max_cas, seqno, entries) (batch_codec.Folded) from\n"
"coalesce.");

static PyObject *
configure(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "configure expected 2 arguments, got %zd", nargs);
        return NULL;
    }
    if (!PyExceptionClass_Check(args[0])) {
        PyErr_Format(PyExc_TypeError, "configure: error_class must be an exception class, not "
                     "%.100s", Py_TYPE(args[0])->tp_name);
        return NULL;
    }
    if (!PyCallable_Check(args[1])) {
        PyErr_Format(PyExc_TypeError, "configure: folded_class must be callable, not %.100s",
                     Py_TYPE(args[1])->tp_name);
        return NULL;
    }
    codec_state *state = PyModule_GetState(module);
    Py_XSETREF(state->error, Py_NewRef(args[0]));
    Py_XSETREF(state->folded, Py_NewRef(args[1]));
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"encode_batch", (PyCFunction)(void (*)(void))encode_batch, METH_FASTCALL, encode_batch_doc},
    {"decode_batch3", (PyCFunction)decode_batch3, METH_O, decode_batch3_doc},
    {"coalesce", (PyCFunction)coalesce, METH_O, coalesce_doc},
    {"configure", (PyCFunction)(void (*)(void))configure, METH_FASTCALL, configure_doc},
    {NULL, NULL, 0, NULL},
};

/* Seed the key hash from os.urandom, so that no one can pick keys that collide. */
static int
seed_hash(codec_state *state)
{
    PyObject *os = PyImport_ImportModule("os");
    PyObject *random = os == NULL ? NULL : PyObject_CallMethod(os, "urandom", "i", 8);
    Py_XDECREF(os);
    if (random == NULL) {
        return -1;
    }
    if (!PyBytes_Check(random) || PyBytes_GET_SIZE(random) != 8) {
        PyErr_SetString(PyExc_RuntimeError, "os.urandom(8) did not return 8 bytes");
        Py_DECREF(random);
        return -1;
    }
    state->seed = get_u64((pos_t)PyBytes_AS_STRING(random));
    Py_DECREF(random);
    return 0;
}

static int
exec_module(PyObject *module)
{
    codec_state *state = PyModule_GetState(module);
    state->zero = PyFloat_FromDouble(0.0);
    if (state->zero == NULL || seed_hash(state) < 0) {
        return -1;
    }
    return PyModule_AddIntConstant(module, "RELEASE_GIL_BYTES", RELEASE_GIL_BYTES);
}

static int
traverse_module(PyObject *module, visitproc visit, void *arg)
{
    codec_state *state = PyModule_GetState(module);
    Py_VISIT(state->error);
    Py_VISIT(state->folded);
    return 0;
}

static int
clear_module(PyObject *module)
{
    codec_state *state = PyModule_GetState(module);
    Py_CLEAR(state->error);
    Py_CLEAR(state->folded);
    Py_CLEAR(state->zero);
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
"Layout 3 commit log batches in C: encode_batch, decode_batch3, coalesce (the reference\n"
"is cbserver.storage.batch_codec).");

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "cbserver.storage._batch_codec",
    .m_doc = module_doc,
    .m_size = sizeof(codec_state),
    .m_methods = methods,
    .m_slots = slots,
    .m_traverse = traverse_module,
    .m_clear = clear_module,
    .m_free = free_module,
};

PyMODINIT_FUNC
PyInit__batch_codec(void)
{
    return PyModuleDef_Init(&module_def);
}
