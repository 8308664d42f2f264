/*
 * toolguard._taintc: the hot loops of the taint ledger (toolguard/taint.py) in C.
 *
 * Every function here computes exactly what a numpy routine of taint.py computes (the tests
 * compare both on generated texts); the ledger uses this module when it is built and falls
 * back to numpy when it is not (or when TOOLGUARD_NO_ACCEL=1).
 *
 *   fingerprints(codes, k, w)          winnowed k-gram hashes (all window minima, ties kept)
 *   scan_keys(codes, k, w, segs)       k-gram hashes and the query keys of a scan batch
 *   lookup(runs, q, dups)              every (query index, value) of the sorted runs
 *   directory(keys, bits)              bucket starts of a sorted run by the keys' top bits
 *   merge(k1, v1, k2, v2, dups)        stable merge of two sorted runs, capped per key
 *   tokenize(codes, classes, min)      candidate token units of a spaced-folded byte text
 *
 * Inputs are read through the buffer protocol (numpy arrays, bytes); outputs are bytes
 * objects the caller views with numpy.frombuffer. There is no global mutable state; the GIL
 * is held throughout. Every index is bounds-checked: a malformed input raises (ValueError,
 * MemoryError), it never yields an empty answer.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HASH_BASE 0x9E3779B97F4A7C15ULL /* odd: invertible modulo 2**64 (taint._B) */
#define HASH_MIX 0xD6E8FEB86659FD93ULL  /* taint._MIX */
#define MAX_K 256

/* The inverse of an odd number modulo 2**64 (Newton's iteration doubles the correct bits). */
static uint64_t
inverse64(uint64_t b)
{
    uint64_t x = b; /* correct to 3 bits */
    for (int i = 0; i < 6; i++) {
        x *= 2 - b * x;
    }
    return x;
}

/* A code array: 1-byte (uint8) or 4-byte (uint32) items, C-contiguous. */
typedef struct {
    Py_buffer view;
    const uint8_t *u8;
    const uint32_t *u32;
    Py_ssize_t n;
} Codes;

static int
codes_get(PyObject *obj, Codes *c)
{
    if (PyObject_GetBuffer(obj, &c->view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
        return -1;
    }
    c->u8 = NULL;
    c->u32 = NULL;
    const char *f = c->view.format ? c->view.format : "B";
    if (*f == '<' || *f == '=' || *f == '@') {
        f++;
    }
    if (c->view.itemsize == 1 && (f[0] == 'B' || f[0] == 'b' || f[0] == 'c') && f[1] == 0) {
        c->u8 = (const uint8_t *)c->view.buf;
    }
    else if (c->view.itemsize == 4 && (f[0] == 'I' || f[0] == 'L') && f[1] == 0) {
        c->u32 = (const uint32_t *)c->view.buf;
    }
    else {
        PyBuffer_Release(&c->view);
        PyErr_Format(PyExc_ValueError, "codes must be uint8 or uint32, not format %s itemsize %zd",
                     c->view.format ? c->view.format : "?", c->view.itemsize);
        return -1;
    }
    c->n = c->view.len / c->view.itemsize;
    return 0;
}

static inline uint64_t
code_at(const Codes *c, Py_ssize_t i)
{
    return c->u8 ? (uint64_t)c->u8[i] : (uint64_t)c->u32[i];
}

/* A read-only buffer of fixed-size items (uint64 keys, uint32 values). */
static int
items_get(PyObject *obj, Py_buffer *view, Py_ssize_t itemsize, const char *what)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS) < 0) {
        return -1;
    }
    if (view->len % itemsize != 0 || (view->itemsize != itemsize && view->itemsize != 1)) {
        PyBuffer_Release(view);
        PyErr_Format(PyExc_ValueError, "%s must hold %zd-byte items", what, itemsize);
        return -1;
    }
    return 0;
}

/* All k-gram hashes: h[i] = sum_j c[i+j]·B^j mod 2**64 (taint.kgram_hashes), rolled:
 * h[i+1] = (h[i] - c[i])·B^-1 + c[i+k]·B^(k-1). m = n - k + 1 > 0 hashes into out. */
static void
kgram_hashes(const Codes *c, int k, uint64_t *out)
{
    const uint64_t inv = inverse64(HASH_BASE);
    uint64_t top = 1; /* B^(k-1) */
    for (int j = 0; j < k - 1; j++) {
        top *= HASH_BASE;
    }
    uint64_t h = 0, p = 1;
    for (int j = 0; j < k; j++) {
        h += code_at(c, j) * p;
        p *= HASH_BASE;
    }
    Py_ssize_t m = c->n - k + 1;
    out[0] = h;
    for (Py_ssize_t i = 1; i < m; i++) {
        h = (h - code_at(c, i - 1)) * inv + code_at(c, i + k - 1) * top;
        out[i] = h;
    }
}

/* mins[j] = min(h[j .. j+w-1]) for the m - w + 1 full windows (m >= w), with a monotonic
 * queue of indices (dq: m slots). */
static void
window_minima(const uint64_t *h, Py_ssize_t m, int w, uint64_t *mins, Py_ssize_t *dq)
{
    Py_ssize_t head = 0, tail = 0; /* queue dq[head:tail], values increasing */
    for (Py_ssize_t i = 0; i < m; i++) {
        while (tail > head && h[dq[tail - 1]] >= h[i]) {
            tail--;
        }
        dq[tail++] = i;
        if (dq[head] <= i - w) {
            head++;
        }
        if (i >= w - 1) {
            mins[i - w + 1] = h[dq[head]];
        }
    }
}

/* Positions kept by winnowing (taint.winnow): p is kept iff h[p] is the minimum of some
 * window containing it, i.e. equals the largest minimum of the windows containing it. */
static Py_ssize_t
winnow(const uint64_t *h, Py_ssize_t m, int w, int64_t *out, uint64_t *mins, Py_ssize_t *dq)
{
    Py_ssize_t n = 0;
    if (m <= w) {
        uint64_t lo = h[0];
        for (Py_ssize_t i = 1; i < m; i++) {
            lo = h[i] < lo ? h[i] : lo;
        }
        for (Py_ssize_t i = 0; i < m; i++) {
            if (h[i] == lo) {
                out[n++] = i;
            }
        }
        return n;
    }
    window_minima(h, m, w, mins, dq);
    Py_ssize_t nw = m - w + 1;
    Py_ssize_t head = 0, tail = 0; /* windows containing p, minima decreasing */
    for (Py_ssize_t p = 0; p < m; p++) {
        if (p < nw) {
            while (tail > head && mins[dq[tail - 1]] <= mins[p]) {
                tail--;
            }
            dq[tail++] = p;
        }
        while (dq[head] < p - w + 1) {
            head++; /* never empties: window min(p, nw - 1) contains p and is queued */
        }
        if (h[p] == mins[dq[head]]) {
            out[n++] = p;
        }
    }
    return n;
}

static int
check_kw(int k, int w)
{
    if (k < 1 || k > MAX_K || w < 1 || w > MAX_K) {
        PyErr_Format(PyExc_ValueError, "k and w must be between 1 and %d", MAX_K);
        return -1;
    }
    return 0;
}

/* Scratch arrays of one call, freed together. */
typedef struct {
    uint64_t *h, *mins;
    Py_ssize_t *dq;
    int64_t *pos;
} Scratch;

static int
scratch_alloc(Scratch *s, Py_ssize_t m)
{
    s->h = PyMem_Malloc(sizeof(uint64_t) * (size_t)m);
    s->mins = PyMem_Malloc(sizeof(uint64_t) * (size_t)m);
    s->dq = PyMem_Malloc(sizeof(Py_ssize_t) * (size_t)m);
    s->pos = PyMem_Malloc(sizeof(int64_t) * (size_t)m);
    if (!s->h || !s->mins || !s->dq || !s->pos) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static void
scratch_free(Scratch *s)
{
    PyMem_Free(s->h);
    PyMem_Free(s->mins);
    PyMem_Free(s->dq);
    PyMem_Free(s->pos);
}

/* fingerprints(codes, k, w) -> (hashes: bytes of uint64, positions: bytes of int64) */
static PyObject *
py_fingerprints(PyObject *self, PyObject *args)
{
    PyObject *obj;
    int k, w;
    if (!PyArg_ParseTuple(args, "Oii", &obj, &k, &w) || check_kw(k, w) < 0) {
        return NULL;
    }
    Codes c;
    if (codes_get(obj, &c) < 0) {
        return NULL;
    }
    PyObject *result = NULL;
    Py_ssize_t m = c.n - k + 1;
    if (m <= 0) {
        PyBuffer_Release(&c.view);
        return Py_BuildValue("(y#y#)", "", (Py_ssize_t)0, "", (Py_ssize_t)0);
    }
    Scratch s = {NULL, NULL, NULL, NULL};
    if (scratch_alloc(&s, m) == 0) {
        kgram_hashes(&c, k, s.h);
        Py_ssize_t n = winnow(s.h, m, w, s.pos, s.mins, s.dq);
        PyObject *hb = PyBytes_FromStringAndSize(NULL, n * 8);
        PyObject *pb = PyBytes_FromStringAndSize(NULL, n * 8);
        if (hb && pb) {
            uint64_t *ho = (uint64_t *)PyBytes_AS_STRING(hb);
            for (Py_ssize_t i = 0; i < n; i++) {
                ho[i] = s.h[s.pos[i]];
            }
            memcpy(PyBytes_AS_STRING(pb), s.pos, (size_t)n * 8);
            result = PyTuple_Pack(2, hb, pb);
        }
        Py_XDECREF(hb);
        Py_XDECREF(pb);
    }
    scratch_free(&s);
    PyBuffer_Release(&c.view);
    return result;
}

/* scan_keys(codes, k, w, segs) -> (h, qkeys, qpos), as TaintLedger.scan builds them:
 *
 * h     every k-gram hash of the batch (bytes of uint64);
 * qkeys the query keys, mixed (bytes of uint64), and qpos their positions (bytes of int64):
 *       a short batch (at most 2(k+w) k-grams) queries every k-gram (qpos = its start);
 *       otherwise the minimum of each run of windows with the same minimum (the run's last
 *       window j, qpos = -1 - j), the very last window, then every k-gram of each segment
 *       (start, end) of segs with k <= end - start < 2(k+w). */
static PyObject *
py_scan_keys(PyObject *self, PyObject *args)
{
    PyObject *obj, *segs;
    int k, w;
    if (!PyArg_ParseTuple(args, "OiiO!", &obj, &k, &w, &PyList_Type, &segs) || check_kw(k, w) < 0) {
        return NULL;
    }
    Codes c;
    if (codes_get(obj, &c) < 0) {
        return NULL;
    }
    PyObject *result = NULL;
    Py_ssize_t m = c.n - k + 1;
    if (m <= 0) {
        PyBuffer_Release(&c.view);
        return Py_BuildValue("(y#y#y#)", "", (Py_ssize_t)0, "", (Py_ssize_t)0, "", (Py_ssize_t)0);
    }
    Scratch s = {NULL, NULL, NULL, NULL};
    uint64_t *qk = NULL;
    int64_t *qp = NULL;
    PyObject *hb = NULL, *kb = NULL, *pb = NULL;
    if (scratch_alloc(&s, m) < 0) {
        goto done;
    }
    kgram_hashes(&c, k, s.h);
    Py_ssize_t nseg = PyList_GET_SIZE(segs);
    Py_ssize_t cap = m + 1; /* window queries: at most one per window */
    Py_ssize_t limit = 2 * (Py_ssize_t)(k + w);
    for (Py_ssize_t i = 0; i < nseg; i++) {
        cap += limit; /* at most 2(k+w) - k + 1 k-grams per short segment */
    }
    qk = PyMem_Malloc(sizeof(uint64_t) * (size_t)cap);
    qp = PyMem_Malloc(sizeof(int64_t) * (size_t)cap);
    if (!qk || !qp) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t nq = 0;
    if (m <= limit) {
        for (Py_ssize_t i = 0; i < m; i++) {
            qk[nq] = s.h[i];
            qp[nq++] = i;
        }
    }
    else {
        window_minima(s.h, m, w, s.mins, s.dq);
        Py_ssize_t nw = m - w + 1;
        for (Py_ssize_t j = 0; j + 1 < nw; j++) {
            if (s.mins[j + 1] != s.mins[j]) {
                qk[nq] = s.mins[j];
                qp[nq++] = -1 - j;
            }
        }
        qk[nq] = s.mins[nw - 1];
        qp[nq++] = -nw;
        for (Py_ssize_t i = 0; i < nseg; i++) {
            Py_ssize_t a, b;
            if (!PyArg_ParseTuple(PyList_GET_ITEM(segs, i), "nn", &a, &b)) {
                goto done;
            }
            if (a < 0 || b > c.n || a > b) {
                PyErr_SetString(PyExc_ValueError, "segment out of the batch");
                goto done;
            }
            if (b - a < k || b - a >= limit) {
                continue;
            }
            for (Py_ssize_t r = a; r <= b - k; r++) {
                qk[nq] = s.h[r];
                qp[nq++] = r;
            }
        }
    }
    for (Py_ssize_t i = 0; i < nq; i++) {
        qk[i] *= HASH_MIX;
    }
    hb = PyBytes_FromStringAndSize((const char *)s.h, m * 8);
    kb = PyBytes_FromStringAndSize((const char *)qk, nq * 8);
    pb = PyBytes_FromStringAndSize((const char *)qp, nq * 8);
    if (hb && kb && pb) {
        result = PyTuple_Pack(3, hb, kb, pb);
    }
done:
    Py_XDECREF(hb);
    Py_XDECREF(kb);
    Py_XDECREF(pb);
    PyMem_Free(qk);
    PyMem_Free(qp);
    scratch_free(&s);
    PyBuffer_Release(&c.view);
    return result;
}

/* The first index in keys[lo:hi] whose key is >= q (hi if none). */
static inline Py_ssize_t
lower_bound(const uint64_t *keys, Py_ssize_t lo, Py_ssize_t hi, uint64_t q)
{
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (keys[mid] < q) {
            lo = mid + 1;
        }
        else {
            hi = mid;
        }
    }
    return lo;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* One run of the index, as lookup() receives it: (keys, vals, directory or None, bits). */
typedef struct {
    Py_buffer keys, vals, dir;
    int has_dir, bits;
    Py_ssize_t n;
} Run;

/* lookup(runs, q, dups) -> (query indexes: bytes of int64, values: bytes of uint32)
 *
 * For every query key and every run, the values of the entries with that key (at most dups
 * per run: runs are capped so). A run with a directory narrows the search to the bucket of
 * the key's top bits first (one or two cache misses on a big run). The answer is sorted by
 * (query index, value), whatever the runs. */
static PyObject *
py_lookup(PyObject *self, PyObject *args)
{
    PyObject *runs_obj, *qobj;
    int dups;
    if (!PyArg_ParseTuple(args, "O!Oi", &PyList_Type, &runs_obj, &qobj, &dups)) {
        return NULL;
    }
    if (dups < 1 || dups > 1024) {
        PyErr_SetString(PyExc_ValueError, "dups must be between 1 and 1024");
        return NULL;
    }
    Py_ssize_t nruns = PyList_GET_SIZE(runs_obj);
    Py_buffer qv;
    if (items_get(qobj, &qv, 8, "queries") < 0) {
        return NULL;
    }
    const uint64_t *q = (const uint64_t *)qv.buf;
    Py_ssize_t nq = qv.len / 8;
    PyObject *result = NULL;
    uint64_t *hits = NULL;
    Py_ssize_t nhits = 0, hcap = 0;
    Run *runs = PyMem_Calloc((size_t)(nruns ? nruns : 1), sizeof(Run));
    Py_ssize_t got = 0; /* runs whose buffers are held */
    if (!runs) {
        PyErr_NoMemory();
        goto done;
    }
    if (nq >= ((Py_ssize_t)1 << 31)) {
        PyErr_SetString(PyExc_ValueError, "too many queries");
        goto done;
    }
    for (; got < nruns; got++) {
        PyObject *t = PyList_GET_ITEM(runs_obj, got);
        PyObject *ko, *vo, *dobj;
        int bits;
        if (!PyArg_ParseTuple(t, "OOOi", &ko, &vo, &dobj, &bits)) {
            goto done;
        }
        Run *r = &runs[got];
        if (items_get(ko, &r->keys, 8, "keys") < 0) {
            goto done;
        }
        if (items_get(vo, &r->vals, 4, "values") < 0) {
            PyBuffer_Release(&r->keys);
            goto done;
        }
        r->n = r->keys.len / 8;
        r->has_dir = dobj != Py_None;
        if (r->has_dir && items_get(dobj, &r->dir, 4, "directory") < 0) {
            PyBuffer_Release(&r->keys);
            PyBuffer_Release(&r->vals);
            goto done;
        }
        r->bits = bits;
        if (r->vals.len / 4 != r->n ||
            (r->has_dir && (bits < 1 || bits > 32 || r->dir.len / 4 != ((Py_ssize_t)1 << bits) + 1))) {
            got++; /* release this one too */
            PyErr_SetString(PyExc_ValueError, "malformed run");
            goto done;
        }
    }
    for (Py_ssize_t ri = 0; ri < nruns; ri++) {
        const Run *r = &runs[ri];
        const uint64_t *keys = (const uint64_t *)r->keys.buf;
        const uint32_t *vals = (const uint32_t *)r->vals.buf;
        const uint32_t *dir = r->has_dir ? (const uint32_t *)r->dir.buf : NULL;
        for (Py_ssize_t i = 0; i < nq; i++) {
            Py_ssize_t lo = 0, hi = r->n;
            if (dir) {
                uint64_t t = q[i] >> (64 - r->bits);
                lo = dir[t];
                hi = dir[t + 1];
                if (lo > hi || hi > r->n) {
                    PyErr_SetString(PyExc_ValueError, "malformed directory");
                    goto done;
                }
            }
            Py_ssize_t p = lower_bound(keys, lo, hi, q[i]);
            for (int d = 0; d < dups && p + d < r->n && keys[p + d] == q[i]; d++) {
                if (nhits == hcap) {
                    hcap = hcap ? 2 * hcap : 64;
                    uint64_t *nh = PyMem_Realloc(hits, sizeof(uint64_t) * (size_t)hcap);
                    if (!nh) {
                        PyErr_NoMemory();
                        goto done;
                    }
                    hits = nh;
                }
                hits[nhits++] = ((uint64_t)i << 32) | vals[p + d];
            }
        }
    }
    if (nhits > 1) {
        qsort(hits, (size_t)nhits, sizeof(uint64_t), cmp_u64);
    }
    PyObject *qb = PyBytes_FromStringAndSize(NULL, nhits * 8);
    PyObject *vb = PyBytes_FromStringAndSize(NULL, nhits * 4);
    if (qb && vb) {
        int64_t *qo = (int64_t *)PyBytes_AS_STRING(qb);
        uint32_t *vo = (uint32_t *)PyBytes_AS_STRING(vb);
        for (Py_ssize_t i = 0; i < nhits; i++) {
            qo[i] = (int64_t)(hits[i] >> 32);
            vo[i] = (uint32_t)hits[i];
        }
        result = PyTuple_Pack(2, qb, vb);
    }
    Py_XDECREF(qb);
    Py_XDECREF(vb);
done:
    for (Py_ssize_t ri = 0; ri < got; ri++) {
        PyBuffer_Release(&runs[ri].keys);
        PyBuffer_Release(&runs[ri].vals);
        if (runs[ri].has_dir) {
            PyBuffer_Release(&runs[ri].dir);
        }
    }
    PyMem_Free(runs);
    PyMem_Free(hits);
    PyBuffer_Release(&qv);
    return result;
}

/* directory(keys, bits) -> bytes of uint32: d[t] = first index whose key's top bits are >= t
 * (2**bits + 1 entries; bucket t is keys[d[t]:d[t+1]]). keys must be sorted. */
static PyObject *
py_directory(PyObject *self, PyObject *args)
{
    PyObject *ko;
    int bits;
    if (!PyArg_ParseTuple(args, "Oi", &ko, &bits)) {
        return NULL;
    }
    if (bits < 1 || bits > 30) {
        PyErr_SetString(PyExc_ValueError, "bits must be between 1 and 30");
        return NULL;
    }
    Py_buffer kv;
    if (items_get(ko, &kv, 8, "keys") < 0) {
        return NULL;
    }
    const uint64_t *keys = (const uint64_t *)kv.buf;
    Py_ssize_t n = kv.len / 8;
    PyObject *out = NULL;
    if (n >= ((Py_ssize_t)1 << 32)) {
        PyErr_SetString(PyExc_ValueError, "run too big for a uint32 directory");
        goto done;
    }
    Py_ssize_t nb = (Py_ssize_t)1 << bits;
    out = PyBytes_FromStringAndSize(NULL, (nb + 1) * 4);
    if (!out) {
        goto done;
    }
    uint32_t *d = (uint32_t *)PyBytes_AS_STRING(out);
    Py_ssize_t i = 0;
    for (Py_ssize_t t = 0; t < nb; t++) {
        d[t] = (uint32_t)i;
        while (i < n && (Py_ssize_t)(keys[i] >> (64 - bits)) == t) {
            i++;
        }
    }
    d[nb] = (uint32_t)i;
    if (i != n) {
        Py_CLEAR(out);
        PyErr_SetString(PyExc_ValueError, "keys are not sorted");
    }
done:
    PyBuffer_Release(&kv);
    return out;
}

/* merge(keys1, vals1, keys2, vals2, dups) -> (keys, vals): the stable merge of two sorted
 * runs (for equal keys the entries of run 1, the older, first), keeping only the last dups
 * entries of each key (taint._Index._cap: the newest). */
static PyObject *
py_merge(PyObject *self, PyObject *args)
{
    PyObject *k1o, *v1o, *k2o, *v2o;
    int dups;
    if (!PyArg_ParseTuple(args, "OOOOi", &k1o, &v1o, &k2o, &v2o, &dups)) {
        return NULL;
    }
    if (dups < 1) {
        PyErr_SetString(PyExc_ValueError, "dups must be positive");
        return NULL;
    }
    Py_buffer k1, v1, k2, v2;
    int held = 0;
    PyObject *result = NULL, *kb = NULL, *vb = NULL;
    if (items_get(k1o, &k1, 8, "keys") < 0) {
        goto done;
    }
    held = 1;
    if (items_get(v1o, &v1, 4, "values") < 0) {
        goto done;
    }
    held = 2;
    if (items_get(k2o, &k2, 8, "keys") < 0) {
        goto done;
    }
    held = 3;
    if (items_get(v2o, &v2, 4, "values") < 0) {
        goto done;
    }
    held = 4;
    Py_ssize_t n1 = k1.len / 8, n2 = k2.len / 8;
    if (v1.len / 4 != n1 || v2.len / 4 != n2) {
        PyErr_SetString(PyExc_ValueError, "keys and values differ in length");
        goto done;
    }
    const uint64_t *a = k1.buf, *b = k2.buf;
    const uint32_t *va = v1.buf, *vb2 = v2.buf;
    Py_ssize_t n = n1 + n2;
    kb = PyBytes_FromStringAndSize(NULL, n * 8);
    vb = PyBytes_FromStringAndSize(NULL, n * 4);
    if (!kb || !vb) {
        goto done;
    }
    uint64_t *ko = (uint64_t *)PyBytes_AS_STRING(kb);
    uint32_t *vo = (uint32_t *)PyBytes_AS_STRING(vb);
    Py_ssize_t i = 0, j = 0, o = 0;
    while (i < n1 && j < n2) {
        if (b[j] < a[i]) {
            ko[o] = b[j];
            vo[o++] = vb2[j++];
        }
        else {
            ko[o] = a[i];
            vo[o++] = va[i++];
        }
    }
    for (; i < n1; i++, o++) {
        ko[o] = a[i];
        vo[o] = va[i];
    }
    for (; j < n2; j++, o++) {
        ko[o] = b[j];
        vo[o] = vb2[j];
    }
    /* cap: entry t is dropped when entry t + dups has the same key (it has dups newer copies);
     * the writes (at o <= t) never overtake the reads (at t + dups) */
    o = 0;
    for (Py_ssize_t t = 0; t < n; t++) {
        if (t + dups < n && ko[t + dups] == ko[t]) {
            continue;
        }
        ko[o] = ko[t];
        vo[o++] = vo[t];
    }
    if (o < n) {
        if (_PyBytes_Resize(&kb, o * 8) < 0 || _PyBytes_Resize(&vb, o * 4) < 0) {
            goto done;
        }
    }
    result = PyTuple_Pack(2, kb, vb);
done:
    Py_XDECREF(kb);
    Py_XDECREF(vb);
    if (held >= 4) {
        PyBuffer_Release(&v2);
    }
    if (held >= 3) {
        PyBuffer_Release(&k2);
    }
    if (held >= 2) {
        PyBuffer_Release(&v1);
    }
    if (held >= 1) {
        PyBuffer_Release(&k1);
    }
    return result;
}

/* tokenize(codes, classes, token_min) -> [(start, end), ...]: the candidate token units of a
 * spaced-folded byte text (taint._tokenize): maximal runs of token characters holding "@" or
 * "#", a "." or ":" between two token characters, or a digit when the run is at least
 * token_min long. classes is taint._CLASS_BYTES (256 bytes of class bits). */
#define C_TOK 1
#define C_DIGIT 2
#define C_AT 8
#define C_HASH 16
#define C_DOT 32

static PyObject *
py_tokenize(PyObject *self, PyObject *args)
{
    PyObject *obj;
    Py_buffer cls;
    Py_ssize_t token_min;
    if (!PyArg_ParseTuple(args, "Oy*n", &obj, &cls, &token_min)) {
        return NULL;
    }
    PyObject *out = NULL;
    Codes c;
    if (cls.len != 256) {
        PyErr_SetString(PyExc_ValueError, "classes must be 256 bytes");
        PyBuffer_Release(&cls);
        return NULL;
    }
    if (codes_get(obj, &c) < 0) {
        PyBuffer_Release(&cls);
        return NULL;
    }
    if (!c.u8) {
        PyErr_SetString(PyExc_ValueError, "tokenize takes uint8 codes");
        goto done;
    }
    const uint8_t *cl = (const uint8_t *)cls.buf;
    const uint8_t *s = c.u8;
    Py_ssize_t n = c.n;
    out = PyList_New(0);
    if (!out) {
        goto done;
    }
    Py_ssize_t i = 0;
    while (i < n) {
        if (!(cl[s[i]] & C_TOK)) {
            i++;
            continue;
        }
        Py_ssize_t a = i;
        int special = 0, digit = 0;
        while (i < n && (cl[s[i]] & C_TOK)) {
            uint8_t f = cl[s[i]];
            if (f & (C_AT | C_HASH)) {
                special = 1;
            }
            else if ((f & C_DOT) && i > a && i + 1 < n && (cl[s[i + 1]] & C_TOK)) {
                special = 1;
            }
            if (f & C_DIGIT) {
                digit = 1;
            }
            i++;
        }
        if (special || (digit && i - a >= token_min)) {
            PyObject *t = Py_BuildValue("(nn)", a, i);
            if (!t || PyList_Append(out, t) < 0) {
                Py_XDECREF(t);
                Py_CLEAR(out);
                goto done;
            }
            Py_DECREF(t);
        }
    }
done:
    PyBuffer_Release(&c.view);
    PyBuffer_Release(&cls);
    return out;
}

static PyMethodDef methods[] = {
    {"fingerprints", py_fingerprints, METH_VARARGS, "Winnowed k-gram hashes and positions."},
    {"scan_keys", py_scan_keys, METH_VARARGS, "k-gram hashes and query keys of a scan batch."},
    {"lookup", py_lookup, METH_VARARGS, "(query index, value) of every matching entry."},
    {"directory", py_directory, METH_VARARGS, "Bucket starts of a sorted run."},
    {"merge", py_merge, METH_VARARGS, "Stable merge of two sorted runs, capped per key."},
    {"tokenize", py_tokenize, METH_VARARGS, "Candidate token units of a byte text."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "toolguard._taintc", "C core of the taint ledger.", 0, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__taintc(void)
{
    return PyModuleDef_Init(&module);
}
