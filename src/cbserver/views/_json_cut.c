/*
 * cbserver.views._json_cut: cut JSON documents down to the members the map functions read.
 *
 * cut(values, names) -> list returns, for each value, the text "{m1,m2,...}" holding only
 * the top-level members whose name is in ``names`` (each member's text copied verbatim
 * from its name's opening quote to the end of its value, in order, duplicates kept so
 * that JSON.parse still takes the last one) when the value is a strictly valid RFC 8259
 * JSON text in strictly valid UTF-8 whose top level is an object; otherwise the value
 * object itself. Why C: the cut must cost well under the QuickJS parse time it saves
 * (see cbserver/views/map_batch.py), which rules out json.loads and json.dumps.
 *
 * Every rule leans towards keeping the value whole: the grammar is RFC 8259 with nothing
 * more (QuickJS's JSON.parse accepts a superset of it, so a text called valid here always
 * parses there), UTF-8 is checked as strictly as Python's decoder over the whole value
 * (a value map_batch.py would send as base64 stays whole), a member name holding an
 * escape is kept without comparing it, and nesting deeper than MAX_DEPTH keeps the value
 * whole so that a document too deep for the map engine still fails there the same way.
 * Names are compared with the raw bytes between the quotes of each member name.
 *
 * Values are untrusted: every read is bounded by the end of the value. One buffer per
 * call, as long as all the values together, receives the cuts one after the other (a
 * cut is never longer than its value); the scan touches no Python object, so a call
 * with enough bytes runs it without the GIL, and one bytes object is then made per cut.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* Containers (objects and arrays, the top-level object included) open at once. */
#define MAX_DEPTH 64
/* A call whose values hold this many bytes scans them without the GIL (a view build
 * prepares one slice's batch while another slice's batch runs; below it, letting go
 * and taking back the lock would cost more than the scan). */
#define RELEASE_GIL_BYTES 16384

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)
/* Flags (high bit) the bytes of a word below n (n <= 0x80) among those below 0x80: a
 * flag above the lowest one may be false (a borrow), the lowest one never is. */
#define HAS_LESS(w, n) (((w) - ONES * (n)) & ~(w) & HIGHS)
#define HAS_BYTE(w, b) HAS_LESS((w) ^ (ONES * (b)), 1)

typedef const unsigned char *pos_t;

/* One name to keep: its bytes as in the names tuple (borrowed from it). */
typedef struct {
    const char *bytes;
    Py_ssize_t len;
} name_t;

static pos_t scan_value(pos_t p, pos_t end, int depth);

static inline pos_t
skip_space(pos_t p, pos_t end)
{
    if (p < end && *p > ' ') {
        return p;
    }
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) {
        p++;
    }
    return p;
}

static inline int
is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static inline int
is_hex(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A byte a string holds as itself: printable ASCII but the quote and the backslash. */
static inline int
is_plain(unsigned char c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

static inline int
is_continuation(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

/* Skip one multi-byte UTF-8 character starting at p (a byte >= 0x80); NULL if invalid
 * as Python's strict decoder sees it: no overlongs, no surrogates, nothing past U+10FFFF. */
static pos_t
skip_utf8(pos_t p, pos_t end)
{
    unsigned char c = p[0];
    Py_ssize_t left = end - p;
    if (c >= 0xC2 && c <= 0xDF) {
        return left >= 2 && is_continuation(p[1]) ? p + 2 : NULL;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (left < 3 || !is_continuation(p[1]) || !is_continuation(p[2])) {
            return NULL;
        }
        if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] > 0x9F)) {
            return NULL;
        }
        return p + 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (left < 4 || !is_continuation(p[1]) || !is_continuation(p[2])
                || !is_continuation(p[3])) {
            return NULL;
        }
        if ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] > 0x8F)) {
            return NULL;
        }
        return p + 4;
    }
    return NULL;
}

/* Scan a string whose opening quote is just before p; return the position after its
 * closing quote, or NULL if it is not a valid JSON string. Sets *escaped when it holds
 * a backslash. Runs of plain ASCII are skipped eight bytes at a time, then byte by byte
 * up to the next byte that needs a look (quote, backslash, control or non-ASCII). */
static pos_t
scan_string(pos_t p, pos_t end, int *escaped)
{
    for (;;) {
        while (end - p >= 8) {
            uint64_t word;
            memcpy(&word, p, 8);
            uint64_t special = (word & HIGHS) | HAS_LESS(word, 0x20) | HAS_BYTE(word, '"')
                               | HAS_BYTE(word, '\\');
            if (special) {
#if defined(__GNUC__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
                /* The lowest flag is exact (a borrow only flags bytes above it). */
                p += __builtin_ctzll(special) >> 3;
#endif
                break;
            }
            p += 8;
        }
        while (p < end && is_plain(*p)) {
            p++;
        }
        if (p >= end) {
            return NULL;
        }
        unsigned char c = *p;
        if (c == '"') {
            return p + 1;
        }
        if (c == '\\') {
            *escaped = 1;
            if (end - p < 2) {
                return NULL;
            }
            switch (p[1]) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                p += 2;
                break;
            case 'u':
                if (end - p < 6 || !is_hex(p[2]) || !is_hex(p[3]) || !is_hex(p[4])
                        || !is_hex(p[5])) {
                    return NULL;
                }
                p += 6;
                break;
            default:
                return NULL;
            }
        }
        else if (c < 0x20) {
            return NULL;
        }
        else if ((p = skip_utf8(p, end)) == NULL) {
            return NULL;
        }
    }
}

/* Scan -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at p; NULL if it does not match. */
static pos_t
scan_number(pos_t p, pos_t end)
{
    if (*p == '-') {
        p++;
    }
    if (p >= end || !is_digit(*p)) {
        return NULL;
    }
    if (*p++ != '0') {
        while (p < end && is_digit(*p)) {
            p++;
        }
    }
    if (p < end && *p == '.') {
        p++;
        if (p >= end || !is_digit(*p)) {
            return NULL;
        }
        while (p < end && is_digit(*p)) {
            p++;
        }
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) {
            p++;
        }
        if (p >= end || !is_digit(*p)) {
            return NULL;
        }
        while (p < end && is_digit(*p)) {
            p++;
        }
    }
    return p;
}

static pos_t
scan_literal(pos_t p, pos_t end, const char *word, Py_ssize_t len)
{
    return end - p >= len && memcmp(p, word, (size_t)len) == 0 ? p + len : NULL;
}

/* Scan the members of an object whose '{' is just before p, at nesting ``depth``. */
static pos_t
scan_object(pos_t p, pos_t end, int depth)
{
    int escaped = 0;
    p = skip_space(p, end);
    if (p < end && *p == '}') {
        return p + 1;
    }
    for (;;) {
        if (p >= end || *p != '"' || (p = scan_string(p + 1, end, &escaped)) == NULL) {
            return NULL;
        }
        p = skip_space(p, end);
        if (p >= end || *p != ':') {
            return NULL;
        }
        if ((p = scan_value(skip_space(p + 1, end), end, depth)) == NULL) {
            return NULL;
        }
        p = skip_space(p, end);
        if (p < end && *p == ',') {
            p = skip_space(p + 1, end);
            continue;
        }
        return p < end && *p == '}' ? p + 1 : NULL;
    }
}

/* Scan the elements of an array whose '[' is just before p, at nesting ``depth``. */
static pos_t
scan_array(pos_t p, pos_t end, int depth)
{
    p = skip_space(p, end);
    if (p < end && *p == ']') {
        return p + 1;
    }
    for (;;) {
        if ((p = scan_value(p, end, depth)) == NULL) {
            return NULL;
        }
        p = skip_space(p, end);
        if (p < end && *p == ',') {
            p = skip_space(p + 1, end);
            continue;
        }
        return p < end && *p == ']' ? p + 1 : NULL;
    }
}

/* Scan one value at p inside ``depth`` open containers; NULL if it is not valid. */
static pos_t
scan_value(pos_t p, pos_t end, int depth)
{
    int escaped = 0;
    if (p >= end) {
        return NULL;
    }
    switch (*p) {
    case '"':
        return scan_string(p + 1, end, &escaped);
    case '{':
        return depth < MAX_DEPTH ? scan_object(p + 1, end, depth + 1) : NULL;
    case '[':
        return depth < MAX_DEPTH ? scan_array(p + 1, end, depth + 1) : NULL;
    case 't':
        return scan_literal(p, end, "true", 4);
    case 'f':
        return scan_literal(p, end, "false", 5);
    case 'n':
        return scan_literal(p, end, "null", 4);
    default:
        return scan_number(p, end);
    }
}

static int
is_kept(pos_t name, Py_ssize_t len, const name_t *names, Py_ssize_t count)
{
    for (Py_ssize_t i = 0; i < count; i++) {
        if (names[i].len == len && memcmp(names[i].bytes, name, (size_t)len) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Write the cut of the value [start, end) to out (room for end - start bytes); return
 * its length, or -1 if the value is not a valid JSON object. */
static Py_ssize_t
cut_object(pos_t start, pos_t end, const name_t *names, Py_ssize_t count, char *out)
{
    Py_ssize_t n = 0;
    pos_t p = skip_space(start, end);
    if (p >= end || *p != '{') {
        return -1;
    }
    out[n++] = '{';
    p = skip_space(p + 1, end);
    if (p < end && *p == '}') {
        p++;
    }
    else {
        for (;;) {
            pos_t member = p;
            int escaped = 0;
            if (p >= end || *p != '"' || (p = scan_string(p + 1, end, &escaped)) == NULL) {
                return -1;
            }
            int keep = escaped || is_kept(member + 1, p - member - 2, names, count);
            p = skip_space(p, end);
            if (p >= end || *p != ':') {
                return -1;
            }
            if ((p = scan_value(skip_space(p + 1, end), end, 1)) == NULL) {
                return -1;
            }
            if (keep) {
                if (n > 1) {
                    out[n++] = ',';
                }
                memcpy(out + n, member, (size_t)(p - member));
                n += p - member;
            }
            p = skip_space(p, end);
            if (p < end && *p == ',') {
                p = skip_space(p + 1, end);
                continue;
            }
            if (p < end && *p == '}') {
                p++;
                break;
            }
            return -1;
        }
    }
    if (skip_space(p, end) != end) {
        return -1;
    }
    out[n++] = '}';
    return n;
}

/* Read the names tuple into a new array (PyMem); NULL with an exception set on error. */
static name_t *
read_names(PyObject *tuple, Py_ssize_t *count)
{
    if (!PyTuple_Check(tuple)) {
        PyErr_Format(PyExc_TypeError, "cut: names must be a tuple of bytes, not %.100s",
                     Py_TYPE(tuple)->tp_name);
        return NULL;
    }
    *count = PyTuple_GET_SIZE(tuple);
    name_t *names = PyMem_New(name_t, *count > 0 ? *count : 1);
    if (names == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < *count; i++) {
        PyObject *name = PyTuple_GET_ITEM(tuple, i);
        if (!PyBytes_Check(name)) {
            PyErr_Format(PyExc_TypeError, "cut: names[%zd] must be bytes, not %.100s", i,
                         Py_TYPE(name)->tp_name);
            PyMem_Free(names);
            return NULL;
        }
        names[i].bytes = PyBytes_AS_STRING(name);
        names[i].len = PyBytes_GET_SIZE(name);
    }
    return names;
}

/* One value of a call: where its bytes are (len -1: not bytes, returned as it is) and,
 * once scanned, the length of its cut in the output buffer (-1: kept whole). */
typedef struct {
    pos_t start;
    Py_ssize_t len;
    Py_ssize_t cut_len;
} span_t;

/* Cut every bytes value of spans into out, one after the other (out has room for all
 * of them whole). Touches no Python object, so it may run without the GIL. */
static void
cut_spans(span_t *spans, Py_ssize_t size, const name_t *names, Py_ssize_t count, char *out)
{
    for (Py_ssize_t i = 0; i < size; i++) {
        spans[i].cut_len = spans[i].len < 0 ? -1
            : cut_object(spans[i].start, spans[i].start + spans[i].len, names, count, out);
        if (spans[i].cut_len > 0) {
            out += spans[i].cut_len;
        }
    }
}

/* The list of results: a bytes object of each cut, the value itself where there is none. */
static PyObject *
collect_cuts(PyObject *items, const span_t *spans, Py_ssize_t size, const char *out)
{
    PyObject *result = PyList_New(size);
    for (Py_ssize_t i = 0; result != NULL && i < size; i++) {
        PyObject *item;
        if (spans[i].cut_len < 0) {
            item = Py_NewRef(PyTuple_GET_ITEM(items, i));
        }
        else {
            item = PyBytes_FromStringAndSize(out, spans[i].cut_len);
            out += spans[i].cut_len;
        }
        if (item == NULL) {
            Py_CLEAR(result);
            break;
        }
        PyList_SET_ITEM(result, i, item);
    }
    return result;
}

PyDoc_STRVAR(cut_doc,
"cut(values, names, /)\n--\n\n"
"Return each of values (a list or tuple) cut down to the top-level members named in\n"
"names, a tuple of bytes.\n\n"
"A value that is a strictly valid JSON object in strictly valid UTF-8 becomes the text\n"
"{...} of its members whose raw name is in names, or whose name holds an escape, copied\n"
"verbatim and in order; any other value (or object that is not bytes) is returned as is.\n"
"The scan lets go of the GIL when the values hold at least RELEASE_GIL_BYTES bytes.");

static PyObject *
cut(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "cut expected 2 positional arguments, got %zd", nargs);
        return NULL;
    }
    if (!PyList_Check(args[0]) && !PyTuple_Check(args[0])) {
        PyErr_Format(PyExc_TypeError, "cut: values must be a list or tuple of bytes, "
                     "not %.100s", Py_TYPE(args[0])->tp_name);
        return NULL;
    }
    Py_ssize_t count;
    name_t *names = read_names(args[1], &count);
    if (names == NULL) {
        return NULL;
    }
    /* A tuple of the values holds each of them (and so its bytes) while the GIL is let
     * go, whatever another thread does to the list meanwhile; the names tuple is held
     * by the caller, whose arguments live until the call returns. */
    PyObject *items = PySequence_Tuple(args[0]);
    Py_ssize_t size = items == NULL ? 0 : PyTuple_GET_SIZE(items);
    span_t *spans = items == NULL ? NULL : PyMem_New(span_t, size > 0 ? size : 1);
    Py_ssize_t total = 0;
    for (Py_ssize_t i = 0; spans != NULL && i < size; i++) {
        PyObject *item = PyTuple_GET_ITEM(items, i);
        int is_bytes = PyBytes_Check(item);
        spans[i].start = is_bytes ? (pos_t)PyBytes_AS_STRING(item) : NULL;
        spans[i].len = is_bytes ? PyBytes_GET_SIZE(item) : -1;
        total += is_bytes ? spans[i].len : 0;
    }
    char *out = spans == NULL ? NULL : PyMem_Malloc((size_t)(total > 0 ? total : 1));
    PyObject *result = NULL;
    if (out != NULL) {
        if (total >= RELEASE_GIL_BYTES) {
            Py_BEGIN_ALLOW_THREADS
            cut_spans(spans, size, names, count, out);
            Py_END_ALLOW_THREADS
        }
        else {
            cut_spans(spans, size, names, count, out);
        }
        result = collect_cuts(items, spans, size, out);
    }
    else if (items != NULL) {
        PyErr_NoMemory();
    }
    PyMem_Free(out);
    PyMem_Free(spans);
    PyMem_Free(names);
    Py_XDECREF(items);
    return result;
}

static PyMethodDef methods[] = {
    {"cut", (PyCFunction)(void (*)(void))cut, METH_FASTCALL, cut_doc},
    {NULL, NULL, 0, NULL},
};

static int
exec_module(PyObject *module)
{
    if (PyModule_AddIntConstant(module, "MAX_DEPTH", MAX_DEPTH) < 0) {
        return -1;
    }
    return PyModule_AddIntConstant(module, "RELEASE_GIL_BYTES", RELEASE_GIL_BYTES);
}

static PyModuleDef_Slot slots[] = {
    {Py_mod_exec, exec_module},
    {0, NULL},
};

PyDoc_STRVAR(module_doc,
"Cut JSON documents down to the top-level members the map functions read (see cut).");

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "cbserver.views._json_cut",
    .m_doc = module_doc,
    .m_size = 0,
    .m_methods = methods,
    .m_slots = slots,
};

PyMODINIT_FUNC
PyInit__json_cut(void)
{
    return PyModuleDef_Init(&module_def);
}
