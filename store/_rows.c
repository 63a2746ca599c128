/* Record dicts to Arrow column buffers for the store's fast insert: what pyarrow's
 * pa.array(rows, type=struct) gives for the values the sensor writes (float, int, str, bool, None or
 * absent), and None for anything else, so that the writer falls back to pyarrow and behaves exactly
 * as before (store/writer.py keeps that path; WARDWATCH_STORE_PYTHON=1 forces it;
 * tests/unit/test_store_rows_native.py compares the two on hypothesis rows).
 *
 * Why our own C: pyarrow's generic conversion costs 1.7 us a conn record (20 fields) and ran on
 * `wardwatch run`'s main thread for every record: 0.5 s of a 300,000-connection flood, about a tenth
 * of the run. Here each field is one dict lookup and a store into a growing buffer.
 *
 * columns(rows, names, kinds) -> [(validity bytes or None, data bytes, offsets bytes or None)] per
 * field, or None. kinds: 'd' double, 'q' int64, 's' string (int32 offsets), 'b' bool, 'l' a list
 * (only None or absent accepted: a row with a list value returns None). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    char *p;
    size_t n, cap;
} Buf;

static int
buf_reserve(Buf *b, size_t more)
{
    if (b->n + more <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + more)
        cap *= 2;
    char *p = PyMem_Realloc(b->p, cap);
    if (p == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

static PyObject *
buf_bytes(const Buf *b)
{
    return PyBytes_FromStringAndSize(b->p ? b->p : "", (Py_ssize_t)b->n);
}

/* largest integer a double holds exactly, as pyarrow checks when it converts an int to double */
#define EXACT_INT_MAX (1LL << 53)

static PyObject *
columns(PyObject *mod, PyObject *args)
{
    PyObject *rows, *names;
    const char *kinds;
    Py_ssize_t nk;
    if (!PyArg_ParseTuple(args, "O!O!s#:columns", &PyList_Type, &rows, &PyTuple_Type, &names, &kinds, &nk))
        return NULL;
    Py_ssize_t nf = PyTuple_GET_SIZE(names), n = PyList_GET_SIZE(rows);
    if (nk != nf) {
        PyErr_SetString(PyExc_ValueError, "columns(): one kind per name");
        return NULL;
    }
    size_t nbits = ((size_t)n + 7) / 8;
    Buf *data = PyMem_Calloc((size_t)nf ? (size_t)nf : 1, sizeof(Buf));
    Buf *offs = PyMem_Calloc((size_t)nf ? (size_t)nf : 1, sizeof(Buf));
    uint8_t *valid = PyMem_Calloc(((size_t)nf ? (size_t)nf : 1) * (nbits ? nbits : 1), 1);
    Py_ssize_t *nulls = PyMem_Calloc((size_t)nf ? (size_t)nf : 1, sizeof(Py_ssize_t));
    PyObject *out = NULL;
    int ok = 1;
    if (data == NULL || offs == NULL || valid == NULL || nulls == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t f = 0; f < nf; f++) {
        size_t width = kinds[f] == 'd' || kinds[f] == 'q' ? 8 : kinds[f] == 'b' ? 0 : 0;
        if (kinds[f] == 's' && (buf_reserve(&offs[f], 4 * ((size_t)n + 1)) < 0))
            goto done;
        if (kinds[f] == 's')
            memset(offs[f].p, 0, 4), offs[f].n = 4;
        if (width && buf_reserve(&data[f], width * (size_t)n) < 0)
            goto done;
        if (kinds[f] == 'b') {
            if (buf_reserve(&data[f], nbits ? nbits : 1) < 0)
                goto done;
            memset(data[f].p, 0, nbits ? nbits : 1);
            data[f].n = nbits;
        }
    }
    for (Py_ssize_t i = 0; i < n && ok; i++) {
        PyObject *r = PyList_GET_ITEM(rows, i);
        if (!PyDict_CheckExact(r)) {
            ok = 0;
            break;
        }
        for (Py_ssize_t f = 0; f < nf && ok; f++) {
            PyObject *v = PyDict_GetItemWithError(r, PyTuple_GET_ITEM(names, f));
            if (v == NULL && PyErr_Occurred())
                goto done;
            int present = v != NULL && v != Py_None;
            if (present)
                valid[(size_t)f * nbits + (size_t)i / 8] |= (uint8_t)(1u << (i % 8));
            else
                nulls[f]++;
            switch (kinds[f]) {
            case 'd': {
                double x = 0.0;
                if (present) {
                    if (PyFloat_CheckExact(v))
                        x = PyFloat_AS_DOUBLE(v);
                    else if (PyLong_CheckExact(v)) {
                        int over;
                        long long q = PyLong_AsLongLongAndOverflow(v, &over);
                        if (over || q > EXACT_INT_MAX || q < -EXACT_INT_MAX) {
                            ok = 0;
                            break;
                        }
                        x = (double)q;
                    } else {
                        ok = 0;
                        break;
                    }
                }
                memcpy(data[f].p + data[f].n, &x, 8);
                data[f].n += 8;
                break;
            }
            case 'q': {
                long long q = 0;
                if (present) {
                    int over;
                    if (!PyLong_CheckExact(v) || ((q = PyLong_AsLongLongAndOverflow(v, &over)), over)) {
                        ok = 0;
                        break;
                    }
                }
                int64_t x = (int64_t)q;
                memcpy(data[f].p + data[f].n, &x, 8);
                data[f].n += 8;
                break;
            }
            case 's': {
                if (present) {
                    Py_ssize_t len;
                    const char *s = PyUnicode_CheckExact(v) ? PyUnicode_AsUTF8AndSize(v, &len) : NULL;
                    if (s == NULL) { /* not a str, or lone surrogates: pyarrow's path decides */
                        PyErr_Clear();
                        ok = 0;
                        break;
                    }
                    if (data[f].n + (size_t)len > INT32_MAX) {
                        ok = 0;
                        break;
                    }
                    if (buf_reserve(&data[f], (size_t)len) < 0)
                        goto done;
                    memcpy(data[f].p + data[f].n, s, (size_t)len);
                    data[f].n += (size_t)len;
                }
                int32_t end = (int32_t)data[f].n;
                memcpy(offs[f].p + offs[f].n, &end, 4);
                offs[f].n += 4;
                break;
            }
            case 'b':
                if (present) {
                    if (v == Py_True)
                        ((uint8_t *)data[f].p)[i / 8] |= (uint8_t)(1u << (i % 8));
                    else if (v != Py_False)
                        ok = 0;
                }
                break;
            default: /* a list field: only absent or None here */
                if (present)
                    ok = 0;
            }
        }
    }
    if (!ok) {
        out = Py_NewRef(Py_None);
        goto done;
    }
    out = PyList_New(nf);
    if (out == NULL)
        goto done;
    for (Py_ssize_t f = 0; f < nf; f++) {
        PyObject *vb = nulls[f] ? PyBytes_FromStringAndSize((const char *)valid + (size_t)f * nbits, (Py_ssize_t)nbits)
                                : Py_NewRef(Py_None);
        PyObject *db = kinds[f] == 'l' ? Py_NewRef(Py_None) : buf_bytes(&data[f]);
        PyObject *ob = kinds[f] == 's' ? buf_bytes(&offs[f]) : Py_NewRef(Py_None);
        PyObject *t = vb && db && ob ? PyTuple_Pack(3, vb, db, ob) : NULL;
        Py_XDECREF(vb);
        Py_XDECREF(db);
        Py_XDECREF(ob);
        if (t == NULL) {
            Py_CLEAR(out);
            goto done;
        }
        PyList_SET_ITEM(out, f, t);
    }
done:
    for (Py_ssize_t f = 0; data && offs && f < nf; f++) {
        PyMem_Free(data[f].p);
        PyMem_Free(offs[f].p);
    }
    PyMem_Free(data);
    PyMem_Free(offs);
    PyMem_Free(valid);
    PyMem_Free(nulls);
    return out;
}

static PyMethodDef methods[] = {
    {"columns", columns, METH_VARARGS, "columns(rows, names, kinds) -> per-field Arrow buffers, or None."},
    {NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_rows", "Record dicts to Arrow buffers.", -1, methods};

PyMODINIT_FUNC
PyInit__rows(void)
{
    return PyModule_Create(&module);
}
