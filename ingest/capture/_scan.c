/* Record scan of classic pcap files into numpy columns.
 *
 * Our own C (not a library): the per-record Python loop of PcapParser.scan (one struct.unpack_from a
 * record) was the reader's bottleneck measured in bench/bench_capture.py. pcap.py keeps the same scan in
 * pure Python as the fallback when this module is not built; both must give identical results.
 *
 * Input may be corrupt or cut short anywhere: every read is bounds-checked against the buffer size,
 * and offsets are 64-bit so a huge caplen cannot wrap them.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#include "../_native.h" /* shared buffer checks */

enum { RAN_OUT = 0, PARTIAL = 1, CORRUPT = 2 };

/* Each record's place depends on the previous record's length, so the scan waits on memory once a
 * record. Touching the bytes two pages ahead warms the TLB and cache for the headers coming up:
 * measured 1.5-2.5x faster on a 251 MB capture (8 KiB beat 1, 2, 4, 16 and 32 KiB). */
#define PREFETCH_AHEAD 8192
#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(addr) __builtin_prefetch(addr)
#else
#define PREFETCH(addr) ((void)0)
#endif

static uint32_t
read_u32(const unsigned char *p, int big)
{
    if (big)
        return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
    return ((uint32_t)p[3] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[1] << 8) | (uint32_t)p[0];
}

/* A writable output array of at least ``need`` items of ``kind``/``item`` bytes (see _native.h). */
static int
get_out(PyObject *obj, Py_buffer *b, int kind, Py_ssize_t item, Py_ssize_t need, const char *name)
{
    const char kinds[2] = {(char)kind, '\0'};
    return ww_get_array(obj, b, kinds, item, need, WW_AT_LEAST, 1, name);
}

PyDoc_STRVAR(scan_pcap_doc,
"scan_pcap(buf, off, stop, limit, big_endian, rec_len, max_caplen, frac_unit,\n"
"          offsets, ts, caplen, wirelen) -> (n, next_off, status)\n\n"
"Walk pcap records from ``off`` while they start before ``stop``, at most ``limit``. Fills the\n"
"writable arrays (int64 record starts, float64 timestamps, int32 caplen, int32 wirelen clipped to\n"
"2**31-1; a wrong dtype is a TypeError) for the ``n`` complete records. status 0: stopped at\n"
"``stop`` or ``limit`` (next_off is the next record); 1: the record at next_off runs past the\n"
"buffer; 2: its caplen is over max_caplen.");

static PyObject *
scan_pcap(PyObject *self, PyObject *args)
{
    Py_buffer buf, out[4];
    PyObject *out_obj[4];
    Py_ssize_t off, stop, limit, rec_len, max_caplen;
    int big, held = 0;
    double unit;
    PyObject *result = NULL;
    static const int kinds[4] = {'i', 'f', 'i', 'i'};
    static const Py_ssize_t items[4] = {8, 8, 4, 4};
    static const char *names[4] = {"offsets", "ts", "caplen", "wirelen"};

    if (!PyArg_ParseTuple(args, "y*nnnpnndOOOO", &buf, &off, &stop, &limit, &big, &rec_len, &max_caplen,
                          &unit, &out_obj[0], &out_obj[1], &out_obj[2], &out_obj[3]))
        return NULL;
    /* bounded so that pos + rec_len + caplen cannot overflow and caplen fits the int32 column */
    if (off < 0 || limit < 0 || rec_len < 16 || rec_len > 0xFFFF || max_caplen < 0 ||
        max_caplen > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "bad scan arguments");
        goto done;
    }
    for (; held < 4; held++)
        if (get_out(out_obj[held], &out[held], kinds[held], items[held], limit, names[held]) < 0)
            goto done;
    {
        const unsigned char *p = (const unsigned char *)buf.buf;
        const int64_t size = (int64_t)buf.len;
        int64_t pos = (int64_t)off;
        const int64_t end = stop < buf.len ? (int64_t)stop : size;
        int64_t *o_off = (int64_t *)out[0].buf;
        double *o_ts = (double *)out[1].buf;
        int32_t *o_cap = (int32_t *)out[2].buf;
        int32_t *o_wire = (int32_t *)out[3].buf;
        Py_ssize_t n = 0;
        int status = RAN_OUT;

        Py_BEGIN_ALLOW_THREADS
        while (n < limit && pos < end) {
            if (pos + 12 > size) { /* not even the caplen field is there */
                status = PARTIAL;
                break;
            }
            if (pos + PREFETCH_AHEAD < size)
                PREFETCH(p + pos + PREFETCH_AHEAD);
            uint32_t caplen = read_u32(p + pos + 8, big);
            if ((int64_t)caplen > (int64_t)max_caplen) {
                status = CORRUPT;
                break;
            }
            int64_t next = pos + (int64_t)rec_len + (int64_t)caplen;
            if (next > size) {
                status = PARTIAL;
                break;
            }
            uint32_t sec = read_u32(p + pos, big);
            uint32_t frac = read_u32(p + pos + 4, big);
            uint32_t wirelen = read_u32(p + pos + 12, big);
            double scaled = (double)frac * unit; /* same operations, same order as the numpy fallback */
            o_off[n] = pos;
            o_ts[n] = (double)sec + scaled;
            o_cap[n] = (int32_t)caplen;
            o_wire[n] = (int32_t)(wirelen > 0x7FFFFFFFu ? 0x7FFFFFFFu : wirelen);
            n++;
            pos = next;
        }
        Py_END_ALLOW_THREADS
        result = Py_BuildValue("nLi", n, (long long)pos, status);
    }
done:
    while (held > 0)
        PyBuffer_Release(&out[--held]);
    PyBuffer_Release(&buf);
    return result;
}

static PyMethodDef methods[] = {
    {"scan_pcap", scan_pcap, METH_VARARGS, scan_pcap_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_scan", "C record scan for the capture readers (see pcap.py).", -1, methods,
};

PyMODINIT_FUNC
PyInit__scan(void)
{
    return PyModule_Create(&module);
}
