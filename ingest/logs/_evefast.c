/* Suricata EVE lines → records: the flow and DNS events in C, every other line handed back to Python.
 *
 * Our own C (not a library). Why: bench/bench_import.py measured the pure-Python import of EVE at
 * 150-185k lines/s of CPU, short of the 200k lines/s target of issue 20; orjson's parse was about a
 * quarter of it, the rest the mapping of each event in Python. Flow and DNS events are the commonest
 * (86% of the bench's eve.json), so this maps those, in the common shape only; about 300k lines/s in the
 * same bench (docs/PERFORMANCE.md):
 *
 * - flow: ``flow.start`` (and ``flow.end`` if there) in Suricata's own form
 *   ``YYYY-MM-DDTHH:MM:SS.ffffff+HHMM`` with values Python's datetime accepts too; ``proto`` an ASCII
 *   string other than ICMP's; ``flow_id`` an int of 64 bits; ``app_proto`` absent, null or a string;
 *   the counters absent or ints.
 * - dns: ``query`` and ``answer`` (version 2, and version 3's ``queries``/``answers`` arrays) with
 *   the event's timestamp in that form, string addresses and names, int id and ports, string rdata
 *   and int or float TTLs; an answer only when its query waits in the pending table (EveParser's).
 *   Nothing is changed before the whole event is known to fit.
 * - Anything else (a JSON error, another event type, another shape) goes to the Python parser, the
 *   line (``feed``) or its parsed dict (``event``), which counts malformed lines as before.
 *
 * eve.py is the reference: EveParser._flow, _dns and eve_time; tests/unit/test_logimport_native.py
 * checks that this gives equal records on generated and on real third-party lines. Times: seconds of
 * the day computed exactly as integers, then ``base + micro / 1e6`` in doubles, the same operations as
 * eve_time's (whose base, from datetime, is the same integer).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static PyObject *k_event_type, *k_flow, *k_src_ip, *k_dest_ip, *k_start, *k_end, *k_proto, *k_flow_id,
    *k_src_port, *k_dest_port, *k_app_proto, *k_pkts_toserver, *k_bytes_toserver, *k_pkts_toclient,
    *k_bytes_toclient, *k_path, *k_ts, *k_uid, *k_orig_h, *k_orig_p, *k_resp_h, *k_resp_p, *k_service,
    *k_duration, *k_orig_pkts, *k_orig_ip_bytes, *k_resp_pkts, *k_resp_ip_bytes, *k_source, *k_timestamp,
    *k_dns, *k_type, *k_id, *k_queries, *k_rrname, *k_rrtype, *k_rd, *k_rcode, *k_aa, *k_tc, *k_ra,
    *k_answers, *k_rdata, *k_ttl, *k_grouped, *k_authorities, *k_trans_id, *k_query, *k_qtype_name, *k_qtype, *k_qclass,
    *k_qclass_name, *k_RD, *k_rtt, *k_rcode_name, *k_AA, *k_TC, *k_RA, *k_TTLs, *k_answers_out;
static PyObject *v_flow, *v_conn, *v_eve, *v_tcp, *v_udp, *v_unknown, *v_failed, *v_empty, *v_zero, *v_dns,
    *v_query, *v_answer, *v_icmp, *v_one, *v_c_internet;

static int
digits(const char *p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return 0;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 1;
}

/* days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil) */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Seconds since the epoch of Suricata's timestamp form; 0 when it is not exactly that form (then
 * Python decides). */
static int
eve_time(PyObject *v, double *out)
{
    if (!PyUnicode_CheckExact(v) || !PyUnicode_IS_ASCII(v) || PyUnicode_GET_LENGTH(v) != 31)
        return 0;
    const char *s = (const char *)PyUnicode_DATA(v);
    int y, mo, d, h, mi, se, us, zh, zm;
    if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != '.'
        || (s[26] != '+' && s[26] != '-'))
        return 0;
    if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) || !digits(s + 11, 2, &h)
        || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &se) || !digits(s + 20, 6, &us)
        || !digits(s + 27, 2, &zh) || !digits(s + 29, 2, &zm))
        return 0;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1000 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59 || zh > 23 || zm > 59)
        return 0;
    const int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[mo - 1] + (mo == 2 && leap))
        return 0;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    const int64_t zone = (int64_t)zh * 3600 + zm * 60;
    secs += s[26] == '+' ? -zone : zone;
    *out = (double)secs + (double)us / 1e6;
    return 1;
}

static PyObject *make_uid(PyObject *fid);

/* d[key] borrowed, or NULL when absent (no exception: the keys are str, d an exact dict) */
static PyObject *
get(PyObject *d, PyObject *key)
{
    return PyDict_GetItemWithError(d, key);
}

/* An int counter of the flow (absent: 0); NULL with *ok = 0 when it is another type. */
static PyObject *
counter(PyObject *f, PyObject *key, int *ok)
{
    PyObject *v = get(f, key);
    if (v == NULL)
        return Py_NewRef(v_zero);
    if (!PyLong_CheckExact(v)) {
        *ok = 0;
        return NULL;
    }
    return Py_NewRef(v);
}

/* The conn record of a flow event in the common shape; NULL without an exception when it is not
 * (Python maps it), NULL with one on a real error. */
static PyObject *
flow_record(PyObject *d, double *start_out)
{
    if (get(d, k_src_ip) == NULL || get(d, k_dest_ip) == NULL)
        return NULL;
    PyObject *f = get(d, k_flow);
    if (f == NULL || !PyDict_CheckExact(f))
        return NULL;
    double start, end = 0;
    PyObject *sv = get(f, k_start), *ev = get(f, k_end);
    if (sv == NULL || !eve_time(sv, &start))
        return NULL;
    int has_end = 0;
    if (ev != NULL && ev != Py_None) {
        if (!eve_time(ev, &end))
            return NULL;
        has_end = 1;
    }
    PyObject *proto_v = get(d, k_proto), *proto;
    if (proto_v == NULL)
        proto = v_unknown;
    else {
        if (!PyUnicode_CheckExact(proto_v) || !PyUnicode_IS_ASCII(proto_v))
            return NULL;
        const Py_ssize_t n = PyUnicode_GET_LENGTH(proto_v);
        const char *p = (const char *)PyUnicode_DATA(proto_v);
        char up[16];
        if (n >= (Py_ssize_t)sizeof(up))
            proto = v_unknown;
        else {
            for (Py_ssize_t i = 0; i < n; i++)
                up[i] = (p[i] >= 'a' && p[i] <= 'z') ? (char)(p[i] - 32) : p[i];
            up[n] = '\0';
            if (strcmp(up, "TCP") == 0)
                proto = v_tcp;
            else if (strcmp(up, "UDP") == 0)
                proto = v_udp;
            else if (strcmp(up, "ICMP") == 0 || strcmp(up, "IPV6-ICMP") == 0 || strcmp(up, "ICMPV6") == 0)
                return NULL; /* type and code go to the ports: Python's */
            else
                proto = v_unknown;
        }
    }
    PyObject *uid = make_uid(get(d, k_flow_id));
    if (uid == NULL)
        return NULL; /* not an int of 64 bits: Python's (or an error, which the caller sees) */
    PyObject *app = get(d, k_app_proto);
    if (app == Py_None)
        app = NULL;
    if (app != NULL) {
        if (!PyUnicode_CheckExact(app)) {
            Py_DECREF(uid);
            return NULL;
        }
        if (PyUnicode_GET_LENGTH(app) == 0 || PyUnicode_Compare(app, v_failed) == 0)
            app = NULL;
    }
    int ok = 1;
    PyObject *c[4];
    c[0] = counter(f, k_pkts_toserver, &ok);
    c[1] = counter(f, k_bytes_toserver, &ok);
    c[2] = counter(f, k_pkts_toclient, &ok);
    c[3] = counter(f, k_bytes_toclient, &ok);
    PyObject *rec = NULL, *ts = NULL, *dur = NULL;
    if (!ok)
        goto out;
    PyObject *sp = get(d, k_src_port), *dp = get(d, k_dest_port);
    ts = PyFloat_FromDouble(start);
    if (ts == NULL || (rec = PyDict_New()) == NULL)
        goto error;
    if (PyDict_SetItem(rec, k_path, v_conn) < 0 || PyDict_SetItem(rec, k_ts, ts) < 0
        || PyDict_SetItem(rec, k_uid, uid) < 0 || PyDict_SetItem(rec, k_orig_h, get(d, k_src_ip)) < 0
        || PyDict_SetItem(rec, k_orig_p, sp ? sp : v_zero) < 0
        || PyDict_SetItem(rec, k_resp_h, get(d, k_dest_ip)) < 0
        || PyDict_SetItem(rec, k_resp_p, dp ? dp : v_zero) < 0 || PyDict_SetItem(rec, k_proto, proto) < 0)
        goto error;
    if (app != NULL && PyDict_SetItem(rec, k_service, app) < 0)
        goto error;
    if (has_end && end > start) {
        if ((dur = PyFloat_FromDouble(end - start)) == NULL || PyDict_SetItem(rec, k_duration, dur) < 0)
            goto error;
    }
    if (PyDict_SetItem(rec, k_orig_pkts, c[0]) < 0 || PyDict_SetItem(rec, k_orig_ip_bytes, c[1]) < 0
        || PyDict_SetItem(rec, k_resp_pkts, c[2]) < 0 || PyDict_SetItem(rec, k_resp_ip_bytes, c[3]) < 0
        || PyDict_SetItem(rec, k_source, v_eve) < 0)
        goto error;
    *start_out = start;
    goto out;
error:
    Py_CLEAR(rec);
out:
    Py_XDECREF(ts);
    Py_XDECREF(dur);
    Py_DECREF(uid);
    for (int i = 0; i < 4; i++)
        Py_XDECREF(c[i]);
    return rec;
}


/* proto of a non-flow event: _PROTO.get(str(proto).upper(), "udp"); NULL when not an ASCII str */
static PyObject *
dns_proto(PyObject *d)
{
    PyObject *v = get(d, k_proto);
    if (v == NULL)
        return v_udp;
    if (!PyUnicode_CheckExact(v) || !PyUnicode_IS_ASCII(v))
        return NULL;
    const Py_ssize_t n = PyUnicode_GET_LENGTH(v);
    const char *p = (const char *)PyUnicode_DATA(v);
    char up[16];
    if (n >= (Py_ssize_t)sizeof(up))
        return v_udp;
    for (Py_ssize_t i = 0; i < n; i++)
        up[i] = (p[i] >= 'a' && p[i] <= 'z') ? (char)(p[i] - 32) : p[i];
    up[n] = '\0';
    if (strcmp(up, "TCP") == 0)
        return v_tcp;
    if (strcmp(up, "UDP") == 0)
        return v_udp;
    if (strcmp(up, "ICMP") == 0 || strcmp(up, "IPV6-ICMP") == 0 || strcmp(up, "ICMPV6") == 0)
        return v_icmp;
    return v_udp;
}

/* f"E{fid:x}" of an int flow id, "" of none; NULL without an exception when not an int of 64 bits */
static PyObject *
make_uid(PyObject *fid)
{
    if (fid == NULL || fid == Py_None)
        return Py_NewRef(v_empty);
    if (!PyLong_CheckExact(fid))
        return NULL;
    int overflow;
    const long long x = PyLong_AsLongLongAndOverflow(fid, &overflow);
    if (overflow || x == LLONG_MIN || (x == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return NULL;
    }
    char text[24]; /* a minus sign before the hex digits of a negative id, as Python's format */
    if (x < 0)
        snprintf(text, sizeof(text), "E-%llx", (unsigned long long)(-x));
    else
        snprintf(text, sizeof(text), "E%llx", (unsigned long long)x);
    return PyUnicode_FromString(text);
}

static int
nonempty_str(PyObject *v)
{
    return v != NULL && PyUnicode_CheckExact(v) && PyUnicode_GET_LENGTH(v) > 0;
}

static int
set_bool(PyObject *rec, PyObject *key, PyObject *src, PyObject *skey)
{
    PyObject *v = get(src, skey);
    return PyDict_SetItem(rec, key, v != NULL && PyObject_IsTrue(v) ? Py_True : Py_False);
}

typedef struct {
    PyObject *pending, *qtypes, *rcodes, *records;
    Py_ssize_t limit;
} Dns;

/* EveParser._dns of a query or answer event in the common shape (version 2, or 3's queries/answers
 * lists; string names and data, int ids, ports and TTLs): 1 done, 0 not this shape (nothing changed:
 * Python maps it), -1 an error. */
static int
dns_event(PyObject *d, double ts, const Dns *ctx)
{
    PyObject *src = get(d, k_src_ip), *dst = get(d, k_dest_ip);
    if (!nonempty_str(src) || !nonempty_str(dst))
        return 0;
    PyObject *dns = get(d, k_dns);
    if (dns == NULL || !PyDict_CheckExact(dns) || PyDict_GET_SIZE(dns) == 0)
        return 0;
    PyObject *type = get(dns, k_type);
    if (type == NULL || !PyUnicode_CheckExact(type))
        return 0;
    if (get(dns, k_authorities) != NULL)
        return 0; /* the authority section (auth, auth_zone) is mapped in Python: NXDOMAINs, mostly */
    const int query = PyUnicode_Compare(type, v_query) == 0;
    if (!query && PyUnicode_Compare(type, v_answer) != 0)
        return 0;
    PyObject *fid = get(d, k_flow_id), *id = get(dns, k_id);
    PyObject *sp = get(d, k_src_port), *dp = get(d, k_dest_port);
    if (id == NULL || !PyLong_CheckExact(id) || (sp != NULL && !PyLong_CheckExact(sp))
        || (dp != NULL && !PyLong_CheckExact(dp)) || (fid != NULL && fid != Py_None && !PyLong_CheckExact(fid)))
        return 0;
    PyObject *proto = dns_proto(d);
    if (proto == NULL)
        return 0;
    if (fid == NULL)
        fid = Py_None;
    int done = -1;
    PyObject *key = PyTuple_Pack(4, fid, id, src, sp ? sp : Py_None);
    if (key == NULL)
        return -1;
    if (query) {
        PyObject *queries = get(dns, k_queries), *q = NULL;
        if (queries != NULL && queries != Py_None) {
            if (!PyList_CheckExact(queries))
                return Py_DECREF(key), 0;
            if (PyList_GET_SIZE(queries) > 0) {
                q = PyList_GET_ITEM(queries, 0);
                if (!PyDict_CheckExact(q))
                    return Py_DECREF(key), 0;
            }
        }
        if (q == NULL) {
            PyObject *rrname = get(dns, k_rrname);
            q = rrname != NULL && rrname != Py_None ? dns : NULL;
        }
        PyObject *rrname = q ? get(q, k_rrname) : NULL, *rrtype = q ? get(q, k_rrtype) : NULL;
        if (rrname == Py_None)
            rrname = NULL;
        if (rrname != NULL && !PyUnicode_CheckExact(rrname))
            return Py_DECREF(key), 0;
        PyObject *uid = make_uid(fid);
        if (uid == NULL)
            return Py_DECREF(key), PyErr_Occurred() ? -1 : 0;
        PyObject *tsv = PyFloat_FromDouble(ts), *rec = PyDict_New();
        if (tsv == NULL || rec == NULL)
            goto q_out;
        if (PyDict_SetItem(rec, k_path, v_dns) < 0 || PyDict_SetItem(rec, k_ts, tsv) < 0
            || PyDict_SetItem(rec, k_uid, uid) < 0 || PyDict_SetItem(rec, k_orig_h, src) < 0
            || PyDict_SetItem(rec, k_orig_p, sp ? sp : v_zero) < 0 || PyDict_SetItem(rec, k_resp_h, dst) < 0
            || PyDict_SetItem(rec, k_resp_p, dp ? dp : v_zero) < 0 || PyDict_SetItem(rec, k_proto, proto) < 0
            || PyDict_SetItem(rec, k_trans_id, id) < 0)
            goto q_out;
        if (rrname != NULL && PyDict_SetItem(rec, k_query, rrname) < 0)
            goto q_out;
        if (rrtype != NULL && PyUnicode_Check(rrtype)) {
            if (PyDict_SetItem(rec, k_qtype_name, rrtype) < 0)
                goto q_out;
            PyObject *code = PyDict_GetItemWithError(ctx->qtypes, rrtype);
            if ((code == NULL && PyErr_Occurred()) || (code != NULL && PyDict_SetItem(rec, k_qtype, code) < 0))
                goto q_out;
            if (PyDict_SetItem(rec, k_qclass, v_one) < 0 || PyDict_SetItem(rec, k_qclass_name, v_c_internet) < 0)
                goto q_out;
        }
        if (set_bool(rec, k_RD, dns, k_rd) < 0 || PyDict_SetItem(rec, k_source, v_eve) < 0)
            goto q_out;
        /* the same id asked again: the first went unanswered; the oldest out when too many wait */
        PyObject *old = PyDict_GetItemWithError(ctx->pending, key);
        if (old == NULL && PyErr_Occurred())
            goto q_out;
        if (old != NULL) {
            Py_INCREF(old);
            const int err = PyDict_DelItem(ctx->pending, key) < 0 || PyList_Append(ctx->records, old) < 0;
            Py_DECREF(old);
            if (err)
                goto q_out;
        }
        if (PyDict_GET_SIZE(ctx->pending) >= ctx->limit) {
            Py_ssize_t at = 0;
            PyObject *k0, *v0;
            if (PyDict_Next(ctx->pending, &at, &k0, &v0)) {
                Py_INCREF(k0);
                Py_INCREF(v0);
                const int err = PyDict_DelItem(ctx->pending, k0) < 0 || PyList_Append(ctx->records, v0) < 0;
                Py_DECREF(k0);
                Py_DECREF(v0);
                if (err)
                    goto q_out;
            }
        }
        if (PyDict_SetItem(ctx->pending, key, rec) < 0)
            goto q_out;
        done = 1;
    q_out:
        Py_XDECREF(tsv);
        Py_XDECREF(rec);
        Py_DECREF(uid);
        Py_DECREF(key);
        return done;
    }
    /* an answer: its query waits under the swapped addresses (or, from the client's side, these) */
    PyObject *qkey = PyTuple_Pack(4, fid, id, dst, dp ? dp : Py_None);
    PyObject *answers = NULL, *ttls = NULL, *rtt = NULL;
    if (qkey == NULL) {
        Py_DECREF(key);
        return -1;
    }
    PyObject *at_key = qkey, *found = PyDict_GetItemWithError(ctx->pending, qkey);
    if (found == NULL && !PyErr_Occurred()) {
        at_key = key;
        found = PyDict_GetItemWithError(ctx->pending, key);
    }
    if (found == NULL) {
        done = PyErr_Occurred() ? -1 : 0; /* none: Python logs the answer alone */
        goto a_out;
    }
    PyObject *qts = PyDict_CheckExact(found) ? get(found, k_ts) : NULL;
    PyObject *listed = get(dns, k_answers), *grouped = get(dns, k_grouped), *rdata = get(dns, k_rdata);
    if (qts == NULL || !PyFloat_CheckExact(qts) || (grouped != NULL && grouped != Py_None))
        goto a_not;
    if (listed == Py_None)
        listed = NULL;
    if (listed != NULL && !PyList_CheckExact(listed))
        goto a_not;
    if ((listed == NULL || PyList_GET_SIZE(listed) == 0) && rdata != NULL && rdata != Py_None)
        goto a_not; /* version 1: one answer an event */
    answers = PyList_New(0);
    ttls = PyList_New(0);
    if (answers == NULL || ttls == NULL)
        goto a_out;
    for (Py_ssize_t i = 0; listed != NULL && i < PyList_GET_SIZE(listed); i++) {
        PyObject *a = PyList_GET_ITEM(listed, i);
        if (!PyDict_CheckExact(a))
            continue;
        PyObject *data = get(a, k_rdata), *ttl = get(a, k_ttl);
        if (data == NULL)
            continue;
        if (!PyUnicode_CheckExact(data))
            goto a_not;
        double t = 0;
        if (ttl != NULL) {
            if (PyFloat_CheckExact(ttl))
                t = PyFloat_AS_DOUBLE(ttl);
            else if (PyLong_CheckExact(ttl)) {
                t = PyLong_AsDouble(ttl);
                if (t == -1.0 && PyErr_Occurred()) {
                    PyErr_Clear();
                    goto a_not;
                }
            }
            else
                goto a_not;
        }
        PyObject *tv = PyFloat_FromDouble(t);
        if (tv == NULL || PyList_Append(answers, data) < 0 || PyList_Append(ttls, tv) < 0) {
            Py_XDECREF(tv);
            goto a_out;
        }
        Py_DECREF(tv);
    }
    /* the shape is known: from here the query's record changes */
    Py_INCREF(found);
    if (PyDict_DelItem(ctx->pending, at_key) < 0) {
        Py_DECREF(found);
        goto a_out;
    }
    const double diff = ts - PyFloat_AS_DOUBLE(qts);
    rtt = PyFloat_FromDouble(0.0 > diff ? 0.0 : diff); /* max(diff, 0.0) */
    PyObject *rcode = get(dns, k_rcode);
    int err = rtt == NULL || PyDict_SetItem(found, k_rtt, rtt) < 0;
    if (!err && rcode != NULL && PyUnicode_Check(rcode)) {
        PyObject *code = PyDict_GetItemWithError(ctx->rcodes, rcode);
        err = PyDict_SetItem(found, k_rcode_name, rcode) < 0 || (code == NULL && PyErr_Occurred())
              || (code != NULL && PyDict_SetItem(found, k_rcode, code) < 0);
    }
    err = err || set_bool(found, k_AA, dns, k_aa) < 0 || set_bool(found, k_TC, dns, k_tc) < 0
          || set_bool(found, k_RA, dns, k_ra) < 0;
    if (!err && PyList_GET_SIZE(answers) > 0)
        err = PyDict_SetItem(found, k_answers_out, answers) < 0 || PyDict_SetItem(found, k_TTLs, ttls) < 0;
    err = err || PyList_Append(ctx->records, found) < 0;
    Py_DECREF(found);
    done = err ? -1 : 1;
    goto a_out;
a_not:
    done = 0;
a_out:
    Py_XDECREF(answers);
    Py_XDECREF(ttls);
    Py_XDECREF(rtt);
    Py_DECREF(qkey);
    Py_DECREF(key);
    return done;
}

PyDoc_STRVAR(feed_doc,
"feed(lines, loads, feed, event, records, alerts, pending, pending_limit, qtypes, rcodes, /) -> newest\n\n"
"Each line of ``lines`` parsed with ``loads``; a flow or DNS (query, answer) event in the common shape\n"
"mapped here (DNS queries wait in ``pending`` for their answer, as EveParser's) and appended to\n"
"``records``; a line that does not parse or is not a dict goes to ``feed(line, records, alerts)``,\n"
"any other event to ``event(dict, records, alerts)`` (EveParser's). Returns the latest event time\n"
"mapped here (-inf when none), for EveParser.newest.");

static PyObject *
feed(PyObject *self, PyObject *args)
{
    PyObject *lines, *loads, *py_feed, *py_event, *records, *alerts;
    Dns ctx;
    if (!PyArg_ParseTuple(args, "O!OOOO!OO!nO!O!:feed", &PyList_Type, &lines, &loads, &py_feed, &py_event,
                          &PyList_Type, &records, &alerts, &PyDict_Type, &ctx.pending, &ctx.limit,
                          &PyDict_Type, &ctx.qtypes, &PyDict_Type, &ctx.rcodes))
        return NULL;
    ctx.records = records;
    if (ctx.limit < 1) {
        PyErr_SetString(PyExc_ValueError, "feed: pending_limit must be positive");
        return NULL;
    }
    double newest = -INFINITY;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(lines); i++) {
        PyObject *raw = PyList_GET_ITEM(lines, i);
        Py_INCREF(raw); /* the list may change under a Python callback */
        PyObject *d = PyObject_CallOneArg(loads, raw), *r = NULL;
        if (d == NULL || !PyDict_CheckExact(d)) {
            if (d == NULL) {
                if (!PyErr_ExceptionMatches(PyExc_ValueError)) { /* orjson's error is a ValueError */
                    Py_DECREF(raw);
                    return NULL;
                }
                PyErr_Clear();
            }
            Py_XDECREF(d);
            r = PyObject_CallFunctionObjArgs(py_feed, raw, records, alerts, NULL);
        }
        else {
            PyObject *kind = get(d, k_event_type);
            int done = 0;
            double when = 0;
            if (kind != NULL && PyUnicode_CheckExact(kind)) {
                if (PyUnicode_Compare(kind, v_flow) == 0) {
                    PyObject *rec = flow_record(d, &when);
                    if (rec != NULL) {
                        done = PyList_Append(records, rec) < 0 ? -1 : 1;
                        Py_DECREF(rec);
                    }
                    else if (PyErr_Occurred())
                        done = -1;
                }
                else if (PyUnicode_Compare(kind, v_dns) == 0) {
                    PyObject *t = get(d, k_timestamp);
                    if (t != NULL && eve_time(t, &when))
                        done = dns_event(d, when, &ctx);
                }
            }
            if (done == 1) {
                if (when > newest)
                    newest = when;
                r = Py_NewRef(Py_None);
            }
            else if (done == 0)
                r = PyObject_CallFunctionObjArgs(py_event, d, records, alerts, NULL);
            Py_DECREF(d);
        }
        Py_DECREF(raw);
        if (r == NULL)
            return NULL;
        Py_DECREF(r);
    }
    return PyFloat_FromDouble(newest);
}

static PyMethodDef methods[] = {
    {"feed", feed, METH_VARARGS, feed_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_evefast", "Suricata EVE flow events to records (see _evefast.c).", -1, methods,
};

#define INTERN(var, text)                                                                                    \
    if ((var = PyUnicode_InternFromString(text)) == NULL)                                                    \
        return NULL;

PyMODINIT_FUNC
PyInit__evefast(void)
{
    INTERN(k_event_type, "event_type");
    INTERN(k_flow, "flow");
    INTERN(k_src_ip, "src_ip");
    INTERN(k_dest_ip, "dest_ip");
    INTERN(k_start, "start");
    INTERN(k_end, "end");
    INTERN(k_proto, "proto");
    INTERN(k_flow_id, "flow_id");
    INTERN(k_src_port, "src_port");
    INTERN(k_dest_port, "dest_port");
    INTERN(k_app_proto, "app_proto");
    INTERN(k_pkts_toserver, "pkts_toserver");
    INTERN(k_bytes_toserver, "bytes_toserver");
    INTERN(k_pkts_toclient, "pkts_toclient");
    INTERN(k_bytes_toclient, "bytes_toclient");
    INTERN(k_path, "_path");
    INTERN(k_ts, "ts");
    INTERN(k_uid, "uid");
    INTERN(k_orig_h, "id.orig_h");
    INTERN(k_orig_p, "id.orig_p");
    INTERN(k_resp_h, "id.resp_h");
    INTERN(k_resp_p, "id.resp_p");
    INTERN(k_service, "service");
    INTERN(k_duration, "duration");
    INTERN(k_orig_pkts, "orig_pkts");
    INTERN(k_orig_ip_bytes, "orig_ip_bytes");
    INTERN(k_resp_pkts, "resp_pkts");
    INTERN(k_resp_ip_bytes, "resp_ip_bytes");
    INTERN(k_source, "source");
    INTERN(v_flow, "flow");
    INTERN(v_conn, "conn");
    INTERN(v_eve, "eve");
    INTERN(v_tcp, "tcp");
    INTERN(v_udp, "udp");
    INTERN(v_unknown, "unknown_transport");
    INTERN(v_failed, "failed");
    INTERN(v_empty, "");
    INTERN(k_timestamp, "timestamp");
    INTERN(k_dns, "dns");
    INTERN(k_type, "type");
    INTERN(k_id, "id");
    INTERN(k_queries, "queries");
    INTERN(k_rrname, "rrname");
    INTERN(k_rrtype, "rrtype");
    INTERN(k_rd, "rd");
    INTERN(k_rcode, "rcode");
    INTERN(k_aa, "aa");
    INTERN(k_tc, "tc");
    INTERN(k_ra, "ra");
    INTERN(k_answers, "answers");
    INTERN(k_rdata, "rdata");
    INTERN(k_ttl, "ttl");
    INTERN(k_grouped, "grouped");
    INTERN(k_authorities, "authorities");
    INTERN(k_trans_id, "trans_id");
    INTERN(k_query, "query");
    INTERN(k_qtype_name, "qtype_name");
    INTERN(k_qtype, "qtype");
    INTERN(k_qclass, "qclass");
    INTERN(k_qclass_name, "qclass_name");
    INTERN(k_RD, "RD");
    INTERN(k_rtt, "rtt");
    INTERN(k_rcode_name, "rcode_name");
    INTERN(k_AA, "AA");
    INTERN(k_TC, "TC");
    INTERN(k_RA, "RA");
    INTERN(k_TTLs, "TTLs");
    INTERN(k_answers_out, "answers");
    INTERN(v_dns, "dns");
    INTERN(v_query, "query");
    INTERN(v_answer, "answer");
    INTERN(v_icmp, "icmp");
    INTERN(v_c_internet, "C_INTERNET");
    if ((v_zero = PyLong_FromLong(0)) == NULL || (v_one = PyLong_FromLong(1)) == NULL)
        return NULL;
    return PyModule_Create(&module);
}
