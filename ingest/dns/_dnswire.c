/* DNS wire-format decoder in C: the same messages, records and counted faults as wire.py's
 * decode_message, which stays the checked fallback (WARDWATCH_DNS_PYTHON=1 forces it).
 *
 * Why our own C: on the DNS query flood storm shape (bench/out/storm-dnsflood-300000.pcap, 299,998
 * messages) the DNS stage of bench/bench_dns.py cost 2.20 thread CPU s (7.3 us a message) while
 * the flow meter cost 0.18 s, and a cProfile of `wardwatch sensor --workers 1` put decode_message
 * (with read_name and the Message/Question objects it builds) at about 40% of the DNS analyser.
 * dnspython (the well-kept library) manages about 33k messages/s here, slower still. With this file:
 * decoding the flood's messages 0.833 -> 0.244 CPU s, the DNS stage 1.86 -> 1.26 s, the sensor 3.06 ->
 * 2.34 CPU s (tshark 4.8). Numbers and commands: docs/PERFORMANCE.md, "DNS — bench/bench_dns.py".
 *
 * The objects are wire.py's own slotted dataclasses (Message, Question, ResourceRecord, Edns):
 * bind() checks that every field is a plain writable object slot and notes its offset, and decode()
 * fills fresh instances through those offsets without running the dataclass __init__ (that call
 * was most of the cost). If bind() refuses the classes, wire.py keeps the Python decoder.
 *
 * Hostile input: every read is bounds-checked against the message (or rdata) end; compression
 * pointers must point strictly backwards and the labels read after a jump must stay below the
 * pointer (so loops are impossible), hops are capped at 64, names at 512 bytes. The per-message
 * name cache mirrors wire.py's (a pointer to a name decoded earlier reuses its text), because it is
 * observable at the hop cap. A fault sets Message.error/error_section and keeps every section that
 * decoded before it, exactly as wire.py does. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MAX_NAME_TEXT 512
#define MAX_POINTER_HOPS 64
#define MAX_QUESTIONS 25

enum {
    T_A = 1, T_NS = 2, T_CNAME = 5, T_SOA = 6, T_PTR = 12, T_MX = 15, T_TXT = 16, T_AAAA = 28,
    T_LOC = 29, T_SRV = 33, T_OPT = 41, T_DS = 43, T_SSHFP = 44, T_RRSIG = 46, T_NSEC = 47,
    T_DNSKEY = 48, T_SVCB = 64, T_HTTPS = 65, T_SPF = 99,
};

/* -- the bound classes ------------------------------------------------------------------------- */

enum { M_ID, M_FLAGS, M_QD, M_AN, M_NS, M_AR, M_QUESTIONS, M_ANSWERS, M_AUTHORITY, M_ADDITIONAL,
       M_EDNS, M_ERROR, M_ERROR_SECTION, M_N };
static const char *const MESSAGE_FIELDS[] = {"id", "flags", "qdcount", "ancount", "nscount", "arcount",
    "questions", "answers", "authority", "additional", "edns", "error", "error_section", NULL};
enum { Q_NAME, Q_QTYPE, Q_QCLASS, Q_N };
static const char *const QUESTION_FIELDS[] = {"name", "qtype", "qclass", NULL};
enum { R_NAME, R_RTYPE, R_RCLASS, R_TTL, R_DATA, R_N };
static const char *const RR_FIELDS[] = {"name", "rtype", "rclass", "ttl", "data", NULL};
enum { E_UDP_SIZE, E_EXT_RCODE, E_VERSION, E_DO, E_OPTIONS, E_N };
static const char *const EDNS_FIELDS[] = {"udp_size", "ext_rcode", "version", "do", "options", NULL};

typedef struct {
    PyTypeObject *type;
    Py_ssize_t off[16];
    int n;
} Bound;

static Bound b_message, b_question, b_rr, b_edns;
static int bound = 0;

static int
bind_one(Bound *b, PyObject *cls, const char *const *fields)
{
    if (!PyType_Check(cls)) {
        PyErr_SetString(PyExc_TypeError, "bind: expected a class");
        return -1;
    }
    PyTypeObject *tp = (PyTypeObject *)cls;
    if (tp->tp_dictoffset != 0 || tp->tp_alloc == NULL || tp->tp_itemsize != 0) {
        PyErr_Format(PyExc_TypeError, "bind: %s is not a slotted class", tp->tp_name);
        return -1;
    }
    int n = 0;
    for (; fields[n] != NULL; n++) {
        PyObject *d = PyDict_GetItemString(tp->tp_dict, fields[n]); /* borrowed */
        if (d == NULL || !Py_IS_TYPE(d, &PyMemberDescr_Type)) {
            PyErr_Format(PyExc_TypeError, "bind: %s.%s is not a slot", tp->tp_name, fields[n]);
            return -1;
        }
        PyMemberDef *m = ((PyMemberDescrObject *)d)->d_member;
        if (m->type != T_OBJECT_EX || (m->flags & READONLY) || m->offset <= 0
            || m->offset + (Py_ssize_t)sizeof(PyObject *) > tp->tp_basicsize) {
            PyErr_Format(PyExc_TypeError, "bind: %s.%s is not a writable object slot", tp->tp_name, fields[n]);
            return -1;
        }
        b->off[n] = m->offset;
    }
    Py_XSETREF(b->type, (PyTypeObject *)Py_NewRef(cls));
    b->n = n;
    return 0;
}

static PyObject *
bind_classes(PyObject *self, PyObject *args)
{
    PyObject *message, *question, *rr, *edns;
    if (!PyArg_ParseTuple(args, "OOOO:bind", &message, &question, &rr, &edns))
        return NULL;
    bound = 0;
    if (bind_one(&b_message, message, MESSAGE_FIELDS) < 0 || bind_one(&b_question, question, QUESTION_FIELDS) < 0
        || bind_one(&b_rr, rr, RR_FIELDS) < 0 || bind_one(&b_edns, edns, EDNS_FIELDS) < 0)
        return NULL;
    bound = 1;
    Py_RETURN_NONE;
}

/* A fresh instance of ``b`` whose slots take the references in ``vals`` (stolen, also on failure). */
static PyObject *
make(Bound *b, PyObject **vals)
{
    PyObject *obj = b->type->tp_alloc(b->type, 0);
    if (obj == NULL) {
        for (int i = 0; i < b->n; i++)
            Py_XDECREF(vals[i]);
        return NULL;
    }
    for (int i = 0; i < b->n; i++)
        *(PyObject **)((char *)obj + b->off[i]) = vals[i];
    return obj;
}

static inline PyObject *
get_slot(Bound *b, PyObject *obj, int i)
{
    return *(PyObject **)((char *)obj + b->off[i]);
}

/* -- the per-message name cache (start offset -> text, end of the name's first segment) --------- */

typedef struct {
    int32_t start; /* -1: empty */
    int32_t after;
    PyObject *text;
} CacheEntry;

typedef struct {
    const uint8_t *buf;
    Py_ssize_t len;
    const char *err; /* the DnsError reason, when a fault was found */
    CacheEntry small[64];
    CacheEntry *tab;
    Py_ssize_t cap, used;
} Ctx;

static void
cache_init(Ctx *c)
{
    c->tab = c->small;
    c->cap = 64;
    c->used = 0;
    for (Py_ssize_t i = 0; i < c->cap; i++)
        c->small[i].start = -1;
}

static void
cache_free(Ctx *c)
{
    for (Py_ssize_t i = 0; i < c->cap; i++)
        if (c->tab[i].start >= 0)
            Py_DECREF(c->tab[i].text);
    if (c->tab != c->small)
        PyMem_Free(c->tab);
}

static CacheEntry *
cache_slot(CacheEntry *tab, Py_ssize_t cap, int32_t start)
{
    size_t i = ((uint32_t)start * 2654435761u) & (size_t)(cap - 1);
    while (tab[i].start >= 0 && tab[i].start != start)
        i = (i + 1) & (size_t)(cap - 1);
    return &tab[i];
}

static CacheEntry *
cache_get(Ctx *c, int32_t start)
{
    CacheEntry *e = cache_slot(c->tab, c->cap, start);
    return e->start == start ? e : NULL;
}

static int
cache_put(Ctx *c, int32_t start, int32_t after, PyObject *text)
{
    if ((c->used + 1) * 2 > c->cap) {
        Py_ssize_t cap = c->cap * 2;
        CacheEntry *tab = PyMem_Malloc(sizeof(CacheEntry) * (size_t)cap);
        if (tab == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        for (Py_ssize_t i = 0; i < cap; i++)
            tab[i].start = -1;
        for (Py_ssize_t i = 0; i < c->cap; i++)
            if (c->tab[i].start >= 0)
                *cache_slot(tab, cap, c->tab[i].start) = c->tab[i];
        if (c->tab != c->small)
            PyMem_Free(c->tab);
        c->tab = tab;
        c->cap = cap;
    }
    CacheEntry *e = cache_slot(c->tab, c->cap, start);
    if (e->start == start) {
        Py_SETREF(e->text, Py_NewRef(text));
    } else {
        e->start = start;
        e->text = Py_NewRef(text);
        c->used++;
    }
    e->after = after;
    return 0;
}

/* -- names ------------------------------------------------------------------------------------- */

/* Text of the joined, lower-cased label bytes: printable ASCII as is, anything else as \xNN. */
static PyObject *
name_text(const uint8_t *raw, Py_ssize_t n)
{
    Py_ssize_t extra = 0;
    for (Py_ssize_t i = 0; i < n; i++)
        if (raw[i] < 0x20 || raw[i] > 0x7E)
            extra += 3;
    PyObject *s = PyUnicode_New(n + extra, 127);
    if (s == NULL)
        return NULL;
    Py_UCS1 *out = PyUnicode_1BYTE_DATA(s);
    if (!extra) {
        memcpy(out, raw, (size_t)n);
        return s;
    }
    static const char hex[] = "0123456789abcdef";
    for (Py_ssize_t i = 0; i < n; i++) {
        const uint8_t ch = raw[i];
        if (ch < 0x20 || ch > 0x7E) {
            *out++ = '\\';
            *out++ = 'x';
            *out++ = (Py_UCS1)hex[ch >> 4];
            *out++ = (Py_UCS1)hex[ch & 0xF];
        } else {
            *out++ = ch;
        }
    }
    return s;
}

/* wire.py's read_name: a new reference to the text and *after, or NULL with c->err set (a fault) or
 * a Python exception (no memory). */
static PyObject *
read_name(Ctx *c, Py_ssize_t pos, Py_ssize_t end, Py_ssize_t *after_out)
{
    const uint8_t *buf = c->buf;
    const Py_ssize_t start = pos;
    if (pos + 1 < end && buf[pos] >= 0xC0) {
        CacheEntry *hit = cache_get(c, (int32_t)(((buf[pos] & 0x3F) << 8) | buf[pos + 1]));
        if (hit != NULL && hit->after <= pos) {
            *after_out = pos + 2;
            return Py_NewRef(hit->text);
        }
    }
    uint8_t raw[MAX_NAME_TEXT + 1];
    Py_ssize_t rawlen = 0, after = -1, limit = end, total = 0;
    int hops = 0;
    for (;;) {
        if (pos >= limit) {
            c->err = "name_truncated";
            return NULL;
        }
        const unsigned n = buf[pos];
        if (n == 0) {
            pos++;
            break;
        }
        if (n >= 0xC0) {
            if (pos + 1 >= limit) {
                c->err = "name_truncated";
                return NULL;
            }
            const Py_ssize_t target = ((Py_ssize_t)(n & 0x3F) << 8) | buf[pos + 1];
            if (after < 0)
                after = pos + 2;
            if (target >= pos) {
                c->err = "name_forward_pointer";
                return NULL;
            }
            if (++hops > MAX_POINTER_HOPS) {
                c->err = "name_pointer_loop";
                return NULL;
            }
            limit = pos;
            pos = target;
            continue;
        }
        if (n > 63) {
            c->err = "name_bad_label";
            return NULL;
        }
        pos++;
        const Py_ssize_t stop = pos + n;
        if (stop > limit) {
            c->err = "name_truncated";
            return NULL;
        }
        total += n + 1;
        if (total > MAX_NAME_TEXT) {
            c->err = "name_too_long";
            return NULL;
        }
        /* total <= 512 bounds the joined text to total - 1 bytes */
        if (rawlen)
            raw[rawlen++] = '.';
        for (unsigned i = 0; i < n; i++) {
            const uint8_t ch = buf[pos + i];
            raw[rawlen++] = (ch >= 'A' && ch <= 'Z') ? (uint8_t)(ch + 32) : ch;
        }
        pos = stop;
    }
    if (after < 0)
        after = pos;
    PyObject *text = name_text(raw, rawlen);
    if (text == NULL)
        return NULL;
    if (cache_put(c, (int32_t)start, (int32_t)after, text) < 0) {
        Py_DECREF(text);
        return NULL;
    }
    *after_out = after;
    return text;
}

/* -- rdata ------------------------------------------------------------------------------------- */

static inline unsigned
u16(const uint8_t *p)
{
    return ((unsigned)p[0] << 8) | p[1];
}

static inline unsigned long
u32(const uint8_t *p)
{
    return ((unsigned long)p[0] << 24) | ((unsigned long)p[1] << 16) | ((unsigned long)p[2] << 8) | p[3];
}

#define FAULT(reason)      \
    do {                   \
        c->err = (reason); \
        return NULL;       \
    } while (0)

static PyObject *
name_only(Ctx *c, Py_ssize_t pos, Py_ssize_t end)
{
    Py_ssize_t after;
    return read_name(c, pos, end, &after);
}

static PyObject *
ipv4_text(const uint8_t *p)
{
    char s[16];
    int n = snprintf(s, sizeof s, "%u.%u.%u.%u", p[0], p[1], p[2], p[3]);
    return PyUnicode_FromStringAndSize(s, n);
}

static PyObject *
svcb(Ctx *c, Py_ssize_t pos, Py_ssize_t end)
{
    const uint8_t *buf = c->buf;
    if (end - pos < 3)
        FAULT("rdata_svcb_truncated");
    Py_ssize_t p;
    PyObject *target = read_name(c, pos + 2, end, &p);
    if (target == NULL)
        return NULL;
    PyObject *params = PyList_New(0);
    if (params == NULL) {
        Py_DECREF(target);
        return NULL;
    }
    while (p < end) {
        if (end - p < 4 || p + 4 + (Py_ssize_t)u16(buf + p + 2) > end) {
            c->err = "rdata_svcb_param_truncated";
            goto fail;
        }
        const unsigned key = u16(buf + p), n = u16(buf + p + 2);
        p += 4;
        PyObject *item = Py_BuildValue("(Iy#)", key, (const char *)buf + p, (Py_ssize_t)n);
        if (item == NULL || PyList_Append(params, item) < 0) {
            Py_XDECREF(item);
            goto fail;
        }
        Py_DECREF(item);
        p += n;
    }
    PyObject *tup = PyList_AsTuple(params);
    Py_DECREF(params);
    if (tup == NULL) {
        Py_DECREF(target);
        return NULL;
    }
    return Py_BuildValue("(INN)", u16(buf + pos), target, tup);
fail:
    Py_DECREF(target);
    Py_DECREF(params);
    return NULL;
}

static PyObject *
rdata(Ctx *c, unsigned rtype, Py_ssize_t pos, Py_ssize_t end)
{
    const uint8_t *buf = c->buf;
    const Py_ssize_t len = end - pos;
    Py_ssize_t p;
    switch (rtype) {
    case T_A:
        if (len != 4)
            FAULT("rdata_a_length");
        return ipv4_text(buf + pos);
    case T_AAAA: {
        if (len != 16)
            FAULT("rdata_aaaa_length");
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
        if (memcmp(buf + pos, mapped, 12) == 0) /* Zeek stores v4-mapped addresses as IPv4 */
            return ipv4_text(buf + pos + 12);
        char s[INET6_ADDRSTRLEN];
        if (inet_ntop(AF_INET6, buf + pos, s, sizeof s) == NULL)
            return PyErr_SetFromErrno(PyExc_OSError);
        return PyUnicode_FromString(s);
    }
    case T_CNAME:
    case T_NS:
    case T_PTR:
    case T_NSEC:
        return name_only(c, pos, end);
    case T_MX: {
        if (len < 3)
            FAULT("rdata_mx_truncated");
        PyObject *name = name_only(c, pos + 2, end);
        return name == NULL ? NULL : Py_BuildValue("(IN)", u16(buf + pos), name);
    }
    case T_TXT:
    case T_SPF: {
        PyObject *list = PyList_New(0);
        if (list == NULL)
            return NULL;
        p = pos;
        while (p < end) {
            const Py_ssize_t n = buf[p++];
            if (p + n > end) {
                Py_DECREF(list);
                FAULT("rdata_txt_truncated");
            }
            PyObject *s = PyBytes_FromStringAndSize((const char *)buf + p, n);
            if (s == NULL || PyList_Append(list, s) < 0) {
                Py_XDECREF(s);
                Py_DECREF(list);
                return NULL;
            }
            Py_DECREF(s);
            p += n;
        }
        PyObject *tup = PyList_AsTuple(list);
        Py_DECREF(list);
        return tup;
    }
    case T_SOA: {
        PyObject *mname = read_name(c, pos, end, &p);
        if (mname == NULL)
            return NULL;
        PyObject *rname = read_name(c, p, end, &p);
        if (rname == NULL) {
            Py_DECREF(mname);
            return NULL;
        }
        if (end - p < 20) {
            Py_DECREF(mname);
            Py_DECREF(rname);
            FAULT("rdata_soa_truncated");
        }
        return Py_BuildValue("(NNkkkkk)", mname, rname, u32(buf + p), u32(buf + p + 4), u32(buf + p + 8),
                             u32(buf + p + 12), u32(buf + p + 16));
    }
    case T_SRV: {
        if (len < 7)
            FAULT("rdata_srv_truncated");
        PyObject *target = name_only(c, pos + 6, end);
        if (target == NULL)
            return NULL;
        return Py_BuildValue("(IIIN)", u16(buf + pos), u16(buf + pos + 2), u16(buf + pos + 4), target);
    }
    case T_HTTPS:
    case T_SVCB:
        return svcb(c, pos, end);
    case T_RRSIG: {
        if (len < 19)
            FAULT("rdata_rrsig_truncated");
        PyObject *signer = name_only(c, pos + 18, end);
        return signer == NULL ? NULL : Py_BuildValue("(IN)", u16(buf + pos), signer);
    }
    case T_DS:
        if (len < 4)
            FAULT("rdata_ds_truncated");
        return Py_BuildValue("(II)", (unsigned)buf[pos + 2], (unsigned)buf[pos + 3]);
    case T_DNSKEY:
        if (len < 4)
            FAULT("rdata_dnskey_truncated");
        return PyLong_FromLong(buf[pos + 3]);
    case T_SSHFP:
        if (len < 2)
            FAULT("rdata_sshfp_truncated");
        return Py_BuildValue("(IIy#)", (unsigned)buf[pos], (unsigned)buf[pos + 1], (const char *)buf + pos + 2,
                             len - 2);
    case T_LOC:
        if (len < 16)
            FAULT("rdata_loc_truncated");
        return Py_BuildValue("(III)", (unsigned)buf[pos + 1], (unsigned)buf[pos + 2], (unsigned)buf[pos + 3]);
    default:
        return PyBytes_FromStringAndSize((const char *)buf + pos, len);
    }
}

/* Append ``count`` records from ``*pos`` to ``out``: 0, or -1 with c->err (a fault) or an exception. */
static int
records(Ctx *c, Py_ssize_t *pos_io, unsigned count, PyObject *out)
{
    const uint8_t *buf = c->buf;
    const Py_ssize_t end = c->len;
    Py_ssize_t pos = *pos_io;
    for (unsigned i = 0; i < count; i++) {
        PyObject *name = read_name(c, pos, end, &pos);
        if (name == NULL)
            return -1;
        if (end - pos < 10) {
            Py_DECREF(name);
            c->err = "rr_truncated";
            return -1;
        }
        const unsigned rtype = u16(buf + pos), rclass = u16(buf + pos + 2), rdlen = u16(buf + pos + 8);
        const unsigned long ttl = u32(buf + pos + 4);
        pos += 10;
        const Py_ssize_t stop = pos + rdlen;
        if (stop > end) {
            Py_DECREF(name);
            c->err = "rdata_truncated";
            return -1;
        }
        PyObject *data = rdata(c, rtype, pos, stop);
        if (data == NULL) {
            Py_DECREF(name);
            return -1;
        }
        PyObject *vals[R_N] = {name, PyLong_FromLong(rtype), PyLong_FromLong(rclass),
                               PyLong_FromUnsignedLong(ttl), data};
        if (vals[R_RTYPE] == NULL || vals[R_RCLASS] == NULL || vals[R_TTL] == NULL) {
            for (int k = 0; k < R_N; k++)
                Py_XDECREF(vals[k]);
            return -1;
        }
        PyObject *rr = make(&b_rr, vals);
        if (rr == NULL)
            return -1;
        int rc = PyList_Append(out, rr);
        Py_DECREF(rr);
        if (rc < 0)
            return -1;
        pos = stop;
    }
    *pos_io = pos;
    return 0;
}

/* wire.py's _edns over the first OPT record's rdata; a new Edns, or NULL with c->err or an exception. */
static PyObject *
edns(Ctx *c, PyObject *rr)
{
    PyObject *raw = get_slot(&b_rr, rr, R_DATA);
    const unsigned long rclass = PyLong_AsUnsignedLong(get_slot(&b_rr, rr, R_RCLASS));
    const unsigned long ttl = PyLong_AsUnsignedLong(get_slot(&b_rr, rr, R_TTL));
    if (PyErr_Occurred())
        return NULL;
    const uint8_t *p0 = (const uint8_t *)PyBytes_AS_STRING(raw);
    const Py_ssize_t end = PyBytes_GET_SIZE(raw);
    PyObject *options = PyList_New(0);
    if (options == NULL)
        return NULL;
    Py_ssize_t p = 0;
    while (p < end) {
        if (end - p < 4 || p + 4 + (Py_ssize_t)u16(p0 + p + 2) > end) {
            Py_DECREF(options);
            FAULT("edns_option_truncated");
        }
        const unsigned code = u16(p0 + p), n = u16(p0 + p + 2);
        p += 4;
        PyObject *item = Py_BuildValue("(Iy#)", code, (const char *)p0 + p, (Py_ssize_t)n);
        if (item == NULL || PyList_Append(options, item) < 0) {
            Py_XDECREF(item);
            Py_DECREF(options);
            return NULL;
        }
        Py_DECREF(item);
        p += n;
    }
    PyObject *tup = PyList_AsTuple(options);
    Py_DECREF(options);
    if (tup == NULL)
        return NULL;
    PyObject *vals[E_N] = {PyLong_FromUnsignedLong(rclass), PyLong_FromUnsignedLong(ttl >> 24),
                           PyLong_FromUnsignedLong((ttl >> 16) & 0xFF), PyBool_FromLong((ttl & 0x8000) != 0), tup};
    for (int k = 0; k < E_N; k++)
        if (vals[k] == NULL) {
            for (int j = 0; j < E_N; j++)
                Py_XDECREF(vals[j]);
            return NULL;
        }
    return make(&b_edns, vals);
}

/* -- messages ---------------------------------------------------------------------------------- */

/* Decode the message; 1 complete, 0 a fault (c->err; *section says where), -1 an exception. */
static int
sections_into(Ctx *c, PyObject *msg, int sections, unsigned qd, unsigned an, unsigned ns, unsigned ar,
              int *section)
{
    const uint8_t *buf = c->buf;
    const Py_ssize_t end = c->len;
    *section = 1;
    if (qd > MAX_QUESTIONS) {
        c->err = "too_many_questions";
        return 0;
    }
    Py_ssize_t pos = 12;
    PyObject *questions = get_slot(&b_message, msg, M_QUESTIONS);
    for (unsigned i = 0; i < qd; i++) {
        PyObject *name = read_name(c, pos, end, &pos);
        if (name == NULL)
            return c->err ? 0 : -1;
        if (end - pos < 4) {
            Py_DECREF(name);
            c->err = "question_truncated";
            return 0;
        }
        PyObject *vals[Q_N] = {name, PyLong_FromLong(u16(buf + pos)), PyLong_FromLong(u16(buf + pos + 2))};
        if (vals[1] == NULL || vals[2] == NULL) {
            for (int k = 0; k < Q_N; k++)
                Py_XDECREF(vals[k]);
            return -1;
        }
        pos += 4;
        PyObject *q = make(&b_question, vals);
        if (q == NULL)
            return -1;
        int rc = PyList_Append(questions, q);
        Py_DECREF(q);
        if (rc < 0)
            return -1;
    }
    if (sections < 2)
        return 1;
    *section = 2;
    if (an && records(c, &pos, an, get_slot(&b_message, msg, M_ANSWERS)) < 0)
        return c->err ? 0 : -1;
    if (sections < 3)
        return 1;
    *section = 3;
    if (ns && records(c, &pos, ns, get_slot(&b_message, msg, M_AUTHORITY)) < 0)
        return c->err ? 0 : -1;
    if (ar) {
        *section = 4;
        PyObject *additional = get_slot(&b_message, msg, M_ADDITIONAL);
        if (records(c, &pos, ar, additional) < 0)
            return c->err ? 0 : -1;
        const Py_ssize_t n = PyList_GET_SIZE(additional);
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *rr = PyList_GET_ITEM(additional, i);
            PyObject *rt = get_slot(&b_rr, rr, R_RTYPE);
            if (PyLong_AsLong(rt) == T_OPT && PyBytes_Check(get_slot(&b_rr, rr, R_DATA))) {
                PyObject *e = edns(c, rr);
                if (e == NULL)
                    return c->err ? 0 : -1;
                PyObject **slot = (PyObject **)((char *)msg + b_message.off[M_EDNS]);
                Py_SETREF(*slot, e);
                break;
            }
        }
    }
    return 1;
}

static PyObject *
decode_one(const uint8_t *buf, Py_ssize_t len, int sections)
{
    if (len < 12)
        Py_RETURN_NONE;
    const unsigned qd = u16(buf + 4), an = u16(buf + 6), ns = u16(buf + 8), ar = u16(buf + 10);
    PyObject *vals[M_N] = {
        PyLong_FromLong(u16(buf)), PyLong_FromLong(u16(buf + 2)), PyLong_FromLong(qd), PyLong_FromLong(an),
        PyLong_FromLong(ns), PyLong_FromLong(ar), PyList_New(0), PyList_New(0), PyList_New(0), PyList_New(0),
        Py_NewRef(Py_None), Py_NewRef(Py_None), PyLong_FromLong(0),
    };
    for (int k = 0; k < M_N; k++)
        if (vals[k] == NULL) {
            for (int j = 0; j < M_N; j++)
                Py_XDECREF(vals[j]);
            return NULL;
        }
    PyObject *msg = make(&b_message, vals);
    if (msg == NULL)
        return NULL;
    Ctx c;
    c.buf = buf;
    c.len = len;
    c.err = NULL;
    cache_init(&c);
    int section = 0;
    const int rc = sections_into(&c, msg, sections, qd, an, ns, ar, &section);
    cache_free(&c);
    if (rc < 0) {
        Py_DECREF(msg);
        return NULL;
    }
    if (rc == 0) {
        PyObject *err = PyUnicode_InternFromString(c.err);
        PyObject *sec = PyLong_FromLong(section);
        if (err == NULL || sec == NULL) {
            Py_XDECREF(err);
            Py_XDECREF(sec);
            Py_DECREF(msg);
            return NULL;
        }
        Py_SETREF(*(PyObject **)((char *)msg + b_message.off[M_ERROR]), err);
        Py_SETREF(*(PyObject **)((char *)msg + b_message.off[M_ERROR_SECTION]), sec);
    }
    return msg;
}

static PyObject *
decode_py(PyObject *self, PyObject *args)
{
    Py_buffer b;
    int sections = 3;
    if (!PyArg_ParseTuple(args, "y*|i:decode", &b, &sections))
        return NULL;
    if (!bound) {
        PyBuffer_Release(&b);
        PyErr_SetString(PyExc_RuntimeError, "decode: bind() the message classes first");
        return NULL;
    }
    PyObject *msg = decode_one((const uint8_t *)b.buf, b.len, sections);
    PyBuffer_Release(&b);
    return msg;
}

static PyMethodDef methods[] = {
    {"bind", bind_classes, METH_VARARGS, "bind(Message, Question, ResourceRecord, Edns): the classes decode() fills."},
    {"decode", decode_py, METH_VARARGS, "decode(buf, sections=3) -> Message | None, as wire.decode_message."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_dnswire", "DNS wire-format decoder (wire.py's twin).",
                                    -1, methods};

PyMODINIT_FUNC
PyInit__dnswire(void)
{
    return PyModule_Create(&module);
}
