/* The connection table's common states as fixed-size C slots (issue 17), included by _tcprun.c.
 *
 * A connection that is only a TCP SYN so far (a scan's, a flood's: the first packet a pure SYN
 * without payload, window not 0, and at most one more of its packets in the batch: run() makes the
 * others Conns at once) or a SYN refused by a RST (a port scan's closed ports: REJ), and
 * every UDP/ICMP/other connection, lives in a 208-byte Slot
 * instead of a Conn with two endpoint objects, a key tuple, a uid string and float timers
 * (≈ 1.1 KiB). Slots sit in one array, found by key (open addressing, linear probing, keyed by the
 * canonical 7-tuple, hash salted per meter) and by connection id (for the heap's entries and the
 * FlowView); they hold no Python object, so the garbage collector never sees them.
 *
 * A slot becomes a Conn ("promoted": the same id, the same state, made by replaying its packets
 * through the object code) on anything rarer: any other packet of a TCP connection, a packet after
 * one of its timers fell due, an interim record. Its id, timers and heap entry carry over, so nothing downstream can tell.
 * Records, the order of finished connections, expiry, eviction, flush and the FlowView read slots
 * directly; the finished list holds a slot's id (an int) where it would hold the Conn.
 *
 * Memory: sizeof(Slot) per slot (the array starts at 1,024, grows by doubling, is reused through a
 * free list and shrinks again when at most a quarter is in use: table_compact), plus two index
 * arrays of 8-byte entries kept at most half full (16-32 bytes a slot each), plus the heap's
 * 24-byte entries. */

enum { SL_FREE, SL_LIVE, SL_DONE }; /* SL_DONE: finished, found by id until forget() */
#define SLOT_HIST 8
#define SVC_EXTRA 0xFF /* nsvc: the services are in Table.extra (more than 4, or names beyond 255) */

typedef struct {
    uint64_t a_hi, a_lo, b_hi, b_lo; /* the canonical key's endpoints A and B */
    int64_t fid;
    double start_ts, last_time, attempt_at, delete_at, next_interim, heap_at, timeout;
    int64_t pkts[2], ipb[2], size[2]; /* [0] the originator's side, [1] the responder's */
    uint32_t seq;                     /* TCP: the SYN's raw sequence number */
    uint32_t seq2, ack2;              /* TCP phase 2: the responder's RST (raw seq, raw ack) */
    uint8_t phase, flags2;            /* TCP: 1 a SYN, 2 a SYN answered by a RST (flags2: its flags) */
    int32_t a_port, b_port;
    int32_t next_free;
    uint8_t proto, kind, orig_a, status, hlen, nsvc;
    char hist[SLOT_HIST]; /* the history letters ('^' then D/d for UDP, "S" for a SYN) */
    char uid[18];
    uint8_t svc[4]; /* indices into Table.names */
} Slot;

typedef struct {
    PyObject_HEAD
    Slot *s;
    int32_t cap, top, free_head; /* slots allocated, ever used, first free (-1: none) */
    Py_ssize_t live;
    uint64_t *kidx, *fidx; /* key and id indexes: (32-bit hash << 32) | (slot + 1), 0 empty */
    uint32_t kmask, fmask;
    Py_ssize_t kcount, fcount;
    uint64_t seed;
    PyObject *names; /* list of service names (str) */
    PyObject *extra; /* dict fid -> services tuple, for slots with SVC_EXTRA */
} Table;

static PyTypeObject TableType;

typedef struct {
    uint64_t a_hi, a_lo, b_hi, b_lo;
    long proto, a_port, b_port;
} KeyV;

static inline uint64_t
mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBULL;
    x ^= x >> 31;
    return x;
}

static inline uint64_t
key_hash(const Table *t, uint64_t a_hi, uint64_t a_lo, uint64_t b_hi, uint64_t b_lo, long proto, long a_port,
         long b_port)
{
    uint64_t h = mix64(t->seed ^ a_lo ^ ((uint64_t)proto << 56));
    h = mix64(h ^ b_lo);
    h = mix64(h ^ a_hi ^ mix64(b_hi + 1));
    return mix64(h ^ (((uint64_t)(uint32_t)a_port << 32) | (uint32_t)b_port));
}

static inline uint64_t
kv_hash(const Table *t, const KeyV *k)
{
    return key_hash(t, k->a_hi, k->a_lo, k->b_hi, k->b_lo, k->proto, k->a_port, k->b_port);
}

static inline uint64_t
slot_key_hash(const Table *t, const Slot *s)
{
    return key_hash(t, s->a_hi, s->a_lo, s->b_hi, s->b_lo, s->proto, s->a_port, s->b_port);
}

static inline uint64_t
fid_hash(const Table *t, int64_t fid)
{
    return mix64((uint64_t)fid ^ t->seed);
}

/* A key tuple's values, when a slot can hold them: 1, 0 (not representable: the object code decides
 * and reports), -1 on error */
static int
key_parse(PyObject *key, KeyV *k)
{
    if (!PyTuple_CheckExact(key) || PyTuple_GET_SIZE(key) != 7)
        return 0;
    uint64_t part[4];
    for (int i = 0; i < 4; i++) {
        part[i] = as_u64(PyTuple_GET_ITEM(key, 1 + i));
        if (part[i] == (uint64_t)-1 && PyErr_Occurred()) {
            PyErr_Clear();
            return 0;
        }
    }
    int overflow = 0;
    long v[3];
    static const int at[3] = {0, 5, 6};
    for (int i = 0; i < 3; i++) {
        PyObject *o = PyTuple_GET_ITEM(key, at[i]);
        if (!PyLong_CheckExact(o))
            return 0;
        v[i] = PyLong_AsLongAndOverflow(o, &overflow);
        if (overflow || (v[i] == -1 && PyErr_Occurred())) {
            PyErr_Clear();
            return 0;
        }
    }
    if (v[0] < 0 || v[0] > 255 || v[1] < 0 || v[1] > 65535 || v[2] < 0 || v[2] > 65535)
        return 0;
    k->a_hi = part[0];
    k->a_lo = part[1];
    k->b_hi = part[2];
    k->b_lo = part[3];
    k->proto = v[0];
    k->a_port = v[1];
    k->b_port = v[2];
    return 1;
}

/* An index entry keeps 32 bits of its hash beside the slot number: probes and deletions compare and
 * place entries without reading the slots (a cache miss each). */
#define ENTRY(h32, x) (((uint64_t)(h32) << 32) | (uint32_t)((x) + 1))
#define ENTRY_SLOT(e) ((int32_t)(uint32_t)(e)-1)
#define ENTRY_HASH(e) ((uint32_t)((e) >> 32))
#define H32(h) ((uint32_t)((h) >> 32))

/* The batch's keys as columns, one row per group (meter: keys.key_columns): run() and simple() read
 * them instead of key tuples, and make a group's tuple only when the object code needs it. */
enum { KA_PROTO, KA_A_HI, KA_A_LO, KA_B_HI, KA_B_LO, KA_A_PORT, KA_B_PORT, N_KA };
typedef struct {
    Py_buffer b[N_KA];
    int held[N_KA], given;
} KeyArrays;

static void
karrays_release(KeyArrays *ka)
{
    for (int i = 0; i < N_KA; i++)
        if (ka->held[i])
            PyBuffer_Release(&ka->b[i]);
}

/* key columns (a 7-tuple of int64/uint64 arrays of n items) or None */
static int
karrays_get(PyObject *obj, KeyArrays *ka, Py_ssize_t n)
{
    memset(ka, 0, sizeof(*ka));
    if (obj == NULL || obj == Py_None)
        return 0;
    if (!PyTuple_Check(obj) || PyTuple_GET_SIZE(obj) != N_KA) {
        PyErr_SetString(PyExc_TypeError, "key columns must be a 7-tuple of arrays");
        return -1;
    }
    static const char *kinds[N_KA] = {"i", "u", "u", "u", "u", "i", "i"};
    for (int i = 0; i < N_KA; i++) {
        if (ww_get_array(PyTuple_GET_ITEM(obj, i), &ka->b[i], kinds[i], 8, n, WW_EXACTLY, 0, "key column") < 0) {
            karrays_release(ka);
            return -1;
        }
        ka->held[i] = 1;
    }
    ka->given = 1;
    return 0;
}

#define KA_U(ka, i, g) (((const uint64_t *)(ka)->b[i].buf)[g])
#define KA_I(ka, i, g) (((const int64_t *)(ka)->b[i].buf)[g])

/* group g's key from the columns: 1, or 0 when a slot cannot hold it (the object code decides) */
static int
key_from_arrays(const KeyArrays *ka, Py_ssize_t g, KeyV *k)
{
    long long proto = KA_I(ka, KA_PROTO, g), ap = KA_I(ka, KA_A_PORT, g), bp = KA_I(ka, KA_B_PORT, g);
    if (proto < 0 || proto > 255 || ap < 0 || ap > 65535 || bp < 0 || bp > 65535)
        return 0;
    k->proto = (long)proto;
    k->a_port = (long)ap;
    k->b_port = (long)bp;
    k->a_hi = KA_U(ka, KA_A_HI, g);
    k->a_lo = KA_U(ka, KA_A_LO, g);
    k->b_hi = KA_U(ka, KA_B_HI, g);
    k->b_lo = KA_U(ka, KA_B_LO, g);
    return 1;
}

/* group g's key tuple (borrowed from ``keys``), made from the columns where keys holds None */
static PyObject *
group_key(PyObject *keys, const KeyArrays *ka, Py_ssize_t g)
{
    PyObject *k = PyList_GET_ITEM(keys, g);
    if (k != Py_None || !ka->given)
        return k;
    if ((k = PyTuple_New(N_KA)) == NULL)
        return NULL;
    for (int i = 0; i < N_KA; i++) {
        int is_u = i >= KA_A_HI && i <= KA_B_LO;
        PyObject *v = is_u ? PyLong_FromUnsignedLongLong(KA_U(ka, i, g)) : PyLong_FromLongLong(KA_I(ka, i, g));
        if (v == NULL) {
            Py_DECREF(k);
            return NULL;
        }
        PyTuple_SET_ITEM(k, i, v);
    }
    if (PyList_SetItem(keys, g, k) < 0) /* steals k */
        return NULL;
    return k;
}

/* group g's key for the slots: from the columns, else parsed from its tuple */
static int
group_kv(PyObject *keys, const KeyArrays *ka, Py_ssize_t g, KeyV *k)
{
    if (ka->given)
        return key_from_arrays(ka, g, k);
    return key_parse(PyList_GET_ITEM(keys, g), k);
}

static int32_t
find_key(const Table *t, const KeyV *k, uint64_t h)
{
    if (t->kidx == NULL)
        return -1;
    uint32_t h32 = H32(h);
    for (uint32_t i = h32 & t->kmask;; i = (i + 1) & t->kmask) {
        uint64_t e = t->kidx[i];
        if (e == 0)
            return -1;
        if (ENTRY_HASH(e) != h32)
            continue;
        int32_t x = ENTRY_SLOT(e);
        const Slot *s = &t->s[x];
        if (s->a_lo == k->a_lo && s->b_lo == k->b_lo && s->a_port == k->a_port && s->b_port == k->b_port &&
            s->proto == k->proto && s->a_hi == k->a_hi && s->b_hi == k->b_hi)
            return x;
    }
}

static int32_t
find_fid(const Table *t, int64_t fid)
{
    if (t->fidx == NULL)
        return -1;
    uint32_t h32 = H32(fid_hash(t, fid));
    for (uint32_t i = h32 & t->fmask;; i = (i + 1) & t->fmask) {
        uint64_t e = t->fidx[i];
        if (e == 0)
            return -1;
        if (ENTRY_HASH(e) == h32 && t->s[ENTRY_SLOT(e)].fid == fid)
            return ENTRY_SLOT(e);
    }
}

/* insert slot x into an index (of 2^k entries, at most half full: there is a free place) */
static void
index_put(uint64_t *idx, uint32_t mask, uint64_t h, int32_t x)
{
    uint32_t h32 = H32(h), i = h32 & mask;
    while (idx[i] != 0)
        i = (i + 1) & mask;
    idx[i] = ENTRY(h32, x);
}

/* remove slot x (hash h) from an index: backward-shift deletion (linear probing stays tombstone-free) */
static void
index_del(uint64_t *idx, uint32_t mask, uint64_t h, int32_t x)
{
    uint32_t i = H32(h) & mask;
    while (ENTRY_SLOT(idx[i]) != x) /* x is there */
        i = (i + 1) & mask;
    for (uint32_t j = i;;) {
        j = (j + 1) & mask;
        uint64_t e = idx[j];
        if (e == 0)
            break;
        uint32_t home = ENTRY_HASH(e) & mask;
        /* e may move back to i when its home is not cyclically within (i, j] */
        int in_range = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!in_range) {
            idx[i] = e;
            i = j;
        }
    }
    idx[i] = 0;
}

/* (re)build an index of ``size`` (a power of 2) entries from the slots it holds */
static int
index_build(Table *t, int by_fid, uint32_t size)
{
    uint64_t *idx = PyMem_Calloc(size, sizeof(uint64_t));
    if (idx == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    uint32_t mask = size - 1;
    for (int32_t x = 0; x < t->top; x++) {
        const Slot *s = &t->s[x];
        if (s->status == SL_FREE || (!by_fid && s->status != SL_LIVE))
            continue;
        index_put(idx, mask, by_fid ? fid_hash(t, s->fid) : slot_key_hash(t, s), x);
    }
    if (by_fid) {
        PyMem_Free(t->fidx);
        t->fidx = idx;
        t->fmask = mask;
    } else {
        PyMem_Free(t->kidx);
        t->kidx = idx;
        t->kmask = mask;
    }
    return 0;
}

/* a free slot (the array grows by doubling), not yet in any index; -1 on error */
static int32_t
slot_alloc(Table *t)
{
    if (t->free_head < 0 && t->top == t->cap) {
        if (t->cap >= INT32_MAX / 2) {
            PyErr_SetString(PyExc_MemoryError, "the connection slot table is full");
            return -1;
        }
        int32_t cap = t->cap ? t->cap * 2 : 1024;
        Slot *s = PyMem_Realloc(t->s, sizeof(Slot) * (size_t)cap);
        if (s == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        t->s = s;
        t->cap = cap;
    }
    /* both indexes have room for one more at most half full (2^31 entries at most: slots stop at 2^30) */
    if ((size_t)(t->kcount + 1) * 2 > (size_t)t->kmask + 1 || t->kidx == NULL) {
        size_t size = t->kidx ? ((size_t)t->kmask + 1) * 2 : 2048;
        if (size > ((size_t)1 << 31) || index_build(t, 0, (uint32_t)size) < 0) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_MemoryError, "the connection slot index is full");
            return -1;
        }
    }
    if ((size_t)(t->fcount + 1) * 2 > (size_t)t->fmask + 1 || t->fidx == NULL) {
        size_t size = t->fidx ? ((size_t)t->fmask + 1) * 2 : 2048;
        if (size > ((size_t)1 << 31) || index_build(t, 1, (uint32_t)size) < 0) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_MemoryError, "the connection slot index is full");
            return -1;
        }
    }
    int32_t x;
    if (t->free_head >= 0) {
        x = t->free_head;
        t->free_head = t->s[x].next_free;
    } else {
        x = t->top++;
    }
    memset(&t->s[x], 0, sizeof(Slot));
    return x;
}

/* enter a filled slot (key, fid set) into both indexes as live */
static void
slot_enter(Table *t, int32_t x)
{
    Slot *s = &t->s[x];
    s->status = SL_LIVE;
    index_put(t->kidx, t->kmask, slot_key_hash(t, s), x);
    index_put(t->fidx, t->fmask, fid_hash(t, s->fid), x);
    t->kcount++;
    t->fcount++;
    t->live++;
}

/* out of the key index (it is no longer the key's live connection) */
static void
slot_unkey(Table *t, int32_t x)
{
    index_del(t->kidx, t->kmask, slot_key_hash(t, &t->s[x]), x);
    t->kcount--;
    t->live--;
}

static void
slot_release(Table *t, int32_t x) /* out of the id index too, and onto the free list */
{
    index_del(t->fidx, t->fmask, fid_hash(t, t->s[x].fid), x);
    t->fcount--;
    Slot *s = &t->s[x];
    s->status = SL_FREE;
    s->next_free = t->free_head;
    t->free_head = x;
}

/* meter._finish for a live slot: its id onto the finished list */
static int
slot_finish(Table *t, int32_t x, PyObject *finished)
{
    slot_unkey(t, x);
    t->s[x].status = SL_DONE;
    PyObject *fid = PyLong_FromLongLong(t->s[x].fid);
    if (fid == NULL)
        return -1;
    int rc = PyList_Append(finished, fid);
    Py_DECREF(fid);
    return rc;
}

/* meter._schedule for a slot: push (due, fid) when the earliest timer moved earlier */
static int
slot_schedule(Table *t, int32_t x, Heap *heap)
{
    Slot *s = &t->s[x];
    double due = s->attempt_at;
    if (s->delete_at < due)
        due = s->delete_at;
    if (s->last_time + s->timeout < due)
        due = s->last_time + s->timeout;
    if (s->next_interim < due)
        due = s->next_interim;
    if (!(due < s->heap_at))
        return 0;
    s->heap_at = due;
    return heap_push(heap, due, s->fid);
}

static inline int
slot_has_letter(const Slot *s, char c)
{
    return memchr(s->hist, c, s->hlen) != NULL;
}

/* a new live slot for key; its id drawn from the meter's counter; -1 on error */
static int32_t
slot_new(Table *t, const KeyV *k, Create *cr, int orig_a, double ts)
{
    PyObject *fid_o = PyIter_Next(cr->ids);
    if (fid_o == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_RuntimeError, "the id counter ended");
        return -1;
    }
    long long fid = PyLong_AsLongLong(fid_o);
    Py_DECREF(fid_o);
    if (fid == -1 && PyErr_Occurred())
        return -1;
    int32_t x = slot_alloc(t);
    if (x < 0)
        return -1;
    Slot *s = &t->s[x];
    s->a_hi = k->a_hi;
    s->a_lo = k->a_lo;
    s->b_hi = k->b_hi;
    s->b_lo = k->b_lo;
    s->proto = (uint8_t)k->proto;
    s->a_port = (int32_t)k->a_port;
    s->b_port = (int32_t)k->b_port;
    s->fid = fid;
    s->orig_a = (uint8_t)orig_a;
    s->start_ts = s->last_time = ts;
    s->attempt_at = s->delete_at = s->heap_at = INFINITY;
    s->next_interim = cr->interval > 0 ? ts + cr->interval : INFINITY;
    if (orig_a)
        make_uid(s->uid, (unsigned)k->proto, k->a_hi, k->a_lo, (unsigned)k->a_port, k->b_hi, k->b_lo,
                 (unsigned)k->b_port, ts);
    else
        make_uid(s->uid, (unsigned)k->proto, k->b_hi, k->b_lo, (unsigned)k->b_port, k->a_hi, k->a_lo,
                 (unsigned)k->a_port, ts);
    slot_enter(t, x);
    cr->created++;
    return x;
}

/* run()'s test: a TCP connection's first packet that a slot holds (a pure SYN, no payload, a window) */
static inline int
syn_slot_ok(int flags, long long plen, long long win)
{
    return (flags & (SYN | ACK | FIN | RST)) == SYN && plen == 0 && win != 0;
}

/* a SYN-only TCP connection from its first packet: what new_conn + tcp_packet + refresh + schedule
 * make of a pure SYN (tests/unit/test_flows_native.py compares) */
static int32_t
slot_new_syn(Table *t, const KeyV *k, Create *cr, const Cfg *cfg, int fa, double ts, long long seq,
             long long ip_len)
{
    double udp_inact = PyFloat_AsDouble(cfg->udp_inactivity);
    if (udp_inact == -1.0 && PyErr_Occurred())
        return -1;
    int32_t x = slot_new(t, k, cr, fa, ts); /* a SYN never flips: the sender is the originator */
    if (x < 0)
        return -1;
    Slot *s = &t->s[x];
    s->kind = 0;
    s->phase = 1;
    s->seq = (uint32_t)seq;
    s->pkts[0] = 1;
    s->ipb[0] = ip_len;
    s->hist[0] = 'S';
    s->hlen = 1;
    s->timeout = udp_inact; /* tcp_timeout stays False until a side leaves the handshake */
    if (cfg->attempt_delay)
        s->attempt_at = ts + cfg->attempt_delay;
    if (slot_schedule(t, x, cr->heap) < 0)
        return -1;
    return x;
}

static PyObject *
slot_key_tuple(const Slot *s)
{
    return Py_BuildValue("(iKKKKii)", (int)s->proto, (unsigned long long)s->a_hi, (unsigned long long)s->a_lo,
                         (unsigned long long)s->b_hi, (unsigned long long)s->b_lo, (int)s->a_port, (int)s->b_port);
}

/* the services tuple of a slot (a new reference) */
static PyObject *
slot_services(const Table *t, const Slot *s)
{
    if (s->nsvc == SVC_EXTRA) {
        PyObject *fid = PyLong_FromLongLong(s->fid);
        if (fid == NULL)
            return NULL;
        PyObject *tup = PyDict_GetItemWithError(t->extra, fid);
        Py_DECREF(fid);
        if (tup == NULL) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_KeyError, "a slot's services are missing");
            return NULL;
        }
        Py_INCREF(tup);
        return tup;
    }
    PyObject *tup = PyTuple_New(s->nsvc);
    if (tup == NULL)
        return NULL;
    for (int i = 0; i < s->nsvc; i++) {
        PyObject *name = PyList_GET_ITEM(t->names, s->svc[i]);
        Py_INCREF(name);
        PyTuple_SET_ITEM(tup, i, name);
    }
    return tup;
}

/* a UDP/ICMP/other connection at its first run of packets, as new_simple_conn makes it */
static int32_t
slot_new_simple(Table *t, const KeyV *k, Create *cr, const uint8_t *udp_ports, PyObject *const *timeouts, int fa,
                double t0)
{
    int kind = k->proto == 17 ? 1 : (k->proto == 1 || k->proto == 58) ? 2 : 3;
    double timeout = PyFloat_AsDouble(timeouts[kind - 1]);
    if (timeout == -1.0 && PyErr_Occurred())
        return -1;
    int flip = 0;
    if (kind == 1) {
        long src = fa ? k->a_port : k->b_port, dst = fa ? k->b_port : k->a_port;
        flip = ((udp_ports[src >> 3] >> (src & 7)) & 1) && !((udp_ports[dst >> 3] >> (dst & 7)) & 1);
    }
    int32_t x = slot_new(t, k, cr, fa != flip, t0);
    if (x < 0)
        return -1;
    Slot *s = &t->s[x];
    s->kind = (uint8_t)kind;
    s->timeout = timeout;
    if (flip) {
        s->hist[0] = '^';
        s->hlen = 1;
    }
    /* as meter._schedule at creation, when last_time is still the first packet's */
    double due = t0 + timeout < s->next_interim ? t0 + timeout : s->next_interim;
    s->heap_at = due;
    if (heap_push(cr->heap, due, s->fid) < 0)
        return -1;
    return x;
}

/* Conn.check_history for a slot (hseen is the history without '^') */
static int
slot_check_history(Slot *s, char c)
{
    if (slot_has_letter(s, c))
        return 0;
    if (s->hlen >= SLOT_HIST) {
        PyErr_SetString(PyExc_RuntimeError, "a slot's history is full");
        return -1;
    }
    s->hist[s->hlen++] = c;
    return 0;
}

/* Promote live slot x to a Conn (a new reference), entered in the table dict and by_id in its place,
 * by replaying what made the slot through the object code; the slot is released. */
static PyObject *
slot_promote(Table *t, int32_t x, PyObject *table, Create *cr, const Cfg *cfg, PyObject *const *timeouts)
{
    Slot snap = t->s[x]; /* the array may move below? no: nothing here allocates slots; a copy anyway */
    PyObject *key = slot_key_tuple(&snap), *fid = key ? PyLong_FromLongLong(snap.fid) : NULL;
    PyObject *services = fid ? slot_services(t, &snap) : NULL;
    PyObject *conn = NULL;
    if (services == NULL)
        goto fail;
    /* out of the slot indexes first: new_conn enters the Conn under the same key and id */
    slot_unkey(t, x);
    slot_release(t, x);
    if (snap.nsvc == SVC_EXTRA && PyDict_DelItem(t->extra, fid) < 0)
        goto fail;
    if (snap.kind == 0) {
        if ((conn = new_conn(key, snap.orig_a, SYN, snap.start_ts, table, cr, fid, snap.uid)) == NULL)
            goto fail;
        EP *o = (EP *)SLOT(conn, S_O), *r = (EP *)SLOT(conn, S_R);
        o->pkts += 1;
        o->ip_bytes += snap.ipb[0];
        if (tcp_packet(conn, 1, SYN, snap.seq, 0, 0, 1, snap.start_ts, cfg) < 0 || refresh(conn, cfg) < 0)
            goto fail;
        if (snap.phase == 2) {
            r->pkts += 1;
            r->ip_bytes += snap.ipb[1];
            if (tcp_packet(conn, 0, snap.flags2, snap.seq2, snap.ack2, 0, 1, snap.last_time, cfg) < 0 ||
                refresh(conn, cfg) < 0)
                goto fail;
        }
        if (slot_set_double(conn, S_ATTEMPT_AT, snap.attempt_at) < 0)
            goto fail;
    } else {
        if (timeouts == NULL) {
            PyErr_SetString(PyExc_TypeError, "a UDP/ICMP/other slot needs the timeouts");
            goto fail;
        }
        if ((conn = new_simple_conn(key, snap.orig_a, snap.start_ts, table, cr, NULL, timeouts, fid)) == NULL)
            goto fail;
        PyObject *sides[2] = {SLOT(conn, S_O), SLOT(conn, S_R)};
        for (int k = 0; k < 2; k++) {
            long long v[3] = {snap.pkts[k], snap.ipb[k], snap.size[k]};
            for (int c = 0; c < N_COUNTS; c++) {
                PyObject *n = PyLong_FromLongLong(v[c]);
                if (n == NULL)
                    goto fail;
                Py_XSETREF(CSLOT(sides[k], c), n);
            }
        }
        char seen[SLOT_HIST];
        int nseen = 0;
        for (int i = 0; i < snap.hlen; i++)
            if (snap.hist[i] != '^')
                seen[nseen++] = snap.hist[i];
        PyObject *h = PyUnicode_FromStringAndSize(snap.hist, snap.hlen);
        PyObject *hs = h ? PyUnicode_FromStringAndSize(seen, nseen) : NULL;
        if (hs == NULL) {
            Py_XDECREF(h);
            goto fail;
        }
        slot_set(conn, S_HISTORY, h);
        slot_set(conn, S_HSEEN, hs);
        if (slot_set_double(conn, S_LAST_TIME, snap.last_time) < 0)
            goto fail;
    }
    slot_set(conn, S_SERVICES, services);
    services = NULL;
    if (slot_set_double(conn, S_HEAP_AT, snap.heap_at) < 0)
        goto fail;
    Py_DECREF(key);
    Py_DECREF(fid);
    return conn;
fail:
    Py_XDECREF(conn);
    Py_XDECREF(key);
    Py_XDECREF(fid);
    Py_XDECREF(services);
    return NULL;
}

/* timer_due for a slot (tcp.timer_due: a SYN-only connection has no partial/delete timer and ends
 * at its attempt timer; the others end idle): 1 when it is removed, 0 when it lives on */
static int
slot_timer_due(Slot *s, double now)
{
    double idle_at = s->last_time + s->timeout;
    if (s->kind != 0)
        return idle_at < now;
    for (;;) {
        double due = s->attempt_at; /* min(attempt_at, delete_at, idle_at): no partial close here */
        if (s->delete_at < due)
            due = s->delete_at;
        if (idle_at < due)
            due = idle_at;
        if (due >= now)
            return 0;
        if (due == idle_at || due == s->delete_at)
            return 1;
        s->attempt_at = INFINITY;
        if (s->phase == 1) /* SYN_SENT and the responder silent: S0 */
            return 1;
        /* refused: the responder is RESET, so the attempt timer finds nothing; the close timer ends it */
    }
}

/* run()'s test: the packet a SYN slot takes without becoming a Conn (the responder's RST or RST-ACK,
 * no payload, before any timer of the slot fell due: meter._packet's quick test) */
static inline int
rst_slot_ok(const Slot *s, int fa, int flags, long long plen, double ts)
{
    int f = flags & (SYN | ACK | FIN | RST);
    return s->kind == 0 && s->phase == 1 && fa != s->orig_a && (f == RST || f == (RST | ACK)) && plen == 0 &&
           !(s->attempt_at < ts) && !(s->delete_at < ts) && !(s->last_time + s->timeout < ts);
}

/* what tcp_packet + refresh + run()'s scheduling make of that RST: the responder RESET (history 'r'),
 * the TCP inactivity timeout, the close timer */
static int
slot_rst(Table *t, int32_t x, Heap *heap, const Cfg *cfg, int flags, long long seq, long long ack, long long ip_len,
         double ts)
{
    double tcp_inact = PyFloat_AsDouble(cfg->tcp_inactivity);
    if (tcp_inact == -1.0 && PyErr_Occurred())
        return -1;
    Slot *s = &t->s[x];
    s->phase = 2;
    s->flags2 = (uint8_t)flags;
    s->seq2 = (uint32_t)seq;
    s->ack2 = (uint32_t)ack;
    s->pkts[1] += 1;
    s->ipb[1] += ip_len;
    s->last_time = ts;
    s->hist[s->hlen++] = 'r';
    s->timeout = tcp_inact;
    if (ts + cfg->close_delay < s->delete_at)
        s->delete_at = ts + cfg->close_delay;
    if (s->heap_at == INFINITY || s->attempt_at < s->heap_at || s->delete_at < s->heap_at)
        return slot_schedule(t, x, heap);
    return 0;
}

/* ---- records from slots -------------------------------------------------------------------------- */

static PyObject *
slot_addr_text(uint64_t hi, uint64_t lo, PyObject *ip_text)
{
    if (hi == 0 && (lo >> 32) == 0xFFFF) {
        char text[16], *p = text;
        for (int shift = 24; shift >= 0; shift -= 8) {
            p = put_octet(p, (unsigned)(lo >> shift) & 255);
            *p++ = '.';
        }
        return PyUnicode_FromStringAndSize(text, p - 1 - text);
    }
    PyObject *addr = Py_BuildValue("(KK)", (unsigned long long)hi, (unsigned long long)lo);
    if (addr == NULL)
        return NULL;
    PyObject *text = PyObject_CallOneArg(ip_text, addr);
    Py_DECREF(addr);
    return text;
}

/* A record's keys in Conn.record's order for each set of optional fields (bit 0 service, 1 duration
 * and byte counts, 2 history, 3 interim), values None: a record is a copy of one, its values then
 * replaced (a dict copy and replacements cost less than building the dict key by key). */
static PyObject *record_templates[16];

static PyObject *
record_template(int bits)
{
    if (record_templates[bits] != NULL)
        return record_templates[bits];
    static const int order[N_KEYS] = {K_PATH, K_TS, K_UID, K_ORIG_H, K_ORIG_P, K_RESP_H, K_RESP_P, K_PROTO,
                                      K_SERVICE, K_DURATION, K_ORIG_BYTES, K_RESP_BYTES, K_CONN_STATE, K_MISSED,
                                      K_HISTORY, K_ORIG_PKTS, K_ORIG_IPB, K_RESP_PKTS, K_RESP_IPB, K_INTERIM};
    PyObject *d = PyDict_New();
    if (d == NULL)
        return NULL;
    for (int i = 0; i < N_KEYS; i++) {
        int k = order[i];
        if ((k == K_SERVICE && !(bits & 1)) ||
            ((k == K_DURATION || k == K_ORIG_BYTES || k == K_RESP_BYTES) && !(bits & 2)) ||
            (k == K_HISTORY && !(bits & 4)) || (k == K_INTERIM && !(bits & 8)))
            continue;
        if (PyDict_SetItem(d, rec_keys[k], Py_None) < 0) {
            Py_DECREF(d);
            return NULL;
        }
    }
    record_templates[bits] = d;
    return d;
}

/* Conn.record of slot x */
static PyObject *
slot_record(const Table *t, int32_t x, int interim, PyObject *ip_text)
{
    const Slot *s = &t->s[x];
    int oa = s->orig_a;
    uint64_t oh = oa ? s->a_hi : s->b_hi, ol = oa ? s->a_lo : s->b_lo;
    uint64_t rh = oa ? s->b_hi : s->a_hi, rl = oa ? s->b_lo : s->a_lo;
    long op = oa ? s->a_port : s->b_port, rp = oa ? s->b_port : s->a_port;
    PyObject *services = NULL;
    if (s->nsvc) {
        if ((services = slot_services(t, s)) == NULL)
            return NULL;
    }
    int bits = (services != NULL && PyTuple_GET_SIZE(services) ? 1 : 0) | (s->last_time - s->start_ts > 0 ? 2 : 0) |
               (s->hlen ? 4 : 0) | (interim ? 8 : 0);
    PyObject *tmpl = record_template(bits);
    PyObject *rec = tmpl != NULL ? PyDict_Copy(tmpl) : NULL;
    if (rec == NULL) {
        Py_XDECREF(services);
        return NULL;
    }
    if (services != NULL) {
        int rc = PyTuple_GET_SIZE(services) ? put_new(rec, K_SERVICE, PyUnicode_Join(str_comma, services)) : 0;
        Py_DECREF(services);
        if (rc < 0)
            goto fail;
    }
    if (PyDict_SetItem(rec, rec_keys[K_PATH], str_conn) < 0 ||
        put_new(rec, K_TS, PyFloat_FromDouble(s->start_ts)) < 0 ||
        put_new(rec, K_UID, PyUnicode_FromStringAndSize(s->uid, 18)) < 0 ||
        put_new(rec, K_ORIG_H, slot_addr_text(oh, ol, ip_text)) < 0 ||
        put_new(rec, K_ORIG_P, PyLong_FromLong(op)) < 0 ||
        put_new(rec, K_RESP_H, slot_addr_text(rh, rl, ip_text)) < 0 ||
        put_new(rec, K_RESP_P, PyLong_FromLong(rp)) < 0 ||
        PyDict_SetItem(rec, rec_keys[K_PROTO], kind_names[s->kind]) < 0)
        goto fail;
    s = &t->s[x]; /* ip_text is Python code: re-read (it cannot reach the table, but be safe) */
    double duration = s->last_time - s->start_ts;
    if (duration > 0) {
        /* TCP: a SYN and a RST carry no data (Size() 0 either side); the others count payload bytes */
        if (put_new(rec, K_DURATION, PyFloat_FromDouble(duration)) < 0 ||
            put_new(rec, K_ORIG_BYTES, PyLong_FromLongLong(s->kind == 0 ? 0 : s->size[0])) < 0 ||
            put_new(rec, K_RESP_BYTES, PyLong_FromLongLong(s->kind == 0 ? 0 : s->size[1])) < 0)
            goto fail;
    }
    const char *state = "OTH";
    if (s->kind == 0)
        state = s->phase == 2 ? "REJ" : "S0"; /* SYN_SENT, the responder RESET or INACTIVE */
    else if (s->kind == 1)
        state = s->pkts[0] ? (s->pkts[1] ? "SF" : "S0") : (s->pkts[1] ? "SHR" : "OTH");
    if (put_new(rec, K_CONN_STATE, state_text(state)) < 0 ||
        put_new(rec, K_MISSED, PyLong_FromLong(0)) < 0) /* SYN: ack == start, last == start + 1; RST: ack < last */
        goto fail;
    if (s->hlen && put_new(rec, K_HISTORY, PyUnicode_FromStringAndSize(s->hist, s->hlen)) < 0)
        goto fail;
    if (put_new(rec, K_ORIG_PKTS, PyLong_FromLongLong(s->pkts[0])) < 0 ||
        put_new(rec, K_ORIG_IPB, PyLong_FromLongLong(s->ipb[0])) < 0 ||
        put_new(rec, K_RESP_PKTS, PyLong_FromLongLong(s->pkts[1])) < 0 ||
        put_new(rec, K_RESP_IPB, PyLong_FromLongLong(s->ipb[1])) < 0)
        goto fail;
    if (interim && PyDict_SetItem(rec, rec_keys[K_INTERIM], Py_True) < 0)
        goto fail;
    return rec;
fail:
    Py_DECREF(rec);
    return NULL;
}

/* the slot of a finished-list entry that is an id (an int), else -1 (with an error if an int names
 * no finished slot) */
static int32_t
finished_slot(const Table *t, PyObject *item)
{
    if (!PyLong_CheckExact(item))
        return -1;
    long long fid = PyLong_AsLongLong(item);
    if (fid == -1 && PyErr_Occurred())
        return -1;
    int32_t x = t != NULL ? find_fid(t, fid) : -1;
    if (x < 0)
        PyErr_SetString(PyExc_KeyError, "a finished connection id names no slot");
    return x;
}

/* ---- Table's Python methods (the meter's own use: FlowView, eviction, flush, forget) ----------- */

static PyObject *
table_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    unsigned long long seed = 0;
    if (!PyArg_ParseTuple(args, "|K:Table", &seed))
        return NULL;
    Table *t = (Table *)type->tp_alloc(type, 0);
    if (t == NULL)
        return NULL;
    t->free_head = -1;
    t->seed = mix64(seed + 0x9E3779B97F4A7C15ULL);
    t->names = PyList_New(0);
    t->extra = PyDict_New();
    if (t->names == NULL || t->extra == NULL) {
        Py_DECREF(t);
        return NULL;
    }
    return (PyObject *)t;
}

static void
table_dealloc(Table *t)
{
    PyMem_Free(t->s);
    PyMem_Free(t->kidx);
    PyMem_Free(t->fidx);
    Py_XDECREF(t->names);
    Py_XDECREF(t->extra);
    Py_TYPE(t)->tp_free((PyObject *)t);
}

static Py_ssize_t
table_len(Table *t)
{
    return t->live;
}

static int
fid_arg(PyObject *arg, long long *fid)
{
    *fid = PyLong_AsLongLong(arg);
    return *fid == -1 && PyErr_Occurred() ? -1 : 0;
}

/* The slot of a Python fid: 0 and *x (-1 when no slot has it), or -1 with an error set. */
static int
slot_of(const Table *t, PyObject *arg, long long *fid, int32_t *x)
{
    if (fid_arg(arg, fid) < 0)
        return -1;
    *x = find_fid(t, *fid);
    return 0;
}

/* uid(fid) -> str or None (a live or recently finished slot) */
static PyObject *
table_uid(Table *t, PyObject *arg)
{
    long long fid;
    int32_t x;
    if (slot_of(t, arg, &fid, &x) < 0)
        return NULL;
    if (x < 0)
        Py_RETURN_NONE;
    return PyUnicode_FromStringAndSize(t->s[x].uid, 18);
}

/* endpoints(fid) -> ((orig_hi, orig_lo), orig_p, (resp_hi, resp_lo), resp_p, kind) or None */
static PyObject *
table_endpoints(Table *t, PyObject *arg)
{
    long long fid;
    int32_t x;
    if (slot_of(t, arg, &fid, &x) < 0)
        return NULL;
    if (x < 0)
        Py_RETURN_NONE;
    const Slot *s = &t->s[x];
    int oa = s->orig_a;
    return Py_BuildValue("((KK)i(KK)ii)", (unsigned long long)(oa ? s->a_hi : s->b_hi),
                         (unsigned long long)(oa ? s->a_lo : s->b_lo), (int)(oa ? s->a_port : s->b_port),
                         (unsigned long long)(oa ? s->b_hi : s->a_hi), (unsigned long long)(oa ? s->b_lo : s->a_lo),
                         (int)(oa ? s->b_port : s->a_port), (int)s->kind);
}

/* add_service(fid, name) -> bool: FlowView.add_service for a slot (name lower-cased already) */
static PyObject *
table_add_service(Table *t, PyObject *const *args, Py_ssize_t nargs)
{
    long long fid;
    if (nargs != 2 || !PyUnicode_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "add_service(fid, name: str)");
        return NULL;
    }
    int32_t x;
    if (slot_of(t, args[0], &fid, &x) < 0)
        return NULL;
    if (x < 0)
        Py_RETURN_FALSE;
    PyObject *name = args[1];
    Slot *s = &t->s[x];
    PyObject *have = slot_services(t, s);
    if (have == NULL)
        return NULL;
    int in = PySequence_Contains(have, name);
    if (in != 0) {
        Py_DECREF(have);
        if (in < 0)
            return NULL;
        Py_RETURN_TRUE;
    }
    Py_ssize_t at = -1, n = PyList_GET_SIZE(t->names);
    for (Py_ssize_t i = 0; i < n && at < 0; i++) {
        int eq = PyObject_RichCompareBool(PyList_GET_ITEM(t->names, i), name, Py_EQ);
        if (eq < 0) {
            Py_DECREF(have);
            return NULL;
        }
        if (eq)
            at = i;
    }
    if (at < 0 && n < 255) {
        if (PyList_Append(t->names, name) < 0) {
            Py_DECREF(have);
            return NULL;
        }
        at = n;
    }
    s = &t->s[x];
    if (at >= 0 && s->nsvc < 4) {
        s->svc[s->nsvc++] = (uint8_t)at;
        Py_DECREF(have);
        Py_RETURN_TRUE;
    }
    /* more than 4 services or 255 names: the whole tuple in extra */
    PyObject *one = PyTuple_Pack(1, name), *all = one ? PySequence_Concat(have, one) : NULL;
    Py_XDECREF(one);
    Py_DECREF(have);
    PyObject *fid_o = all ? PyLong_FromLongLong(fid) : NULL;
    int rc = fid_o ? PyDict_SetItem(t->extra, fid_o, all) : -1;
    Py_XDECREF(fid_o);
    Py_XDECREF(all);
    if (rc < 0)
        return NULL;
    t->s[x].nsvc = SVC_EXTRA;
    Py_RETURN_TRUE;
}

/* finish(fid, finished) -> None: meter._finish for a live slot (eviction, flush) */
static PyObject *
table_finish(Table *t, PyObject *args)
{
    long long fid;
    PyObject *finished;
    if (!PyArg_ParseTuple(args, "LO!:finish", &fid, &PyList_Type, &finished))
        return NULL;
    int32_t x = find_fid(t, fid);
    if (x < 0 || t->s[x].status != SL_LIVE) {
        PyErr_SetString(PyExc_KeyError, "finish(): no live slot with this id");
        return NULL;
    }
    if (slot_finish(t, x, finished) < 0)
        return NULL;
    Py_RETURN_NONE;
}

typedef struct {
    int answered;
    double last_time;
    int64_t fid;
    int32_t x;           /* the slot, or -1: a Conn */
    PyObject *conn;      /* borrowed from the caller's list */
} Victim;

static int
cmp_victim(const void *pa, const void *pb)
{
    const Victim *a = pa, *b = pb;
    if (a->answered != b->answered)
        return a->answered < b->answered ? -1 : 1;
    if (a->last_time != b->last_time)
        return a->last_time < b->last_time ? -1 : 1;
    return a->fid < b->fid ? -1 : a->fid > b->fid;
}

/* evict(k, conn_victims, table, finished) -> (evicted, unanswered): meter._evict_if_full's choice
 * and finishing of the k connections with the smallest (answered, last_time, fid), among the live
 * slots and conn_victims (the k smallest Conns as ((answered, last_time, fid), conn), sorted) */
static PyObject *
table_evict(Table *t, PyObject *args)
{
    Py_ssize_t k;
    PyObject *conn_victims, *table, *finished;
    if (!PyArg_ParseTuple(args, "nO!O!O!:evict", &k, &PyList_Type, &conn_victims, &PyDict_Type, &table, &PyList_Type,
                          &finished))
        return NULL;
    Py_ssize_t nc = PyList_GET_SIZE(conn_victims), n = 0;
    Victim *v = PyMem_Malloc(sizeof(Victim) * (size_t)(t->live + nc + 1));
    if (v == NULL)
        return PyErr_NoMemory();
    for (int32_t x = 0; x < t->top; x++) {
        const Slot *s = &t->s[x];
        if (s->status == SL_LIVE)
            v[n++] = (Victim){s->pkts[1] > 0, s->last_time, s->fid, x, NULL};
    }
    for (Py_ssize_t i = 0; i < nc; i++) {
        PyObject *item = PyList_GET_ITEM(conn_victims, i), *key, *conn;
        int answered;
        double last_time;
        long long fid;
        if (!PyTuple_Check(item) || !PyArg_ParseTuple(item, "OO", &key, &conn) ||
            !PyArg_ParseTuple(key, "pdL", &answered, &last_time, &fid) || Py_TYPE(conn) != conn_type) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "evict(): conn_victims holds ((answered, last_time, fid), Conn)");
            PyMem_Free(v);
            return NULL;
        }
        v[n++] = (Victim){answered, last_time, fid, -1, conn};
    }
    qsort(v, (size_t)n, sizeof(Victim), cmp_victim);
    Py_ssize_t take = k < n ? k : n, unanswered = 0;
    for (Py_ssize_t i = 0; i < take; i++) {
        unanswered += !v[i].answered;
        int rc = v[i].x >= 0 ? slot_finish(t, v[i].x, finished) : finish_conn(v[i].conn, table, finished);
        if (rc < 0) {
            PyMem_Free(v);
            return NULL;
        }
    }
    PyMem_Free(v);
    return Py_BuildValue("(nn)", take, unanswered);
}

/* live_fids() -> [fid] of the live slots */
static PyObject *
table_live_fids(Table *t, PyObject *unused)
{
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    for (int32_t x = 0; x < t->top; x++) {
        if (t->s[x].status != SL_LIVE)
            continue;
        PyObject *fid = PyLong_FromLongLong(t->s[x].fid);
        if (fid == NULL || PyList_Append(out, fid) < 0) {
            Py_XDECREF(fid);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(fid);
    }
    return out;
}

/* After a storm, give the memory back: when at most a quarter of the slot array is in use (live or
 * finished, not yet forgotten), move the slots into an array twice their number (1,024 at least)
 * and rebuild both indexes at most a quarter full. Nothing changes when an allocation fails. Slot
 * numbers change: only between calls (ids, not slot numbers, are what outlives a call). */
static void
table_compact(Table *t)
{
    Py_ssize_t used = t->fcount; /* every slot not free is in the id index */
    if (t->cap <= 4096 || (size_t)used * 4 >= (size_t)t->cap)
        return;
    size_t cap = 1024, ksize = 2048, fsize = 2048;
    while (cap < (size_t)used * 2)
        cap *= 2;
    while (ksize < (size_t)t->kcount * 4)
        ksize *= 2;
    while (fsize < (size_t)t->fcount * 4)
        fsize *= 2;
    Slot *slots = PyMem_Malloc(sizeof(Slot) * cap);
    uint64_t *kidx = PyMem_Calloc(ksize, sizeof(uint64_t)), *fidx = PyMem_Calloc(fsize, sizeof(uint64_t));
    if (slots == NULL || kidx == NULL || fidx == NULL) {
        PyMem_Free(slots);
        PyMem_Free(kidx);
        PyMem_Free(fidx);
        return;
    }
    int32_t n = 0;
    for (int32_t x = 0; x < t->top; x++) {
        const Slot *s = &t->s[x];
        if (s->status == SL_FREE)
            continue;
        slots[n] = *s;
        if (s->status == SL_LIVE)
            index_put(kidx, (uint32_t)(ksize - 1), slot_key_hash(t, s), n);
        index_put(fidx, (uint32_t)(fsize - 1), fid_hash(t, s->fid), n);
        n++;
    }
    PyMem_Free(t->s);
    PyMem_Free(t->kidx);
    PyMem_Free(t->fidx);
    t->s = slots;
    t->cap = (int32_t)cap;
    t->top = n;
    t->free_head = -1;
    t->kidx = kidx;
    t->kmask = (uint32_t)(ksize - 1);
    t->fidx = fidx;
    t->fmask = (uint32_t)(fsize - 1);
}

/* forget(fids) -> None: release the finished slots of fids (meter._drain's clean-up) */
static PyObject *
table_forget(Table *t, PyObject *fids)
{
    if (!PyList_Check(fids)) {
        PyErr_SetString(PyExc_TypeError, "forget() takes a list");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(fids); i++) {
        long long fid;
        int32_t x;
        if (slot_of(t, PyList_GET_ITEM(fids, i), &fid, &x) < 0)
            return NULL;
        if (x < 0 || t->s[x].status != SL_DONE)
            continue;
        if (t->s[x].nsvc == SVC_EXTRA) {
            PyObject *fid_o = PyList_GET_ITEM(fids, i);
            if (PyDict_DelItem(t->extra, fid_o) < 0)
                return NULL;
        }
        slot_release(t, x);
    }
    table_compact(t);
    Py_RETURN_NONE;
}

/* sort_key(fid) -> meter._drain's sort key of a slot (start_ts, proto, orig_h, orig_p, resp_h, resp_p) */
static PyObject *
table_sort_key(Table *t, PyObject *arg)
{
    long long fid;
    int32_t x;
    if (slot_of(t, arg, &fid, &x) < 0)
        return NULL;
    if (x < 0) {
        PyErr_SetString(PyExc_KeyError, "sort_key(): no slot with this id");
        return NULL;
    }
    const Slot *s = &t->s[x];
    int oa = s->orig_a;
    return Py_BuildValue("(di(KK)i(KK)i)", s->start_ts, (int)s->proto, (unsigned long long)(oa ? s->a_hi : s->b_hi),
                         (unsigned long long)(oa ? s->a_lo : s->b_lo), (int)(oa ? s->a_port : s->b_port),
                         (unsigned long long)(oa ? s->b_hi : s->a_hi), (unsigned long long)(oa ? s->b_lo : s->a_lo),
                         (int)(oa ? s->b_port : s->a_port));
}

/* nbytes() -> int: the table's own memory (slots array and both indexes) */
static PyObject *
table_nbytes(Table *t, PyObject *unused)
{
    size_t n = sizeof(Slot) * (size_t)t->cap;
    if (t->kidx)
        n += sizeof(uint64_t) * ((size_t)t->kmask + 1);
    if (t->fidx)
        n += sizeof(uint64_t) * ((size_t)t->fmask + 1);
    return PyLong_FromSize_t(n);
}

static PyMethodDef table_methods[] = {
    {"uid", (PyCFunction)table_uid, METH_O, "uid(fid) -> str or None."},
    {"endpoints", (PyCFunction)table_endpoints, METH_O, "endpoints(fid) -> (orig_h, orig_p, resp_h, resp_p, kind) or None."},
    {"add_service", (PyCFunction)(void (*)(void))table_add_service, METH_FASTCALL, "add_service(fid, name) -> found."},
    {"finish", (PyCFunction)table_finish, METH_VARARGS, "finish(fid, finished): finish a live slot."},
    {"evict", (PyCFunction)table_evict, METH_VARARGS, "evict(k, conn_victims, table, finished) -> (evicted, unanswered)."},
    {"live_fids", (PyCFunction)table_live_fids, METH_NOARGS, "live_fids() -> ids of the live slots."},
    {"forget", (PyCFunction)table_forget, METH_O, "forget(fids): release the finished slots of fids."},
    {"sort_key", (PyCFunction)table_sort_key, METH_O, "sort_key(fid) -> the finished-order key of a slot."},
    {"nbytes", (PyCFunction)table_nbytes, METH_NOARGS, "nbytes() -> bytes held by the slot table."},
    {NULL},
};

static PySequenceMethods table_as_sequence = {.sq_length = (lenfunc)table_len};

static PyTypeObject TableType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "wardwatch.ingest.flows._tcprun.Table",
    .tp_basicsize = sizeof(Table),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Connections in fixed-size C slots (SYN-only TCP, UDP/ICMP/other), by key and by id.",
    .tp_new = table_new,
    .tp_dealloc = (destructor)table_dealloc,
    .tp_methods = table_methods,
    .tp_as_sequence = &table_as_sequence,
};
