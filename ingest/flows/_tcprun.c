/* The flow meter in C: tcp.py's state machine for every TCP row of a batch, and the per-connection
 * work around it (issue 17).
 *
 * Our own C, a line-by-line port of tcp.tcp_packet (and of the TCP part of meter._packet, is_reuse
 * and meter._refresh). In Python, TCP packets that cannot change state are merged from vectorised
 * aggregates and only the others go packet by packet; in C every TCP packet goes through the
 * per-packet code, in capture order, which meter.py documents as giving the same result (the
 * vectorised path exists only because Python is slow per packet).
 *
 * State: the endpoint fields live in a C struct (EndpointBase, with conn.Endpoint's methods, so
 * Python code reads and writes them as attributes); the connection fields are read and written
 * through the offsets of Conn's __slots__, found once by setup(Conn, EndpointBase, Counts).
 *
 * Per connection (meter.py's names): run() creates a TCP connection at its first packet when given
 * ``create`` (meter._new_conn, the uid from _uid.h), simple() is meter._run_simple's loop for UDP,
 * ICMP and other transports, Heap is the timer heap, expire() is meter.expire's loop with
 * tcp.timer_due, sort_finished() and records() are meter._drain's sort and Conn.record, forget() its
 * clean-up. Connections created here are untracked by the garbage collector (they can hold no
 * cycle). The commonest states (a TCP connection that is only a SYN so far, UDP/ICMP/other ones)
 * are not Conns at all but fixed-size C slots (_slots.h), made Conns on anything rarer. What stays Python: a packet that finds a timer due, a SYN that reuses the 5-tuple
 * (meter._packet handles those whole), role flips (Conn.flip) and interim records.
 * tests/unit/test_flows_native.py checks that both ways give the same records, byte for byte.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../_native.h" /* shared buffer checks */
#include "_uid.h"         /* make_uid */

enum { INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL, ESTABLISHED, CLOSED, RESET }; /* conn.py */
enum { FIN = 0x01, SYN = 0x02, RST = 0x04, ACK = 0x10 };
#define M32 0xFFFFFFFFLL
#define HALF 0x80000000LL
#define TOO_LARGE_SEQ_DELTA 1048576LL

/* ---- EndpointBase: conn.Endpoint's fields ------------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    long long state, prev_state;
    long long start, last, ack, sref, sabs, aref, aabs;
    long long pkts, ip_bytes, size, fin_cnt;
    long long rx_cnt, rx_thr, w0_cnt, w0_thr, gap_cnt, gap_thr, missed;
    long long h_syn, h_fin, h_rst; /* valid only when the has_ flag is set (None in Python) */
    char did_close, has_syn, has_fin, has_rst;
} EP;

static PyObject *
ep_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    EP *self = (EP *)type->tp_alloc(type, 0); /* zeroed: INACTIVE, counts 0, h_* None */
    if (self != NULL)
        self->rx_thr = self->w0_thr = self->gap_thr = 1;
    return (PyObject *)self;
}

#define EP_MEMBER(name) {#name, T_LONGLONG, offsetof(EP, name), 0, NULL}
static PyMemberDef ep_members[] = {
    EP_MEMBER(state), EP_MEMBER(prev_state), EP_MEMBER(start), EP_MEMBER(last), EP_MEMBER(ack),
    EP_MEMBER(sref), EP_MEMBER(sabs), EP_MEMBER(aref), EP_MEMBER(aabs), EP_MEMBER(pkts),
    EP_MEMBER(ip_bytes), EP_MEMBER(size), EP_MEMBER(fin_cnt), EP_MEMBER(rx_cnt), EP_MEMBER(rx_thr),
    EP_MEMBER(w0_cnt), EP_MEMBER(w0_thr), EP_MEMBER(gap_cnt), EP_MEMBER(gap_thr), EP_MEMBER(missed),
    {"did_close", T_BOOL, offsetof(EP, did_close), 0, NULL},
    {NULL},
};

/* h_syn, h_fin, h_rst: int or None */
static PyObject *
ep_get_h(EP *self, void *which)
{
    intptr_t w = (intptr_t)which;
    char has = w == 0 ? self->has_syn : w == 1 ? self->has_fin : self->has_rst;
    long long v = w == 0 ? self->h_syn : w == 1 ? self->h_fin : self->h_rst;
    if (!has)
        Py_RETURN_NONE;
    return PyLong_FromLongLong(v);
}

static int
ep_set_h(EP *self, PyObject *value, void *which)
{
    intptr_t w = (intptr_t)which;
    long long v = 0;
    char has = 0;
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "cannot delete this attribute");
        return -1;
    }
    if (value != Py_None) {
        v = PyLong_AsLongLong(value);
        if (v == -1 && PyErr_Occurred())
            return -1;
        has = 1;
    }
    if (w == 0) {
        self->h_syn = v;
        self->has_syn = has;
    } else if (w == 1) {
        self->h_fin = v;
        self->has_fin = has;
    } else {
        self->h_rst = v;
        self->has_rst = has;
    }
    return 0;
}

static PyGetSetDef ep_getset[] = {
    {"h_syn", (getter)ep_get_h, (setter)ep_set_h, NULL, (void *)0},
    {"h_fin", (getter)ep_get_h, (setter)ep_set_h, NULL, (void *)1},
    {"h_rst", (getter)ep_get_h, (setter)ep_set_h, NULL, (void *)2},
    {NULL},
};

/* conn.Endpoint's methods, so that the Python code can use these endpoints as they are (defined below) */
static PyObject *ep_set_state_py(EP *self, PyObject *arg);
static PyObject *ep_init_seq_py(EP *self, PyObject *const *args, Py_ssize_t nargs);
static PyObject *ep_tcp_size_py(EP *self, PyObject *peer);

static PyMethodDef ep_methods[] = {
    {"set_state", (PyCFunction)ep_set_state_py, METH_O, "Endpoint.set_state(new)"},
    {"init_seq", (PyCFunction)(void (*)(void))ep_init_seq_py, METH_FASTCALL, "Endpoint.init_seq(raw_start, last)"},
    {"tcp_size", (PyCFunction)ep_tcp_size_py, METH_O, "Endpoint.tcp_size(peer)"},
    {NULL},
};

/* A static type without garbage collection: an endpoint holds no references (16 bytes less each,
 * and nothing for the collector to walk). */
static PyTypeObject EPType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "wardwatch.ingest.flows._tcprun.EndpointBase",
    .tp_basicsize = sizeof(EP),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "One side of a TCP connection, as a C struct (conn.Endpoint's fields and methods).",
    .tp_new = ep_new,
    .tp_members = ep_members,
    .tp_getset = ep_getset,
    .tp_methods = ep_methods,
};

/* ---- Conn's slots ------------------------------------------------------------------------------- */

/* The first N_CHECKED slots are the ones run() reads for an existing connection (conn_ok checks
 * them); the others are only written, when run() creates a connection itself. */
enum { S_FID, S_ORIG_A, S_O, S_R, S_LAST_TIME, S_HISTORY, S_HSEEN, S_TCP_TIMEOUT, S_ATTEMPT_AT,
       S_PARTIAL_AT, S_DELETE_AT, S_HEAP_AT, S_FAST_MASK, S_TIMEOUT, S_NEXT_INTERIM, N_CHECKED,
       S_KEY = N_CHECKED, S_KIND, S_PROTO, S_ORIG_H, S_ORIG_P, S_RESP_H, S_RESP_P, S_START_TS,
       S_SERVICES, S_UID, S_DONE, N_SLOTS };
static const char *SLOT_NAMES[N_SLOTS] = {
    "fid", "orig_a", "o", "r", "last_time", "history", "hseen", "tcp_timeout", "attempt_at",
    "partial_at", "delete_at", "heap_at", "fast_mask", "timeout", "next_interim",
    "key", "kind", "proto", "orig_h", "orig_p", "resp_h", "resp_p", "start_ts", "services", "uid", "done",
};
static Py_ssize_t slot_off[N_SLOTS];
static PyTypeObject *conn_type = NULL;
static PyTypeObject *ep_type = NULL; /* conn.new_endpoint, for the connections run() creates */
static PyObject *empty_str, *caret_str, *empty_tuple, *py_zero, *py_float_zero;
static PyObject *letters[128]; /* one-character strings */
static PyObject *py_inf, *flip_name;

#define SLOT(obj, s) (*(PyObject **)((char *)(obj) + slot_off[s]))

static inline void
slot_set(PyObject *obj, int s, PyObject *value) /* steals value */
{
    PyObject *old = SLOT(obj, s);
    SLOT(obj, s) = value;
    Py_XDECREF(old);
}

/* the slot as a double; a slot that is not a number leaves a TypeError set (test with PyErr_Occurred) */
static inline double
slot_double(PyObject *obj, int s)
{
    PyObject *v = SLOT(obj, s);
    return PyFloat_CheckExact(v) ? PyFloat_AS_DOUBLE(v) : PyFloat_AsDouble(v);
}

static inline int
slot_get_double(PyObject *obj, int s, double *out)
{
    *out = slot_double(obj, s);
    return *out == -1.0 && PyErr_Occurred() ? -1 : 0;
}

static inline void
slot_put(PyObject *obj, int s, PyObject *value) /* a new reference to a shared value */
{
    Py_INCREF(value);
    slot_set(obj, s, value);
}

static int
slot_set_double(PyObject *obj, int s, double value)
{
    /* the same bits already there (a connection's first packet sets last_time to its start): keep
     * that float, one allocation less, and one object less per connection */
    PyObject *cur = SLOT(obj, s);
    if (cur != NULL && PyFloat_CheckExact(cur)) {
        double have = PyFloat_AS_DOUBLE(cur);
        if (memcmp(&have, &value, sizeof(double)) == 0)
            return 0;
    }
    PyObject *v = PyFloat_FromDouble(value);
    if (v == NULL)
        return -1;
    slot_set(obj, s, v);
    return 0;
}

static PyTypeObject EPType;

/* conn.Counts: the sides of UDP/ICMP/other connections (Python ints in __slots__) */
enum { C_PKTS, C_IP_BYTES, C_SIZE, N_COUNTS };
static const char *COUNTS_NAMES[N_COUNTS] = {"pkts", "ip_bytes", "size"};
static Py_ssize_t counts_off[N_COUNTS];
static PyTypeObject *counts_type = NULL;
#define CSLOT(obj, s) (*(PyObject **)((char *)(obj) + counts_off[s]))

static PyObject *
setup(PyObject *mod, PyObject *args)
{
    PyObject *cls, *ep_cls = NULL, *counts_cls = NULL;
    if (!PyArg_ParseTuple(args, "O|OO:setup", &cls, &ep_cls, &counts_cls))
        return NULL;
    Py_ssize_t counts_found[N_COUNTS];
    if (counts_cls != NULL) {
        if (!PyType_Check(counts_cls)) {
            PyErr_SetString(PyExc_TypeError, "setup(): the counts class must be a class");
            return NULL;
        }
        for (int s = 0; s < N_COUNTS; s++) {
            PyObject *d = PyDict_GetItemString(((PyTypeObject *)counts_cls)->tp_dict, COUNTS_NAMES[s]);
            if (d == NULL || !Py_IS_TYPE(d, &PyMemberDescr_Type) ||
                ((PyMemberDescrObject *)d)->d_common.d_type != (PyTypeObject *)counts_cls ||
                ((PyMemberDescrObject *)d)->d_member->type != T_OBJECT_EX) {
                PyErr_Format(PyExc_TypeError, "Counts.%s is not a __slots__ member", COUNTS_NAMES[s]);
                return NULL;
            }
            counts_found[s] = ((PyMemberDescrObject *)d)->d_member->offset;
        }
    }
    if (!PyType_Check(cls)) {
        PyErr_SetString(PyExc_TypeError, "setup() takes the Conn class");
        return NULL;
    }
    /* the endpoint class must be EndpointBase's layout exactly: run() fills its instances as EP */
    if (ep_cls != NULL && (!PyType_Check(ep_cls) || !PyType_IsSubtype((PyTypeObject *)ep_cls, &EPType) ||
                           ((PyTypeObject *)ep_cls)->tp_basicsize != EPType.tp_basicsize)) {
        PyErr_SetString(PyExc_TypeError, "setup(): the endpoint class must subclass EndpointBase with __slots__ = ()");
        return NULL;
    }
    Py_ssize_t found[N_SLOTS]; /* committed only when all are found: run() may use the old ones */
    for (int s = 0; s < N_SLOTS; s++) {
        PyObject *d = PyDict_GetItemString(((PyTypeObject *)cls)->tp_dict, SLOT_NAMES[s]);
        /* the member must be cls's own: a descriptor copied from another class carries that
         * class's offsets, which would point past the end of cls's instances */
        if (d == NULL || !Py_IS_TYPE(d, &PyMemberDescr_Type) ||
            ((PyMemberDescrObject *)d)->d_common.d_type != (PyTypeObject *)cls ||
            ((PyMemberDescrObject *)d)->d_member->type != T_OBJECT_EX) {
            PyErr_Format(PyExc_TypeError, "Conn.%s is not a __slots__ member", SLOT_NAMES[s]);
            return NULL;
        }
        found[s] = ((PyMemberDescrObject *)d)->d_member->offset;
    }
    memcpy(slot_off, found, sizeof(found));
    Py_INCREF(cls);
    Py_XSETREF(conn_type, (PyTypeObject *)cls);
    if (ep_cls != NULL) { /* kept when not given again */
        Py_INCREF(ep_cls);
        Py_XSETREF(ep_type, (PyTypeObject *)ep_cls);
    }
    if (counts_cls != NULL) {
        memcpy(counts_off, counts_found, sizeof(counts_found));
        Py_INCREF(counts_cls);
        Py_XSETREF(counts_type, (PyTypeObject *)counts_cls);
    }
    Py_RETURN_NONE;
}

/* PyLong_AsUnsignedLongLong, without its slow path through a byte array (3.11) for the multi-digit
 * ints of addresses: (uint64_t)-1 with OverflowError/TypeError set on failure, as it does */
static inline uint64_t
as_u64(PyObject *o)
{
    if (!PyLong_Check(o)) {
        PyErr_SetString(PyExc_TypeError, "an integer is required");
        return (uint64_t)-1;
    }
    if (_PyLong_Sign(o) < 0 || _PyLong_NumBits(o) > 64) {
        PyErr_SetString(PyExc_OverflowError, "int out of range for an unsigned 64-bit value");
        return (uint64_t)-1;
    }
    return (uint64_t)PyLong_AsUnsignedLongLongMask(o);
}

/* the decimal digits of v (0..255) at p; returns the end */
static inline char *
put_octet(char *p, unsigned v)
{
    if (v >= 100)
        *p++ = (char)('0' + v / 100);
    if (v >= 10)
        *p++ = (char)('0' + v / 10 % 10);
    *p++ = (char)('0' + v % 10);
    return p;
}

/* ---- history (Conn.check_history and friends) --------------------------------------------------- */

/* Add a letter once per connection: 1 if it had been seen before, 0 if added, -1 on error. */
static int
check_history(PyObject *conn, int ch)
{
    PyObject *hseen = SLOT(conn, S_HSEEN);
    Py_ssize_t found = PyUnicode_FindChar(hseen, (Py_UCS4)ch, 0, PyUnicode_GET_LENGTH(hseen), 1);
    if (found == -2)
        return -1;
    if (found >= 0)
        return 1;
    PyObject *h = PyUnicode_Concat(hseen, letters[ch]);
    if (h == NULL)
        return -1;
    slot_set(conn, S_HSEEN, h);
    h = PyUnicode_Concat(SLOT(conn, S_HISTORY), letters[ch]);
    if (h == NULL)
        return -1;
    slot_set(conn, S_HISTORY, h);
    return 0;
}

static int
add_history(PyObject *conn, int ch)
{
    PyObject *h = PyUnicode_Concat(SLOT(conn, S_HISTORY), letters[ch]);
    if (h == NULL)
        return -1;
    slot_set(conn, S_HISTORY, h);
    return 0;
}

/* tcp.scaled_letter */
static int
scaled_letter(PyObject *conn, int ch, long long *count, long long *threshold)
{
    *count += 1;
    if (*count == *threshold) {
        *threshold *= 10;
        return add_history(conn, ch);
    }
    return 0;
}

static inline int
lower_if(int ch, int lower)
{
    return lower ? ch + ('a' - 'A') : ch;
}

/* ---- endpoint helpers ---------------------------------------------------------------------------- */

static inline void
ep_set_state(EP *ep, long long new)
{
    if (new != ep->state) {
        ep->prev_state = ep->state;
        ep->state = new;
    }
}

static inline void
init_seq(EP *ep, long long raw_start, long long last)
{
    ep->sref = ep->aref = raw_start & M32;
    ep->sabs = ep->aabs = raw_start;
    ep->start = ep->ack = raw_start;
    ep->last = last;
}

static inline long long
unwrap(long long ref_raw, long long ref_abs, long long raw)
{
    return ref_abs + ((raw - ref_raw + HALF) & M32) - HALF;
}

#define IN_HANDSHAKE(s) ((s) <= SYN_ACK_SENT)

/* tcp.set_state */
static void
set_state(PyObject *conn, EP *ep, EP *peer, long long new)
{
    if (new != ep->state && !IN_HANDSHAKE(new) && IN_HANDSHAKE(ep->state) && IN_HANDSHAKE(peer->state)) {
        Py_INCREF(Py_True);
        slot_set(conn, S_TCP_TIMEOUT, Py_True);
    }
    ep_set_state(ep, new);
}

/* a FIN closes, then a RST resets (both may come in one segment); 1 when the connection closes */
static int
fin_or_rst(PyObject *conn, EP *ep, EP *peer, int fin, int rst)
{
    if (fin)
        set_state(conn, ep, peer, CLOSED);
    if (rst)
        set_state(conn, ep, peer, RESET);
    return fin || rst;
}

typedef struct {
    PyObject *tcp_inactivity, *udp_inactivity; /* as given, stored into conn.timeout */
    double attempt_delay, close_delay, partial_close_delay, reset_delay;
} Cfg;

/* min(conn.<slot>, value), as Python's min keeps the first on ties */
static inline int
lower_timer(PyObject *conn, int s, double value)
{
    double current;
    if (slot_get_double(conn, s, &current) < 0)
        return -1;
    if (value < current)
        return slot_set_double(conn, s, value);
    return 0;
}

/* Everything the C code reads through raw slot offsets, checked before it does: every slot set (a
 * __slots__ member may be unset, a NULL pointer), both endpoints native, the history strings str. */
static int
slots_ok(PyObject *conn)
{
    for (int s = 0; s < N_CHECKED; s++) {
        if (SLOT(conn, s) == NULL) {
            PyErr_Format(PyExc_AttributeError, "run(): Conn.%s is not set", SLOT_NAMES[s]);
            return 0;
        }
    }
    if (!PyUnicode_Check(SLOT(conn, S_HSEEN)) || !PyUnicode_Check(SLOT(conn, S_HISTORY))) {
        PyErr_SetString(PyExc_TypeError, "run(): Conn.history and Conn.hseen must be str");
        return 0;
    }
    return 1;
}

static int
conn_ok(PyObject *conn)
{
    if (!slots_ok(conn))
        return 0;
    if (!PyObject_TypeCheck(SLOT(conn, S_O), &EPType) || !PyObject_TypeCheck(SLOT(conn, S_R), &EPType)) {
        PyErr_SetString(PyExc_TypeError, "run() needs TCP connections with native endpoints");
        return 0;
    }
    return 1;
}

/* ---- tcp.py ----------------------------------------------------------------------------------------- */

static int
update_history(PyObject *conn, EP *ep, int is_orig, int flags, long long rel_seq, long long length)
{
    int syn = (flags & SYN) != 0, fin = (flags & FIN) != 0, rst = (flags & RST) != 0;
    int bits = syn + fin + rst, lower = !is_orig, seen;
    if (bits > 1)
        return check_history(conn, lower_if(fin && rst ? 'I' : 'Q', lower)) < 0 ? -1 : 0;
    if (bits != 1)
        return 0;
    if (syn) {
        int letter = lower_if(flags & ACK ? 'H' : 'S', lower);
        if ((seen = check_history(conn, letter)) < 0)
            return -1;
        if (seen && (!ep->has_syn || rel_seq != ep->h_syn) && add_history(conn, letter) < 0)
            return -1;
        ep->h_syn = rel_seq;
        ep->has_syn = 1;
    } else if (fin) {
        int letter = lower_if('F', lower);
        if ((seen = check_history(conn, letter)) < 0)
            return -1;
        if (seen && (!ep->has_fin || rel_seq + length != ep->h_fin) && add_history(conn, letter) < 0)
            return -1;
        ep->h_fin = rel_seq + length;
        ep->has_fin = 1;
    } else {
        int letter = lower_if('R', lower);
        if ((seen = check_history(conn, letter)) < 0)
            return -1;
        if (seen && (!ep->has_rst || rel_seq != ep->h_rst) && add_history(conn, letter) < 0)
            return -1;
        ep->h_rst = rel_seq;
        ep->has_rst = 1;
    }
    return 0;
}

/* tcp._state_machine: 1 = do_close, 0, -1 on error */
static int
state_machine(PyObject *conn, EP *ep, EP *peer, int is_orig, int flags, long long seq, long long length,
              double ts, const Cfg *cfg)
{
    int syn = flags & SYN, fin = flags & FIN, rst = flags & RST, has_ack = flags & ACK;
    long long state = ep->state;
    int do_close = 0;
    if (state == INACTIVE) {
        if (syn) {
            if (is_orig) {
                set_state(conn, ep, peer, has_ack ? SYN_ACK_SENT : SYN_SENT);
                if (cfg->attempt_delay != 0 && lower_timer(conn, S_ATTEMPT_AT, ts + cfg->attempt_delay) < 0)
                    return -1;
            } else {
                if (!has_ack && peer->state == SYN_ACK_SENT && seq == (ep->start & M32)) {
                    /* SYN and SYN-ACK seen in reverse order: flip roles, then establish */
                    PyObject *r = PyObject_CallMethodNoArgs(conn, flip_name);
                    if (r == NULL)
                        return -1;
                    Py_DECREF(r);
                    if (!conn_ok(conn))
                        return -1;
                    EP *t = ep;
                    ep = peer;
                    peer = t;
                    set_state(conn, peer, ep, ESTABLISHED);
                    Py_INCREF(py_inf);
                    slot_set(conn, S_ATTEMPT_AT, py_inf);
                }
                if (peer->state == SYN_SENT)
                    set_state(conn, peer, ep, ESTABLISHED);
                set_state(conn, ep, peer, ESTABLISHED);
            }
        }
        if (fin_or_rst(conn, ep, peer, fin, rst))
            do_close = 1;
        if (ep->state == INACTIVE) {
            EP *o = (EP *)SLOT(conn, S_O);
            if (!is_orig && length == 0 && o->state == SYN_SENT)
                ; /* an ACK of the SYN before the SYN-ACK does not make a partial connection */
            else if (has_ack && peer->state == ESTABLISHED)
                set_state(conn, ep, peer, ESTABLISHED);
            else
                set_state(conn, ep, peer, PARTIAL);
        }
    } else if (state == SYN_SENT || state == SYN_ACK_SENT) {
        if (fin_or_rst(conn, ep, peer, fin, rst))
            do_close = 1;
    } else if (state == ESTABLISHED || state == PARTIAL) {
        if (syn && state == PARTIAL && peer->state == INACTIVE && !has_ack)
            set_state(conn, ep, peer, SYN_SENT);
        if (fin && !rst) {
            set_state(conn, ep, peer, CLOSED);
            if (peer->state == RESET && peer->prev_state == CLOSED)
                ep_set_state(peer, CLOSED);
            do_close = 1;
        }
        if (rst) {
            set_state(conn, ep, peer, RESET);
            do_close = 1;
        }
    } else if (state == CLOSED && rst && peer->state != CLOSED) {
        set_state(conn, ep, peer, RESET);
        if (!ep->did_close)
            do_close = 1;
        if (cfg->reset_delay != 0 && lower_timer(conn, S_DELETE_AT, ts + cfg->reset_delay) < 0)
            return -1;
    }
    return do_close;
}

/* tcp._connection_closed */
static int
connection_closed(PyObject *conn, EP *ep, EP *peer, double ts, const Cfg *cfg)
{
    if (ep->did_close)
        return 0;
    ep->did_close = 1;
    if (ep->state == RESET || peer->did_close || peer->state == INACTIVE) {
        double last_time;
        if (slot_get_double(conn, S_LAST_TIME, &last_time) < 0)
            return -1;
        return lower_timer(conn, S_DELETE_AT, last_time + cfg->close_delay);
    }
    if (cfg->partial_close_delay != 0)
        return lower_timer(conn, S_PARTIAL_AT, ts + cfg->partial_close_delay);
    return 0;
}

/* tcp.tcp_packet */
static int
tcp_packet(PyObject *conn, int is_orig, int flags, long long seq, long long ack, long long length,
           long long win, double ts, const Cfg *cfg)
{
    EP *o = (EP *)SLOT(conn, S_O), *r = (EP *)SLOT(conn, S_R);
    EP *ep = is_orig ? o : r, *peer = is_orig ? r : o;
    int syn = flags & SYN, fin = flags & FIN, rst = flags & RST, has_ack = flags & ACK;
    long long seg_len = length + (syn ? 1 : 0) + (fin ? 1 : 0) - (rst ? length : 0);

    long long state = ep->state;
    if (state == INACTIVE) {
        if (syn) {
            init_seq(ep, seq, seq + seg_len);
        } else {
            init_seq(ep, seq - 1, seq);
            ep->sref = ep->sabs = seq;
        }
    } else if (syn && (((state == SYN_SENT || state == SYN_ACK_SENT || state == ESTABLISHED || state == PARTIAL) &&
                        (seq != (ep->start & M32) || state > SYN_ACK_SENT)) ||
                       (state == RESET && ep->prev_state == INACTIVE))) {
        long long base = unwrap(ep->sref, ep->sabs, seq);
        init_seq(ep, base, base + seg_len);
    }
    long long abs_seq = unwrap(ep->sref, ep->sabs, seq);
    ep->sref = seq;
    ep->sabs = abs_seq;
    long long rel_seq = abs_seq - ep->start;

    if (flags & (SYN | FIN | RST)) {
        if (update_history(conn, ep, is_orig, flags, rel_seq, length) < 0)
            return -1;
    } else if (length) {
        if (check_history(conn, is_orig ? 'D' : 'd') < 0)
            return -1;
    } else if (has_ack) {
        if (check_history(conn, is_orig ? 'A' : 'a') < 0)
            return -1;
    }

    if (win == 0 && !rst && peer->state != CLOSED && ep->state != RESET &&
        scaled_letter(conn, is_orig ? 'W' : 'w', &ep->w0_cnt, &ep->w0_thr) < 0)
        return -1;

    if (!(o->did_close && r->did_close) && slot_set_double(conn, S_LAST_TIME, ts) < 0)
        return -1;
    if (fin)
        ep->fin_cnt += 1;

    if (has_ack) {
        if (peer->state == INACTIVE) {
            init_seq(peer, ack - 1, ack - 1);
        } else {
            long long abs_ack = unwrap(peer->aref, peer->aabs, ack);
            peer->aref = ack;
            peer->aabs = abs_ack;
            if (!rst && abs_ack > peer->ack && !(ack == 0 && abs_ack - peer->ack > TOO_LARGE_SEQ_DELTA))
                peer->ack = abs_ack;
        }
    }

    long long end = abs_seq + seg_len;
    long long delta = end - ep->last;
    if ((syn || rst) && (delta > TOO_LARGE_SEQ_DELTA || delta < -TOO_LARGE_SEQ_DELTA)) {
        ;
    } else if (fin && ep->last == ep->start + 1) {
        ep->last = end;
    } else if (ep->state == RESET) {
        ;
    } else if (delta > 0) {
        if (seg_len > 0 && !syn && abs_seq > ep->last) {
            ep->missed += abs_seq - ep->last;
            if (scaled_letter(conn, is_orig ? 'G' : 'g', &ep->gap_cnt, &ep->gap_thr) < 0)
                return -1;
        }
        ep->last = end;
    } else if (length > 0) {
        if (scaled_letter(conn, is_orig ? 'T' : 't', &ep->rx_cnt, &ep->rx_thr) < 0)
            return -1;
    }

    if (flags & (SYN | FIN | RST) || ep->state == INACTIVE) {
        int do_close = state_machine(conn, ep, peer, is_orig, flags, seq, length, ts, cfg);
        if (do_close < 0)
            return -1;
        if (do_close && connection_closed(conn, ep, peer, ts, cfg) < 0)
            return -1;
    }
    return 0;
}

/* tcp.is_reuse */
static int
is_reuse(PyObject *conn, int flags, long long seq)
{
    EP *o = (EP *)SLOT(conn, S_O), *r = (EP *)SLOT(conn, S_R);
    if (!(flags & SYN))
        return 0;
    EP *conn_orig = o;
    if (flags & ACK) {
        if (o->state != INACTIVE)
            return 0;
        conn_orig = r;
    }
    if (!(o->did_close || r->did_close)) {
        if (seq == (conn_orig->start & M32))
            return 0;
        if (!(flags & ACK) && conn_orig->state == SYN_ACK_SENT && r->state == INACTIVE && seq == (r->start & M32))
            return 0;
    }
    return 1;
}

/* meter._refresh for a TCP connection */
static int
refresh(PyObject *conn, const Cfg *cfg)
{
    int tcp_timeout = PyObject_IsTrue(SLOT(conn, S_TCP_TIMEOUT));
    if (tcp_timeout < 0)
        return -1;
    PyObject *timeout = tcp_timeout ? cfg->tcp_inactivity : cfg->udp_inactivity;
    Py_INCREF(timeout);
    slot_set(conn, S_TIMEOUT, timeout);
    EP *o = (EP *)SLOT(conn, S_O), *r = (EP *)SLOT(conn, S_R);
    long mask;
    double partial_at, delete_at;
    if (slot_get_double(conn, S_PARTIAL_AT, &partial_at) < 0 ||
        slot_get_double(conn, S_DELETE_AT, &delete_at) < 0)
        return -1;
    if (partial_at != INFINITY || delete_at != INFINITY || o->did_close || r->did_close) {
        mask = 0;
    } else {
        int mo = o->state == ESTABLISHED || o->state == PARTIAL;
        int mr = r->state == ESTABLISHED || r->state == PARTIAL;
        if (mo || mr) {
            Py_INCREF(py_inf);
            slot_set(conn, S_ATTEMPT_AT, py_inf);
        }
        if (SLOT(conn, S_ORIG_A) != Py_True) {
            int t = mo;
            mo = mr;
            mr = t;
        }
        mask = (mo ? 1 : 0) | (mr ? 2 : 0);
    }
    PyObject *m = PyLong_FromLong(mask);
    if (m == NULL)
        return -1;
    slot_set(conn, S_FAST_MASK, m);
    return 0;
}

/* ---- the timer heap ------------------------------------------------------------------------------ */

/* meter's heap of (due, tick, fid) tuples as a C array of 24-byte entries: popped in order of due,
 * then of push (the tick), as heapq pops the tuples. */
typedef struct {
    double due;
    int64_t seq, fid;
} HEntry;

typedef struct {
    PyObject_HEAD
    HEntry *a;
    Py_ssize_t n, cap;
    int64_t seq;
} Heap;

static PyTypeObject HeapType;

static inline int
h_less(const HEntry *x, const HEntry *y)
{
    return x->due < y->due || (x->due == y->due && x->seq < y->seq);
}

static int
heap_push(Heap *h, double due, int64_t fid)
{
    if (h->n == h->cap) {
        Py_ssize_t cap = h->cap ? h->cap * 2 : 1024;
        HEntry *a = PyMem_Realloc(h->a, sizeof(HEntry) * (size_t)cap);
        if (a == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        h->a = a;
        h->cap = cap;
    }
    HEntry e = {due, h->seq++, fid};
    Py_ssize_t i = h->n++;
    while (i > 0) {
        Py_ssize_t parent = (i - 1) / 2;
        if (!h_less(&e, &h->a[parent]))
            break;
        h->a[i] = h->a[parent];
        i = parent;
    }
    h->a[i] = e;
    return 0;
}

static HEntry
heap_pop(Heap *h) /* h->n > 0 */
{
    HEntry top = h->a[0], last = h->a[--h->n];
    Py_ssize_t i = 0, n = h->n;
    for (;;) {
        Py_ssize_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && h_less(&h->a[c + 1], &h->a[c]))
            c++;
        if (!h_less(&h->a[c], &last))
            break;
        h->a[i] = h->a[c];
        i = c;
    }
    if (n > 0)
        h->a[i] = last;
    if (h->cap > 4096 && h->n < h->cap / 4) { /* give memory back after a storm */
        HEntry *a = PyMem_Realloc(h->a, sizeof(HEntry) * (size_t)(h->cap / 2));
        if (a != NULL) {
            h->a = a;
            h->cap /= 2;
        }
    }
    return top;
}

static void
heap_dealloc(Heap *h)
{
    PyMem_Free(h->a);
    Py_TYPE(h)->tp_free((PyObject *)h);
}

static PyObject *
heap_push_py(Heap *h, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "push(due, fid)");
        return NULL;
    }
    double due = PyFloat_AsDouble(args[0]);
    if (due == -1.0 && PyErr_Occurred())
        return NULL;
    long long fid = PyLong_AsLongLong(args[1]);
    if (fid == -1 && PyErr_Occurred())
        return NULL;
    if (heap_push(h, due, fid) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
heap_pop_py(Heap *h, PyObject *unused)
{
    if (h->n == 0) {
        PyErr_SetString(PyExc_IndexError, "pop from an empty heap");
        return NULL;
    }
    HEntry e = heap_pop(h);
    return Py_BuildValue("(dL)", e.due, (long long)e.fid);
}

static PyObject *
heap_peek_py(Heap *h, PyObject *unused)
{
    if (h->n == 0)
        Py_RETURN_NONE;
    return Py_BuildValue("(dL)", h->a[0].due, (long long)h->a[0].fid);
}

static PyObject *
heap_clear_py(Heap *h, PyObject *unused)
{
    h->n = 0;
    Py_RETURN_NONE;
}

static Py_ssize_t
heap_len(Heap *h)
{
    return h->n;
}

static PyMethodDef heap_methods[] = {
    {"push", (PyCFunction)(void (*)(void))heap_push_py, METH_FASTCALL, "push(due, fid): as heappush((due, tick, fid))."},
    {"pop", (PyCFunction)heap_pop_py, METH_NOARGS, "pop() -> (due, fid): the earliest (first pushed on ties)."},
    {"peek", (PyCFunction)heap_peek_py, METH_NOARGS, "peek() -> (due, fid) or None."},
    {"clear", (PyCFunction)heap_clear_py, METH_NOARGS, "clear(): drop every entry."},
    {NULL},
};

static PySequenceMethods heap_as_sequence = {.sq_length = (lenfunc)heap_len};

static PyTypeObject HeapType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "wardwatch.ingest.flows._tcprun.Heap",
    .tp_basicsize = sizeof(Heap),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The flow meter's timer heap: (due, fid) entries, earliest due first, then push order.",
    .tp_new = PyType_GenericNew,
    .tp_dealloc = (destructor)heap_dealloc,
    .tp_methods = heap_methods,
    .tp_as_sequence = &heap_as_sequence,
};

/* ---- connections created in C (meter._new_conn, meter._schedule) ------------------------------- */

/* What run() needs to create connections itself (its optional last argument), see meter._run_native. */
typedef struct {
    PyObject *by_id;      /* meter._by_id: fid -> Conn */
    PyObject *ids;        /* meter._ids: iterator of connection ids */
    Py_buffer ports;      /* 65536-bit map of FlowConfig.tcp_server_ports */
    int held;
    double interval;      /* FlowConfig.interim_interval */
    Heap *heap;           /* meter._heap */
    Py_ssize_t created;
} Create;

/* create = (by_id, ids, ports, interim_interval, heap): see meter.FlowMeter._create */
static int
parse_create(PyObject *create_t, Create *cr, PyObject **ports, const char *who)
{
    if (!PyArg_ParseTuple(create_t, "O!OOdO!", &PyDict_Type, &cr->by_id, &cr->ids, ports, &cr->interval, &HeapType,
                          &cr->heap))
        return -1;
    if (!PyIter_Check(cr->ids)) {
        PyErr_Format(PyExc_TypeError, "%s: ids must be an iterator", who);
        return -1;
    }
    return 0;
}

static inline int
server_port(const Create *cr, long port)
{
    const uint8_t *bits = cr->ports.buf;
    return port >= 0 && port < 65536 && (bits[port >> 3] >> (port & 7)) & 1;
}

static int push_due(PyObject *conn, const Create *cr, double due);

/* meter._schedule with the connection's inactivity timeout: push (due, tick, fid) when the earliest
 * timer moved earlier */
static int
schedule_with(PyObject *conn, const Create *cr, double timeout)
{
    double attempt_at, partial_at, delete_at, last_time, next_interim, heap_at;
    if (slot_get_double(conn, S_ATTEMPT_AT, &attempt_at) < 0 || slot_get_double(conn, S_PARTIAL_AT, &partial_at) < 0 ||
        slot_get_double(conn, S_DELETE_AT, &delete_at) < 0 || slot_get_double(conn, S_LAST_TIME, &last_time) < 0 ||
        slot_get_double(conn, S_NEXT_INTERIM, &next_interim) < 0 || slot_get_double(conn, S_HEAP_AT, &heap_at) < 0)
        return -1;
    double due = attempt_at;
    if (partial_at < due)
        due = partial_at;
    if (delete_at < due)
        due = delete_at;
    if (last_time + timeout < due)
        due = last_time + timeout;
    if (next_interim < due)
        due = next_interim;
    if (!(due < heap_at))
        return 0;
    return push_due(conn, cr, due);
}

/* meter._schedule for a TCP connection */
static int
schedule_c(PyObject *conn, const Create *cr, const Cfg *cfg)
{
    int tcp_timeout = PyObject_IsTrue(SLOT(conn, S_TCP_TIMEOUT));
    if (tcp_timeout < 0)
        return -1;
    double timeout = PyFloat_AsDouble(tcp_timeout ? cfg->tcp_inactivity : cfg->udp_inactivity);
    if (timeout == -1.0 && PyErr_Occurred())
        return -1;
    return schedule_with(conn, cr, timeout);
}

/* heap_at = due, and (due, fid) onto the heap */
static int
push_due(PyObject *conn, const Create *cr, double due)
{
    long long fid = PyLong_AsLongLong(SLOT(conn, S_FID));
    if (fid == -1 && PyErr_Occurred())
        return -1;
    /* due is one of the timers: share its float rather than make another */
    static const int timers[] = {S_ATTEMPT_AT, S_PARTIAL_AT, S_DELETE_AT, S_NEXT_INTERIM};
    for (size_t k = 0; k < sizeof(timers) / sizeof(timers[0]); k++) {
        PyObject *t = SLOT(conn, timers[k]);
        if (t != NULL && PyFloat_CheckExact(t)) {
            double v = PyFloat_AS_DOUBLE(t);
            if (memcmp(&v, &due, sizeof(double)) == 0) {
                slot_put(conn, S_HEAP_AT, t);
                return heap_push(cr->heap, due, fid);
            }
        }
    }
    if (slot_set_double(conn, S_HEAP_AT, due) < 0)
        return -1;
    return heap_push(cr->heap, due, fid);
}


/* An (hi, lo) address tuple for a new connection. IPv4 ones (hi 0) are shared through a bounded
 * cache keyed by lo: a scan or a busy server repeats the same hosts in thousands of connections,
 * and a shared tuple is 64 bytes less each (tuples are values: sharing them changes nothing). */
static PyObject *addr_cache;
#define ADDR_CACHE_MAX 131072

static PyObject *
addr_tuple(PyObject *hi, PyObject *lo)
{
    if (!PyLong_CheckExact(hi) || _PyLong_Sign(hi) != 0 || !PyLong_CheckExact(lo))
        return PyTuple_Pack(2, hi, lo);
    PyObject *t = PyDict_GetItemWithError(addr_cache, lo);
    if (t != NULL) {
        Py_INCREF(t);
        return t;
    }
    if (PyErr_Occurred())
        return NULL;
    if ((t = PyTuple_Pack(2, hi, lo)) == NULL)
        return NULL;
    if (PyDict_GET_SIZE(addr_cache) >= ADDR_CACHE_MAX)
        PyDict_Clear(addr_cache);
    if (PyDict_SetItem(addr_cache, lo, t) < 0) {
        Py_DECREF(t);
        return NULL;
    }
    return t;
}

/* Port numbers as shared int objects (Python caches only -5..256): a table of a million connections
 * otherwise holds two million copies of a few thousand ports. */
static PyObject *port_ints[65536];

static PyObject *
port_int(PyObject *port) /* a new reference */
{
    if (PyLong_CheckExact(port)) {
        int overflow;
        long p = PyLong_AsLongAndOverflow(port, &overflow);
        if (!overflow && p >= 0 && p < 65536) {
            if (port_ints[p] == NULL && (port_ints[p] = PyLong_FromLong(p)) == NULL)
                return NULL;
            Py_INCREF(port_ints[p]);
            return port_ints[p];
        }
        if (PyErr_Occurred())
            return NULL;
    }
    Py_INCREF(port);
    return port;
}

/* Conn.key, orig_p and resp_p of a new connection from ``key`` (proto, A hi, A lo, B hi, B lo,
 * A port, B port), orig_h/resp_h already set: an equal tuple made of the shared objects (the
 * address tuples' ints, port_int), so that the batch's key tuple and its ints are not kept. */
static int
share_key(PyObject *conn, PyObject *key, int oi)
{
    PyObject *a = SLOT(conn, oi ? S_RESP_H : S_ORIG_H), *b = SLOT(conn, oi ? S_ORIG_H : S_RESP_H);
    PyObject *pa = port_int(PyTuple_GET_ITEM(key, 5)), *pb = pa ? port_int(PyTuple_GET_ITEM(key, 6)) : NULL;
    if (pb == NULL) {
        Py_XDECREF(pa);
        return -1;
    }
    PyObject *k = PyTuple_Pack(7, PyTuple_GET_ITEM(key, 0), PyTuple_GET_ITEM(a, 0), PyTuple_GET_ITEM(a, 1),
                               PyTuple_GET_ITEM(b, 0), PyTuple_GET_ITEM(b, 1), pa, pb);
    if (k == NULL) {
        Py_DECREF(pa);
        Py_DECREF(pb);
        return -1;
    }
    slot_set(conn, S_KEY, k);
    slot_set(conn, S_ORIG_P, oi ? pb : pa);
    slot_set(conn, S_RESP_P, oi ? pa : pb);
    return 0;
}

static EP *
new_endpoint(void)
{
    EP *ep = (EP *)ep_type->tp_alloc(ep_type, 0);
    if (ep != NULL)
        ep->rx_thr = ep->w0_thr = ep->gap_thr = 1;
    return ep;
}

/* meter._new_conn for a TCP key (proto, A hi, A lo, B hi, B lo, A port, B port): the new Conn (a new
 * reference), entered in the live table and in by_id; NULL on error. */
static PyObject *
new_conn(PyObject *key, int fa, int flags, double ts, PyObject *table, Create *cr, PyObject *given_fid,
         const char *given_uid)
{
    if (!PyTuple_CheckExact(key) || PyTuple_GET_SIZE(key) != 7) {
        PyErr_SetString(PyExc_TypeError, "run(): a key is not a 7-tuple");
        return NULL;
    }
    uint64_t part[4];
    for (int k = 0; k < 4; k++) {
        part[k] = as_u64(PyTuple_GET_ITEM(key, 1 + k));
        if (part[k] == (uint64_t)-1 && PyErr_Occurred())
            return NULL;
    }
    long proto = PyLong_AsLong(PyTuple_GET_ITEM(key, 0));
    long a_port = PyLong_AsLong(PyTuple_GET_ITEM(key, 5)), b_port = PyLong_AsLong(PyTuple_GET_ITEM(key, 6));
    if (PyErr_Occurred())
        return NULL;
    if (proto < 0 || proto > 255) {
        PyErr_SetString(PyExc_ValueError, "run(): a key's protocol is beyond 8 bits");
        return NULL;
    }
    long src = fa ? a_port : b_port, dst = fa ? b_port : a_port;
    int flip = 0;
    if ((flags & SYN) && (flags & ACK))
        flip = 1; /* first packet is a SYN-ACK: its receiver opened the connection */
    else if (!(flags & SYN) && server_port(cr, src))
        flip = !server_port(cr, dst) || src < dst; /* Zeek's WantConnection */
    int orig_a = fa != flip;
    int oi = orig_a ? 0 : 1; /* orig = endpoint A or B */
    /* given_fid: a slot's connection becoming an object (slots.h), which has its id already */
    PyObject *fid = given_fid != NULL ? (Py_INCREF(given_fid), given_fid) : PyIter_Next(cr->ids);
    if (fid == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_RuntimeError, "run(): the id counter ended");
        return NULL;
    }
    PyObject *conn = conn_type->tp_alloc(conn_type, 0);
    if (conn == NULL) {
        Py_DECREF(fid);
        return NULL;
    }
    slot_set(conn, S_FID, fid);
    slot_put(conn, S_KIND, py_zero); /* KIND_TCP */
    slot_put(conn, S_PROTO, PyTuple_GET_ITEM(key, 0));
    slot_put(conn, S_ORIG_A, orig_a ? Py_True : Py_False);
    slot_put(conn, S_SERVICES, empty_tuple);
    slot_put(conn, S_HSEEN, empty_str);
    slot_put(conn, S_HISTORY, flip ? caret_str : empty_str);
    slot_put(conn, S_TCP_TIMEOUT, Py_False);
    slot_put(conn, S_DONE, Py_False);
    slot_put(conn, S_FAST_MASK, py_zero);
    slot_put(conn, S_TIMEOUT, py_float_zero);
    slot_put(conn, S_ATTEMPT_AT, py_inf);
    slot_put(conn, S_PARTIAL_AT, py_inf);
    slot_put(conn, S_DELETE_AT, py_inf);
    slot_put(conn, S_HEAP_AT, py_inf);
    PyObject *o = (PyObject *)new_endpoint(), *r = o ? (PyObject *)new_endpoint() : NULL;
    PyObject *oh = addr_tuple(PyTuple_GET_ITEM(key, 1 + 2 * oi), PyTuple_GET_ITEM(key, 2 + 2 * oi));
    PyObject *rh = addr_tuple(PyTuple_GET_ITEM(key, 3 - 2 * oi), PyTuple_GET_ITEM(key, 4 - 2 * oi));
    PyObject *start = PyFloat_FromDouble(ts);
    PyObject *interim = cr->interval > 0 ? PyFloat_FromDouble(ts + cr->interval) : (Py_INCREF(py_inf), py_inf);
    PyObject *uid = PyUnicode_New(18, 127);
    if (o == NULL || r == NULL || oh == NULL || rh == NULL || start == NULL || interim == NULL || uid == NULL) {
        Py_XDECREF(o);
        Py_XDECREF(r);
        Py_XDECREF(oh);
        Py_XDECREF(rh);
        Py_XDECREF(start);
        Py_XDECREF(interim);
        Py_XDECREF(uid);
        Py_DECREF(conn);
        return NULL;
    }
    if (given_uid != NULL) /* a slot's, made from the same values */
        memcpy(PyUnicode_1BYTE_DATA(uid), given_uid, 18);
    else
        make_uid((char *)PyUnicode_1BYTE_DATA(uid), (unsigned)proto, part[2 * oi], part[2 * oi + 1],
                 (unsigned)(orig_a ? a_port : b_port), part[2 - 2 * oi], part[3 - 2 * oi],
                 (unsigned)(orig_a ? b_port : a_port), ts);
    slot_set(conn, S_O, o);
    slot_set(conn, S_R, r);
    slot_set(conn, S_ORIG_H, oh);
    slot_set(conn, S_RESP_H, rh);
    if (share_key(conn, key, oi) < 0) {
        Py_DECREF(conn);
        return NULL;
    }
    slot_put(conn, S_LAST_TIME, start);
    slot_set(conn, S_START_TS, start);
    slot_set(conn, S_NEXT_INTERIM, interim);
    slot_set(conn, S_UID, uid);
    if (PyDict_SetItem(table, SLOT(conn, S_KEY), conn) < 0 ||
        PyDict_SetItem(cr->by_id, SLOT(conn, S_FID), conn) < 0) {
        Py_DECREF(conn);
        return NULL;
    }
    /* A Conn refers only to numbers, strings, tuples of those and its two endpoints, so it can be
     * in no reference cycle: out of the collector's lists, the table costs no collection time
     * (issue 17: collections walking millions of connections were a quarter of the CPU). */
    PyObject_GC_UnTrack(conn);
    if (PyType_IS_GC(ep_type)) {
        PyObject_GC_UnTrack(o);
        PyObject_GC_UnTrack(r);
    }
    if (given_fid == NULL)
        cr->created++;
    return conn;
}

/* ---- records (Conn.record) -------------------------------------------------------------------- */

/* conn.Endpoint.tcp_size: Zeek's TCP_Endpoint::Size() */
static long long
tcp_size(const EP *ep, const EP *peer)
{
    if (ep->state == INACTIVE)
        return 0;
    int no_data_acked = ep->ack == ep->start || ep->ack == ep->start + 1;
    if (ep->prev_state == SYN_SENT && ep->state == RESET && peer->state == INACTIVE && !no_data_acked)
        return 0;
    long long size = (ep->last > ep->ack ? ep->last : ep->ack) - ep->start;
    if (size > 0)
        size -= 1;
    if (ep->fin_cnt > 0 && size > 0)
        size -= 1;
    return size > 0 ? size : 0;
}

/* conn._rstos0: Zeek's pattern ^?S[^HAFGIQ]*R.* on the history (anchored) */
static int
rstos0(PyObject *history)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(history), i = 0;
    int kind = PyUnicode_KIND(history);
    const void *data = PyUnicode_DATA(history);
    if (i < n && PyUnicode_READ(kind, data, i) == '^')
        i++;
    if (i >= n || PyUnicode_READ(kind, data, i) != 'S')
        return 0;
    for (i++; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c == 'R')
            return 1;
        if (c == 'H' || c == 'A' || c == 'F' || c == 'G' || c == 'I' || c == 'Q')
            return 0;
    }
    return 0;
}

/* conn.tcp_conn_state: Zeek's conn_state() */
static const char *
tcp_conn_state(const EP *o, const EP *r, PyObject *history)
{
    long long os = o->state, rs = r->state;
    int o_inactive = os == INACTIVE || os == PARTIAL, r_inactive = rs == INACTIVE || rs == PARTIAL;
    if (rs == RESET) {
        if (os == SYN_SENT || os == SYN_ACK_SENT || (os == RESET && tcp_size(o, r) == 0 && tcp_size(r, o) == 0))
            return "REJ";
        return o_inactive ? "RSTRH" : "RSTR";
    }
    if (os == RESET) {
        if (r_inactive)
            return rstos0(history) ? "RSTOS0" : "OTH";
        return "RSTO";
    }
    if (rs == CLOSED && os == CLOSED)
        return "SF";
    if (os == CLOSED)
        return r_inactive ? "SH" : "S2";
    if (rs == CLOSED)
        return o_inactive ? "SHR" : "S3";
    if (os == SYN_SENT && rs == INACTIVE)
        return "S0";
    if (os == ESTABLISHED && rs == ESTABLISHED)
        return "S1";
    return "OTH";
}

enum { K_PATH, K_TS, K_UID, K_ORIG_H, K_ORIG_P, K_RESP_H, K_RESP_P, K_PROTO, K_SERVICE, K_DURATION,
       K_ORIG_BYTES, K_RESP_BYTES, K_CONN_STATE, K_MISSED, K_HISTORY, K_ORIG_PKTS, K_ORIG_IPB, K_RESP_PKTS,
       K_RESP_IPB, K_INTERIM, N_KEYS };
static const char *KEY_NAMES[N_KEYS] = {
    "_path", "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration",
    "orig_bytes", "resp_bytes", "conn_state", "missed_bytes", "history", "orig_pkts", "orig_ip_bytes",
    "resp_pkts", "resp_ip_bytes", "interim",
};
static PyObject *rec_keys[N_KEYS], *str_conn, *str_tcp, *str_comma, *record_name;

/* conn_state values as str objects made once (a new reference) */
static PyObject *
state_text(const char *state)
{
    static const char *names[] = {"S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH",
                                  "SH", "SHR", "OTH"};
    static PyObject *texts[sizeof(names) / sizeof(names[0])];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(state, names[i]) == 0) {
            if (texts[i] == NULL && (texts[i] = PyUnicode_InternFromString(names[i])) == NULL)
                return NULL;
            Py_INCREF(texts[i]);
            return texts[i];
        }
    }
    return PyUnicode_FromString(state);
}

static inline int
put_new(PyObject *d, int k, PyObject *v) /* steals v */
{
    if (v == NULL)
        return -1;
    int rc = PyDict_SetItem(d, rec_keys[k], v);
    Py_DECREF(v);
    return rc;
}

/* conn.ip_text of an (hi, lo) address: IPv4-mapped ones formatted here (decode.columns.join_ip's
 * dotted quad), the others by ip_text (IPv6 text is Python's ipaddress's) */
static PyObject *
addr_text(PyObject *addr, PyObject *ip_text)
{
    if (PyTuple_CheckExact(addr) && PyTuple_GET_SIZE(addr) == 2) {
        uint64_t hi = as_u64(PyTuple_GET_ITEM(addr, 0));
        uint64_t lo = as_u64(PyTuple_GET_ITEM(addr, 1));
        if (PyErr_Occurred())
            PyErr_Clear(); /* not two uint64: ip_text decides */
        else if (hi == 0 && (lo >> 32) == 0xFFFF) {
            char text[16], *p = text;
            for (int shift = 24; shift >= 0; shift -= 8) {
                p = put_octet(p, (unsigned)(lo >> shift) & 255);
                *p++ = '.';
            }
            return PyUnicode_FromStringAndSize(text, p - 1 - text);
        }
    }
    return PyObject_CallOneArg(ip_text, addr);
}

static const char *KIND_NAMES[4] = {"tcp", "udp", "icmp", "unknown_transport"};
static PyObject *kind_names[4];

/* conn.Counts' values of a side, all set (AttributeError otherwise) */
static int
counts_ok(PyObject *side)
{
    for (int s = 0; s < N_COUNTS; s++) {
        if (CSLOT(side, s) == NULL) {
            PyErr_Format(PyExc_AttributeError, "Counts.%s is not set", COUNTS_NAMES[s]);
            return 0;
        }
    }
    return 1;
}

/* Conn.record of a connection of ``kind`` (KIND_TCP: native endpoints; the others: Counts sides) */
static PyObject *
conn_record(PyObject *conn, int interim, PyObject *ip_text, long kind)
{
    for (int s = 0; s < N_SLOTS; s++) {
        if (SLOT(conn, s) == NULL) {
            PyErr_Format(PyExc_AttributeError, "records(): Conn.%s is not set", SLOT_NAMES[s]);
            return NULL;
        }
    }
    PyObject *history = SLOT(conn, S_HISTORY), *services = SLOT(conn, S_SERVICES);
    if (!PyUnicode_Check(history) || !PyTuple_Check(services)) {
        PyErr_SetString(PyExc_TypeError, "records(): Conn.history must be str and Conn.services a tuple");
        return NULL;
    }
    EP *o = (EP *)SLOT(conn, S_O), *r = (EP *)SLOT(conn, S_R);
    PyObject *co = SLOT(conn, S_O), *cr_ = SLOT(conn, S_R);
    if (kind != 0 && (!counts_ok(co) || !counts_ok(cr_)))
        return NULL;
    double start, last;
    if (slot_get_double(conn, S_START_TS, &start) < 0 || slot_get_double(conn, S_LAST_TIME, &last) < 0)
        return NULL;
    PyObject *rec = PyDict_New();
    if (rec == NULL)
        return NULL;
    if (PyDict_SetItem(rec, rec_keys[K_PATH], str_conn) < 0 ||
        PyDict_SetItem(rec, rec_keys[K_TS], SLOT(conn, S_START_TS)) < 0 ||
        PyDict_SetItem(rec, rec_keys[K_UID], SLOT(conn, S_UID)) < 0 ||
        put_new(rec, K_ORIG_H, addr_text(SLOT(conn, S_ORIG_H), ip_text)) < 0 ||
        PyDict_SetItem(rec, rec_keys[K_ORIG_P], SLOT(conn, S_ORIG_P)) < 0 ||
        put_new(rec, K_RESP_H, addr_text(SLOT(conn, S_RESP_H), ip_text)) < 0 ||
        PyDict_SetItem(rec, rec_keys[K_RESP_P], SLOT(conn, S_RESP_P)) < 0 ||
        PyDict_SetItem(rec, rec_keys[K_PROTO], kind_names[kind]) < 0)
        goto fail;
    if (PyTuple_GET_SIZE(services) && put_new(rec, K_SERVICE, PyUnicode_Join(str_comma, services)) < 0)
        goto fail;
    double duration = last - start;
    if (duration > 0) { /* Zeek sets duration and byte counts only for a positive duration */
        if (put_new(rec, K_DURATION, PyFloat_FromDouble(duration)) < 0)
            goto fail;
        if (kind == 0 ? put_new(rec, K_ORIG_BYTES, PyLong_FromLongLong(tcp_size(o, r))) < 0 ||
                            put_new(rec, K_RESP_BYTES, PyLong_FromLongLong(tcp_size(r, o))) < 0
                      : PyDict_SetItem(rec, rec_keys[K_ORIG_BYTES], CSLOT(co, C_SIZE)) < 0 ||
                            PyDict_SetItem(rec, rec_keys[K_RESP_BYTES], CSLOT(cr_, C_SIZE)) < 0)
            goto fail;
    }
    const char *state = "OTH";
    if (kind == 0) {
        state = tcp_conn_state(o, r, history);
    } else if (kind == 1) { /* UDP */
        int o_active = PyObject_IsTrue(CSLOT(co, C_PKTS)), r_active = PyObject_IsTrue(CSLOT(cr_, C_PKTS));
        if (o_active < 0 || r_active < 0)
            goto fail;
        state = o_active ? (r_active ? "SF" : "S0") : (r_active ? "SHR" : "OTH");
    }
    if (put_new(rec, K_CONN_STATE, state_text(state)) < 0)
        goto fail;
    long long missed = 0;
    if (kind == 0) {
        const EP *eps[2] = {o, r};
        for (int k = 0; k < 2; k++) {
            const EP *ep = eps[k];
            if (ep->state != INACTIVE)
                missed += ep->missed + (ep->ack > ep->last ? ep->ack - ep->last : 0);
        }
    }
    if (put_new(rec, K_MISSED, PyLong_FromLongLong(missed)) < 0)
        goto fail;
    if (PyUnicode_GET_LENGTH(history) && PyDict_SetItem(rec, rec_keys[K_HISTORY], history) < 0)
        goto fail;
    if (kind == 0 ? put_new(rec, K_ORIG_PKTS, PyLong_FromLongLong(o->pkts)) < 0 ||
                        put_new(rec, K_ORIG_IPB, PyLong_FromLongLong(o->ip_bytes)) < 0 ||
                        put_new(rec, K_RESP_PKTS, PyLong_FromLongLong(r->pkts)) < 0 ||
                        put_new(rec, K_RESP_IPB, PyLong_FromLongLong(r->ip_bytes)) < 0
                  : PyDict_SetItem(rec, rec_keys[K_ORIG_PKTS], CSLOT(co, C_PKTS)) < 0 ||
                        PyDict_SetItem(rec, rec_keys[K_ORIG_IPB], CSLOT(co, C_IP_BYTES)) < 0 ||
                        PyDict_SetItem(rec, rec_keys[K_RESP_PKTS], CSLOT(cr_, C_PKTS)) < 0 ||
                        PyDict_SetItem(rec, rec_keys[K_RESP_IPB], CSLOT(cr_, C_IP_BYTES)) < 0)
        goto fail;
    if (interim && PyDict_SetItem(rec, rec_keys[K_INTERIM], Py_True) < 0)
        goto fail;
    return rec;
fail:
    Py_DECREF(rec);
    return NULL;
}

/* The kind of a connection whose record C can build (a Conn of setup()'s class with the sides C
 * knows: native endpoints for TCP, Counts for the others), else -1 */
static long
native_kind(PyObject *conn)
{
    if (Py_TYPE(conn) != conn_type || SLOT(conn, S_KIND) == NULL || !PyLong_CheckExact(SLOT(conn, S_KIND)) ||
        SLOT(conn, S_O) == NULL || SLOT(conn, S_R) == NULL)
        return -1;
    int overflow;
    long kind = PyLong_AsLongAndOverflow(SLOT(conn, S_KIND), &overflow);
    if (overflow || kind < 0 || kind > 3)
        return -1;
    if (kind == 0)
        return PyObject_TypeCheck(SLOT(conn, S_O), &EPType) && PyObject_TypeCheck(SLOT(conn, S_R), &EPType) ? 0 : -1;
    return counts_type != NULL && Py_TYPE(SLOT(conn, S_O)) == counts_type && Py_TYPE(SLOT(conn, S_R)) == counts_type
               ? kind
               : -1;
}

static PyObject *new_simple_conn(PyObject *key, int fa, double t0, PyObject *table, Create *cr,
                                 const uint8_t *udp_ports, PyObject *const *timeouts, PyObject *given_fid);

static int finish_conn(PyObject *conn, PyObject *table, PyObject *finished);

#include "_slots.h" /* the common states in fixed-size C slots */

/* records(conns, interim, ip_text) -> list of dicts: [conn.record(interim) for conn in conns], TCP
 * connections with native endpoints in C, the others through Conn.record */
static PyObject *
records_py(PyObject *mod, PyObject *args)
{
    PyObject *conns, *ip_text, *slots_o = Py_None;
    int interim;
    if (!PyArg_ParseTuple(args, "O!pO|O:records", &PyList_Type, &conns, &interim, &ip_text, &slots_o))
        return NULL;
    if (slots_o != Py_None && !PyObject_TypeCheck(slots_o, &TableType)) {
        PyErr_SetString(PyExc_TypeError, "records(): slots must be a Table or None");
        return NULL;
    }
    const Table *slots = slots_o != Py_None ? (Table *)slots_o : NULL;
    if (conn_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "setup(Conn) was not called");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(conns);
    PyObject *out = PyList_New(n);
    if (out == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < n && i < PyList_GET_SIZE(conns); i++) {
        PyObject *conn = PyList_GET_ITEM(conns, i), *rec;
        Py_INCREF(conn); /* Python code (ip_text, Conn.record) runs in between */
        long kind = native_kind(conn);
        if (PyLong_CheckExact(conn) && slots != NULL) { /* a slot's id */
            int32_t x = finished_slot(slots, conn);
            rec = x >= 0 ? slot_record(slots, x, interim, ip_text) : NULL;
        } else if (kind >= 0) {
            rec = conn_record(conn, interim, ip_text, kind);
        } else {
            PyObject *cargs[2] = {conn, interim ? Py_True : Py_False};
            rec = PyObject_VectorcallMethod(record_name, cargs, 2 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
        }
        Py_DECREF(conn);
        if (rec == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, i, rec);
    }
    if (PyList_GET_SIZE(conns) < n) {
        Py_DECREF(out);
        PyErr_SetString(PyExc_IndexError, "records(): the list shrank");
        return NULL;
    }
    return out;
}

/* ---- expiry (meter.expire's loop, tcp.timer_due, meter._finish) -------------------------------- */

/* tcp.timer_due for a TCP connection: 1 when it is removed, 0 when it lives on, -1 on error */
static int
timer_due_c(PyObject *conn, double t, double timeout)
{
    EP *o = (EP *)SLOT(conn, S_O), *r = (EP *)SLOT(conn, S_R);
    for (;;) {
        double last_time, attempt_at, partial_at, delete_at;
        if (slot_get_double(conn, S_LAST_TIME, &last_time) < 0 || slot_get_double(conn, S_ATTEMPT_AT, &attempt_at) < 0 ||
            slot_get_double(conn, S_PARTIAL_AT, &partial_at) < 0 || slot_get_double(conn, S_DELETE_AT, &delete_at) < 0)
            return -1;
        double idle_at = last_time + timeout;
        double due = attempt_at; /* min(attempt_at, partial_at, delete_at, idle_at) */
        if (partial_at < due)
            due = partial_at;
        if (delete_at < due)
            due = delete_at;
        if (idle_at < due)
            due = idle_at;
        if (due >= t)
            return 0;
        if (due == idle_at || due == delete_at)
            return 1;
        if (due == attempt_at) {
            slot_put(conn, S_ATTEMPT_AT, py_inf);
            if ((o->state == SYN_SENT || o->state == SYN_ACK_SENT) && r->state == INACTIVE)
                return 1;
        } else {
            slot_put(conn, S_PARTIAL_AT, py_inf);
            if (o->state != INACTIVE && r->state != INACTIVE && !(o->did_close && r->did_close) &&
                o->state != RESET && r->state != RESET)
                return 1;
        }
    }
}

/* expire(heap, by_id, table, finished, now, timers, create, slow) -> None: meter.expire's loop over the
 * heap entries due before ``now``. TCP connections with native endpoints whose timers fire or that
 * are only rescheduled are handled here; every other popped entry goes to slow(conn, due), which does
 * the rest of the loop's body in Python (interim records, UDP/ICMP). */
static PyObject *
expire_py(PyObject *mod, PyObject *args)
{
    PyObject *by_id, *table, *finished, *cfg_t, *create_t, *slow, *ports, *simple_t = NULL, *slots_o = Py_None;
    Heap *heap;
    double now, simple_timeout[3] = {0, 0, 0};
    if (!PyArg_ParseTuple(args, "O!O!O!O!dO!O!O|O!O:expire", &HeapType, &heap, &PyDict_Type, &by_id,
                          &PyDict_Type, &table, &PyList_Type, &finished, &now, &PyTuple_Type, &cfg_t, &PyTuple_Type,
                          &create_t, &slow, &PyTuple_Type, &simple_t, &slots_o))
        return NULL;
    if (slots_o != Py_None && (!PyObject_TypeCheck(slots_o, &TableType) || simple_t == NULL)) {
        PyErr_SetString(PyExc_TypeError, "expire(): slots must be a Table (with the timeouts) or None");
        return NULL;
    }
    Table *slots = slots_o != Py_None ? (Table *)slots_o : NULL;
    PyObject *simple_timeouts[3] = {NULL, NULL, NULL};
    if (simple_t != NULL && !PyArg_ParseTuple(simple_t, "OOO", &simple_timeouts[0], &simple_timeouts[1],
                                              &simple_timeouts[2]))
        return NULL;
    if (simple_t != NULL && !PyArg_ParseTuple(simple_t, "ddd:expire's timeouts", &simple_timeout[0],
                                              &simple_timeout[1], &simple_timeout[2]))
        return NULL;
    if (conn_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "setup(Conn) was not called");
        return NULL;
    }
    Cfg cfg;
    if (!PyArg_ParseTuple(cfg_t, "OOdddd", &cfg.tcp_inactivity, &cfg.udp_inactivity, &cfg.attempt_delay,
                          &cfg.close_delay, &cfg.partial_close_delay, &cfg.reset_delay))
        return NULL;
    Create cr = {0};
    if (parse_create(create_t, &cr, &ports, "expire()") < 0)
        return NULL;
    if (cr.heap != heap) {
        PyErr_SetString(PyExc_TypeError, "expire(): create must hold the same heap");
        return NULL;
    }
    double tcp_inact = PyFloat_AsDouble(cfg.tcp_inactivity), udp_inact = PyFloat_AsDouble(cfg.udp_inactivity);
    if (PyErr_Occurred())
        return NULL;
    while (heap->n > 0 && heap->a[0].due < now) {
        HEntry e = heap_pop(heap);
        double top_due = e.due;
        int32_t x = slots != NULL ? find_fid(slots, e.fid) : -1;
        if (x >= 0) { /* the loop's body for a slot (an id is a slot's or a Conn's, never both) */
            Slot *s = &slots->s[x];
            if (s->status != SL_LIVE || top_due != s->heap_at)
                continue;
            s->heap_at = INFINITY;
            if (slot_timer_due(s, now)) {
                if (slot_finish(slots, x, finished) < 0)
                    return NULL;
                continue;
            }
            if (!(s->next_interim < now)) {
                if (slot_schedule(slots, x, heap) < 0)
                    return NULL;
                continue;
            }
            /* an interim record is due: the connection becomes a Conn, then Python's turn */
            PyObject *conn = slot_promote(slots, x, table, &cr, &cfg, simple_timeouts);
            if (conn == NULL)
                return NULL;
            PyObject *res = PyObject_CallFunctionObjArgs(slow, conn, Py_None, NULL);
            Py_DECREF(conn);
            if (res == NULL)
                return NULL;
            Py_DECREF(res);
            continue;
        }
        PyObject *fid_o = PyLong_FromLongLong(e.fid);
        if (fid_o == NULL)
            return NULL;
        PyObject *conn = PyDict_GetItemWithError(by_id, fid_o);
        Py_DECREF(fid_o);
        if (conn == NULL) {
            if (PyErr_Occurred())
                return NULL;
            continue;
        }
        Py_INCREF(conn);
        int ok = 0;
        long kind = native_kind(conn);
        if (kind > 0 && simple_t == NULL)
            kind = -1; /* no timeouts for UDP/ICMP/other given: Python's turn */
        int native = kind >= 0 && (kind == 0 ? conn_ok(conn) : slots_ok(conn)) && SLOT(conn, S_DONE) != NULL;
        if (PyErr_Occurred())
            goto next;
        if (native && kind > 0) {
            /* tcp.timer_due for a connection without TCP timers: gone when idle */
            double heap_at, last, attempt_at, partial_at, delete_at;
            if (slot_get_double(conn, S_HEAP_AT, &heap_at) < 0 || slot_get_double(conn, S_LAST_TIME, &last) < 0 ||
                slot_get_double(conn, S_ATTEMPT_AT, &attempt_at) < 0 ||
                slot_get_double(conn, S_PARTIAL_AT, &partial_at) < 0 ||
                slot_get_double(conn, S_DELETE_AT, &delete_at) < 0)
                goto next;
            if (attempt_at != INFINITY || partial_at != INFINITY || delete_at != INFINITY) {
                native = 0; /* not as _run_simple creates them: Python's turn */
            } else {
                if (SLOT(conn, S_DONE) == Py_True || top_due != heap_at) {
                    ok = 1;
                    goto next;
                }
                slot_put(conn, S_HEAP_AT, py_inf);
                double timeout = simple_timeout[kind - 1];
                if (last + timeout < now) {
                    ok = finish_conn(conn, table, finished) == 0;
                    goto next;
                }
                double next_interim;
                if (slot_get_double(conn, S_NEXT_INTERIM, &next_interim) < 0)
                    goto next;
                if (!(next_interim < now)) {
                    ok = schedule_with(conn, &cr, timeout) == 0;
                    goto next;
                }
            }
        } else if (native) {
            /* as meter.expire: skip finished connections and stale entries */
            double heap_at, next_interim;
            if (slot_get_double(conn, S_HEAP_AT, &heap_at) < 0)
                goto next;
            if (SLOT(conn, S_DONE) == Py_True || top_due != heap_at) {
                ok = 1;
                goto next;
            }
            slot_put(conn, S_HEAP_AT, py_inf);
            int tcp_timeout = PyObject_IsTrue(SLOT(conn, S_TCP_TIMEOUT));
            if (tcp_timeout < 0)
                goto next;
            int gone = timer_due_c(conn, now, tcp_timeout ? tcp_inact : udp_inact);
            if (gone < 0)
                goto next;
            if (gone) {
                ok = finish_conn(conn, table, finished) == 0;
                goto next;
            }
            if (slot_get_double(conn, S_NEXT_INTERIM, &next_interim) < 0)
                goto next;
            if (!(next_interim < now)) {
                ok = schedule_c(conn, &cr, &cfg) == 0;
                goto next;
            }
            /* an interim record is due: Python's turn, with due None for "checked, timers run" */
        }
        PyObject *due_o = native ? (Py_INCREF(Py_None), Py_None) : PyFloat_FromDouble(top_due);
        PyObject *res = due_o ? PyObject_CallFunctionObjArgs(slow, conn, due_o, NULL) : NULL;
        Py_XDECREF(due_o);
        ok = res != NULL;
        Py_XDECREF(res);
    next:
        Py_DECREF(conn);
        if (!ok)
            return NULL;
    }
    Py_RETURN_NONE;
}

/* ---- the order of records (meter._drain's sort) ------------------------------------------------ */

typedef struct {
    double ts;
    long long proto, op, rp;
    uint64_t oh, ol, rh, rl;
    Py_ssize_t idx; /* position before sorting: ties keep it, as Python's stable sort does */
} SortKey;

static int
cmp_sortkey(const void *pa, const void *pb)
{
    const SortKey *a = pa, *b = pb;
#define CMP(f)                                                                                             \
    if (a->f != b->f)                                                                                      \
        return a->f < b->f ? -1 : 1;
    CMP(ts) CMP(proto) CMP(oh) CMP(ol) CMP(op) CMP(rh) CMP(rl) CMP(rp) CMP(idx)
#undef CMP
    return 0;
}

static int
addr_halves(PyObject *addr, uint64_t *hi, uint64_t *lo)
{
    if (!PyTuple_CheckExact(addr) || PyTuple_GET_SIZE(addr) != 2 || !PyLong_CheckExact(PyTuple_GET_ITEM(addr, 0)) ||
        !PyLong_CheckExact(PyTuple_GET_ITEM(addr, 1)))
        return 0;
    *hi = as_u64(PyTuple_GET_ITEM(addr, 0));
    *lo = as_u64(PyTuple_GET_ITEM(addr, 1));
    if (PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    return 1;
}

/* sort_finished(conns) -> bool: conns.sort(key=lambda c: (c.start_ts, c.proto, c.orig_h, c.orig_p,
 * c.resp_h, c.resp_p)) in place; False (list untouched) when a value is not what C can compare as
 * Python does (not a Conn, a NaN, an int beyond 64 bits...): the caller sorts in Python then. */
static PyObject *
sort_finished_py(PyObject *mod, PyObject *args)
{
    PyObject *list, *slots_o = Py_None;
    if (!PyArg_ParseTuple(args, "O!|O:sort_finished", &PyList_Type, &list, &slots_o))
        return NULL;
    if (slots_o != Py_None && !PyObject_TypeCheck(slots_o, &TableType)) {
        PyErr_SetString(PyExc_TypeError, "sort_finished(): slots must be a Table or None");
        return NULL;
    }
    const Table *slots = slots_o != Py_None ? (Table *)slots_o : NULL;
    if (conn_type == NULL)
        Py_RETURN_FALSE;
    Py_ssize_t n = PyList_GET_SIZE(list);
    SortKey *keys = PyMem_Malloc(sizeof(SortKey) * (size_t)(n ? n : 1));
    if (keys == NULL)
        return PyErr_NoMemory();
    int ok = 1;
    for (Py_ssize_t i = 0; i < n && ok; i++) {
        PyObject *c = PyList_GET_ITEM(list, i);
        SortKey *k = &keys[i];
        k->idx = i;
        if (PyLong_CheckExact(c) && slots != NULL) { /* a slot's id */
            int32_t x = finished_slot(slots, c);
            if (x < 0) {
                PyErr_Clear();
                ok = 0;
                break;
            }
            const Slot *s = &slots->s[x];
            int oa = s->orig_a;
            k->ts = s->start_ts;
            k->proto = s->proto;
            k->oh = oa ? s->a_hi : s->b_hi;
            k->ol = oa ? s->a_lo : s->b_lo;
            k->op = oa ? s->a_port : s->b_port;
            k->rh = oa ? s->b_hi : s->a_hi;
            k->rl = oa ? s->b_lo : s->a_lo;
            k->rp = oa ? s->b_port : s->a_port;
            if (k->ts != k->ts)
                ok = 0;
            continue;
        }
        if (Py_TYPE(c) != conn_type || SLOT(c, S_START_TS) == NULL || SLOT(c, S_PROTO) == NULL ||
            SLOT(c, S_ORIG_H) == NULL || SLOT(c, S_ORIG_P) == NULL || SLOT(c, S_RESP_H) == NULL ||
            SLOT(c, S_RESP_P) == NULL || !PyFloat_CheckExact(SLOT(c, S_START_TS)) ||
            !PyLong_CheckExact(SLOT(c, S_PROTO)) || !PyLong_CheckExact(SLOT(c, S_ORIG_P)) ||
            !PyLong_CheckExact(SLOT(c, S_RESP_P))) {
            ok = 0;
            break;
        }
        k->ts = PyFloat_AS_DOUBLE(SLOT(c, S_START_TS));
        k->proto = PyLong_AsLongLong(SLOT(c, S_PROTO));
        k->op = PyLong_AsLongLong(SLOT(c, S_ORIG_P));
        k->rp = PyLong_AsLongLong(SLOT(c, S_RESP_P));
        if (PyErr_Occurred()) {
            PyErr_Clear();
            ok = 0;
        } else if (k->ts != k->ts || !addr_halves(SLOT(c, S_ORIG_H), &k->oh, &k->ol) ||
                   !addr_halves(SLOT(c, S_RESP_H), &k->rh, &k->rl)) {
            ok = 0;
        }
    }
    PyObject *copy = ok ? PyList_GetSlice(list, 0, n) : NULL;
    if (ok && copy == NULL) {
        PyMem_Free(keys);
        return NULL;
    }
    if (ok) {
        qsort(keys, (size_t)n, sizeof(SortKey), cmp_sortkey);
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *c = PyList_GET_ITEM(copy, keys[i].idx);
            Py_INCREF(c);
            PyList_SetItem(list, i, c); /* the list's own reference to the old item goes; copy holds it */
        }
        Py_DECREF(copy);
    }
    PyMem_Free(keys);
    return PyBool_FromLong(ok);
}

/* ids(finished) -> [fid]: meter._drain's retired ids (a slot's entry is its id already) */
static PyObject *
ids_py(PyObject *mod, PyObject *list)
{
    if (!PyList_CheckExact(list)) {
        PyErr_SetString(PyExc_TypeError, "ids() takes a list");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(list);
    PyObject *out = PyList_New(n);
    if (out == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *c = PyList_GET_ITEM(list, i), *fid;
        if (PyLong_CheckExact(c))
            fid = (Py_INCREF(c), c);
        else if (Py_TYPE(c) == conn_type && SLOT(c, S_FID) != NULL)
            fid = (Py_INCREF(SLOT(c, S_FID)), SLOT(c, S_FID));
        else
            fid = PyObject_GetAttrString(c, "fid");
        if (fid == NULL || PyList_GET_SIZE(list) != n) {
            Py_XDECREF(fid);
            Py_DECREF(out);
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_RuntimeError, "ids(): the list changed");
            return NULL;
        }
        PyList_SET_ITEM(out, i, fid);
    }
    return out;
}

/* forget(by_id, fids) -> None: drop from by_id the finished connections of fids (meter._drain) */
static PyObject *
forget_py(PyObject *mod, PyObject *args)
{
    PyObject *by_id, *fids;
    if (!PyArg_ParseTuple(args, "O!O!:forget", &PyDict_Type, &by_id, &PyList_Type, &fids))
        return NULL;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(fids); i++) {
        PyObject *fid = PyList_GET_ITEM(fids, i);
        Py_INCREF(fid);
        PyObject *conn = PyDict_GetItemWithError(by_id, fid);
        int rc = 0;
        if (conn == NULL) {
            rc = PyErr_Occurred() ? -1 : 0;
        } else {
            PyObject *done = Py_TYPE(conn) == conn_type && SLOT(conn, S_DONE) != NULL
                                 ? (Py_INCREF(SLOT(conn, S_DONE)), SLOT(conn, S_DONE))
                                 : PyObject_GetAttrString(conn, "done");
            int is_done = done ? PyObject_IsTrue(done) : -1;
            Py_XDECREF(done);
            rc = is_done < 0 ? -1 : is_done ? PyDict_DelItem(by_id, fid) : 0;
        }
        Py_DECREF(fid);
        if (rc < 0)
            return NULL;
    }
    Py_RETURN_NONE;
}

/* uid(proto, orig_hi, orig_lo, orig_p, resp_hi, resp_lo, resp_p, start_ts) -> str: Conn.make_uid */
static PyObject *
uid_py(PyObject *mod, PyObject *args)
{
    unsigned int proto, op, rp;
    unsigned long long oh, ol, rh, rl;
    double ts;
    if (!PyArg_ParseTuple(args, "IKKIKKId:uid", &proto, &oh, &ol, &op, &rh, &rl, &rp, &ts))
        return NULL;
    char out[18];
    make_uid(out, proto & 0xFF, oh, ol, op, rh, rl, rp, ts);
    return PyUnicode_FromStringAndSize(out, 18);
}

/* blake2b(data, digest_size) -> bytes: the hash under make_uid, for the tests to compare with hashlib */
static PyObject *
blake2b_py(PyObject *mod, PyObject *args)
{
    Py_buffer data;
    int n;
    if (!PyArg_ParseTuple(args, "y*i:blake2b", &data, &n))
        return NULL;
    if (n < 1 || n > 64) {
        PyBuffer_Release(&data);
        PyErr_SetString(PyExc_ValueError, "digest_size must be 1..64");
        return NULL;
    }
    uint8_t out[64];
    blake2b(data.buf, (size_t)data.len, out, (size_t)n);
    PyBuffer_Release(&data);
    return PyBytes_FromStringAndSize((const char *)out, n);
}

/* ---- the batch loop ------------------------------------------------------------------------------ */

typedef struct {
    Py_buffer b;
    int held;
} Buf;

/* An array read or written through a raw typed pointer (see _native.h), ``n`` items long. */
static int
get_buf(PyObject *obj, Buf *buf, const char *kinds, Py_ssize_t itemsize, Py_ssize_t n, int writable,
        const char *what)
{
    if (ww_get_array(obj, &buf->b, kinds, itemsize, n, WW_EXACTLY, writable, what) < 0)
        return -1;
    buf->held = 1;
    return 0;
}

enum { A_GID, A_FA, A_TS, A_FLAGS, A_SEQ, A_ACK, A_PLEN, A_WIN, A_IPLEN, A_OUT_FID, A_OUT_ORIG, N_ARRAYS };
static const Py_ssize_t A_SIZE[N_ARRAYS] = {8, 1, 8, 8, 8, 8, 8, 8, 8, 8, 1};
static const char *A_KIND[N_ARRAYS] = {"i", "u?", "f", "i", "i", "i", "i", "i", "i", "i", "u?"};
static const char *A_NAME[N_ARRAYS] = {"gid", "from_a", "ts", "flags", "seq", "ack", "plen", "win",
                                       "ip_len", "out_fid", "out_orig"};

/* run(arrays, conns, keys, table, packet, schedule, cfg) -> None; see meter.FlowMeter._run_native */
static PyObject *
run(PyObject *mod, PyObject *args)
{
    PyObject *arrays, *conns, *keys, *table, *packet, *schedule, *cfg_t, *create_t = NULL, *slots_o = Py_None;
    PyObject *karrays_o = Py_None, *gcount_o = Py_None;
    if (!PyArg_ParseTuple(args, "O!O!O!O!OOO!|O!OOO", &PyTuple_Type, &arrays, &PyList_Type, &conns, &PyList_Type,
                          &keys, &PyDict_Type, &table, &packet, &schedule, &PyTuple_Type, &cfg_t, &PyTuple_Type,
                          &create_t, &slots_o, &karrays_o, &gcount_o))
        return NULL;
    if (slots_o != Py_None && !PyObject_TypeCheck(slots_o, &TableType)) {
        PyErr_SetString(PyExc_TypeError, "run(): slots must be a Table or None");
        return NULL;
    }
    Table *slots = slots_o != Py_None ? (Table *)slots_o : NULL;
    if (conn_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "setup(Conn) was not called");
        return NULL;
    }
    Cfg cfg;
    if (!PyArg_ParseTuple(cfg_t, "OOdddd", &cfg.tcp_inactivity, &cfg.udp_inactivity, &cfg.attempt_delay,
                          &cfg.close_delay, &cfg.partial_close_delay, &cfg.reset_delay))
        return NULL;
    if (PyTuple_GET_SIZE(arrays) != N_ARRAYS) {
        PyErr_SetString(PyExc_ValueError, "run() takes 11 arrays");
        return NULL;
    }
    Create cr = {0}, *create = NULL;
    if (create_t != NULL) {
        PyObject *ports;
        if (parse_create(create_t, &cr, &ports, "run()") < 0)
            return NULL;
        if (ep_type == NULL) {
            PyErr_SetString(PyExc_RuntimeError, "setup(Conn, endpoint_class) was not called");
            return NULL;
        }
        if (ww_get_array(ports, &cr.ports, "u", 1, 8192, WW_EXACTLY, 0, "ports") < 0)
            return NULL;
        cr.held = 1;
        create = &cr;
    }
    Buf bufs[N_ARRAYS] = {0};
    PyObject *result = NULL;
    PyObject *conn = NULL; /* the row's connection, a strong reference: Python code runs in between */
    KeyArrays ka;
    Buf gcount_buf = {0};
    const int64_t *gcount = NULL; /* packets of each group in this batch (None: not known) */
    if (karrays_get(karrays_o, &ka, PyList_GET_SIZE(keys)) < 0)
        goto done;
    if (gcount_o != Py_None) {
        if (get_buf(gcount_o, &gcount_buf, "i", 8, PyList_GET_SIZE(keys), 0, "group counts") < 0)
            goto done;
        gcount = gcount_buf.b.buf;
    }
    Py_ssize_t n = PyObject_Length(PyTuple_GET_ITEM(arrays, A_GID));
    if (n < 0)
        goto done;
    for (int a = 0; a < N_ARRAYS; a++)
        if (get_buf(PyTuple_GET_ITEM(arrays, a), &bufs[a], A_KIND[a], A_SIZE[a], n, a >= A_OUT_FID,
                    A_NAME[a]) < 0)
            goto done;
    const int64_t *gid = bufs[A_GID].b.buf, *flags_a = bufs[A_FLAGS].b.buf, *seq_a = bufs[A_SEQ].b.buf;
    const int64_t *ack_a = bufs[A_ACK].b.buf, *plen_a = bufs[A_PLEN].b.buf, *win_a = bufs[A_WIN].b.buf;
    const int64_t *iplen_a = bufs[A_IPLEN].b.buf;
    const uint8_t *fa_a = bufs[A_FA].b.buf;
    const double *ts_a = bufs[A_TS].b.buf;
    int64_t *out_fid = bufs[A_OUT_FID].b.buf;
    uint8_t *out_orig = bufs[A_OUT_ORIG].b.buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_CLEAR(conn);
        int64_t g = gid[i];
        /* the lengths are read again each row: the callbacks are Python code */
        if (g < 0 || g >= PyList_GET_SIZE(conns) || g >= PyList_GET_SIZE(keys)) {
            PyErr_SetString(PyExc_IndexError, "group index out of range");
            goto done;
        }
        /* 32-bit sequence numbers and int32 lengths, as decoded: the unwrapping arithmetic (64-bit)
         * cannot overflow for those, whereas arbitrary int64 values could */
        if (seq_a[i] < 0 || seq_a[i] > M32 || ack_a[i] < 0 || ack_a[i] > M32 || plen_a[i] < INT32_MIN ||
            plen_a[i] > INT32_MAX || iplen_a[i] < INT32_MIN || iplen_a[i] > INT32_MAX || flags_a[i] < 0 ||
            flags_a[i] > 0xFF) {
            PyErr_SetString(PyExc_ValueError,
                            "run(): seq/ack beyond 32 bits, flags beyond 8 bits or a length beyond int32");
            goto done;
        }
        conn = PyList_GET_ITEM(conns, g);
        Py_INCREF(conn);
        int flags = (int)flags_a[i], fa = fa_a[i] != 0;
        double ts = ts_a[i];
        int python = conn == Py_None, created_here = 0;
        if (python && create != NULL) {
            /* With create, conns holds None for the groups not seen yet: the live connection is
             * looked up at the group's first row (only this group's packets change its entry), and
             * created here when there is none, as meter._packet would. */
            Py_DECREF(conn);
            conn = NULL;
            int in_slots = 0, looked = 0;
            if (slots != NULL) {
                /* a slot: this packet makes it a Conn (a second packet), or a pure SYN opens one
                 * (a key is a slot's or in the table, never both: the slots are looked at first) */
                KeyV kv;
                int ok = group_kv(keys, &ka, g, &kv);
                if (ok) {
                    uint64_t h = kv_hash(slots, &kv);
                    int32_t x = find_key(slots, &kv, h);
                    if (x >= 0 && rst_slot_ok(&slots->s[x], fa, flags, plen_a[i], ts)) {
                        /* a refused SYN: still a slot */
                        if (slot_rst(slots, x, create->heap, &cfg, flags, seq_a[i], ack_a[i], iplen_a[i], ts) < 0)
                            goto done;
                        out_fid[i] = slots->s[x].fid;
                        out_orig[i] = 0;
                        continue; /* conns[g] stays None: a next packet finds the slot */
                    } else if (x >= 0) {
                        if ((conn = slot_promote(slots, x, table, create, &cfg, NULL)) == NULL)
                            goto done;
                        in_slots = 1; /* a new reference */
                    } else if ((looked = 1, PyDict_GET_SIZE(table) > 0) &&
                               (conn = PyDict_GetItemWithError(table, group_key(keys, &ka, g))) != NULL) {
                        /* a live Conn: below */
                    } else if (PyErr_Occurred()) {
                        goto done;
                    } else if (syn_slot_ok(flags, plen_a[i], win_a[i]) && (gcount == NULL || gcount[g] <= 2)) {
                        /* (a connection with more packets in this batch goes on past a SYN and a
                         * RST: a Conn from the start costs less than a slot and its promotion) */
                        x = slot_new_syn(slots, &kv, create, &cfg, fa, ts, seq_a[i], iplen_a[i]);
                        if (x < 0)
                            goto done;
                        out_fid[i] = slots->s[x].fid;
                        out_orig[i] = 1;
                        conn = NULL;
                        continue; /* conns[g] stays None: a next packet finds the slot */
                    }
                }
            }
            if (conn == NULL && !in_slots && !looked) {
                PyObject *gk = group_key(keys, &ka, g);
                conn = gk != NULL ? PyDict_GetItemWithError(table, gk) : NULL;
            }
            if (conn == NULL && PyErr_Occurred())
                goto done;
            if (!in_slots) { /* promoted ones are checked below like any live connection */
                if (conn != NULL)
                    Py_INCREF(conn);
                else if (group_key(keys, &ka, g) == NULL ||
                         (conn = new_conn(group_key(keys, &ka, g), fa, flags, ts, table, create, NULL, NULL)) == NULL)
                    goto done;
                else
                    created_here = 1;
            }
            Py_INCREF(conn);
            if (PyList_SetItem(conns, g, conn) < 0) /* steals the new reference, even on error */
                goto done;
            python = 0;
        }
        if (!python && !created_here) {
            if (Py_TYPE(conn) != conn_type) {
                PyErr_SetString(PyExc_TypeError, "run() needs the Conn class given to setup()");
                goto done;
            }
            if (!conn_ok(conn))
                goto done;
            /* a timer may be due (meter._packet's quick test), or a SYN may start a new connection */
            python = slot_double(conn, S_ATTEMPT_AT) < ts || slot_double(conn, S_PARTIAL_AT) < ts ||
                     slot_double(conn, S_DELETE_AT) < ts ||
                     slot_double(conn, S_LAST_TIME) + slot_double(conn, S_TIMEOUT) < ts ||
                     ((flags & SYN) && is_reuse(conn, flags, seq_a[i]));
            if (PyErr_Occurred())
                goto done;
        }
        if (python) {
            PyObject *key = group_key(keys, &ka, g);
            if (key == NULL)
                goto done;
            Py_INCREF(key); /* held across the call, as conn is */
            PyObject *cargs[9] = {key, fa ? Py_True : Py_False, PyFloat_FromDouble(ts), PyLong_FromLong(flags),
                                  PyLong_FromLongLong(seq_a[i]), PyLong_FromLongLong(ack_a[i]),
                                  PyLong_FromLongLong(plen_a[i]), PyLong_FromLongLong(win_a[i]),
                                  PyLong_FromLongLong(iplen_a[i])};
            PyObject *res = NULL;
            int ok = 1;
            for (int k = 2; k < 9; k++)
                ok &= cargs[k] != NULL;
            if (ok)
                res = PyObject_Vectorcall(packet, cargs, 9, NULL);
            for (int k = 2; k < 9; k++)
                Py_XDECREF(cargs[k]);
            if (res == NULL) {
                Py_DECREF(key);
                goto done;
            }
            PyObject *fid_o, *orig_o;
            if (!PyArg_ParseTuple(res, "OO", &fid_o, &orig_o)) {
                Py_DECREF(res);
                Py_DECREF(key);
                goto done;
            }
            out_fid[i] = PyLong_AsLongLong(fid_o);
            out_orig[i] = (uint8_t)PyObject_IsTrue(orig_o);
            Py_DECREF(res);
            if (PyErr_Occurred()) {
                Py_DECREF(key);
                goto done;
            }
            PyObject *now = PyDict_GetItemWithError(table, key); /* the live connection after it */
            Py_DECREF(key);
            if (now == NULL) {
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_KeyError, "connection missing after meter._packet");
                goto done;
            }
            Py_INCREF(now);
            if (PyList_SetItem(conns, g, now) < 0) /* steals now, even on error */
                goto done;
            continue;
        }

        int is_orig = fa == (SLOT(conn, S_ORIG_A) == Py_True);
        EP *ep = (EP *)SLOT(conn, is_orig ? S_O : S_R);
        ep->pkts += 1;
        ep->ip_bytes += iplen_a[i];
        long long before = ep->state;
        if (tcp_packet(conn, is_orig, flags, seq_a[i], ack_a[i], plen_a[i], win_a[i], ts, &cfg) < 0)
            goto done;
        if ((flags & (SYN | FIN | RST) || before == INACTIVE) && refresh(conn, &cfg) < 0)
            goto done;
        double heap_at, attempt_at, partial_at, delete_at;
        if (slot_get_double(conn, S_HEAP_AT, &heap_at) < 0 ||
            slot_get_double(conn, S_ATTEMPT_AT, &attempt_at) < 0 ||
            slot_get_double(conn, S_PARTIAL_AT, &partial_at) < 0 ||
            slot_get_double(conn, S_DELETE_AT, &delete_at) < 0)
            goto done;
        if ((heap_at == INFINITY || attempt_at < heap_at || partial_at < heap_at || delete_at < heap_at) &&
            create != NULL) {
            if (schedule_c(conn, create, &cfg) < 0)
                goto done;
        } else if (heap_at == INFINITY || attempt_at < heap_at || partial_at < heap_at || delete_at < heap_at) {
            PyObject *res = PyObject_CallOneArg(schedule, conn);
            if (res == NULL)
                goto done;
            Py_DECREF(res);
        }
        out_fid[i] = PyLong_AsLongLong(SLOT(conn, S_FID));
        out_orig[i] = (uint8_t)is_orig;
        if (out_fid[i] == -1 && PyErr_Occurred())
            goto done;
    }
    if (create != NULL) {
        result = PyLong_FromSsize_t(cr.created);
    } else {
        Py_INCREF(Py_None);
        result = Py_None;
    }
done:
    karrays_release(&ka);
    if (gcount_buf.held)
        PyBuffer_Release(&gcount_buf.b);
    if (cr.held)
        PyBuffer_Release(&cr.ports);
    Py_XDECREF(conn);
    for (int a = 0; a < N_ARRAYS; a++)
        if (bufs[a].held)
            PyBuffer_Release(&bufs[a].b);
    return result;
}

/* ---- UDP, ICMP and other transports (meter._run_simple's loop) ---------------------------------- */

static int
counts_add(PyObject *side, int s, long long v)
{
    if (v == 0)
        return 0;
    PyObject *add = PyLong_FromLongLong(v);
    if (add == NULL)
        return -1;
    PyObject *sum = PyNumber_Add(CSLOT(side, s), add);
    Py_DECREF(add);
    if (sum == NULL)
        return -1;
    PyObject *old = CSLOT(side, s);
    CSLOT(side, s) = sum;
    Py_XDECREF(old);
    return 0;
}

static PyObject *
new_counts(void)
{
    PyObject *c = counts_type->tp_alloc(counts_type, 0);
    if (c == NULL)
        return NULL;
    for (int s = 0; s < N_COUNTS; s++) {
        Py_INCREF(py_zero);
        CSLOT(c, s) = py_zero;
    }
    if (PyObject_IS_GC(c))
        PyObject_GC_UnTrack(c); /* holds ints only */
    return c;
}

/* meter._finish */
static int
finish_conn(PyObject *conn, PyObject *table, PyObject *finished)
{
    slot_put(conn, S_DONE, Py_True);
    PyObject *live = PyDict_GetItemWithError(table, SLOT(conn, S_KEY));
    if (live == NULL && PyErr_Occurred())
        return -1;
    if (live == conn && PyDict_DelItem(table, SLOT(conn, S_KEY)) < 0)
        return -1;
    return PyList_Append(finished, conn);
}

/* a new connection of a UDP/ICMP/other key, as meter._run_simple creates it (new reference) */
static PyObject *
new_simple_conn(PyObject *key, int fa, double t0, PyObject *table, Create *cr, const uint8_t *udp_ports,
                PyObject *const *timeouts, PyObject *given_fid)
{
    if (!PyTuple_CheckExact(key) || PyTuple_GET_SIZE(key) != 7) {
        PyErr_SetString(PyExc_TypeError, "simple(): a key is not a 7-tuple");
        return NULL;
    }
    uint64_t part[4];
    for (int k = 0; k < 4; k++) {
        part[k] = as_u64(PyTuple_GET_ITEM(key, 1 + k));
        if (part[k] == (uint64_t)-1 && PyErr_Occurred())
            return NULL;
    }
    long proto = PyLong_AsLong(PyTuple_GET_ITEM(key, 0));
    long a_port = PyLong_AsLong(PyTuple_GET_ITEM(key, 5)), b_port = PyLong_AsLong(PyTuple_GET_ITEM(key, 6));
    if (PyErr_Occurred())
        return NULL;
    if (proto < 0 || proto > 255 || proto == 6) {
        PyErr_SetString(PyExc_ValueError, "simple(): a key's protocol is TCP or beyond 8 bits");
        return NULL;
    }
    int kind = proto == 17 ? 1 : (proto == 1 || proto == 58) ? 2 : 3;
    double timeout = PyFloat_AsDouble(timeouts[kind - 1]);
    if (timeout == -1.0 && PyErr_Occurred())
        return NULL;
    int flip = 0;
    if (kind == 1 && udp_ports != NULL) { /* none: a slot's connection, fa is its orig_a */
        long src = fa ? a_port : b_port, dst = fa ? b_port : a_port;
#define UDP_PORT(p) ((p) >= 0 && (p) < 65536 && (udp_ports[(p) >> 3] >> ((p) & 7)) & 1)
        flip = UDP_PORT(src) && !UDP_PORT(dst);
#undef UDP_PORT
    }
    int orig_a = fa != flip, oi = orig_a ? 0 : 1;
    PyObject *fid = given_fid != NULL ? (Py_INCREF(given_fid), given_fid) : PyIter_Next(cr->ids);
    if (fid == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_RuntimeError, "simple(): the id counter ended");
        return NULL;
    }
    PyObject *conn = conn_type->tp_alloc(conn_type, 0);
    if (conn == NULL) {
        Py_DECREF(fid);
        return NULL;
    }
    slot_set(conn, S_FID, fid);
    slot_set(conn, S_KIND, PyLong_FromLong(kind)); /* small ints: never NULL */
    slot_put(conn, S_PROTO, PyTuple_GET_ITEM(key, 0));
    slot_put(conn, S_ORIG_A, orig_a ? Py_True : Py_False);
    slot_put(conn, S_SERVICES, empty_tuple);
    slot_put(conn, S_HSEEN, empty_str);
    slot_put(conn, S_HISTORY, flip ? caret_str : empty_str);
    slot_put(conn, S_TCP_TIMEOUT, Py_False);
    slot_put(conn, S_DONE, Py_False);
    slot_set(conn, S_FAST_MASK, PyLong_FromLong(3));
    slot_put(conn, S_TIMEOUT, timeouts[kind - 1]);
    slot_put(conn, S_ATTEMPT_AT, py_inf);
    slot_put(conn, S_PARTIAL_AT, py_inf);
    slot_put(conn, S_DELETE_AT, py_inf);
    slot_put(conn, S_HEAP_AT, py_inf);
    PyObject *o = new_counts(), *r = o ? new_counts() : NULL;
    PyObject *oh = addr_tuple(PyTuple_GET_ITEM(key, 1 + 2 * oi), PyTuple_GET_ITEM(key, 2 + 2 * oi));
    PyObject *rh = addr_tuple(PyTuple_GET_ITEM(key, 3 - 2 * oi), PyTuple_GET_ITEM(key, 4 - 2 * oi));
    PyObject *start = PyFloat_FromDouble(t0);
    PyObject *interim = cr->interval > 0 ? PyFloat_FromDouble(t0 + cr->interval) : (Py_INCREF(py_inf), py_inf);
    PyObject *uid = PyUnicode_New(18, 127);
    if (o == NULL || r == NULL || oh == NULL || rh == NULL || start == NULL || interim == NULL || uid == NULL) {
        Py_XDECREF(o);
        Py_XDECREF(r);
        Py_XDECREF(oh);
        Py_XDECREF(rh);
        Py_XDECREF(start);
        Py_XDECREF(interim);
        Py_XDECREF(uid);
        Py_DECREF(conn);
        return NULL;
    }
    make_uid((char *)PyUnicode_1BYTE_DATA(uid), (unsigned)proto, part[2 * oi], part[2 * oi + 1],
             (unsigned)(orig_a ? a_port : b_port), part[2 - 2 * oi], part[3 - 2 * oi],
             (unsigned)(orig_a ? b_port : a_port), t0);
    double next_interim = PyFloat_AS_DOUBLE(interim);
    slot_set(conn, S_O, o);
    slot_set(conn, S_R, r);
    slot_set(conn, S_ORIG_H, oh);
    slot_set(conn, S_RESP_H, rh);
    if (share_key(conn, key, oi) < 0) {
        Py_DECREF(conn);
        return NULL;
    }
    slot_put(conn, S_LAST_TIME, start);
    slot_set(conn, S_START_TS, start);
    slot_set(conn, S_NEXT_INTERIM, interim);
    slot_set(conn, S_UID, uid);
    PyObject_GC_UnTrack(conn); /* see new_conn */
    if (PyDict_SetItem(table, SLOT(conn, S_KEY), conn) < 0 ||
        PyDict_SetItem(cr->by_id, SLOT(conn, S_FID), conn) < 0) {
        Py_DECREF(conn);
        return NULL;
    }
    if (given_fid != NULL)
        return conn; /* a slot's connection: counted and scheduled already */
    cr->created++;
    /* as meter._schedule at creation, when last_time is still the first packet's */
    double due = t0 + timeout < next_interim ? t0 + timeout : next_interim;
    if (push_due(conn, cr, due) < 0) {
        Py_DECREF(conn);
        return NULL;
    }
    return conn;
}

enum { R_KEY_OF, R_T0, R_FIRST, R_FA, R_LAST_TS, R_PKTS, R_IPB, R_SIZE, R_FPOS, R_OUT_FID, R_OUT_ORIGA, N_RARRAYS };
static const Py_ssize_t R_SIZE_[N_RARRAYS] = {8, 8, 1, 1, 8, 8, 8, 8, 8, 8, 1};
static const char *R_KIND[N_RARRAYS] = {"i", "f", "u?", "u?", "f", "i", "i", "i", "i", "i", "u?"};
static const int R_TWICE[N_RARRAYS] = {0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0}; /* per (run, side) */
static const char *R_NAME[N_RARRAYS] = {"key_of", "t0", "first", "from_a", "last_ts", "pkts", "ip_bytes",
                                        "size", "first_pos", "out_fid", "out_orig_a"};

/* simple(arrays, keys, table, finished, timeouts, create, udp_ports) -> int (connections created):
 * meter._run_simple's loop over runs (a connection's packets between idle gaps), see there */
static PyObject *
simple_py(PyObject *mod, PyObject *args)
{
    PyObject *arrays, *keys, *table, *finished, *timeouts_t, *create_t, *udp_ports_o, *ports, *slots_o = Py_None;
    PyObject *karrays_o = Py_None;
    if (!PyArg_ParseTuple(args, "O!O!O!O!O!O!O|OO:simple", &PyTuple_Type, &arrays, &PyList_Type, &keys, &PyDict_Type,
                          &table, &PyList_Type, &finished, &PyTuple_Type, &timeouts_t, &PyTuple_Type, &create_t,
                          &udp_ports_o, &slots_o, &karrays_o))
        return NULL;
    if (slots_o != Py_None && !PyObject_TypeCheck(slots_o, &TableType)) {
        PyErr_SetString(PyExc_TypeError, "simple(): slots must be a Table or None");
        return NULL;
    }
    Table *slots = slots_o != Py_None ? (Table *)slots_o : NULL;
    int32_t prev_slot = -1; /* the previous run's connection when it is a slot */
    if (conn_type == NULL || counts_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "setup(Conn, endpoint_class, Counts) was not called");
        return NULL;
    }
    PyObject *timeouts[3];
    if (!PyArg_ParseTuple(timeouts_t, "OOO:simple's timeouts", &timeouts[0], &timeouts[1], &timeouts[2]))
        return NULL;
    for (int k = 0; k < 3; k++)
        if (PyFloat_AsDouble(timeouts[k]) == -1.0 && PyErr_Occurred())
            return NULL;
    Create cr = {0};
    if (parse_create(create_t, &cr, &ports, "simple()") < 0)
        return NULL;
    if (PyTuple_GET_SIZE(arrays) != N_RARRAYS) {
        PyErr_SetString(PyExc_ValueError, "simple() takes 11 arrays");
        return NULL;
    }
    Py_buffer udp_ports;
    if (ww_get_array(udp_ports_o, &udp_ports, "u", 1, 8192, WW_EXACTLY, 0, "udp_ports") < 0)
        return NULL;
    Buf bufs[N_RARRAYS] = {0};
    PyObject *result = NULL, *conn = NULL, *prev = NULL;
    KeyArrays ka;
    if (karrays_get(karrays_o, &ka, PyList_GET_SIZE(keys)) < 0) {
        PyBuffer_Release(&udp_ports);
        return NULL;
    }
    Py_ssize_t n = PyObject_Length(PyTuple_GET_ITEM(arrays, R_KEY_OF));
    if (n < 0)
        goto done;
    for (int a = 0; a < N_RARRAYS; a++)
        if (get_buf(PyTuple_GET_ITEM(arrays, a), &bufs[a], R_KIND[a], R_SIZE_[a], R_TWICE[a] ? 2 * n : n,
                    a >= R_OUT_FID, R_NAME[a]) < 0)
            goto done;
    const int64_t *key_of = bufs[R_KEY_OF].b.buf, *pkts = bufs[R_PKTS].b.buf, *ipb = bufs[R_IPB].b.buf;
    const int64_t *size = bufs[R_SIZE].b.buf, *fpos = bufs[R_FPOS].b.buf;
    const double *t0_a = bufs[R_T0].b.buf, *last_ts = bufs[R_LAST_TS].b.buf;
    const uint8_t *first = bufs[R_FIRST].b.buf, *fa_a = bufs[R_FA].b.buf;
    int64_t *out_fid = bufs[R_OUT_FID].b.buf;
    uint8_t *out_origa = bufs[R_OUT_ORIGA].b.buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t g = key_of[i];
        if (g < 0 || g >= PyList_GET_SIZE(keys)) {
            PyErr_SetString(PyExc_IndexError, "simple(): key index out of range");
            goto done;
        }
        PyObject *key = NULL; /* the key tuple, made only for the object code */
        double t0 = t0_a[i];
        Py_CLEAR(conn);
        int32_t cur = -1;
        KeyV kv;
        int kv_ok = slots != NULL ? group_kv(keys, &ka, g, &kv) : 0;
        if (first[i]) {
            /* a key is a slot's or in the table, never both: the slots are looked at first */
            int32_t x = kv_ok ? find_key(slots, &kv, kv_hash(slots, &kv)) : -1;
            if (x < 0 && (!kv_ok || PyDict_GET_SIZE(table) > 0)) {
                if ((key = group_key(keys, &ka, g)) == NULL)
                    goto done;
                conn = PyDict_GetItemWithError(table, key);
            }
            if (conn == NULL && PyErr_Occurred())
                goto done;
            if (x >= 0) {
                if (slots->s[x].last_time + slots->s[x].timeout < t0) {
                    if (slot_finish(slots, x, finished) < 0)
                        goto done;
                } else {
                    cur = x;
                }
            } else if (conn != NULL) {
                Py_INCREF(conn);
                if (native_kind(conn) < 1 || !slots_ok(conn)) {
                    if (!PyErr_Occurred())
                        PyErr_SetString(PyExc_TypeError, "simple(): a live connection is not a UDP/ICMP/other Conn");
                    goto done;
                }
                double last, timeout;
                if (slot_get_double(conn, S_LAST_TIME, &last) < 0 || slot_get_double(conn, S_TIMEOUT, &timeout) < 0)
                    goto done;
                if (last + timeout < t0) {
                    if (finish_conn(conn, table, finished) < 0)
                        goto done;
                    Py_CLEAR(conn);
                }
            }
        } else if (prev != NULL) {
            if (finish_conn(prev, table, finished) < 0) /* idle split inside the batch */
                goto done;
        } else if (prev_slot >= 0) {
            if (slot_finish(slots, prev_slot, finished) < 0)
                goto done;
        }
        if (conn == NULL && cur < 0) {
            if (kv_ok && kv.proto != 6) {
                cur = slot_new_simple(slots, &kv, &cr, udp_ports.buf, timeouts, fa_a[i] != 0, t0);
                if (cur < 0)
                    goto done;
            } else {
                if (key == NULL && (key = group_key(keys, &ka, g)) == NULL)
                    goto done;
                conn = new_simple_conn(key, fa_a[i] != 0, t0, table, &cr, udp_ports.buf, timeouts, NULL);
                if (conn == NULL)
                    goto done;
            }
        }
        if (cur >= 0) { /* the loop's body below, on the slot */
            Slot *s = &slots->s[cur];
            int orig_a = s->orig_a, ka = orig_a ? 0 : 1, kb = 1 - ka; /* sides of endpoints A, B */
            Py_ssize_t ia = 2 * i + 1, ib = 2 * i;
            s->pkts[ka] += pkts[ia];
            s->ipb[ka] += ipb[ia];
            s->size[ka] += size[ia];
            s->pkts[kb] += pkts[ib];
            s->ipb[kb] += ipb[ib];
            s->size[kb] += size[ib];
            s->last_time = last_ts[i];
            if (s->kind == 1) {
                char la = orig_a ? 'D' : 'd', lb = orig_a ? 'd' : 'D';
                int first_a = fpos[ia] < fpos[ib];
                char l1 = first_a ? la : lb, l2 = first_a ? lb : la;
                int64_t p1 = first_a ? pkts[ia] : pkts[ib], p2 = first_a ? pkts[ib] : pkts[ia];
                if ((p1 && slot_check_history(s, l1) < 0) || (p2 && slot_check_history(s, l2) < 0))
                    goto done;
            }
            if (s->heap_at == INFINITY && slot_schedule(slots, cur, cr.heap) < 0)
                goto done;
            s = &slots->s[cur];
            out_fid[i] = s->fid;
            out_origa[i] = (uint8_t)orig_a;
            Py_CLEAR(prev);
            prev_slot = cur;
            continue;
        }
        prev_slot = -1;
        int orig_a = SLOT(conn, S_ORIG_A) == Py_True;
        Py_ssize_t ia = 2 * i + 1, ib = 2 * i; /* sides sent by endpoint A / B */
        PyObject *ep_a = SLOT(conn, orig_a ? S_O : S_R), *ep_b = SLOT(conn, orig_a ? S_R : S_O);
        if (!counts_ok(ep_a) || !counts_ok(ep_b) || counts_add(ep_a, C_PKTS, pkts[ia]) < 0 ||
            counts_add(ep_a, C_IP_BYTES, ipb[ia]) < 0 || counts_add(ep_a, C_SIZE, size[ia]) < 0 ||
            counts_add(ep_b, C_PKTS, pkts[ib]) < 0 || counts_add(ep_b, C_IP_BYTES, ipb[ib]) < 0 ||
            counts_add(ep_b, C_SIZE, size[ib]) < 0 || slot_set_double(conn, S_LAST_TIME, last_ts[i]) < 0)
            goto done;
        long kind = native_kind(conn);
        if (kind == 1) { /* UDP: D/d in the order the sides first sent */
            int la = orig_a ? 'D' : 'd', lb = orig_a ? 'd' : 'D';
            int first_a = fpos[ia] < fpos[ib];
            int l1 = first_a ? la : lb, l2 = first_a ? lb : la;
            int64_t p1 = first_a ? pkts[ia] : pkts[ib], p2 = first_a ? pkts[ib] : pkts[ia];
            if ((p1 && check_history(conn, l1) < 0) || (p2 && check_history(conn, l2) < 0))
                goto done;
        }
        double heap_at;
        if (slot_get_double(conn, S_HEAP_AT, &heap_at) < 0)
            goto done;
        if (heap_at == INFINITY && schedule_with(conn, &cr, PyFloat_AsDouble(timeouts[kind - 1])) < 0)
            goto done;
        PyObject *fid = SLOT(conn, S_FID);
        out_fid[i] = PyLong_AsLongLong(fid);
        if (out_fid[i] == -1 && PyErr_Occurred())
            goto done;
        out_origa[i] = (uint8_t)orig_a;
        Py_INCREF(conn);
        Py_XSETREF(prev, conn);
    }
    result = PyLong_FromSsize_t(cr.created);
done:
    Py_XDECREF(conn);
    Py_XDECREF(prev);
    karrays_release(&ka);
    PyBuffer_Release(&udp_ports);
    for (int a = 0; a < N_RARRAYS; a++)
        if (bufs[a].held)
            PyBuffer_Release(&bufs[a].b);
    return result;
}

/* ---- EndpointBase's methods (conn.Endpoint's) ------------------------------------------------- */

static PyObject *
ep_set_state_py(EP *self, PyObject *arg)
{
    long long new = PyLong_AsLongLong(arg);
    if (new == -1 && PyErr_Occurred())
        return NULL;
    ep_set_state(self, new);
    Py_RETURN_NONE;
}

static PyObject *
ep_init_seq_py(EP *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "init_seq(raw_start, last)");
        return NULL;
    }
    long long raw_start = PyLong_AsLongLong(args[0]), last = PyLong_AsLongLong(args[1]);
    if (PyErr_Occurred())
        return NULL;
    init_seq(self, raw_start, last);
    Py_RETURN_NONE;
}

static PyObject *
ep_tcp_size_py(EP *self, PyObject *peer)
{
    if (!PyObject_TypeCheck(peer, &EPType)) {
        PyErr_SetString(PyExc_TypeError, "tcp_size(peer): peer must be an EndpointBase");
        return NULL;
    }
    return PyLong_FromLongLong(tcp_size(self, (EP *)peer));
}

static PyMethodDef methods[] = {
    {"setup", setup, METH_VARARGS,
     "setup(Conn, endpoint_class=None): find the offsets of Conn's __slots__ (once, before run); with the "
     "endpoint class, run() may create connections itself."},
    {"run", run, METH_VARARGS, "Per-packet TCP processing of a batch's TCP rows (see meter._run_native)."},
    {"records", records_py, METH_VARARGS, "records(conns, interim, ip_text): [c.record(interim) for c in conns]."},
    {"expire", expire_py, METH_VARARGS, "expire(heap, by_id, table, finished, now, timers, create, slow): meter.expire's loop."},
    {"sort_finished", sort_finished_py, METH_VARARGS, "sort_finished(conns): meter._drain's sort, in place; False if it could not."},
    {"simple", simple_py, METH_VARARGS, "simple(arrays, keys, table, finished, timeouts, create, udp_ports): meter._run_simple's loop."},
    {"ids", ids_py, METH_O, "ids(finished) -> the connection ids of a finished list (Conns or slot ids)."},
    {"forget", forget_py, METH_VARARGS, "forget(by_id, fids): drop the finished connections of fids from by_id."},
    {"uid", uid_py, METH_VARARGS, "uid(proto, orig_hi, orig_lo, orig_p, resp_hi, resp_lo, resp_p, ts): Conn.make_uid in C."},
    {"blake2b", blake2b_py, METH_VARARGS, "blake2b(data, digest_size): unkeyed BLAKE2b (for tests)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_tcprun", "Per-packet TCP state machine in C (see meter._run_native).", -1, methods,
};

PyMODINIT_FUNC
PyInit__tcprun(void)
{
    if (PyType_Ready(&EPType) < 0)
        return NULL;
    for (int c = 0; c < 128; c++)
        if ((letters[c] = PyUnicode_FromOrdinal(c)) == NULL)
            return NULL;
    if ((py_inf = PyFloat_FromDouble(INFINITY)) == NULL || (flip_name = PyUnicode_InternFromString("flip")) == NULL)
        return NULL;
    if ((empty_str = PyUnicode_FromString("")) == NULL || (caret_str = PyUnicode_FromString("^")) == NULL ||
        (empty_tuple = PyTuple_New(0)) == NULL || (py_zero = PyLong_FromLong(0)) == NULL ||
        (py_float_zero = PyFloat_FromDouble(0.0)) == NULL)
        return NULL;
    for (int k = 0; k < 4; k++)
        if ((kind_names[k] = PyUnicode_InternFromString(KIND_NAMES[k])) == NULL)
            return NULL;
    for (int k = 0; k < N_KEYS; k++)
        if ((rec_keys[k] = PyUnicode_InternFromString(KEY_NAMES[k])) == NULL)
            return NULL;
    if ((str_conn = PyUnicode_InternFromString("conn")) == NULL || (str_tcp = PyUnicode_InternFromString("tcp")) == NULL ||
        (str_comma = PyUnicode_InternFromString(",")) == NULL ||
        (record_name = PyUnicode_InternFromString("record")) == NULL)
        return NULL;
    if (PyType_Ready(&HeapType) < 0 || PyType_Ready(&TableType) < 0 || (addr_cache = PyDict_New()) == NULL)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&EPType);
    if (PyModule_AddObject(m, "EndpointBase", (PyObject *)&EPType) < 0) {
        Py_DECREF(&EPType);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&HeapType);
    if (PyModule_AddObject(m, "Heap", (PyObject *)&HeapType) < 0) {
        Py_DECREF(&HeapType);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&TableType);
    if (PyModule_AddObject(m, "Table", (PyObject *)&TableType) < 0) {
        Py_DECREF(&TableType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
