/*
 * cbserver.views._collate: view sort keys and the rows of a build step, in C.
 *
 * sort_key(value) -> bytes gives exactly the bytes of collation.python_sort_key (the
 * reference, see collation.py for the encoding): the type is dispatched on exactly (a
 * subclass of str, int, list or dict raises the same TypeError), numbers go through a
 * double like float(value) with out-of-range ints saturating to infinity, and strings
 * through the one string cache dict that collation.py owns, filled on a miss by its ICU
 * key function. configure(cache, string_key, cache_size) hands both (and the size at
 * which the cache starts over) to this module once. Why C: per document of a build the
 * Python around the ICU call cost several times the call itself.
 *
 * rows(entries, docs, view_count) -> list replaces the rows loop of build_part: for each
 * map emit [doc, view, n, key, value] it appends (sort_key(key), docs[doc][0], n, key,
 * value) to the list of its view, evaluating (and failing) in the order of that loop.
 *
 * A sort key of a container is written into one growing buffer, then made into one
 * bytes object. Nesting goes through Py_EnterRecursiveCall, so values nested deeper than
 * the interpreter's recursion limit raise RecursionError instead of exhausting the C
 * stack. Every borrowed element is held by a new reference while it is encoded, since
 * the key function is Python code that may change the containers.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define NULL_MARK 0x01
#define FALSE_MARK 0x02
#define TRUE_MARK 0x03
#define NUMBER_MARK 0x04
#define STRING_MARK 0x05
#define ARRAY_MARK 0x06
#define OBJECT_MARK 0x07
#define END_MARK 0x00
#define NUMBER_LEN 9
#define SIGN_BIT UINT64_C(0x8000000000000000)
/* Bytes of a sort key held on the C stack before the buffer moves to the heap. */
#define INLINE_ROOM 256
#define EMIT_FIELDS 5

typedef struct {
    PyObject *cache;      /* collation._string_cache (a dict), or NULL before configure */
    PyObject *string_key; /* collation._string_key: str -> ICU sort key bytes */
    Py_ssize_t cache_size;
    PyObject *string_mark; /* b"\x05", the left operand of an odd key function's result */
    PyObject *zero;        /* 0, to test the sign of an int too large for a double */
} collate_state;

/* The bytes of one sort key being written. */
typedef struct {
    char *data;
    Py_ssize_t len;
    Py_ssize_t room;
    char inline_data[INLINE_ROOM];
} key_buffer;

static void
buffer_init(key_buffer *buf)
{
    buf->data = buf->inline_data;
    buf->len = 0;
    buf->room = INLINE_ROOM;
}

static void
buffer_free(key_buffer *buf)
{
    if (buf->data != buf->inline_data) {
        PyMem_Free(buf->data);
    }
}

/* Make room for ``more`` bytes; return a pointer to them, or NULL with MemoryError. */
static char *
buffer_reserve(key_buffer *buf, Py_ssize_t more)
{
    if (buf->room - buf->len < more) {
        if (more > PY_SSIZE_T_MAX / 2 - buf->len) {
            PyErr_NoMemory();
            return NULL;
        }
        Py_ssize_t room = (buf->len + more) * 2;
        char *data;
        if (buf->data == buf->inline_data) {
            data = PyMem_Malloc(room);
            if (data != NULL) {
                memcpy(data, buf->data, buf->len);
            }
        }
        else {
            data = PyMem_Realloc(buf->data, room);
        }
        if (data == NULL) {
            PyErr_NoMemory();
            return NULL;
        }
        buf->data = data;
        buf->room = room;
    }
    return buf->data + buf->len;
}

static int
buffer_put(key_buffer *buf, const char *bytes, Py_ssize_t len)
{
    char *at = buffer_reserve(buf, len);
    if (at == NULL) {
        return -1;
    }
    memcpy(at, bytes, len);
    buf->len += len;
    return 0;
}

static int
buffer_byte(key_buffer *buf, char byte)
{
    return buffer_put(buf, &byte, 1);
}

static collate_state *
state_of(PyObject *module)
{
    collate_state *state = PyModule_GetState(module);
    if (state->cache == NULL) {
        PyErr_SetString(PyExc_RuntimeError,
                        "cbserver.views._collate: configure() was not called");
        return NULL;
    }
    return state;
}

/* Write the 9-byte key of a double: unsigned big-endian order equals numeric order. */
static void
number_bytes(double number, char *out)
{
    if (number == 0) {
        number = 0.0;
    }
    uint64_t bits;
    memcpy(&bits, &number, sizeof bits);
    bits = (bits & SIGN_BIT) ? ~bits : bits | SIGN_BIT;
    out[0] = NUMBER_MARK;
    for (int i = 8; i >= 1; i--) {
        out[i] = (char)(bits & 0xff);
        bits >>= 8;
    }
}

/* The double of an int as float() gives it, out-of-range values saturating to +-inf. */
static int
int_as_double(collate_state *state, PyObject *value, double *out)
{
    double number = PyLong_AsDouble(value);
    if (number == -1.0 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError)) {
            return -1;
        }
        PyErr_Clear();
        int positive = PyObject_RichCompareBool(value, state->zero, Py_GT);
        if (positive < 0) {
            return -1;
        }
        number = positive ? Py_HUGE_VAL : -Py_HUGE_VAL;
    }
    *out = number;
    return 0;
}

/* Return a new reference to the sort key of a string (or member name), via the cache. */
static PyObject *
string_sort_key(collate_state *state, PyObject *text)
{
    PyObject *key = PyDict_GetItemWithError(state->cache, text);
    if (key != NULL) {
        Py_INCREF(key);
        return key;
    }
    if (PyErr_Occurred()) {
        return NULL;
    }
    if (PyDict_GET_SIZE(state->cache) >= state->cache_size) {
        PyDict_Clear(state->cache);
    }
    PyObject *icu = PyObject_CallOneArg(state->string_key, text);
    if (icu == NULL) {
        return NULL;
    }
    if (PyBytes_CheckExact(icu)) {
        Py_ssize_t len = PyBytes_GET_SIZE(icu);
        key = PyBytes_FromStringAndSize(NULL, len + 1);
        if (key != NULL) {
            PyBytes_AS_STRING(key)[0] = STRING_MARK;
            memcpy(PyBytes_AS_STRING(key) + 1, PyBytes_AS_STRING(icu), len);
        }
    }
    else {
        key = PyNumber_Add(state->string_mark, icu);
    }
    Py_DECREF(icu);
    if (key == NULL) {
        return NULL;
    }
    if (PyDict_SetItem(state->cache, text, key) < 0) {
        Py_DECREF(key);
        return NULL;
    }
    return key;
}

static int
put_string(collate_state *state, key_buffer *buf, PyObject *text)
{
    PyObject *key = string_sort_key(state, text);
    if (key == NULL) {
        return -1;
    }
    int done;
    if (PyBytes_Check(key)) {
        done = buffer_put(buf, PyBytes_AS_STRING(key), PyBytes_GET_SIZE(key));
    }
    else {
        PyErr_Format(PyExc_TypeError, "the string sort key of %R is %.100s, not bytes",
                     text, Py_TYPE(key)->tp_name);
        done = -1;
    }
    Py_DECREF(key);
    return done;
}

static void
unsupported(PyObject *value)
{
    PyObject *name = PyType_GetName(Py_TYPE(value));
    if (name != NULL) {
        PyErr_Format(PyExc_TypeError, "cannot collate a value of type %U: %R", name, value);
        Py_DECREF(name);
    }
}

static int put_value(collate_state *state, key_buffer *buf, PyObject *value);

static int
put_array(collate_state *state, key_buffer *buf, PyObject *value)
{
    if (buffer_byte(buf, ARRAY_MARK) < 0) {
        return -1;
    }
    /* A list is measured again at every step, as its iterator does: it may change. */
    for (Py_ssize_t i = 0; i < Py_SIZE(value); i++) {
        PyObject *item = Py_NewRef(PySequence_Fast_GET_ITEM(value, i));
        int done = put_value(state, buf, item);
        Py_DECREF(item);
        if (done < 0) {
            return -1;
        }
    }
    return buffer_byte(buf, END_MARK);
}

static int
put_object(collate_state *state, key_buffer *buf, PyObject *value)
{
    if (buffer_byte(buf, OBJECT_MARK) < 0) {
        return -1;
    }
    Py_ssize_t pos = 0, size = PyDict_GET_SIZE(value);
    PyObject *name, *member;
    while (PyDict_Next(value, &pos, &name, &member)) {
        Py_INCREF(name);
        Py_INCREF(member);
        int done = put_string(state, buf, name);
        if (done == 0) {
            done = put_value(state, buf, member);
        }
        Py_DECREF(name);
        Py_DECREF(member);
        if (done < 0) {
            return -1;
        }
        if (PyDict_GET_SIZE(value) != size) {
            PyErr_SetString(PyExc_RuntimeError, "dictionary changed size during iteration");
            return -1;
        }
    }
    return buffer_byte(buf, END_MARK);
}

/* Append the sort key of any value to ``buf``. */
static int
put_value(collate_state *state, key_buffer *buf, PyObject *value)
{
    PyTypeObject *type = Py_TYPE(value);
    if (type == &PyUnicode_Type) {
        return put_string(state, buf, value);
    }
    if (type == &PyFloat_Type || type == &PyLong_Type) {
        double number;
        if (type == &PyFloat_Type) {
            number = PyFloat_AS_DOUBLE(value);
        }
        else if (int_as_double(state, value, &number) < 0) {
            return -1;
        }
        char *at = buffer_reserve(buf, NUMBER_LEN);
        if (at == NULL) {
            return -1;
        }
        number_bytes(number, at);
        buf->len += NUMBER_LEN;
        return 0;
    }
    if (value == Py_None) {
        return buffer_byte(buf, NULL_MARK);
    }
    if (type == &PyBool_Type) {
        return buffer_byte(buf, value == Py_True ? TRUE_MARK : FALSE_MARK);
    }
    if (type != &PyList_Type && type != &PyTuple_Type && type != &PyDict_Type) {
        unsupported(value);
        return -1;
    }
    if (Py_EnterRecursiveCall(" while computing a view sort key")) {
        return -1;
    }
    int done = type == &PyDict_Type ? put_object(state, buf, value)
                                    : put_array(state, buf, value);
    Py_LeaveRecursiveCall();
    return done;
}

/* Return a new reference to the sort key of ``value`` (a string's is the cached one). */
static PyObject *
make_sort_key(collate_state *state, PyObject *value)
{
    if (PyUnicode_CheckExact(value)) {
        return string_sort_key(state, value);
    }
    key_buffer buf;
    buffer_init(&buf);
    PyObject *key = NULL;
    if (put_value(state, &buf, value) == 0) {
        key = PyBytes_FromStringAndSize(buf.data, buf.len);
    }
    buffer_free(&buf);
    return key;
}

PyDoc_STRVAR(sort_key_doc,
"sort_key(value) -> bytes\n\n"
"Return the byte string whose order is the view collation order of value.");

static PyObject *
sort_key(PyObject *module, PyObject *value)
{
    collate_state *state = state_of(module);
    return state == NULL ? NULL : make_sort_key(state, value);
}

/* Unpack one emit into five new references, with the errors of ``a, b, ... = entry``. */
static int
unpack_emit(PyObject *entry, PyObject **fields)
{
    if ((PyList_CheckExact(entry) && PyList_GET_SIZE(entry) == EMIT_FIELDS)
        || (PyTuple_CheckExact(entry) && PyTuple_GET_SIZE(entry) == EMIT_FIELDS)) {
        PyObject **items = PySequence_Fast_ITEMS(entry);
        for (int i = 0; i < EMIT_FIELDS; i++) {
            fields[i] = Py_NewRef(items[i]);
        }
        return 0;
    }
    PyObject *iterator = PyObject_GetIter(entry);
    if (iterator == NULL) {
        if (PyErr_ExceptionMatches(PyExc_TypeError) && Py_TYPE(entry)->tp_iter == NULL
            && !PySequence_Check(entry)) {
            PyErr_Format(PyExc_TypeError, "cannot unpack non-iterable %.200s object",
                         Py_TYPE(entry)->tp_name);
        }
        return -1;
    }
    int got = 0;
    for (; got < EMIT_FIELDS; got++) {
        fields[got] = PyIter_Next(iterator);
        if (fields[got] == NULL) {
            break;
        }
    }
    PyObject *extra = got == EMIT_FIELDS ? PyIter_Next(iterator) : NULL;
    Py_DECREF(iterator);
    if (got == EMIT_FIELDS && extra == NULL && !PyErr_Occurred()) {
        return 0;
    }
    if (!PyErr_Occurred()) {
        if (extra != NULL) {
            PyErr_Format(PyExc_ValueError, "too many values to unpack (expected %d)",
                         EMIT_FIELDS);
        }
        else {
            PyErr_Format(PyExc_ValueError, "not enough values to unpack (expected %d, got %d)",
                         EMIT_FIELDS, got);
        }
    }
    Py_XDECREF(extra);
    for (int i = 0; i < got; i++) {
        Py_DECREF(fields[i]);
    }
    return -1;
}

/* Return a new reference to ``sequence[index]``: directly for an exact list in range. */
static PyObject *
item_at(PyObject *sequence, PyObject *index)
{
    if (PyList_CheckExact(sequence) && PyLong_CheckExact(index)) {
        Py_ssize_t at = PyLong_AsSsize_t(index);
        if (at >= 0 && at < PyList_GET_SIZE(sequence)) {
            return Py_NewRef(PyList_GET_ITEM(sequence, at));
        }
        PyErr_Clear();
    }
    return PyObject_GetItem(sequence, index);
}

/* Return a new reference to ``docs[doc][0]``, the id of an emitting document. */
static PyObject *
doc_id_of(collate_state *state, PyObject *docs, PyObject *doc)
{
    PyObject *pair = item_at(docs, doc);
    if (pair == NULL) {
        return NULL;
    }
    PyObject *doc_id;
    if (PyTuple_CheckExact(pair) && PyTuple_GET_SIZE(pair) > 0) {
        doc_id = Py_NewRef(PyTuple_GET_ITEM(pair, 0));
    }
    else {
        doc_id = PyObject_GetItem(pair, state->zero);
    }
    Py_DECREF(pair);
    return doc_id;
}

/* Append the row of one emit to the list of its view. */
static int
add_row(collate_state *state, PyObject *views, PyObject *docs, PyObject *entry)
{
    PyObject *fields[EMIT_FIELDS];
    if (unpack_emit(entry, fields) < 0) {
        return -1;
    }
    PyObject *view_rows = item_at(views, fields[1]);
    PyObject *row = NULL;
    int done = -1;
    if (view_rows != NULL) {
        row = PyTuple_New(EMIT_FIELDS);
    }
    if (row != NULL) {
        PyObject *key = make_sort_key(state, fields[3]);
        PyObject *doc_id = key == NULL ? NULL : doc_id_of(state, docs, fields[0]);
        if (doc_id != NULL) {
            PyTuple_SET_ITEM(row, 0, key);
            PyTuple_SET_ITEM(row, 1, doc_id);
            for (int i = 2; i < EMIT_FIELDS; i++) {
                PyTuple_SET_ITEM(row, i, Py_NewRef(fields[i]));
            }
            done = PyList_Append(view_rows, row);
        }
        else {
            Py_XDECREF(key);
        }
    }
    Py_XDECREF(row);
    Py_XDECREF(view_rows);
    for (int i = 0; i < EMIT_FIELDS; i++) {
        Py_DECREF(fields[i]);
    }
    return done;
}

/* Whether a function of three positional arguments got three (else TypeError). */
static int
positional(const char *function, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError, "%s() takes exactly 3 arguments (%zd given)", function,
                     nargs);
        return 0;
    }
    return 1;
}

PyDoc_STRVAR(rows_doc,
"rows(entries, docs, view_count) -> list\n\n"
"Return one list per view of the rows (sort_key(key), docs[doc][0], n, key, value) of\n"
"the emits [doc, view, n, key, value] in entries, each list in emit order.");

static PyObject *
rows(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (!positional("rows", nargs)) {
        return NULL;
    }
    collate_state *state = state_of(module);
    if (state == NULL) {
        return NULL;
    }
    Py_ssize_t view_count = PyNumber_AsSsize_t(args[2], PyExc_OverflowError);
    if (view_count == -1 && PyErr_Occurred()) {
        return NULL;
    }
    PyObject *views = PyList_New(view_count > 0 ? view_count : 0);
    if (views == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < view_count; i++) {
        PyObject *view_rows = PyList_New(0);
        if (view_rows == NULL) {
            Py_DECREF(views);
            return NULL;
        }
        PyList_SET_ITEM(views, i, view_rows);
    }
    PyObject *iterator = PyObject_GetIter(args[0]);
    if (iterator == NULL) {
        Py_DECREF(views);
        return NULL;
    }
    PyObject *entry;
    while ((entry = PyIter_Next(iterator)) != NULL) {
        int done = add_row(state, views, args[1], entry);
        Py_DECREF(entry);
        if (done < 0) {
            break;
        }
    }
    Py_DECREF(iterator);
    if (PyErr_Occurred()) {
        Py_DECREF(views);
        return NULL;
    }
    return views;
}

PyDoc_STRVAR(configure_doc,
"configure(cache, string_key, cache_size) -> None\n\n"
"Use the dict cache for string sort keys, string_key(text) for the ICU key of a miss,\n"
"and clear the cache before a miss once it holds cache_size strings.");

static PyObject *
configure(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (!positional("configure", nargs)) {
        return NULL;
    }
    if (!PyDict_CheckExact(args[0])) {
        PyErr_Format(PyExc_TypeError, "configure: the string cache must be a dict, not %.100s",
                     Py_TYPE(args[0])->tp_name);
        return NULL;
    }
    if (!PyCallable_Check(args[1])) {
        PyErr_Format(PyExc_TypeError, "configure: string_key must be callable, not %.100s",
                     Py_TYPE(args[1])->tp_name);
        return NULL;
    }
    Py_ssize_t cache_size = PyNumber_AsSsize_t(args[2], PyExc_OverflowError);
    if (cache_size == -1 && PyErr_Occurred()) {
        return NULL;
    }
    collate_state *state = PyModule_GetState(module);
    Py_XSETREF(state->cache, Py_NewRef(args[0]));
    Py_XSETREF(state->string_key, Py_NewRef(args[1]));
    state->cache_size = cache_size;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"sort_key", (PyCFunction)sort_key, METH_O, sort_key_doc},
    {"rows", (PyCFunction)(void (*)(void))rows, METH_FASTCALL, rows_doc},
    {"configure", (PyCFunction)(void (*)(void))configure, METH_FASTCALL, configure_doc},
    {NULL, NULL, 0, NULL},
};

static int
exec_module(PyObject *module)
{
    collate_state *state = PyModule_GetState(module);
    char mark = STRING_MARK;
    state->string_mark = PyBytes_FromStringAndSize(&mark, 1);
    state->zero = PyLong_FromLong(0);
    return state->string_mark == NULL || state->zero == NULL ? -1 : 0;
}

static int
traverse_module(PyObject *module, visitproc visit, void *arg)
{
    collate_state *state = PyModule_GetState(module);
    Py_VISIT(state->cache);
    Py_VISIT(state->string_key);
    return 0;
}

static int
clear_module(PyObject *module)
{
    collate_state *state = PyModule_GetState(module);
    Py_CLEAR(state->cache);
    Py_CLEAR(state->string_key);
    Py_CLEAR(state->string_mark);
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
"View collation sort keys and build rows in C (the reference is cbserver.views.collation).");

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "cbserver.views._collate",
    .m_doc = module_doc,
    .m_size = sizeof(collate_state),
    .m_methods = methods,
    .m_slots = slots,
    .m_traverse = traverse_module,
    .m_clear = clear_module,
    .m_free = free_module,
};

PyMODINIT_FUNC
PyInit__collate(void)
{
    return PyModuleDef_Init(&module_def);
}
