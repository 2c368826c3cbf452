/*
 * cbserver.storage._disk_queue: the disk queue of a bucket (cbserver.storage.disk_queue),
 * in C.
 *
 * DiskQueue(owner, mark) behaves exactly like the Python class PyDiskQueue of
 * disk_queue.py, which is the specification. push(bucket, key, state, size) runs once per
 * mutation on the event loop: it encodes the key and its new state (an engine record, or
 * a delete's seqno) as one layout 3 entry (_layout3.h) at the end of the batch being
 * built, adds size + ENTRY_OVERHEAD to queued_bytes, and calls owner.queue_poked(bucket)
 * when the queue then holds exactly one entry or queued_bytes passed mark. take(floor)
 * returns (payload, count, seqno): the batch as a whole layout 3 payload, its number of
 * entries and its seqno (the newest entry's, at least floor), and starts a new batch.
 *
 * Why encode here: the record is in the cache of the core that just made it, and the
 * flusher's thread then never reads, holds or frees a Python object of the batch (it took
 * ~45% of that thread's time, reading records made on another core and freeing them
 * there). The batch is a bytes object filled in place and handed over whole by take, so
 * no copy is made. Every call holds the interpreter lock throughout, so an entry is
 * never half queued when take runs on the flusher's thread.
 */
#include "_layout3.h"
#include <structmember.h>

/* Bytes of bookkeeping counted per queued mutation (disk_queue.ENTRY_OVERHEAD). */
#define ENTRY_OVERHEAD 64
/* Capacity of a new batch; a batch after a large one starts larger, up to MAX_START. */
#define FIRST_CAPACITY 65536
#define MAX_START (16 << 20)
/* Where the seqno sits in a write's head and in a delete's. */
#define WRITE_SEQNO_AT 20
#define DELETE_SEQNO_AT 3

typedef struct {
    PyObject_HEAD
    PyObject *owner;
    PyObject *batch;      /* bytes, capacity = its size; the header is filled by take */
    Py_ssize_t used;      /* bytes of batch written, header included */
    uint32_t count;       /* entries in batch */
    uint64_t last_seqno;  /* of the newest entry */
    long long queued_bytes;
    long long mark;
} DiskQueueObject;

static PyObject *queue_poked_name;

/* Start a new, empty batch with room for capacity bytes. */
static int
new_batch(DiskQueueObject *self, Py_ssize_t capacity)
{
    PyObject *batch = PyBytes_FromStringAndSize(NULL, capacity);
    if (batch == NULL) {
        return -1;
    }
    Py_XSETREF(self->batch, batch);
    self->used = HEADER_LEN;
    self->count = 0;
    self->last_seqno = 0;
    return 0;
}

/* Make room for need more bytes in the batch. A larger batch is made and the bytes copied
 * before the old one goes, so that a failed allocation loses no queued entry. */
static int
reserve(DiskQueueObject *self, Py_ssize_t need)
{
    Py_ssize_t capacity = PyBytes_GET_SIZE(self->batch);
    if (need <= capacity - self->used) {
        return 0;
    }
    if (need > PY_SSIZE_T_MAX / 2 - self->used) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t wanted = self->used + need;
    while (capacity < wanted) {
        capacity *= 2;
    }
    PyObject *larger = PyBytes_FromStringAndSize(NULL, capacity);
    if (larger == NULL) {
        return -1;
    }
    memcpy(PyBytes_AS_STRING(larger), PyBytes_AS_STRING(self->batch), (size_t)self->used);
    Py_SETREF(self->batch, larger);
    return 0;
}

static int
queue_init(DiskQueueObject *self, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"owner", "mark", NULL};
    PyObject *owner;
    long long mark;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OL:DiskQueue", names, &owner, &mark)) {
        return -1;
    }
    if (new_batch(self, FIRST_CAPACITY) < 0) {
        return -1;
    }
    Py_INCREF(owner);
    Py_XSETREF(self->owner, owner);
    self->queued_bytes = 0;
    self->mark = mark;
    return 0;
}

static int
queue_traverse(DiskQueueObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->owner);
    return 0;
}

static int
queue_clear(DiskQueueObject *self)
{
    Py_CLEAR(self->owner);
    return 0;
}

static void
queue_dealloc(DiskQueueObject *self)
{
    PyObject_GC_UnTrack(self);
    queue_clear(self);
    Py_CLEAR(self->batch);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
check_ready(DiskQueueObject *self, const char *method)
{
    if (self->batch == NULL || self->owner == NULL) {
        PyErr_Format(PyExc_RuntimeError, "DiskQueue.%s: the queue was not initialised",
                     method);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(push_doc,
"push(bucket, key, state, size) -> None\n\n"
"Queue ``key`` and its new state (a record, or a delete's seqno) as one encoded entry,\n"
"counting ``size`` bytes of value plus the per-entry overhead; poke the owner when the\n"
"queue turned non-empty or its bytes passed the mark. A bad entry raises TypeError or\n"
"ValueError and queues nothing.");

static PyObject *
queue_push(DiskQueueObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_Format(PyExc_TypeError, "push() takes 4 arguments (%zd given)", nargs);
        return NULL;
    }
    if (check_ready(self, "push") < 0) {
        return NULL;
    }
    long long size = PyLong_AsLongLong(args[3]);
    if (size == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (size < 0) {
        PyErr_Format(PyExc_ValueError, "DiskQueue.push: size must not be negative, not %lld",
                     size);
        return NULL;
    }
    if (self->count == UINT32_MAX) {
        PyErr_Format(PyExc_OverflowError, "DiskQueue.push: the batch holds %lu entries, the "
                     "most a layout 3 batch can", (unsigned long)UINT32_MAX);
        return NULL;
    }
    PyObject *key = args[1];
    PyObject *state = args[2];
    unsigned char head[WRITE_HEAD];
    Py_ssize_t head_len;
    Py_ssize_t taken = pack_entry(key, state, (entry_at){"DiskQueue.push", -1}, head,
                                  &head_len);
    if (taken < 0 || reserve(self, taken) < 0) {
        return NULL;
    }
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(self->batch) + self->used;
    memcpy(out, head, (size_t)head_len);
    out += head_len;
    memcpy(out, PyBytes_AS_STRING(key), (size_t)PyBytes_GET_SIZE(key));
    if (head[0] == KIND_WRITE) {
        PyObject *value = PyTuple_GET_ITEM(state, 0);
        memcpy(out + PyBytes_GET_SIZE(key), PyBytes_AS_STRING(value),
               (size_t)PyBytes_GET_SIZE(value));
        self->last_seqno = get_u64(head + WRITE_SEQNO_AT);
    }
    else {
        self->last_seqno = get_u64(head + DELETE_SEQNO_AT);
    }
    self->used += taken;
    self->count++;
    self->queued_bytes += size + ENTRY_OVERHEAD;
    if (self->count == 1 || self->queued_bytes > self->mark) {
        PyObject *call_args[2] = {self->owner, args[0]};
        PyObject *done = PyObject_VectorcallMethod(
            queue_poked_name, call_args, 2 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
        if (done == NULL) {
            return NULL;
        }
        Py_DECREF(done);
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(take_doc,
"take(floor) -> (payload, count, seqno)\n\n"
"Return the queued entries as one layout 3 payload, their number and the batch seqno\n"
"(the newest entry's, or ``floor`` if higher or if nothing is queued), and start a new\n"
"batch.");

static PyObject *
queue_take(DiskQueueObject *self, PyObject *arg)
{
    if (check_ready(self, "take") < 0) {
        return NULL;
    }
    if (!PyLong_Check(arg)) {
        PyErr_Format(PyExc_TypeError, "DiskQueue.take: floor must be an int, not %s",
                     Py_TYPE(arg)->tp_name);
        return NULL;
    }
    unsigned long long floor = PyLong_AsUnsignedLongLong(arg);
    if (floor == (unsigned long long)-1 && PyErr_Occurred()) {
        return NULL;
    }
    uint64_t seqno = self->count && self->last_seqno > floor ? self->last_seqno : floor;
    Py_ssize_t used = self->used;
    /* Everything that can fail comes before the hand-over: a failed take loses nothing. */
    PyObject *result = PyTuple_New(3);
    PyObject *count = PyLong_FromUnsignedLong(self->count);
    PyObject *batch_seqno = PyLong_FromUnsignedLongLong(seqno);
    PyObject *next = PyBytes_FromStringAndSize(
        NULL, used < FIRST_CAPACITY ? FIRST_CAPACITY : used > MAX_START ? MAX_START
                                                                        : used + used / 4);
    if (result == NULL || count == NULL || batch_seqno == NULL || next == NULL) {
        Py_XDECREF(result);
        Py_XDECREF(count);
        Py_XDECREF(batch_seqno);
        Py_XDECREF(next);
        return NULL;
    }
    PyObject *payload = self->batch;
    unsigned char *header = (unsigned char *)PyBytes_AS_STRING(payload);
    header[0] = TAG_0;
    header[1] = TAG_1;
    put_u32(put_u64(header + 2, seqno), self->count);
    /* The payload keeps its spare capacity until it is freed: shrinking it in place
     * (what _PyBytes_Resize would do) could fail and free it. */
    Py_SET_SIZE(payload, used);
    PyBytes_AS_STRING(payload)[used] = '\0';
    self->batch = next;
    self->used = HEADER_LEN;
    self->count = 0;
    self->last_seqno = 0;
    PyTuple_SET_ITEM(result, 0, payload);
    PyTuple_SET_ITEM(result, 1, count);
    PyTuple_SET_ITEM(result, 2, batch_seqno);
    return result;
}

static PyObject *
get_count(DiskQueueObject *self, void *Py_UNUSED(closure))
{
    return PyLong_FromUnsignedLong(self->count);
}

static PyObject *
get_queued_bytes(DiskQueueObject *self, void *Py_UNUSED(closure))
{
    return PyLong_FromLongLong(self->queued_bytes);
}

static PyObject *
get_mark(DiskQueueObject *self, void *Py_UNUSED(closure))
{
    return PyLong_FromLongLong(self->mark);
}

static int
set_mark(DiskQueueObject *self, PyObject *value, void *Py_UNUSED(closure))
{
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "the mark of a DiskQueue cannot be deleted");
        return -1;
    }
    long long mark = PyLong_AsLongLong(value);
    if (mark == -1 && PyErr_Occurred()) {
        return -1;
    }
    self->mark = mark;
    return 0;
}

static PyGetSetDef queue_getset[] = {
    {"count", (getter)get_count, NULL, "Entries queued since the last take.", NULL},
    {"queued_bytes", (getter)get_queued_bytes, NULL,
     "Bytes ever queued (cumulative), counted by push.", NULL},
    {"mark", (getter)get_mark, (setter)set_mark,
     "queued_bytes past which push pokes the owner.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMemberDef queue_members[] = {
    {"owner", T_OBJECT, offsetof(DiskQueueObject, owner), READONLY,
     "What push pokes (queue_poked) and a flush tells (on_flush)."},
    {NULL, 0, 0, 0, NULL},
};

static PyMethodDef queue_methods[] = {
    {"push", (PyCFunction)(void (*)(void))queue_push, METH_FASTCALL, push_doc},
    {"take", (PyCFunction)queue_take, METH_O, take_doc},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject DiskQueueType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "cbserver.storage._disk_queue.DiskQueue",
    .tp_doc = PyDoc_STR("DiskQueue(owner, mark): the mutations a bucket owes the disk, "
                        "encoded as they come."),
    .tp_basicsize = sizeof(DiskQueueObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)queue_init,
    .tp_dealloc = (destructor)queue_dealloc,
    .tp_traverse = (traverseproc)queue_traverse,
    .tp_clear = (inquiry)queue_clear,
    .tp_methods = queue_methods,
    .tp_members = queue_members,
    .tp_getset = queue_getset,
};

static struct PyModuleDef disk_queue_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "cbserver.storage._disk_queue",
    .m_doc = "A bucket's disk queue in C (see cbserver.storage.disk_queue).",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__disk_queue(void)
{
    if (PyType_Ready(&DiskQueueType) < 0) {
        return NULL;
    }
    queue_poked_name = PyUnicode_InternFromString("queue_poked");
    if (queue_poked_name == NULL) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&disk_queue_module);
    if (module == NULL) {
        return NULL;
    }
    if (PyModule_AddIntConstant(module, "ENTRY_OVERHEAD", ENTRY_OVERHEAD) < 0
            || PyModule_AddObjectRef(module, "DiskQueue", (PyObject *)&DiskQueueType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
