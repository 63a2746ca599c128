/* Zeek TSV data lines → record dicts, a block of lines at a time (``parse``); the common Zeek JSON
 * lines → records (``json_lines``).
 *
 * Our own C (not a library). Why: bench/bench_import.py measured the pure-Python data-line parser
 * (a function generated per header, ingest/logs/zeek.py) at 180-190k lines/s of CPU on the Zeek
 * conn + dns logs, short of the 200k lines/s target of issue 20; the time went into the per-line
 * str.split, one float()/int() call a typed field and the record dict (about 5 us a line). This walks
 * the bytes once, converts plain numbers itself and builds the dicts directly: about 400k lines/s in
 * the same bench (docs/PERFORMANCE.md). The JSON lines (orjson's parse, then fields dropped in Python)
 * went from about 240k to 400k the same way.
 *
 * zeek.py keeps the same parse in pure Python (TsvState.block's fallback, also forced with
 * WARDWATCH_LOGS_PYTHON=1); both must give equal records, which tests/unit/test_logimport_native.py
 * checks on generated and on real third-party lines. Equality rests on these rules:
 * - Lines end at \n, \r or \r\n (as bytes.splitlines); empty lines are skipped; the block stops
 *   before the first line that starts with '#' (a header) or '{' (JSON), which Python handles.
 * - The separators are one ASCII byte each, the unset and empty markers ASCII (zeek.py only calls
 *   here then): an ASCII byte is never part of a UTF-8 sequence, so splitting the bytes and decoding
 *   each field with "replace" equals decoding the line and splitting the text.
 * - A number is converted here only in its plain form (digits; for floats also . e E + -), which
 *   Python's own parser (PyOS_string_to_double) reads; anything else goes to float()/int() of the
 *   decoded text, so what Python accepts or rejects (a ValueError: the line is malformed) is the same.
 * - Strings with a \x escape go to zeek._unescape; ssl records to zeek._finish (passed in).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

enum { T_RAW = 0, T_STR = 1, T_FLOAT = 2, T_INT = 3, T_BOOL = 4 };

typedef struct {
    Py_ssize_t col;
    PyObject *name; /* borrowed from the plan tuple */
    int type;
    int container;
} Item;

static PyObject *
decode(const char *p, Py_ssize_t n)
{
    return PyUnicode_DecodeUTF8(p, n, "replace");
}

static int
has_escape(const char *p, Py_ssize_t n)
{
    const char *end = p + n;
    while (p < end) {
        const char *b = memchr(p, '\\', (size_t)(end - p));
        if (b == NULL || b + 1 >= end)
            return 0;
        if (b[1] == 'x')
            return 1;
        p = b + 1;
    }
    return 0;
}

/* One value (a field or a set element) converted as zeek.py's _SCALAR says; NULL with an exception
 * set when it does not convert. */
static PyObject *
convert(int type, const char *p, Py_ssize_t n, PyObject *unescape)
{
    PyObject *s, *r;
    switch (type) {
    case T_BOOL:
        if (n == 1 && p[0] == 'T')
            Py_RETURN_TRUE;
        Py_RETURN_FALSE;
    case T_FLOAT:
        if (n > 0 && n < 64) {
            char buf[64];
            Py_ssize_t i;
            for (i = 0; i < n; i++) {
                const char c = p[i];
                if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'))
                    break;
                buf[i] = c;
            }
            if (i == n) {
                buf[n] = '\0';
                double d = PyOS_string_to_double(buf, NULL, NULL);
                if (!(d == -1.0 && PyErr_Occurred()))
                    return PyFloat_FromDouble(d);
                PyErr_Clear(); /* let float() say it */
            }
        }
        s = decode(p, n);
        if (s == NULL)
            return NULL;
        r = PyFloat_FromString(s);
        Py_DECREF(s);
        return r;
    case T_INT:
        if (n > 0 && n <= 18) {
            Py_ssize_t i = p[0] == '-' ? 1 : 0;
            long long v = 0;
            if (i < n) {
                for (; i < n; i++) {
                    const char c = p[i];
                    if (c < '0' || c > '9')
                        break;
                    v = v * 10 + (c - '0');
                }
                if (i == n)
                    return PyLong_FromLongLong(p[0] == '-' ? -v : v);
            }
        }
        s = decode(p, n);
        if (s == NULL)
            return NULL;
        r = PyLong_FromUnicodeObject(s, 10);
        Py_DECREF(s);
        return r;
    case T_STR:
        s = decode(p, n);
        if (s == NULL || !has_escape(p, n))
            return s;
        r = PyObject_CallOneArg(unescape, s);
        Py_DECREF(s);
        return r;
    default:
        return decode(p, n);
    }
}

static PyObject *
convert_set(const Item *it, const char *p, Py_ssize_t n, char set_sep, PyObject *unescape)
{
    PyObject *list = PyList_New(0);
    if (list == NULL)
        return NULL;
    const char *end = p + n;
    for (;;) {
        const char *q = memchr(p, set_sep, (size_t)(end - p));
        const char *stop = q ? q : end;
        /* zeek.py calls _unescape on every string element, which returns it as is without a \x */
        PyObject *v = convert(it->type, p, stop - p, unescape);
        if (v == NULL || PyList_Append(list, v) < 0) {
            Py_XDECREF(v);
            Py_DECREF(list);
            return NULL;
        }
        Py_DECREF(v);
        if (q == NULL)
            break;
        p = q + 1;
    }
    return list;
}

PyDoc_STRVAR(parse_doc,
"parse(data, pos, sep, set_sep, nfields, unset, empty, plan, head, unescape, finish, /)\n"
"    -> (records, lines, malformed, end)\n\n"
"The data lines of ``data`` from ``pos`` up to the first line starting with '#' or '{' (``end``, its\n"
"offset; len(data) when none). ``plan``: (column, name, type, is_container) of each kept field, type\n"
"0 raw string, 1 string with \\x escapes, 2 float, 3 int, 4 bool. Each record starts as a copy of\n"
"``head``; a line with the wrong number of fields, a value that does not convert (ValueError), or no\n"
"ts is malformed; ``finish`` (or None) is called on each record and may return None (malformed).");

static PyObject *
parse(PyObject *self, PyObject *args)
{
    Py_buffer buf;
    Py_ssize_t pos, nfields;
    int sep_i, set_sep_i;
    const char *unset, *empty;
    Py_ssize_t unset_n, empty_n;
    PyObject *plan, *head, *unescape, *finish;
    if (!PyArg_ParseTuple(args, "y*niiny#y#O!O!OO:parse", &buf, &pos, &sep_i, &set_sep_i, &nfields, &unset,
                          &unset_n, &empty, &empty_n, &PyTuple_Type, &plan, &PyDict_Type, &head, &unescape,
                          &finish))
        return NULL;
    const char *data = buf.buf;
    const Py_ssize_t size = buf.len;
    const char sep = (char)sep_i, set_sep = (char)set_sep_i;
    PyObject *records = NULL, *ts_key = NULL, *result = NULL;
    Item *items = NULL;
    Py_ssize_t *starts = NULL;
    Py_ssize_t lines = 0, bad = 0;

    if (pos < 0 || pos > size || nfields < 1 || sep_i < 1 || sep_i > 127 || set_sep_i < 1 || set_sep_i > 127
        || sep == '\n' || sep == '\r') {
        PyErr_SetString(PyExc_ValueError, "parse: bad position or separators");
        goto done;
    }
    const Py_ssize_t nitems = PyTuple_GET_SIZE(plan);
    items = PyMem_Calloc((size_t)(nitems ? nitems : 1), sizeof(Item));
    starts = PyMem_Calloc((size_t)nfields + 2, sizeof(Py_ssize_t));
    if (items == NULL || starts == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t k = 0; k < nitems; k++) {
        PyObject *t = PyTuple_GET_ITEM(plan, k);
        int type, container;
        if (!PyTuple_Check(t)
            || !PyArg_ParseTuple(t, "nUip:plan", &items[k].col, &items[k].name, &type, &container))
            goto bad_plan;
        if (items[k].col < 0 || items[k].col >= nfields || type < T_RAW || type > T_BOOL)
            goto bad_plan;
        items[k].type = type;
        items[k].container = container;
    }
    ts_key = PyUnicode_InternFromString("ts");
    records = PyList_New(0);
    if (ts_key == NULL || records == NULL)
        goto done;

    while (pos < size) {
        char c = data[pos];
        if (c == '\n' || c == '\r') { /* the end of the last line, or an empty line */
            pos++;
            continue;
        }
        if (c == '#' || c == '{')
            break;
        /* one line: field starts, up to nfields + 1 of them (more means malformed anyway) */
        const Py_ssize_t ls = pos;
        Py_ssize_t nf = 1;
        starts[0] = ls;
        while (pos < size) {
            c = data[pos];
            if (c == '\n' || c == '\r')
                break;
            if (c == sep) {
                if (nf <= nfields)
                    starts[nf] = pos + 1;
                nf++;
            }
            pos++;
        }
        const Py_ssize_t le = pos;
        lines++;
        if (nf != nfields) {
            bad++;
            continue;
        }
        starts[nfields] = le + 1; /* so field i spans starts[i] .. starts[i + 1] - 1 */
        PyObject *rec = PyDict_Copy(head);
        if (rec == NULL)
            goto done;
        int malformed = 0;
        for (Py_ssize_t k = 0; k < nitems; k++) {
            const Item *it = &items[k];
            const char *p = data + starts[it->col];
            const Py_ssize_t n = starts[it->col + 1] - 1 - starts[it->col];
            if (n == unset_n && memcmp(p, unset, (size_t)n) == 0)
                continue;
            PyObject *v;
            if (it->container)
                v = n == empty_n && memcmp(p, empty, (size_t)n) == 0 ? PyList_New(0)
                                                                    : convert_set(it, p, n, set_sep, unescape);
            else
                v = convert(it->type, p, n, unescape);
            if (v == NULL) {
                if (!PyErr_ExceptionMatches(PyExc_ValueError)) { /* not a bad line: a real error */
                    Py_DECREF(rec);
                    goto done;
                }
                PyErr_Clear();
                malformed = 1;
                break;
            }
            const int err = PyDict_SetItem(rec, it->name, v);
            Py_DECREF(v);
            if (err < 0) {
                Py_DECREF(rec);
                goto done;
            }
        }
        if (!malformed) {
            const int has_ts = PyDict_Contains(rec, ts_key);
            if (has_ts < 0) {
                Py_DECREF(rec);
                goto done;
            }
            malformed = !has_ts;
        }
        if (!malformed && finish != Py_None) {
            PyObject *r = PyObject_CallOneArg(finish, rec);
            Py_DECREF(rec);
            if (r == NULL)
                goto done;
            rec = r;
            malformed = rec == Py_None;
        }
        if (malformed) {
            Py_DECREF(rec);
            bad++;
            continue;
        }
        const int err = PyList_Append(records, rec);
        Py_DECREF(rec);
        if (err < 0)
            goto done;
    }
    result = Py_BuildValue("Onnn", records, lines, bad, pos);
    goto done;

bad_plan:
    if (!PyErr_Occurred())
        PyErr_SetString(PyExc_ValueError, "parse: bad plan item");
done:
    Py_XDECREF(records);
    Py_XDECREF(ts_key);
    PyMem_Free(items);
    PyMem_Free(starts);
    PyBuffer_Release(&buf);
    return result;
}

PyDoc_STRVAR(json_lines_doc,
"json_lines(data, pos, loads, path_hint, keeps, ours, fallback, /) -> (records, lines, malformed, end)\n\n"
"Zeek JSON lines → records, as zeek.json_block and json_record: the lines of ``data`` from ``pos`` up\n"
"to the first that does not start with '{' (``end``, its offset); each parsed with ``loads``. A dict\n"
"whose log (its ``_path`` if a string, else ``path_hint``) is in ``keeps`` (log → the fields kept)\n"
"and ``ours`` (log → our _path), not ssl, and whose ts is a float becomes the record: its fields not\n"
"kept and its nulls deleted, then ``_path`` and ``source`` set. Every other line (ISO or int times,\n"
"ssl's alpn, odd shapes, JSON errors) goes to ``fallback(line, path_hint)``; None is malformed.");

/* Line ``[p, n)`` as json_record would map it; a new reference (Py_None: malformed) or NULL */
static PyObject *
json_line(const char *p, Py_ssize_t n, PyObject *loads, PyObject *hint, PyObject *keeps, PyObject *ours,
          PyObject *fallback)
{
    static PyObject *k_path, *k_ts, *k_source, *v_zeek, *v_ssl;
    if (k_path == NULL) {
        k_path = PyUnicode_InternFromString("_path");
        k_ts = PyUnicode_InternFromString("ts");
        k_source = PyUnicode_InternFromString("source");
        v_zeek = PyUnicode_InternFromString("zeek");
        v_ssl = PyUnicode_InternFromString("ssl");
        if (!k_path || !k_ts || !k_source || !v_zeek || !v_ssl)
            return NULL;
    }
    PyObject *raw = PyBytes_FromStringAndSize(p, n), *drop = NULL;
    if (raw == NULL)
        return NULL;
    PyObject *d = PyObject_CallOneArg(loads, raw);
    if (d == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_ValueError))
            goto error;
        PyErr_Clear();
    }
    else if (PyDict_CheckExact(d)) {
        PyObject *path = PyDict_GetItemWithError(d, k_path), *ts = PyDict_GetItemWithError(d, k_ts);
        if (PyErr_Occurred())
            goto error;
        if (path == NULL || (PyUnicode_CheckExact(path) && PyUnicode_GET_LENGTH(path) == 0))
            path = hint; /* d.get("_path") or path_hint, for the values taken here */
        PyObject *keep = PyUnicode_CheckExact(path) ? PyDict_GetItemWithError(keeps, path) : NULL;
        PyObject *our = keep ? PyDict_GetItemWithError(ours, path) : NULL;
        if (PyErr_Occurred())
            goto error;
        if (keep != NULL && our != NULL && PyAnySet_Check(keep) && ts != NULL && PyFloat_CheckExact(ts)
            && PyUnicode_Compare(path, v_ssl) != 0) {
            Py_INCREF(our); /* path may be d's own value, deleted below */
            Py_ssize_t at = 0;
            PyObject *k, *v;
            while (PyDict_Next(d, &at, &k, &v)) { /* the parsed dict becomes the record, as in Python */
                const int kept = v == Py_None ? 0 : PySet_Contains(keep, k);
                if (kept < 0 || (!kept && ((drop == NULL && (drop = PyList_New(0)) == NULL)
                                           || PyList_Append(drop, k) < 0))) {
                    Py_DECREF(our);
                    goto error;
                }
            }
            for (Py_ssize_t j = 0; drop != NULL && j < PyList_GET_SIZE(drop); j++)
                if (PyDict_DelItem(d, PyList_GET_ITEM(drop, j)) < 0) {
                    Py_DECREF(our);
                    goto error;
                }
            const int err = PyDict_SetItem(d, k_path, our) < 0 || PyDict_SetItem(d, k_source, v_zeek) < 0;
            Py_DECREF(our);
            if (err)
                goto error;
            Py_XDECREF(drop);
            Py_DECREF(raw);
            return d;
        }
    }
    Py_XDECREF(d); /* not the common shape: Python's json_record decides */
    PyObject *rec = PyObject_CallFunctionObjArgs(fallback, raw, hint, NULL);
    Py_DECREF(raw);
    return rec;
error:
    Py_XDECREF(drop);
    Py_XDECREF(d);
    Py_DECREF(raw);
    return NULL;
}

static PyObject *
json_lines(PyObject *self, PyObject *args)
{
    Py_buffer buf;
    Py_ssize_t pos;
    PyObject *loads, *hint, *keeps, *ours, *fallback;
    if (!PyArg_ParseTuple(args, "y*nOUO!O!O:json_lines", &buf, &pos, &loads, &hint, &PyDict_Type, &keeps,
                          &PyDict_Type, &ours, &fallback))
        return NULL;
    const char *data = buf.buf;
    const Py_ssize_t size = buf.len;
    PyObject *records = NULL, *result = NULL;
    Py_ssize_t lines = 0, bad = 0;
    if (pos < 0 || pos > size) {
        PyErr_SetString(PyExc_ValueError, "json_lines: bad position");
        goto done;
    }
    if ((records = PyList_New(0)) == NULL)
        goto done;
    while (pos < size) {
        const char c = data[pos];
        if (c == '\n' || c == '\r') {
            pos++;
            continue;
        }
        if (c != '{')
            break;
        Py_ssize_t end = pos;
        while (end < size && data[end] != '\n' && data[end] != '\r')
            end++;
        lines++;
        PyObject *rec = json_line(data + pos, end - pos, loads, hint, keeps, ours, fallback);
        if (rec == NULL)
            goto done;
        pos = end;
        if (rec == Py_None)
            bad++;
        else if (PyList_Append(records, rec) < 0) {
            Py_DECREF(rec);
            goto done;
        }
        Py_DECREF(rec);
    }
    result = Py_BuildValue("Onnn", records, lines, bad, pos);
done:
    Py_XDECREF(records);
    PyBuffer_Release(&buf);
    return result;
}

static PyMethodDef methods[] = {
    {"parse", parse, METH_VARARGS, parse_doc},
    {"json_lines", json_lines, METH_VARARGS, json_lines_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_zeektsv", "Zeek TSV data lines to record dicts (see _zeektsv.c).", -1, methods,
};

PyMODINIT_FUNC
PyInit__zeektsv(void)
{
    return PyModule_Create(&module);
}
