/* Per-packet TCP processing in C: tcp.py's state machine for every TCP row of a batch.
 *
 * Our own C, a line-by-line port of tcp.tcp_packet (and of the TCP part of meter._packet, is_reuse
 * and meter._refresh). In Python, TCP packets that cannot change state are merged from vectorised
 * aggregates and only the others go packet by packet; in C every TCP packet goes through the
 * per-packet code, in capture order, which meter.py documents as giving the same result (the
 * vectorised path exists only because Python is slow per packet).
 *
 * State: the endpoint fields live in a C struct (EndpointBase, subclassed by conn.NativeEndpoint so
 * Python code reads and writes them as attributes); the few connection fields used per packet are
 * read and written through the offsets of Conn's __slots__, found once by setup(Conn). Everything
 * rare goes back to Python: a packet with no live connection, one that finds a timer due, a SYN
 * that reuses the 5-tuple (meter._packet handles those whole), role flips (Conn.flip) and heap
 * pushes (meter._schedule). tests/unit/test_flows_native.py checks that both ways give the same
 * records.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../_native.h" /* shared buffer checks */

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

static PyTypeObject EPType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "wardwatch.ingest.flows._tcprun.EndpointBase",
    .tp_basicsize = sizeof(EP),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "One side of a TCP connection, as a C struct (see conn.NativeEndpoint).",
    .tp_new = ep_new,
    .tp_members = ep_members,
    .tp_getset = ep_getset,
};

/* ---- Conn's slots ------------------------------------------------------------------------------- */

enum { S_FID, S_ORIG_A, S_O, S_R, S_LAST_TIME, S_HISTORY, S_HSEEN, S_TCP_TIMEOUT, S_ATTEMPT_AT,
       S_PARTIAL_AT, S_DELETE_AT, S_HEAP_AT, S_FAST_MASK, S_TIMEOUT, N_SLOTS };
static const char *SLOT_NAMES[N_SLOTS] = {
    "fid", "orig_a", "o", "r", "last_time", "history", "hseen", "tcp_timeout", "attempt_at",
    "partial_at", "delete_at", "heap_at", "fast_mask", "timeout",
};
static Py_ssize_t slot_off[N_SLOTS];
static PyTypeObject *conn_type = NULL;
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

static int
slot_set_double(PyObject *obj, int s, double value)
{
    PyObject *v = PyFloat_FromDouble(value);
    if (v == NULL)
        return -1;
    slot_set(obj, s, v);
    return 0;
}

static PyObject *
setup(PyObject *mod, PyObject *cls)
{
    if (!PyType_Check(cls)) {
        PyErr_SetString(PyExc_TypeError, "setup() takes the Conn class");
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
    Py_RETURN_NONE;
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
conn_ok(PyObject *conn)
{
    for (int s = 0; s < N_SLOTS; s++) {
        if (SLOT(conn, s) == NULL) {
            PyErr_Format(PyExc_AttributeError, "run(): Conn.%s is not set", SLOT_NAMES[s]);
            return 0;
        }
    }
    if (!PyObject_TypeCheck(SLOT(conn, S_O), &EPType) || !PyObject_TypeCheck(SLOT(conn, S_R), &EPType)) {
        PyErr_SetString(PyExc_TypeError, "run() needs TCP connections with native endpoints");
        return 0;
    }
    if (!PyUnicode_Check(SLOT(conn, S_HSEEN)) || !PyUnicode_Check(SLOT(conn, S_HISTORY))) {
        PyErr_SetString(PyExc_TypeError, "run(): Conn.history and Conn.hseen must be str");
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
    PyObject *arrays, *conns, *keys, *table, *packet, *schedule, *cfg_t;
    if (!PyArg_ParseTuple(args, "O!O!O!O!OOO!", &PyTuple_Type, &arrays, &PyList_Type, &conns, &PyList_Type,
                          &keys, &PyDict_Type, &table, &packet, &schedule, &PyTuple_Type, &cfg_t))
        return NULL;
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
    Buf bufs[N_ARRAYS] = {0};
    PyObject *result = NULL;
    PyObject *conn = NULL; /* the row's connection, a strong reference: Python code runs in between */
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
        int python = conn == Py_None;
        if (!python) {
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
            PyObject *key = PyList_GET_ITEM(keys, g);
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
        if (heap_at == INFINITY || attempt_at < heap_at || partial_at < heap_at || delete_at < heap_at) {
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
    Py_INCREF(Py_None);
    result = Py_None;
done:
    Py_XDECREF(conn);
    for (int a = 0; a < N_ARRAYS; a++)
        if (bufs[a].held)
            PyBuffer_Release(&bufs[a].b);
    return result;
}

static PyMethodDef methods[] = {
    {"setup", setup, METH_O, "setup(Conn): find the offsets of Conn's __slots__ (once, before run)."},
    {"run", run, METH_VARARGS, "Per-packet TCP processing of a batch's TCP rows (see meter._run_native)."},
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
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&EPType);
    if (PyModule_AddObject(m, "EndpointBase", (PyObject *)&EPType) < 0) {
        Py_DECREF(&EPType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
