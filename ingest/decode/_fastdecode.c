/* Per-frame C decoding of the most common frames, ahead of the numpy fast path (fastpath.py).
 *
 * Our own C: the numpy fast path makes ~100 passes over each 8192-frame chunk and was the biggest
 * cost every sensor worker pays for the whole capture (each worker decodes every frame). This
 * decodes, in one pass, exactly the subset of the numpy fast path's frames that need no tunnel
 * handling: Ethernet (at most one 802.1Q tag), Linux SLL or raw IP; IPv4 without fragmentation or
 * IPv6 whose next header is the transport; TCP, UDP not on a tunnel port, ICMP/ICMPv6. The rules
 * and the values written are those of fastpath._decode_chunk/_network, so a frame gives the same
 * columns whichever of the two decodes it; every frame not accepted here is left to numpy (and
 * from there to the slow path). fastpath.py runs numpy alone when this module is not built, and
 * tests/unit/test_sensor_native_decode.py checks that both ways give identical batches.
 *
 * Input may be corrupt anywhere: a frame is read only within its caplen, and a frame whose caplen
 * runs past the buffer is left to numpy.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#include "../_native.h" /* shared buffer checks */

#define WINDOW 80 /* fastpath._WINDOW: transport headers must start within it (l4 + 16 <= 80) */
#define V4_MAPPED_LO_PREFIX 0x0000FFFF00000000ULL
/* Frames lie hundreds of bytes apart in a buffer far bigger than the caches: asking for the headers
 * a few frames ahead overlaps those memory waits. */
#define PREFETCH_FRAMES 8
#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(addr) __builtin_prefetch(addr)
#else
#define PREFETCH(addr) ((void)0)
#endif

enum {
    LT_ETHERNET = 1, LT_RAW_OPENBSD = 12, LT_RAW_BSD = 14, LT_RAW = 101, LT_LINUX_SLL = 113,
    LT_IPV4 = 228, LT_IPV6 = 229,
};
enum { ETH_IPV4 = 0x0800, ETH_IPV6 = 0x86DD, ETH_VLAN = 0x8100 };

/* Output columns, in fastpath.COLUMNS order, with their item sizes. */
enum {
    C_IP_VERSION, C_SRC_HI, C_SRC_LO, C_DST_HI, C_DST_LO, C_PROTO, C_SPORT, C_DPORT, C_IP_LEN,
    C_PAYLOAD_OFF, C_PAYLOAD_LEN, C_PAYLOAD_CAP, C_TCP_FLAGS, C_TCP_SEQ, C_TCP_ACK, C_TCP_WIN,
    C_VLAN, C_TUNNEL, N_COLUMNS
};
static const Py_ssize_t ITEM_SIZE[N_COLUMNS] = {1, 8, 8, 8, 8, 1, 2, 2, 4, 8, 4, 4, 1, 4, 4, 2, 4, 1};
static const char *KIND[N_COLUMNS] = {"u", "u", "u", "u", "u", "u", "u", "u", "i", "i", "i", "i",
                                      "u", "u", "u", "u", "i", "u"};
static const char *COLUMN_NAME[N_COLUMNS] = {
    "ip_version", "src_hi", "src_lo", "dst_hi", "dst_lo", "proto", "sport", "dport", "ip_len",
    "payload_off", "payload_len", "payload_cap", "tcp_flags", "tcp_seq", "tcp_ack", "tcp_win", "vlan",
    "tunnel",
};

static inline uint32_t
be16(const unsigned char *p)
{
    return ((uint32_t)p[0] << 8) | (uint32_t)p[1];
}

static inline uint32_t
be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static inline uint64_t
be64(const unsigned char *p)
{
    return ((uint64_t)be32(p) << 32) | (uint64_t)be32(p + 4);
}

/* An array read or written through a raw typed pointer (see _native.h); n < 0: any length. */
static int
get_array(PyObject *obj, Py_buffer *b, const char *kinds, Py_ssize_t item, Py_ssize_t n, int writable,
          const char *name)
{
    return ww_get_array(obj, b, kinds, item, n, n < 0 ? WW_ANY_LENGTH : WW_EXACTLY, writable, name);
}

PyDoc_STRVAR(decode_frames_doc,
"decode_frames(buf, offset, caplen, linktype, reject_ports, columns, done) -> accepted\n\n"
"offset int64, caplen int32, linktype uint16 (n frames each); reject_ports: 8192-byte bitmap of UDP\n"
"ports left to numpy (tunnels); columns: the 18 writable arrays of fastpath.COLUMNS (n rows);\n"
"done: writable bool array (n), set for the frames decoded here. Frames not accepted are untouched.\n"
"An array of another dtype is a TypeError; one of another length a ValueError.");

static PyObject *
decode_frames(PyObject *self, PyObject *args)
{
    /* in[]: offset, caplen, linktype, done; cols[]: the output columns */
    Py_buffer buf, ports, in[4];
    Py_buffer cols[N_COLUMNS];
    PyObject *in_obj[4], *columns;
    PyObject *result = NULL;
    int got_in = 0, got_cols = 0;
    static const char *in_kind[4] = {"i", "i", "u", "?u"};
    static const Py_ssize_t in_item[4] = {8, 4, 2, 1};
    static const char *in_name[4] = {"offset", "caplen", "linktype", "done"};

    if (!PyArg_ParseTuple(args, "y*OOOy*OO", &buf, &in_obj[0], &in_obj[1], &in_obj[2], &ports, &columns,
                          &in_obj[3]))
        return NULL;
    Py_ssize_t n = -1; /* the offsets' length, which the other arrays must have */
    for (; got_in < 4; got_in++) {
        if (get_array(in_obj[got_in], &in[got_in], in_kind[got_in], in_item[got_in], n, got_in == 3,
                      in_name[got_in]) < 0)
            goto done;
        if (got_in == 0)
            n = in[0].len / 8;
    }
    if (ports.len != 8192) {
        PyErr_SetString(PyExc_ValueError, "decode_frames: reject_ports must be an 8192-byte bitmap");
        goto done;
    }
    if (!PyTuple_Check(columns) || PyTuple_GET_SIZE(columns) != N_COLUMNS) {
        PyErr_SetString(PyExc_ValueError, "decode_frames: columns must be a tuple of 18 arrays");
        goto done;
    }
    for (; got_cols < N_COLUMNS; got_cols++)
        if (get_array(PyTuple_GET_ITEM(columns, got_cols), &cols[got_cols], KIND[got_cols],
                      ITEM_SIZE[got_cols], n, 1, COLUMN_NAME[got_cols]) < 0)
            goto done;
    {
        const unsigned char *p = (const unsigned char *)buf.buf;
        const int64_t size = (int64_t)buf.len;
        const int64_t *offset = (const int64_t *)in[0].buf;
        const int32_t *caplen = (const int32_t *)in[1].buf;
        const uint16_t *linktype = (const uint16_t *)in[2].buf;
        const unsigned char *reject = (const unsigned char *)ports.buf;
        unsigned char *is_done = (unsigned char *)in[3].buf;
        uint8_t *o_version = cols[C_IP_VERSION].buf;
        uint64_t *o_src_hi = cols[C_SRC_HI].buf, *o_src_lo = cols[C_SRC_LO].buf;
        uint64_t *o_dst_hi = cols[C_DST_HI].buf, *o_dst_lo = cols[C_DST_LO].buf;
        uint8_t *o_proto = cols[C_PROTO].buf;
        uint16_t *o_sport = cols[C_SPORT].buf, *o_dport = cols[C_DPORT].buf;
        int32_t *o_ip_len = cols[C_IP_LEN].buf;
        int64_t *o_payload_off = cols[C_PAYLOAD_OFF].buf;
        int32_t *o_payload_len = cols[C_PAYLOAD_LEN].buf, *o_payload_cap = cols[C_PAYLOAD_CAP].buf;
        uint8_t *o_flags = cols[C_TCP_FLAGS].buf;
        uint32_t *o_seq = cols[C_TCP_SEQ].buf, *o_ack = cols[C_TCP_ACK].buf;
        uint16_t *o_win = cols[C_TCP_WIN].buf;
        int32_t *o_vlan = cols[C_VLAN].buf;
        uint8_t *o_tunnel = cols[C_TUNNEL].buf;
        Py_ssize_t accepted = 0;

        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t i = 0; i < n; i++) {
            if (i + PREFETCH_FRAMES < n) {
                const int64_t ahead = offset[i + PREFETCH_FRAMES];
                if (ahead >= 0 && ahead <= size - 64) { /* not ahead + 64: it can overflow */
                    PREFETCH(p + ahead);
                    PREFETCH(p + ahead + 63);
                }
            }
            const int64_t off = offset[i];
            const int64_t cap = caplen[i];
            /* compared without computing off + cap, which overflows for a huge offset */
            if (off < 0 || cap < 0 || off > size || cap > size - off)
                continue;
            const unsigned char *f = p + off;
            const unsigned lt = linktype[i];
            int64_t l3;
            uint32_t et;
            int32_t vlan = -1;
            if (lt == LT_ETHERNET) {
                if (cap < 14 + 20)
                    continue;
                et = be16(f + 12);
                l3 = 14;
                if (et == ETH_VLAN) {
                    vlan = (int32_t)(be16(f + 14) & 0x0FFF);
                    et = be16(f + 16);
                    l3 = 18;
                }
            } else if (lt == LT_LINUX_SLL) {
                if (cap < 16 + 20)
                    continue;
                et = be16(f + 14);
                l3 = 16;
            } else if (lt == LT_IPV4 || lt == LT_IPV6 || lt == LT_RAW || lt == LT_RAW_OPENBSD ||
                       lt == LT_RAW_BSD) {
                if (cap < 20)
                    continue;
                l3 = 0;
                if (lt == LT_IPV4)
                    et = ETH_IPV4;
                else if (lt == LT_IPV6)
                    et = ETH_IPV6;
                else
                    et = (f[0] >> 4) == 4 ? ETH_IPV4 : (f[0] >> 4) == 6 ? ETH_IPV6 : 0;
            } else {
                continue;
            }

            /* Network layer. */
            if (l3 + 20 > cap)
                continue;
            const unsigned char *ip = f + l3;
            const unsigned version = ip[0] >> 4;
            int64_t ip_len, l4;
            unsigned proto, is6;
            uint64_t src_hi, src_lo, dst_hi, dst_lo;
            if (et == ETH_IPV4 && version == 4) {
                const int64_t ihl = (int64_t)(ip[0] & 0x0F) * 4;
                const int64_t total = be16(ip + 2);
                proto = ip[9];
                if (ihl < 20 || total < ihl || (be16(ip + 6) & 0x3FFF) != 0 || l3 + ihl > cap)
                    continue;
                if (proto != 6 && proto != 17 && proto != 1)
                    continue;
                is6 = 0;
                ip_len = total;
                l4 = l3 + ihl;
                src_hi = dst_hi = 0;
                src_lo = (uint64_t)be32(ip + 12) | V4_MAPPED_LO_PREFIX;
                dst_lo = (uint64_t)be32(ip + 16) | V4_MAPPED_LO_PREFIX;
            } else if (et == ETH_IPV6 && version == 6 && l3 + 40 <= cap) {
                const int64_t plen = be16(ip + 4);
                proto = ip[6];
                if (plen == 0 || (proto != 6 && proto != 17 && proto != 58))
                    continue;
                is6 = 1;
                ip_len = 40 + plen;
                l4 = l3 + 40;
                src_hi = be64(ip + 8);
                src_lo = be64(ip + 16);
                dst_hi = be64(ip + 24);
                dst_lo = be64(ip + 32);
            } else {
                continue;
            }
            if (l4 + 16 > WINDOW)
                continue; /* longer IPv4 options: numpy rejects these too, the slow path takes them */
            const int64_t ip_end = l3 + ip_len < cap ? l3 + ip_len : cap;

            /* Transport layer: every accepted header lies within ip_end (so within caplen). */
            if (l4 + 8 > ip_end)
                continue;
            const unsigned char *t = f + l4;
            uint32_t sport = be16(t), dport = be16(t + 2);
            uint32_t flags = 0, seq = 0, ack = 0, win = 0;
            int64_t header, payload_len;
            const int64_t ip_payload = ip_len - (l4 - l3);
            if (proto == 6) {
                if (l4 + 20 > ip_end)
                    continue;
                header = (int64_t)(t[12] >> 4) * 4;
                if (header < 20 || l4 + header > ip_end)
                    continue;
                payload_len = ip_payload - header;
                seq = be32(t + 4);
                ack = be32(t + 8);
                flags = t[13];
                win = be16(t + 14);
            } else if (proto == 17) {
                const int64_t ulen = be16(t + 4);
                if (ulen < 8)
                    continue;
                if ((reject[sport >> 3] >> (sport & 7)) & 1 || (reject[dport >> 3] >> (dport & 7)) & 1)
                    continue;
                header = 8;
                payload_len = (ulen < ip_payload ? ulen : ip_payload) - 8;
            } else { /* ICMP (v4 with IPv4, v6 with IPv6, as checked above) */
                header = 8;
                payload_len = ip_payload - header;
                sport = t[0];
                dport = t[1];
            }
            const int64_t payload_rel = l4 + header;
            const int64_t room = ip_end - payload_rel;

            o_version[i] = is6 ? 6 : 4;
            o_src_hi[i] = src_hi;
            o_src_lo[i] = src_lo;
            o_dst_hi[i] = dst_hi;
            o_dst_lo[i] = dst_lo;
            o_proto[i] = (uint8_t)proto;
            o_sport[i] = (uint16_t)sport;
            o_dport[i] = (uint16_t)dport;
            o_ip_len[i] = (int32_t)ip_len;
            o_payload_off[i] = off + payload_rel;
            o_payload_len[i] = (int32_t)payload_len;
            o_payload_cap[i] = (int32_t)(payload_len < room ? payload_len : room);
            o_flags[i] = (uint8_t)flags;
            o_seq[i] = seq;
            o_ack[i] = ack;
            o_win[i] = (uint16_t)win;
            o_vlan[i] = vlan;
            o_tunnel[i] = 0;
            is_done[i] = 1;
            accepted++;
        }
        Py_END_ALLOW_THREADS
        result = PyLong_FromSsize_t(accepted);
    }
done:
    while (got_cols > 0)
        PyBuffer_Release(&cols[--got_cols]);
    while (got_in > 0)
        PyBuffer_Release(&in[--got_in]);
    PyBuffer_Release(&buf);
    PyBuffer_Release(&ports);
    return result;
}

static PyMethodDef methods[] = {
    {"decode_frames", decode_frames, METH_VARARGS, decode_frames_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fastdecode", "C decoding of ordinary frames (see fastpath.py).", -1, methods,
};

PyMODINIT_FUNC
PyInit__fastdecode(void)
{
    return PyModule_Create(&module);
}
