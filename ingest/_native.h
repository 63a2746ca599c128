/* Buffer checks shared by the sensor's C extensions (ingest/capture/_scan.c,
 * ingest/decode/_fastdecode.c, ingest/flows/_tcprun.c). Every array they read or write through a raw
 * typed pointer goes through ww_get_array first, so a caller's mistake (a wrong dtype, a short or
 * misaligned array) is a TypeError or ValueError, never garbage or a crash. */
#ifndef WARDWATCH_NATIVE_H
#define WARDWATCH_NATIVE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* Kind of a buffer's struct format: 'i' signed integer, 'u' unsigned, 'f' float, '?' bool, 0 other.
 * Native byte order only: a byte-swapped array would be read as garbage. */
static int
ww_format_kind(const char *fmt)
{
    if (fmt == NULL)
        return 'u'; /* plain bytes */
    if (*fmt == '@' || *fmt == '=' || *fmt == (PY_LITTLE_ENDIAN ? '<' : '>'))
        fmt++;
    if (fmt[0] == '\0' || fmt[1] != '\0')
        return 0;
    switch (fmt[0]) {
    case 'b': case 'h': case 'i': case 'l': case 'q': case 'n':
        return 'i';
    case 'B': case 'H': case 'I': case 'L': case 'Q': case 'N':
        return 'u';
    case 'e': case 'f': case 'd':
        return 'f';
    case '?':
        return '?';
    }
    return 0;
}

enum { WW_ANY_LENGTH, WW_EXACTLY, WW_AT_LEAST };

/* ``obj`` as a C-contiguous buffer whose dtype is one of ``kinds`` with ``item`` bytes (else
 * TypeError), aligned, and ``n`` items long (``length``: WW_EXACTLY, WW_AT_LEAST or WW_ANY_LENGTH;
 * else ValueError; lengths are compared by division, as n * item can overflow). On success the
 * caller releases ``b``; on failure it is already released. */
static int
ww_get_array(PyObject *obj, Py_buffer *b, const char *kinds, Py_ssize_t item, Py_ssize_t n, int length,
             int writable, const char *name)
{
    if (PyObject_GetBuffer(obj, b, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0)) < 0)
        return -1;
    const int kind = ww_format_kind(b->format);
    const Py_ssize_t have = b->len / item;
    if (kind == 0 || strchr(kinds, kind) == NULL || b->itemsize != item) {
        PyErr_Format(PyExc_TypeError, "%s: wrong dtype (format '%s', %zd bytes an item)", name,
                     b->format ? b->format : "B", b->itemsize);
    } else if ((uintptr_t)b->buf % (uintptr_t)item != 0) {
        PyErr_Format(PyExc_ValueError, "%s is not aligned", name);
    } else if ((length == WW_EXACTLY && have != n) || (length == WW_AT_LEAST && have < n)) {
        PyErr_Format(PyExc_ValueError, "%s holds %zd items, %s%zd expected", name, have,
                     length == WW_AT_LEAST ? "at least " : "", n);
    } else {
        return 0;
    }
    PyBuffer_Release(b);
    return -1;
}

#endif
