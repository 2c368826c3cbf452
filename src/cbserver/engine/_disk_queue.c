/*
 * cbserver.engine._disk_queue: the engine's disk queue (cbserver.engine.disk_queue), in C.
 *
 * DiskQueue(owner, mark) behaves exactly like the Python class PyDiskQueue of
 * disk_queue.py, which is the specification: push(bucket, key, state, size) appends key
 * and state to the list `entries`, adds size + ENTRY_OVERHEAD to `queued_bytes` (counted
 * before the appends), and calls owner.queue_poked(bucket) when the list then holds
 * exactly one pair or `queued_bytes` passed `mark`; take() returns the whole list and
 * puts an empty one in its place. Why C: push runs once per mutation on the event loop,
 * and in Python its byte count and length test made two int objects per call; here the
 * counters are machine integers and the call is one vectorcall. And since push holds the
 * interpreter lock from the byte count to the second append (nothing in between runs
 * Python code), a pair is never half queued, so take() can hand over the list itself
 * instead of copying out and deleting an even prefix, which touched every queued object's
 * reference count twice on the taking thread.
 *
 * The counters are 64-bit: queued_bytes is cumulative (it would take 2**63 bytes of
 * writes to overflow), mark is set by the owner's thread under the interpreter lock, as
 * every call here runs. The object takes part in garbage collection, as the owner
 * usually holds the queue.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

/* Bytes of bookkeeping counted per queued mutation (disk_queue.ENTRY_OVERHEAD). */
#define ENTRY_OVERHEAD 64

typedef struct {
    PyObject_HEAD
    PyObject *entries;
    PyObject *owner;
    long long queued_bytes;
    long long mark;
} DiskQueueObject;

static PyObject *queue_poked_name;

static int
queue_init(DiskQueueObject *self, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"owner", "mark", NULL};
    PyObject *owner;
    long long mark;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OL:DiskQueue", names, &owner, &mark)) {
        return -1;
    }
    PyObject *entries = PyList_New(0);
    if (entries == NULL) {
        return -1;
    }
    Py_INCREF(owner);
    Py_XSETREF(self->owner, owner);
    Py_XSETREF(self->entries, entries);
    self->queued_bytes = 0;
    self->mark = mark;
    return 0;
}

static int
queue_traverse(DiskQueueObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->entries);
    Py_VISIT(self->owner);
    return 0;
}

static int
queue_clear(DiskQueueObject *self)
{
    Py_CLEAR(self->entries);
    Py_CLEAR(self->owner);
    return 0;
}

static void
queue_dealloc(DiskQueueObject *self)
{
    PyObject_GC_UnTrack(self);
    queue_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

PyDoc_STRVAR(push_doc,
"push(bucket, key, state, size) -> None\n\n"
"Queue ``key`` and its new state (a record, or a delete's seqno), counting ``size``\n"
"bytes of value plus the per-entry overhead; poke the owner when the queue turned\n"
"non-empty or its bytes passed the mark.");

static PyObject *
queue_push(DiskQueueObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_Format(PyExc_TypeError, "push() takes 4 arguments (%zd given)", nargs);
        return NULL;
    }
    if (self->entries == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "DiskQueue.push: the queue was not initialised");
        return NULL;
    }
    long long size = PyLong_AsLongLong(args[3]);
    if (size == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (size < 0) {
        PyErr_Format(PyExc_ValueError, "push: size must not be negative, not %lld", size);
        return NULL;
    }
    self->queued_bytes += size + ENTRY_OVERHEAD;
    if (PyList_Append(self->entries, args[1]) < 0) {
        return NULL;
    }
    if (PyList_Append(self->entries, args[2]) < 0) {
        return NULL;
    }
    if (PyList_GET_SIZE(self->entries) == 2 || self->queued_bytes > self->mark) {
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
"take() -> list\n\n"
"Return every pair queued so far, oldest first, leaving the queue empty.");

static PyObject *
queue_take(DiskQueueObject *self, PyObject *Py_UNUSED(ignored))
{
    if (self->entries == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "DiskQueue.take: the queue was not initialised");
        return NULL;
    }
    PyObject *fresh = PyList_New(0);
    if (fresh == NULL) {
        return NULL;
    }
    PyObject *taken = self->entries;
    self->entries = fresh;
    return taken;
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
    {"queued_bytes", (getter)get_queued_bytes, NULL,
     "Bytes ever queued (cumulative), counted by push.", NULL},
    {"mark", (getter)get_mark, (setter)set_mark,
     "queued_bytes past which push pokes the owner.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMemberDef queue_members[] = {
    {"entries", T_OBJECT, offsetof(DiskQueueObject, entries), READONLY,
     "Flat key, state pairs in mutation order (a new list after each take)."},
    {"owner", T_OBJECT, offsetof(DiskQueueObject, owner), READONLY,
     "What push pokes (queue_poked) and a flush tells (on_flush)."},
    {NULL, 0, 0, 0, NULL},
};

static PyMethodDef queue_methods[] = {
    {"push", (PyCFunction)(void (*)(void))queue_push, METH_FASTCALL, push_doc},
    {"take", (PyCFunction)queue_take, METH_NOARGS, take_doc},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject DiskQueueType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "cbserver.engine._disk_queue.DiskQueue",
    .tp_doc = PyDoc_STR("DiskQueue(owner, mark): the mutations a bucket owes the disk."),
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
    .m_name = "cbserver.engine._disk_queue",
    .m_doc = "The engine's disk queue in C (see cbserver.engine.disk_queue).",
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
