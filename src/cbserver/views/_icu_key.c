/*
 * cbserver.views._icu_key: ICU root-locale sort keys of strings, straight from ICU's C API.
 *
 * root_sort_key(text) -> bytes gives exactly the bytes PyICU's
 * Collator.createInstance(Locale("")).getSortKey(text) gives at tertiary strength,
 * ICU's terminating 0x00 included. Why C: view index builds spend much of their time on
 * these keys, and PyICU's wrapping (and collation.py's per-thread lookup) adds a third or
 * more to the ICU call itself.
 *
 * The text goes to ICU as UTF-16 made from the str's PEP 393 storage: 1-byte strings are
 * widened, 2-byte strings already are UTF-16 (lone surrogates included) and are passed as
 * they are, 4-byte strings become surrogate pairs above U+FFFF while their lone surrogates
 * become U+FFFD (PyICU converts those strings from UTF-32, which has no surrogates, and
 * the keys must be its keys). Short texts and keys live in stack buffers, longer ones on
 * the heap.
 *
 * One collator per module, opened at import: every call holds the interpreter lock from
 * start to end, so no two threads ever use it at once. If ICU cannot open the collator
 * the import fails with ImportError and collation.py falls back to PyICU.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <unicode/ucol.h>
#include <unicode/utypes.h>

/* UTF-16 units of a text converted on the C stack before a heap buffer is used. */
#define STACK_UNITS 256
/* Bytes of a sort key written on the C stack before a heap buffer is used. */
#define STACK_KEY 512
/* The first heap buffer's size per UTF-16 unit, plus slack: room for the keys of nearly
 * every text (about 1 to 4 bytes a unit), so that ICU rarely computes a key twice. */
#define KEY_BYTES_PER_UNIT 4
#define KEY_SLACK 16
/* U+FFFD, what a surrogate code point of a 4-byte str becomes (as PyICU makes it). */
#define REPLACEMENT 0xFFFD

typedef struct {
    UCollator *collator; /* the root-locale collator at tertiary strength */
} icu_key_state;

/* The UTF-16 form of a str: ``units`` points at ``stack``, the str itself or the heap. */
typedef struct {
    const UChar *units;
    int32_t len;
    UChar *heap;
    UChar stack[STACK_UNITS];
} utf16_text;

/* UTF-16 units of a 4-byte str: one per code point, two per code point above U+FFFF. */
static Py_ssize_t
ucs4_utf16_len(const Py_UCS4 *data, Py_ssize_t len)
{
    Py_ssize_t units = len;
    for (Py_ssize_t i = 0; i < len; i++) {
        units += data[i] > 0xFFFF;
    }
    return units;
}

/* Room for ``units`` UTF-16 units in ``out``: its stack, or a new heap buffer. */
static UChar *
utf16_room(utf16_text *out, Py_ssize_t units)
{
    if (units <= STACK_UNITS) {
        return out->stack;
    }
    out->heap = PyMem_New(UChar, units);
    if (out->heap == NULL) {
        PyErr_NoMemory();
    }
    return out->heap;
}

/* Fill ``out`` with the UTF-16 form of ``text``; 0, or -1 with an exception set. */
static int
utf16_of(PyObject *text, utf16_text *out)
{
    out->heap = NULL;
    if (PyUnicode_READY(text) < 0) {
        return -1;
    }
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t len = PyUnicode_GET_LENGTH(text);
    Py_ssize_t units = kind == PyUnicode_4BYTE_KIND ? ucs4_utf16_len(data, len) : len;
    if (units > INT32_MAX) {
        PyErr_Format(PyExc_OverflowError,
                     "root_sort_key: a str of %zd UTF-16 units is longer than ICU takes "
                     "(%d)", units, INT32_MAX);
        return -1;
    }
    out->len = (int32_t)units;
    if (kind == PyUnicode_2BYTE_KIND) {
        out->units = (const UChar *)data;
        return 0;
    }
    UChar *to = utf16_room(out, units);
    if (to == NULL) {
        return -1;
    }
    out->units = to;
    if (kind == PyUnicode_1BYTE_KIND) {
        const Py_UCS1 *from = data;
        for (Py_ssize_t i = 0; i < len; i++) {
            to[i] = from[i];
        }
        return 0;
    }
    const Py_UCS4 *from = data;
    for (Py_ssize_t i = 0; i < len; i++) {
        Py_UCS4 point = from[i];
        if (point > 0xFFFF) {
            point -= 0x10000;
            *to++ = (UChar)(0xD800 | (point >> 10));
            *to++ = (UChar)(0xDC00 | (point & 0x3FF));
        }
        else if (Py_UNICODE_IS_SURROGATE(point)) {
            *to++ = REPLACEMENT;
        }
        else {
            *to++ = (UChar)point;
        }
    }
    return 0;
}

/* Raise the error of a sort key ICU did not make (ucol_getSortKey reports no code). */
static PyObject *
no_key(const utf16_text *text)
{
    PyErr_Format(PyExc_RuntimeError,
                 "root_sort_key: ICU's ucol_getSortKey made no key for a str of %d UTF-16 "
                 "units (an ICU internal error, such as out of memory)", (int)text->len);
    return NULL;
}

/* Return the sort key of ``text`` as bytes, growing the buffer when ICU asks for more. */
static PyObject *
sort_key_of(const UCollator *collator, const utf16_text *text)
{
    uint8_t stack_key[STACK_KEY];
    uint8_t *buffer = stack_key;
    int64_t guess = (int64_t)text->len * KEY_BYTES_PER_UNIT + KEY_SLACK;
    int32_t room = guess > INT32_MAX ? INT32_MAX : (int32_t)guess;
    if (room <= STACK_KEY) {
        room = STACK_KEY;
    }
    else if ((buffer = PyMem_Malloc(room)) == NULL) {
        return PyErr_NoMemory();
    }
    int32_t need;
    while ((need = ucol_getSortKey(collator, text->units, text->len, buffer, room)) > room) {
        uint8_t *grown = buffer == stack_key ? PyMem_Malloc(need) : PyMem_Realloc(buffer, need);
        if (grown == NULL) {
            if (buffer != stack_key) {
                PyMem_Free(buffer);
            }
            return PyErr_NoMemory();
        }
        buffer = grown;
        room = need;
    }
    PyObject *key = need > 0 ? PyBytes_FromStringAndSize((const char *)buffer, need)
                             : no_key(text);
    if (buffer != stack_key) {
        PyMem_Free(buffer);
    }
    return key;
}

PyDoc_STRVAR(root_sort_key_doc,
"root_sort_key(text) -> bytes\n\n"
"The ICU root-locale sort key of text at tertiary strength, terminating 0x00 included:\n"
"the bytes of PyICU's Collator.getSortKey.");

static PyObject *
root_sort_key(PyObject *module, PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "root_sort_key: the text must be a str, not %.100s",
                     Py_TYPE(text)->tp_name);
        return NULL;
    }
    icu_key_state *state = PyModule_GetState(module);
    utf16_text utf16;
    if (utf16_of(text, &utf16) < 0) {
        return NULL;
    }
    PyObject *key = sort_key_of(state->collator, &utf16);
    PyMem_Free(utf16.heap);
    return key;
}

static PyMethodDef methods[] = {
    {"root_sort_key", (PyCFunction)root_sort_key, METH_O, root_sort_key_doc},
    {NULL, NULL, 0, NULL},
};

static int
exec_module(PyObject *module)
{
    icu_key_state *state = PyModule_GetState(module);
    UErrorCode status = U_ZERO_ERROR;
    UCollator *collator = ucol_open("", &status);
    if (U_FAILURE(status)) {
        ucol_close(collator);
        PyErr_Format(PyExc_ImportError,
                     "cbserver.views._icu_key: ICU could not open the root collator (%s)",
                     u_errorName(status));
        return -1;
    }
    ucol_setStrength(collator, UCOL_TERTIARY);
    state->collator = collator;
    return 0;
}

static void
free_module(void *module)
{
    icu_key_state *state = PyModule_GetState((PyObject *)module);
    if (state != NULL && state->collator != NULL) {
        ucol_close(state->collator);
        state->collator = NULL;
    }
}

static PyModuleDef_Slot slots[] = {
    {Py_mod_exec, exec_module},
    {0, NULL},
};

PyDoc_STRVAR(module_doc,
"ICU root-locale sort keys in C (the PyICU fallback is in cbserver.views.collation).");

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "cbserver.views._icu_key",
    .m_doc = module_doc,
    .m_size = sizeof(icu_key_state),
    .m_methods = methods,
    .m_slots = slots,
    .m_free = free_module,
};

PyMODINIT_FUNC
PyInit__icu_key(void)
{
    return PyModuleDef_Init(&module_def);
}
