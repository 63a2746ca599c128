/* The per-record loops of detectors/base.py's Batch in C: grouping records by log, pairing each
 * record's two addresses with their cached IpInfo, and the (record, orig, resp) list every detector
 * walks. base.py keeps the Python loops as the checked fallback (WARDWATCH_DETECT_PYTHON=1 forces
 * them; tests/unit/test_batch_native.py compares the two on hypothesis records).
 *
 * Why our own C: these loops are the same for every detector and run once per record of every
 * batch. On the SYN flood storm shape (300,000 conn records from spoofed sources) they cost 2.1 of
 * the engine's 3.7 CPU s (bench/bench_detect_storm.py; a dict.get, an isinstance and a tuple per
 * field in the interpreter). Numbers: docs/PERFORMANCE.md, "Detection in a storm".
 *
 * Every function works on plain dicts (what the sensor, the bus and the log import hand over) and
 * falls back to the record's own .get() for anything else, so odd input gives what base.py gives. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *s_path, *s_ts, *s_orig_h, *s_resp_h;

/* r.get(key): a borrowed-like new reference (NULL with an error set) */
static PyObject *
rec_get(PyObject *r, PyObject *key)
{
    if (PyDict_CheckExact(r)) {
        PyObject *v = PyDict_GetItemWithError(r, key);
        if (v == NULL) {
            if (PyErr_Occurred())
                return NULL;
            Py_RETURN_NONE;
        }
        return Py_NewRef(v);
    }
    return PyObject_CallMethod(r, "get", "O", key);
}

/* group(records) -> ({_path: [record]}, ts_max): Batch.__init__'s loop */
static PyObject *
group(PyObject *mod, PyObject *records)
{
    /* our own list: a record's .get (not a dict) runs Python code that could shrink the caller's */
    PyObject *seq = PySequence_List(records);
    if (seq == NULL)
        return NULL;
    PyObject *by = PyDict_New();
    double ts_max = 0.0;
    if (by == NULL)
        goto fail;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        PyObject *r = PySequence_Fast_GET_ITEM(seq, i);
        PyObject *p = rec_get(r, s_path);
        if (p == NULL)
            goto fail;
        PyObject *lst = PyDict_GetItemWithError(by, p); /* borrowed */
        if (lst == NULL) {
            if (PyErr_Occurred() || (lst = PyList_New(0)) == NULL || PyDict_SetItem(by, p, lst) < 0) {
                Py_XDECREF(lst);
                Py_DECREF(p);
                goto fail;
            }
            Py_DECREF(lst); /* the dict holds it */
        }
        Py_DECREF(p);
        if (PyList_Append(lst, r) < 0)
            goto fail;
        PyObject *t = rec_get(r, s_ts);
        if (t == NULL)
            goto fail;
        if (PyFloat_Check(t)) {
            double v = PyFloat_AS_DOUBLE(t);
            if (v > ts_max)
                ts_max = v;
        }
        Py_DECREF(t);
    }
    Py_DECREF(seq);
    return Py_BuildValue("(Nd)", by, ts_max);
fail:
    Py_XDECREF(by);
    Py_DECREF(seq);
    return NULL;
}

/* pairs(records, cache) -> (got, missing, fresh): Batch.pairs's loop. got[i] is (orig, resp) from
 * cache, or None (no string address, or one not in cache: then (i, o, d) is in missing); fresh is
 * the addresses of missing not in cache, each once, in the order first met. */
static PyObject *
pairs(PyObject *mod, PyObject *args)
{
    PyObject *records, *cache;
    if (!PyArg_ParseTuple(args, "OO!:pairs", &records, &PyDict_Type, &cache))
        return NULL;
    PyObject *seq = PySequence_List(records); /* our own list, as in group() */
    if (seq == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject *got = PyList_New(n), *missing = PyList_New(0), *fresh = PyList_New(0), *seen = PySet_New(NULL);
    if (got == NULL || missing == NULL || fresh == NULL || seen == NULL)
        goto fail;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *r = PySequence_Fast_GET_ITEM(seq, i);
        PyObject *o = rec_get(r, s_orig_h), *d = o ? rec_get(r, s_resp_h) : NULL, *item = NULL;
        if (d == NULL) {
            Py_XDECREF(o);
            goto fail;
        }
        if (PyUnicode_CheckExact(o) && PyUnicode_CheckExact(d)) {
            PyObject *oi = PyDict_GetItemWithError(cache, o);
            PyObject *di = oi || !PyErr_Occurred() ? PyDict_GetItemWithError(cache, d) : NULL;
            if (PyErr_Occurred())
                goto fail_od;
            if (oi != NULL && di != NULL)
                item = PyTuple_Pack(2, oi, di);
            else {
                PyObject *m = Py_BuildValue("(nOO)", i, o, d);
                int bad = m == NULL || PyList_Append(missing, m) < 0;
                Py_XDECREF(m);
                if (bad)
                    goto fail_od;
                PyObject *side[2] = {oi == NULL ? o : NULL, di == NULL ? d : NULL};
                for (int k = 0; k < 2; k++) {
                    if (side[k] == NULL)
                        continue;
                    int has = PySet_Contains(seen, side[k]);
                    if (has < 0 || (!has && (PySet_Add(seen, side[k]) < 0 || PyList_Append(fresh, side[k]) < 0)))
                        goto fail_od;
                }
                item = Py_NewRef(Py_None);
            }
        } else
            item = Py_NewRef(Py_None);
        Py_DECREF(o);
        Py_DECREF(d);
        if (item == NULL)
            goto fail;
        PyList_SET_ITEM(got, i, item);
        continue;
    fail_od:
        Py_DECREF(o);
        Py_DECREF(d);
        goto fail;
    }
    Py_DECREF(seen);
    Py_DECREF(seq);
    return Py_BuildValue("(NNN)", got, missing, fresh);
fail:
    Py_XDECREF(got); /* unset items are NULL: list_dealloc skips them */
    Py_XDECREF(missing);
    Py_XDECREF(fresh);
    Py_XDECREF(seen);
    Py_DECREF(seq);
    return NULL;
}

/* each(records, pairs) -> [(record, orig, resp)] for the records whose pair is not None */
static PyObject *
each(PyObject *mod, PyObject *args)
{
    PyObject *records, *prs;
    if (!PyArg_ParseTuple(args, "O!O!:each", &PyList_Type, &records, &PyList_Type, &prs))
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(records);
    if (PyList_GET_SIZE(prs) != n) {
        PyErr_SetString(PyExc_ValueError, "each(): records and pairs differ in length");
        return NULL;
    }
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *p = PyList_GET_ITEM(prs, i);
        if (p == Py_None)
            continue;
        if (!PyTuple_CheckExact(p) || PyTuple_GET_SIZE(p) != 2) {
            PyErr_SetString(PyExc_TypeError, "each(): a pair is not a 2-tuple");
            Py_DECREF(out);
            return NULL;
        }
        PyObject *t = PyTuple_Pack(3, PyList_GET_ITEM(records, i), PyTuple_GET_ITEM(p, 0), PyTuple_GET_ITEM(p, 1));
        if (t == NULL || PyList_Append(out, t) < 0) {
            Py_XDECREF(t);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(t);
    }
    return out;
}

/* fill(got, missing, cache) -> [(i, o, d)]: after the new addresses are resolved, got[i] = (orig, resp)
 * from cache for each (i, o, d) of missing; those with an address no longer cached (the cache
 * started over) are returned for Batch.pairs to resolve one by one. */
static PyObject *
fill(PyObject *mod, PyObject *args)
{
    PyObject *got, *missing, *cache;
    if (!PyArg_ParseTuple(args, "O!O!O!:fill", &PyList_Type, &got, &PyList_Type, &missing, &PyDict_Type, &cache))
        return NULL;
    PyObject *left = PyList_New(0);
    if (left == NULL)
        return NULL;
    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(missing); k++) {
        PyObject *m = PyList_GET_ITEM(missing, k);
        Py_ssize_t i;
        if (!PyTuple_CheckExact(m) || PyTuple_GET_SIZE(m) != 3 ||
            (i = PyLong_AsSsize_t(PyTuple_GET_ITEM(m, 0))) < 0 || i >= PyList_GET_SIZE(got)) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "fill(): a missing entry is not (index, orig, resp)");
            Py_DECREF(left);
            return NULL;
        }
        PyObject *oi = PyDict_GetItemWithError(cache, PyTuple_GET_ITEM(m, 1));
        PyObject *di = oi != NULL ? PyDict_GetItemWithError(cache, PyTuple_GET_ITEM(m, 2)) : NULL;
        if (PyErr_Occurred()) {
            Py_DECREF(left);
            return NULL;
        }
        if (oi == NULL || di == NULL) {
            if (PyList_Append(left, m) < 0) {
                Py_DECREF(left);
                return NULL;
            }
            continue;
        }
        PyObject *pair = PyTuple_Pack(2, oi, di);
        if (pair == NULL || PyList_SetItem(got, i, pair) < 0) { /* SetItem steals pair */
            Py_DECREF(left);
            return NULL;
        }
    }
    return left;
}

static PyMethodDef methods[] = {
    {"fill", fill, METH_VARARGS, "fill(got, missing, cache) -> the missing entries still uncached."},
    {"group", group, METH_O, "group(records) -> ({_path: [record]}, ts_max)."},
    {"pairs", pairs, METH_VARARGS, "pairs(records, cache) -> (got, missing, fresh)."},
    {"each", each, METH_VARARGS, "each(records, pairs) -> [(record, orig, resp)]."},
    {NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_batch", "Batch's per-record loops in C.", -1, methods};

PyMODINIT_FUNC
PyInit__batch(void)
{
    if ((s_path = PyUnicode_InternFromString("_path")) == NULL || (s_ts = PyUnicode_InternFromString("ts")) == NULL ||
        (s_orig_h = PyUnicode_InternFromString("id.orig_h")) == NULL ||
        (s_resp_h = PyUnicode_InternFromString("id.resp_h")) == NULL)
        return NULL;
    return PyModule_Create(&module);
}
