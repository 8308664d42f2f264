/*
 * toolguard._taintc: the hot loops of the taint ledger (toolguard/taint.py) in C.
 *
 * Every function here computes exactly what a numpy routine of taint.py computes (the tests
 * compare both on generated texts); the ledger uses this module when it is built and falls
 * back to numpy when it is not (or when TOOLGUARD_NO_ACCEL=1).
 *
 *   fingerprints(codes, k, w)          winnowed k-gram hashes (all window minima, ties kept)
 *   scan_keys(codes, k, w, segs, h)    k-gram hashes and the query keys of a scan batch
 *   lookup(runs, q, dups)              every (query index, value) of the sorted runs
 *   directory(keys, bits)              bucket starts of a sorted run by the keys' top bits
 *   merge(k1, v1, k2, v2, dups)        stable merge of two sorted runs, capped per key
 *   tokenize(codes, classes, min)      candidate token units of a spaced-folded byte text
 *   numbers(raw)                       numbers of 7 digits or more of a folded byte text
 *   ids(raw, token_min)                id-like runs around the digits of a spaced byte text
 *   secret_keys(raw, token_min)        ids, then the numbers of the text without its spaces
 *   units(codes, classes, min)         tokenize's units, the id-like ones already read
 *   text_keys(codes, classes, min, parents, ids_only, kinds)
 *                                      the keys of those units: ids, URLs, emails, hosts
 *   source_of(starts, n, base, vals)   the source of each stored value
 *   decode_candidates(raw)             the encoded runs of an argument that might decode
 *
 * Inputs are read through the buffer protocol (numpy arrays, bytes); outputs are bytes
 * objects the caller views with numpy.frombuffer. There is no global mutable state; the GIL
 * is held throughout. Every index is bounds-checked: a malformed input raises (ValueError,
 * MemoryError), it never yields an empty answer.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HASH_BASE 0x9E3779B97F4A7C15ULL /* odd: invertible modulo 2**64 (taint._B) */
#define HASH_MIX 0xD6E8FEB86659FD93ULL  /* taint._MIX */
#define MAX_K 256

#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)0)
#endif

/* Append a new reference to a list and release it: 0, or -1 with an exception set (also
 * when ``item`` is NULL because building it failed). */
static int
append_new(PyObject *list, PyObject *item)
{
    if (!item) {
        return -1;
    }
    int r = PyList_Append(list, item);
    Py_DECREF(item);
    return r;
}

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

/* The k-gram hashes h[i] = sum_j c[i+j]·B^j mod 2**64 (taint.kgram_hashes) of the m k-grams
 * starting at start, start+1, ... (start + m + k - 1 <= c->n), rolled:
 * h[i+1] = (h[i] - c[i])·B^-1 + c[i+k]·B^(k-1).
 * The roll is a chain of dependent multiplications, so the k-grams are cut into four
 * stretches rolled side by side (independent chains the CPU overlaps, kept in registers: an
 * array of lanes stays on the stack, a load and a store more per k-gram), each starting from
 * a direct sum; the arithmetic is exact modulo 2**64, so the hashes are the same. */
#define SQ_DIRECT(x, h)                                                                        \
    do {                                                                                       \
        uint64_t p_ = 1;                                                                       \
        h = 0;                                                                                 \
        for (int j_ = 0; j_ < k; j_++) {                                                       \
            h += (uint64_t)(x)[j_] * p_;                                                       \
            p_ *= HASH_BASE;                                                                   \
        }                                                                                      \
    } while (0)
#define SQ_STEP(x, o, h, i) (h = (h - (uint64_t)(x)[(i) - 1]) * inv + (uint64_t)(x)[(i) + k - 1] * top, (o)[i] = h)
#define SQ_ROLL(T, codes)                                                                      \
    do {                                                                                       \
        const T *x = (const T *)(codes) + start;                                                       \
        Py_ssize_t len = m / 4, q = 1;                                                         \
        uint64_t h3;                                                                           \
        if (len >= 2) {                                                                        \
            const T *x0 = x, *x1 = x + len, *x2 = x + 2 * len, *x3 = x + 3 * len;              \
            uint64_t *o0 = out, *o1 = out + len, *o2 = out + 2 * len, *o3 = out + 3 * len;     \
            uint64_t h0, h1, h2;                                                               \
            SQ_DIRECT(x0, h0);                                                                 \
            SQ_DIRECT(x1, h1);                                                                 \
            SQ_DIRECT(x2, h2);                                                                 \
            SQ_DIRECT(x3, h3);                                                                 \
            o0[0] = h0;                                                                        \
            o1[0] = h1;                                                                        \
            o2[0] = h2;                                                                        \
            o3[0] = h3;                                                                        \
            for (Py_ssize_t i = 1; i < len; i++) {                                             \
                SQ_STEP(x0, o0, h0, i);                                                        \
                SQ_STEP(x1, o1, h1, i);                                                        \
                SQ_STEP(x2, o2, h2, i);                                                        \
                SQ_STEP(x3, o3, h3, i);                                                        \
            }                                                                                  \
            q = 4 * len; /* the last lane goes on to the end */                                \
        }                                                                                      \
        else {                                                                                 \
            SQ_DIRECT(x, h3);                                                                  \
            out[0] = h3;                                                                       \
        }                                                                                      \
        for (; q < m; q++) {                                                                   \
            SQ_STEP(x, out, h3, q);                                                            \
        }                                                                                      \
    } while (0)

static void
kgram_hashes(const Codes *c, Py_ssize_t start, Py_ssize_t m, int k, uint64_t *out)
{
    const uint64_t inv = inverse64(HASH_BASE);
    uint64_t top = 1; /* B^(k-1) */
    for (int j = 0; j < k - 1; j++) {
        top *= HASH_BASE;
    }
    if (m <= 0) {
        return;
    }
    if (c->u8) {
        SQ_ROLL(uint8_t, c->u8);
    }
    else {
        SQ_ROLL(uint32_t, c->u32);
    }
}
#undef SQ_ROLL
#undef SQ_STEP
#undef SQ_DIRECT

/* Sliding minimum of every full window of w items of a[0:len] (len >= w) into
 * out[0 : len - w + 1], by van Herk / Gil-Werman: with blocks of w items, a window is a
 * suffix of one block and a prefix of the next, so out[j] = min(suffix[j], prefix[j + w - 1]).
 * Three branch-free passes (a monotonic queue mispredicts on random hashes); tmp holds len
 * items, out len items (the suffixes are computed in place there). */
static inline uint64_t
min64(uint64_t x, uint64_t y)
{
    return y < x ? y : x;
}

static void
sliding_min(const uint64_t *a, Py_ssize_t len, int w, uint64_t *out, uint64_t *tmp)
{
    for (Py_ssize_t b = 0; b < len; b += w) {
        Py_ssize_t e = b + w < len ? b + w : len;
        uint64_t x = tmp[b] = a[b]; /* prefixes of the block */
        for (Py_ssize_t i = b + 1; i < e; i++) {
            tmp[i] = x = min64(x, a[i]);
        }
        x = out[e - 1] = a[e - 1]; /* suffixes of the block */
        for (Py_ssize_t i = e - 2; i >= b; i--) {
            out[i] = x = min64(x, a[i]);
        }
    }
    for (Py_ssize_t j = 0; j + w <= len; j++) {
        out[j] = min64(out[j], tmp[j + w - 1]);
    }
}

/* mins[j] = min(h[j .. j+w-1]) for the m - w + 1 full windows (m >= w); tmp: m items. */
static void
window_minima(const uint64_t *h, Py_ssize_t m, int w, uint64_t *mins, uint64_t *tmp)
{
    sliding_min(h, m, w, mins, tmp);
}

/* Positions kept by winnowing (taint.winnow): p is kept iff h[p] is the minimum of some
 * window containing it. Window by window, with the minima known: when a window has the same
 * minimum as the one before, only the entering position can be new (a tie); when its minimum
 * is smaller, it is the entering position; when it is larger (the old minimum left), the
 * window is searched again. Positions come out increasing, each once: a larger minimum means
 * every earlier kept position has left the window. mins and tmp hold m items. */
static Py_ssize_t
winnow(const uint64_t *h, Py_ssize_t m, int w, int64_t *out, uint64_t *mins, uint64_t *tmp)
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
    Py_ssize_t nw = m - w + 1;
    window_minima(h, m, w, mins, tmp);
    int64_t last = -1;
    for (Py_ssize_t j = 0; j < nw; j++) {
        uint64_t v = mins[j];
        if (j > 0 && v <= mins[j - 1]) {
            Py_ssize_t p = j + w - 1; /* the entering position */
            if (h[p] == v && p > last) {
                out[n++] = last = p;
            }
            continue;
        }
        for (Py_ssize_t p = j; p < j + w; p++) {
            if (h[p] == v && p > last) {
                out[n++] = last = p;
            }
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
    uint64_t *h, *mins, *tmp;
    int64_t *pos;
} Scratch;

/* m items each. */
static int
scratch_alloc(Scratch *s, Py_ssize_t m)
{
    s->h = PyMem_Malloc(sizeof(uint64_t) * (size_t)m);
    s->mins = PyMem_Malloc(sizeof(uint64_t) * (size_t)m);
    s->tmp = PyMem_Malloc(sizeof(uint64_t) * (size_t)m);
    s->pos = PyMem_Malloc(sizeof(int64_t) * (size_t)m);
    if (!s->h || !s->mins || !s->tmp || !s->pos) {
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
    PyMem_Free(s->tmp);
    PyMem_Free(s->pos);
}

/* fingerprints(codes, k, w) -> (hashes: bytes of uint64, positions: bytes of int64)
 *
 * Chunk by chunk of CHUNK k-grams (the working set stays in the cache), each with the w - 1
 * k-grams on either side its windows reach: the same positions as winnowing the whole. */
#define CHUNK 32768

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
    PyObject *result = NULL, *hb = NULL, *pb = NULL;
    Py_ssize_t m = c.n - k + 1;
    if (m <= 0) {
        PyBuffer_Release(&c.view);
        return Py_BuildValue("(y#y#)", "", (Py_ssize_t)0, "", (Py_ssize_t)0);
    }
    Py_ssize_t span = (m < CHUNK ? m : CHUNK) + 2 * (Py_ssize_t)w;
    Scratch s = {NULL, NULL, NULL, NULL};
    uint64_t *ho = NULL;
    int64_t *po = NULL;
    Py_ssize_t n = 0, cap = 0;
    if (scratch_alloc(&s, span) < 0) {
        goto done;
    }
    for (Py_ssize_t a = 0; a < m; a += CHUNK) {
        Py_ssize_t b = a + CHUNK < m ? a + CHUNK : m;
        Py_ssize_t a0 = a - (w - 1) > 0 ? a - (w - 1) : 0;
        Py_ssize_t b0 = b + (w - 1) < m ? b + (w - 1) : m;
        kgram_hashes(&c, a0, b0 - a0, k, s.h);
        Py_ssize_t got = winnow(s.h, b0 - a0, w, s.pos, s.mins, s.tmp);
        if (n + got > cap) {
            cap = 2 * (n + got);
            uint64_t *nh = PyMem_Realloc(ho, sizeof(uint64_t) * (size_t)cap);
            if (nh) {
                ho = nh;
            }
            int64_t *np_ = nh ? PyMem_Realloc(po, sizeof(int64_t) * (size_t)cap) : NULL;
            if (!nh || !np_) {
                PyErr_NoMemory();
                goto done;
            }
            po = np_;
        }
        for (Py_ssize_t i = 0; i < got; i++) {
            Py_ssize_t p = a0 + s.pos[i];
            if (p >= a && p < b) {
                ho[n] = s.h[s.pos[i]];
                po[n++] = p;
            }
        }
    }
    hb = PyBytes_FromStringAndSize((const char *)ho, n * 8);
    pb = PyBytes_FromStringAndSize((const char *)po, n * 8);
    if (hb && pb) {
        result = PyTuple_Pack(2, hb, pb);
    }
done:
    Py_XDECREF(hb);
    Py_XDECREF(pb);
    PyMem_Free(ho);
    PyMem_Free(po);
    scratch_free(&s);
    PyBuffer_Release(&c.view);
    return result;
}

/* scan_keys(codes, k, w, segs[, want_h]) -> (h, qkeys, qpos), as TaintLedger.scan builds them:
 *
 * h     every k-gram hash of the batch (bytes of uint64; empty when want_h is false: the
 *       exact positions in qpos are all a scan needs);
 * qkeys the query keys, mixed (bytes of uint64), and qpos their positions (bytes of int64):
 *       a short batch (at most 2(k+w) k-grams) queries every k-gram (qpos = its start);
 *       otherwise the minimum of each run of windows with the same minimum (of the run's last
 *       window j; qpos = the first position of that minimum in window j, where the numpy
 *       path, which encodes it as -1 - j, finds it later), then every k-gram of each segment
 *       (start, end) of segs with k <= end - start < 2(k+w). */
static PyObject *
py_scan_keys(PyObject *self, PyObject *args)
{
    PyObject *obj, *segs;
    int k, w, want_h = 1;
    if (!PyArg_ParseTuple(args, "OiiO!|p", &obj, &k, &w, &PyList_Type, &segs, &want_h) || check_kw(k, w) < 0) {
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
    kgram_hashes(&c, 0, m, k, s.h);
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
        window_minima(s.h, m, w, s.mins, s.tmp);
        Py_ssize_t nw = m - w + 1;
        for (Py_ssize_t j = 0; j < nw; j++) {
            if (j + 1 == nw || s.mins[j + 1] != s.mins[j]) {
                /* the window's first minimum: where _explain would find it */
                Py_ssize_t p = j;
                while (s.h[p] != s.mins[j]) {
                    p++; /* stops within the window: it holds its minimum */
                }
                qk[nq] = s.mins[j];
                qp[nq++] = p;
            }
        }
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
    hb = PyBytes_FromStringAndSize((const char *)s.h, want_h ? m * 8 : 0);
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

/* The first index in keys[lo:hi] whose key is >= q (hi if none). Branch-free (a conditional
 * move per level): the searches of successive queries overlap instead of each level waiting
 * for a mispredicted branch. */
static inline Py_ssize_t
lower_bound(const uint64_t *keys, Py_ssize_t lo, Py_ssize_t hi, uint64_t q)
{
    Py_ssize_t n = hi - lo;
    if (n <= 0) {
        return lo;
    }
    const uint64_t *base = keys + lo;
    while (n > 1) { /* the answer is in [base, base + n] */
        Py_ssize_t half = n / 2;
        base = base[half] < q ? base + half : base;
        n -= half;
    }
    return (base - keys) + (*base < q);
}

/* Where in a directory bucket keys[lo:hi) (the keys whose top bits are the bucket's) a key q
 * should be: keys are hashes, spread evenly, so q's place among the bucket's keys follows
 * from q's place in the bucket's range of keys (its bits below the top ones). A guess: it
 * only decides where the search starts and which cache line is fetched first. */
static inline Py_ssize_t
bucket_guess(uint64_t q, int bits, Py_ssize_t lo, Py_ssize_t hi)
{
    /* the 32 bits below the top ones, as a fraction of the bucket (bits <= 32) */
    uint64_t frac = (q << bits) >> 32;
    return lo + (Py_ssize_t)((frac * (uint64_t)(hi - lo)) >> 32);
}

/* The first index in keys[lo:hi) whose key is >= q (hi if none), found near the guess g
 * (lo <= g < hi): the guess of an even bucket of about 16 keys is rarely more than a few keys
 * off, so the answer is looked for among the GUESS_SPAN keys on either side of it, by a
 * branch-free binary search; it is the bucket's answer when it falls inside the window, or at
 * an end of the window whose neighbour outside (which search_runs fetches ahead) confirms it.
 * Otherwise (a bucket piled up by crafted keys, or a guess far off) the whole bucket is
 * searched so. */
#define GUESS_SPAN 4
static inline Py_ssize_t
lower_bound_from(const uint64_t *keys, Py_ssize_t lo, Py_ssize_t hi, Py_ssize_t g, uint64_t q)
{
    Py_ssize_t a = g - GUESS_SPAN > lo ? g - GUESS_SPAN : lo;
    Py_ssize_t b = g + GUESS_SPAN < hi ? g + GUESS_SPAN : hi;
    Py_ssize_t p = lower_bound(keys, a, b, q);
    /* the answer of the window is the bucket's unless it is at an end of the window that is
     * not the bucket's (usually it is inside: then keys[p - 1] < q <= keys[p] settle it) */
    if ((p > a || a == lo || keys[a - 1] < q) && (p < b || b == hi || keys[b] >= q)) {
        return p;
    }
    return lower_bound(keys, lo, hi, q);
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

/* Runs of this many entries (256 KB of keys) or more have their memory fetched ahead; a
 * smaller run stays in the cache between scans, and its buckets are searched at once. */
#define FETCH_AHEAD_MIN ((Py_ssize_t)1 << 15)

/* Search every run for every query key: append (query index << 32 | value) to *hits for
 * each entry with that key (at most dups per run), then sort them, so the answer is in
 * (query index, value) order whatever the runs. bounds holds 3 * nq * nruns slots.
 *
 * A run with a directory narrows each search to the bucket of the key's top bits, and the
 * search starts where the key should be in its bucket (bucket_guess). The memory of big runs
 * (FETCH_AHEAD_MIN) is fetched ahead, for all the queries of all the runs at once, so that
 * the cache misses overlap instead of following one another: first the directory entries,
 * then, for each query, the few keys around its guess (two cache lines, where a whole bucket
 * spans three or four), then every run is searched. -1 with an exception set on error
 * (a malformed directory). */
static int
search_runs(const Run *runs, Py_ssize_t nruns, const uint64_t *q, Py_ssize_t nq, int dups,
            Py_ssize_t *bounds, uint64_t **hits, Py_ssize_t *nhits, Py_ssize_t *hcap)
{
    for (Py_ssize_t ri = 0; ri < nruns; ri++) {
        const Run *r = &runs[ri];
        if (r->has_dir && r->n >= FETCH_AHEAD_MIN) {
            const uint32_t *dir = (const uint32_t *)r->dir.buf;
            int shift = 64 - r->bits;
            for (Py_ssize_t i = 0; i < nq; i++) {
                PREFETCH(&dir[q[i] >> shift]);
            }
        }
    }
    for (Py_ssize_t ri = 0; ri < nruns; ri++) {
        const Run *r = &runs[ri];
        Py_ssize_t *b = bounds + 3 * nq * ri;
        if (!r->has_dir || r->n < FETCH_AHEAD_MIN) {
            continue;
        }
        const uint64_t *keys = (const uint64_t *)r->keys.buf;
        const uint32_t *dir = (const uint32_t *)r->dir.buf;
        int shift = 64 - r->bits;
        for (Py_ssize_t i = 0; i < nq; i++) {
            uint64_t t = q[i] >> shift;
            Py_ssize_t lo = dir[t], hi = dir[t + 1], g = lo;
            if (lo > hi || hi > r->n) {
                PyErr_SetString(PyExc_ValueError, "malformed directory");
                return -1;
            }
            if (lo < hi) { /* the ends of the window lower_bound_from reads first */
                g = bucket_guess(q[i], r->bits, lo, hi);
                PREFETCH(&keys[g - GUESS_SPAN - 1 > lo ? g - GUESS_SPAN - 1 : lo]);
                PREFETCH(&keys[g + GUESS_SPAN < hi ? g + GUESS_SPAN : hi - 1]);
            }
            b[3 * i] = lo;
            b[3 * i + 1] = hi;
            b[3 * i + 2] = g;
        }
    }
    for (Py_ssize_t ri = 0; ri < nruns; ri++) {
        const Run *r = &runs[ri];
        const Py_ssize_t *b = bounds + 3 * nq * ri;
        const uint64_t *keys = (const uint64_t *)r->keys.buf;
        const uint32_t *vals = (const uint32_t *)r->vals.buf;
        const uint32_t *dir = r->has_dir ? (const uint32_t *)r->dir.buf : NULL;
        int ahead = dir && r->n >= FETCH_AHEAD_MIN, shift = 64 - r->bits;
        for (Py_ssize_t i = 0; i < nq; i++) {
            Py_ssize_t p;
            if (!dir) {
                p = lower_bound(keys, 0, r->n, q[i]);
            }
            else if (ahead) {
                if (b[3 * i] == b[3 * i + 1]) {
                    continue; /* an empty bucket */
                }
                p = lower_bound_from(keys, b[3 * i], b[3 * i + 1], b[3 * i + 2], q[i]);
            }
            else { /* a run in the cache: its bucket at once */
                uint64_t t = q[i] >> shift;
                Py_ssize_t lo = dir[t], hi = dir[t + 1];
                if (lo > hi || hi > r->n) {
                    PyErr_SetString(PyExc_ValueError, "malformed directory");
                    return -1;
                }
                if (lo == hi) {
                    continue;
                }
                p = lower_bound_from(keys, lo, hi, bucket_guess(q[i], r->bits, lo, hi), q[i]);
            }
            for (int d = 0; d < dups && p + d < r->n && keys[p + d] == q[i]; d++) {
                if (*nhits == *hcap) {
                    Py_ssize_t cap = *hcap ? 2 * *hcap : 64;
                    uint64_t *nh = PyMem_Realloc(*hits, sizeof(uint64_t) * (size_t)cap);
                    if (!nh) {
                        PyErr_NoMemory();
                        return -1;
                    }
                    *hits = nh;
                    *hcap = cap;
                }
                (*hits)[(*nhits)++] = ((uint64_t)i << 32) | vals[p + d];
            }
        }
    }
    if (*nhits > 1) {
        qsort(*hits, (size_t)*nhits, sizeof(uint64_t), cmp_u64);
    }
    return 0;
}

/* The slots search_runs needs for its bounds (3 per query and run), or NULL with an
 * exception set. */
static Py_ssize_t *
bounds_alloc(Py_ssize_t nq, Py_ssize_t nruns)
{
    size_t n = (size_t)(nq ? nq : 1) * (size_t)(nruns ? nruns : 1);
    if (n > ((size_t)1 << 40)) {
        PyErr_SetString(PyExc_ValueError, "too many queries");
        return NULL;
    }
    Py_ssize_t *b = PyMem_Malloc(sizeof(Py_ssize_t) * 3 * n);
    if (!b) {
        PyErr_NoMemory();
    }
    return b;
}

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
    Py_ssize_t *bounds = NULL; /* per query: the range of the run to search */
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
    bounds = bounds_alloc(nq, nruns);
    if (!bounds) {
        goto done;
    }
    if (search_runs(runs, nruns, q, nq, dups, bounds, &hits, &nhits, &hcap) < 0) {
        goto done;
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
    PyMem_Free(bounds);
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
    /* one pass: each key opens the buckets up to its own (and must not be below the last) */
    Py_ssize_t t = 0; /* buckets [0, t) are open */
    for (Py_ssize_t i = 0; i < n; i++) {
        if (i > 0 && keys[i - 1] > keys[i]) {
            Py_CLEAR(out);
            PyErr_SetString(PyExc_ValueError, "keys are not sorted");
            goto done;
        }
        Py_ssize_t b = (Py_ssize_t)(keys[i] >> (64 - bits));
        while (t <= b) {
            d[t++] = (uint32_t)i;
        }
    }
    while (t <= nb) {
        d[t++] = (uint32_t)n;
    }
done:
    PyBuffer_Release(&kv);
    return out;
}

/* merge(keys1, vals1, keys2, vals2, dups) -> (keys, vals): the stable merge of two sorted
 * runs (for equal keys the entries of run 1, the older, first), keeping only the last dups
 * entries of each key (taint._Index._cap: the newest). */
/* The first index p in [lo, hi) with keys[p] >= key (hi if none), keys sorted: an
 * exponential search from lo, then a binary search. */
static Py_ssize_t
gallop_below(const uint64_t *keys, Py_ssize_t lo, Py_ssize_t hi, uint64_t key)
{
    Py_ssize_t step = 1, prev = lo;
    Py_ssize_t p = lo;
    while (p < hi && keys[p] < key) {
        prev = p + 1;
        p = lo + step;
        step *= 2;
    }
    if (p > hi) {
        p = hi;
    }
    /* keys[prev - 1] < key (or prev == lo), and p == hi or keys[p] >= key */
    Py_ssize_t l = prev, r = p;
    while (l < r) {
        Py_ssize_t m = l + (r - l) / 2;
        if (keys[m] < key) {
            l = m + 1;
        }
        else {
            r = m;
        }
    }
    return l;
}

/* Does keys[lo:hi] (sorted) hold more than dups entries of one key? */
static int
over_dups(const uint64_t *keys, Py_ssize_t lo, Py_ssize_t hi, int dups)
{
    int over = 0;
    for (Py_ssize_t t = lo; t + dups < hi; t++) {
        over |= keys[t] == keys[t + dups];
    }
    return over;
}

/* One side's run of keys below the other side's next key, keys[at:end), copied whole to
 * ko/vo at o when it is long (8 or more) and safe to copy unexamined: it does not continue
 * the key written last (o > 0 here) and holds no more than dups entries of one key. Returns
 * end when copied, at when the entries must go one by one. */
static Py_ssize_t
gallop_copy(const uint64_t *keys, const uint32_t *vals, Py_ssize_t at, Py_ssize_t n, uint64_t limit, int dups,
            uint64_t *ko, uint32_t *vo, Py_ssize_t o)
{
    Py_ssize_t end = gallop_below(keys, at, n, limit);
    if (end - at < 8 || ko[o - 1] == keys[at] || over_dups(keys, at, end, dups)) {
        return at;
    }
    memcpy(ko + o, keys + at, sizeof(uint64_t) * (size_t)(end - at));
    memcpy(vo + o, vals + at, sizeof(uint32_t) * (size_t)(end - at));
    return end;
}

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
    /* One pass. Equal keys come out together, older first; once a key has dups entries, each
     * further one drops the oldest of them (taint._Index._cap keeps the newest dups): the
     * run's entries shift down by one, which only a key in more than dups sources costs.
     * When one run supplies 8 entries in a row, the stretch of it below the other run's next
     * key is found by galloping and copied in bulk (a small run merged into a big one costs
     * a search per entry of the small one and a copy of the big one), unless the stretch
     * continues the key just written or holds more than dups entries of one key. */
    Py_ssize_t i = 0, j = 0, o = 0, same = 0; /* same: entries of ko[o-1]'s key at the end */
    int wins_a = 0, wins_b = 0;
    while (i < n1 || j < n2) {
        uint64_t key;
        uint32_t val;
        if (j >= n2 || (i < n1 && a[i] <= b[j])) {
            if (wins_a >= 8 && j < n2) {
                Py_ssize_t end = gallop_copy(a, va, i, n1, b[j], dups, ko, vo, o);
                if (end > i) {
                    o += end - i;
                    i = end;
                    wins_a = 0;
                    continue;
                }
            }
            key = a[i];
            val = va[i++];
            wins_a++;
            wins_b = 0;
        }
        else {
            if (wins_b >= 8 && i < n1) {
                Py_ssize_t end = gallop_copy(b, vb2, j, n2, a[i], dups, ko, vo, o);
                if (end > j) {
                    o += end - j;
                    j = end;
                    wins_b = 0;
                    continue;
                }
            }
            key = b[j];
            val = vb2[j++];
            wins_b++;
            wins_a = 0;
        }
        same = (o > 0 && ko[o - 1] == key) ? same + 1 : 1;
        if (same > dups) {
            memmove(&vo[o - dups], &vo[o - dups + 1], sizeof(uint32_t) * (size_t)(dups - 1));
            vo[o - 1] = val; /* the keys are all equal: only the values move */
            same = dups;
            continue;
        }
        ko[o] = key;
        vo[o++] = val;
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

/* The units of a code array as (start, end) pairs in a PyMem buffer (*spans, 2 per unit): the
 * count, or -1 with an exception set. */
/* One unit scan over codes read through CLASS(i) (a macro: the class of code i). */
#define TOKENIZE_LOOP                                                                          \
    while (i < n) {                                                                            \
        /* Only a unit with a mark ("@", "#", ".", ":", a digit; all token characters) can   \
         * qualify: skip to the next mark, then read the whole unit around it. */             \
        while (i + 4 <= n && !((CLASS(i) | CLASS(i + 1) | CLASS(i + 2) | CLASS(i + 3)) & MARKS)) { \
            i += 4;                                                                            \
        }                                                                                      \
        while (i < n && !(CLASS(i) & MARKS)) {                                                 \
            i++;                                                                               \
        }                                                                                      \
        if (i >= n) {                                                                          \
            break;                                                                             \
        }                                                                                      \
        Py_ssize_t a = i;                                                                      \
        while (a > 0 && (CLASS(a - 1) & C_TOK)) {                                              \
            a--; /* never before the previous unit's end: not a token character */            \
        }                                                                                      \
        i = a;                                                                                 \
        int special = 0, digit = 0;                                                            \
        while (i < n && (CLASS(i) & C_TOK)) {                                                  \
            uint8_t f = CLASS(i);                                                              \
            if (f & (C_AT | C_HASH)) {                                                         \
                special = 1;                                                                   \
            }                                                                                  \
            else if ((f & C_DOT) && i > a && i + 1 < n && (CLASS(i + 1) & C_TOK)) {            \
                special = 1;                                                                   \
            }                                                                                  \
            if (f & C_DIGIT) {                                                                 \
                digit = 1;                                                                     \
            }                                                                                  \
            i++;                                                                               \
        }                                                                                      \
        if (special || (digit && i - a >= token_min)) {                                        \
            if (count == cap) {                                                                \
                Py_ssize_t *grown = PyMem_Realloc(sp, (size_t)cap * 4 * sizeof(Py_ssize_t));   \
                if (!grown) {                                                                  \
                    PyMem_Free(sp);                                                            \
                    PyErr_NoMemory();                                                          \
                    return -1;                                                                 \
                }                                                                              \
                sp = grown;                                                                    \
                cap *= 2;                                                                      \
            }                                                                                  \
            sp[2 * count] = a;                                                                 \
            sp[2 * count + 1] = i;                                                             \
            count++;                                                                           \
        }                                                                                      \
    }

/* The units of a code array as (start, end) pairs in a PyMem buffer (*spans, 2 per unit): the
 * count, or -1 with an exception set. The class of a code comes from cl (codes >= 256 as
 * 255: letters of other scripts). */
static Py_ssize_t
tokenize_spans(const Codes *c, const uint8_t *cl, Py_ssize_t token_min, Py_ssize_t **spans)
{
    const uint8_t MARKS = C_AT | C_HASH | C_DOT | C_DIGIT;
    Py_ssize_t n = c->n, count = 0, cap = 64, i = 0;
    Py_ssize_t *sp = PyMem_Malloc((size_t)cap * 2 * sizeof(Py_ssize_t));
    *spans = NULL;
    if (!sp) {
        PyErr_NoMemory();
        return -1;
    }
    if (c->u8) {
        const uint8_t *u8 = c->u8;
#define CLASS(j) cl[u8[j]]
        TOKENIZE_LOOP
#undef CLASS
    }
    else {
        const uint32_t *u32 = c->u32;
#define CLASS(j) cl[u32[j] < 256 ? u32[j] : 255]
        TOKENIZE_LOOP
#undef CLASS
    }
    *spans = sp;
    return count;
}
#undef TOKENIZE_LOOP

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
    Py_ssize_t *spans = NULL;
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
    Py_ssize_t count = tokenize_spans(&c, (const uint8_t *)cls.buf, token_min, &spans);
    if (count < 0) {
        goto done;
    }
    out = PyList_New(0);
    for (Py_ssize_t u = 0; out && u < count; u++) {
        if (append_new(out, Py_BuildValue("(nn)", spans[2 * u], spans[2 * u + 1])) < 0) {
            Py_CLEAR(out);
        }
    }
done:
    PyMem_Free(spans);
    PyBuffer_Release(&c.view);
    PyBuffer_Release(&cls);
    return out;
}


/* numbers(raw) -> [(digits, offset), ...]: every number of an ASCII spaced fold (taint._numbers
 * on bytes): the text is read without its spaces (the regex 0(?<!00)(?:0|[().+/\-]{1,3}0){6,}
 * over it with digits written 0), except that a group separator (group_sep(), decided on the
 * text with its spaces) reads as one of "().+/-": a digit not preceded by a digit, then as
 * many more digits as follow, each alone or after 1 to 3 separators; at least 7 digits. Its
 * key is the digits alone, its offset that of its first digit in the text without spaces
 * (numbers_into() can give its position in the spaced text instead: latin_fp).
 * A number whose last separator is a lone "." followed by one or two digits (a decimal part)
 * gives the digits before it as a second key when they are 7 or more (decimal_key()). */
static inline int
is_digit(uint32_t ch)
{
    return ch >= '0' && ch <= '9';
}

static inline int
is_num_sep(uint32_t ch)
{
    return ch == '(' || ch == ')' || ch == '.' || ch == '+' || ch == '/' || ch == '-';
}

static int group_sep(const uint8_t *s, Py_ssize_t n, Py_ssize_t i);
static Py_ssize_t decimal_key(Py_ssize_t nd, Py_ssize_t sep_nd, int sep_dot);
static Py_ssize_t count_spaces(const uint8_t *s, Py_ssize_t a, Py_ssize_t b);

/* What numbers_into() appends for each number: (digits, offset in s without its spaces),
 * the digits alone, or (digits, offset in s). */
#define NUM_AT_FOLDED 0
#define NUM_BARE 1
#define NUM_AT_SPACED 2

/* Appends to out every number of s[0:n] (7 digits or more), as mode says. -1 on error (an
 * exception set). */
static int
numbers_into(const uint8_t *s, Py_ssize_t n, PyObject *out, int mode)
{
    char *digits = PyMem_Malloc((size_t)n + 1);
    if (!digits) {
        PyErr_NoMemory();
        return -1;
    }
    int rc = 0;
    Py_ssize_t i = 0, counted = 0, spaces = 0; /* the spaces of s[0:counted] */
    while (i < n) {
        /* eight bytes at a time while none is a digit (none of them starts a number): a
         * byte of x ^ 0x30.. is below 10 exactly where x holds a digit */
        while (i + 8 <= n) {
            uint64_t x;
            memcpy(&x, s + i, 8);
            x ^= 0x3030303030303030ULL;
            if (((x - 0x0A0A0A0A0A0A0A0AULL) & ~x & 0x8080808080808080ULL) != 0) {
                break;
            }
            i += 8;
        }
        if (i >= n) {
            break;
        }
        if (!is_digit(s[i])) {
            i++;
            continue;
        }
        Py_ssize_t b = i;
        while (b > 0 && s[b - 1] == ' ') {
            b--;
        }
        if (b > 0 && is_digit(s[b - 1])) {
            i++; /* (inside a run of digits, spaces apart) */
            continue;
        }
        Py_ssize_t a = i, nd = 0, sep_nd = -1;
        int sep_dot = 0;
        digits[nd++] = (char)s[i++];
        while (i < n) {
            Py_ssize_t j = i;
            while (j < n && s[j] == ' ') {
                j++;
            }
            if (j < n && is_digit(s[j])) {
                digits[nd++] = (char)s[j];
                i = j + 1;
                continue;
            }
            /* 1 to 3 separators (spaces between them do not count), then a digit */
            Py_ssize_t q = j, ns = 0;
            uint8_t first = 0;
            while (q < n && ns < 4) {
                if (s[q] == ' ') {
                    q++;
                }
                else if (is_num_sep(s[q]) || group_sep(s, n, q)) {
                    first = ns ? first : s[q];
                    ns++;
                    q++;
                }
                else {
                    break;
                }
            }
            while (q < n && s[q] == ' ') {
                q++;
            }
            if (ns >= 1 && ns <= 3 && q < n && is_digit(s[q])) {
                sep_nd = nd;
                sep_dot = ns == 1 && first == '.';
                i = q; /* the separators, then the digit on the next turn */
                continue;
            }
            break;
        }
        if (nd >= 7) {
            if (mode == NUM_AT_FOLDED) {
                spaces += count_spaces(s, counted, a);
                counted = a;
            }
            Py_ssize_t at = a - spaces, whole = decimal_key(nd, sep_nd, sep_dot);
            for (int twice = 0; twice < 2 && rc == 0; twice++) {
                Py_ssize_t len = twice ? whole : nd;
                if (len < 7) {
                    break;
                }
                PyObject *item = mode == NUM_BARE ? PyUnicode_DecodeASCII(digits, len, "strict") : Py_BuildValue("(s#n)", digits, len, at);
                if (append_new(out, item) < 0) {
                    rc = -1;
                }
            }
            if (rc < 0) {
                break;
            }
        }
        /* a failed start: any later start inside the same chain sees fewer digits; go on
         * from where the chain ended (i) */
    }
    PyMem_Free(digits);
    return rc;
}

static PyObject *
py_numbers(PyObject *self, PyObject *args)
{
    Py_buffer rv;
    if (!PyArg_ParseTuple(args, "y*", &rv)) {
        return NULL;
    }
    PyObject *out = PyList_New(0);
    if (out && numbers_into(rv.buf, rv.len, out, NUM_AT_FOLDED) < 0) {
        Py_CLEAR(out);
    }
    PyBuffer_Release(&rv);
    return out;
}

/* ids(raw, token_min) -> [id, ...]: taint._ids on an ASCII spaced-folded text: around each
 * digit, the maximal run of letters, digits, "_" and "-", kept when it is at least token_min
 * long once "-" and "_" are stripped from its ends. */
static inline int
is_word(uint32_t ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' || ch == '-';
}

static PyObject *
py_ids(PyObject *self, PyObject *args)
{
    Py_buffer rv;
    Py_ssize_t token_min;
    if (!PyArg_ParseTuple(args, "y*n", &rv, &token_min)) {
        return NULL;
    }
    const uint8_t *s = rv.buf;
    Py_ssize_t n = rv.len;
    PyObject *out = PyList_New(0);
    if (!out) {
        goto done;
    }
    Py_ssize_t p = 0;
    while (p < n) {
        if (!is_digit(s[p])) {
            p++;
            continue;
        }
        Py_ssize_t a = p, end = p;
        while (a > 0 && is_word(s[a - 1])) {
            a--;
        }
        while (end < n && is_word(s[end])) {
            end++;
        }
        if (end - a >= token_min) {
            Py_ssize_t x = a, y = end;
            while (x < y && (s[x] == '-' || s[x] == '_')) {
                x++;
            }
            while (y > x && (s[y - 1] == '-' || s[y - 1] == '_')) {
                y--;
            }
            if (y - x >= token_min) {
                if (append_new(out, PyUnicode_DecodeASCII((const char *)s + x, y - x, "strict")) < 0) {
                    Py_CLEAR(out);
                    goto done;
                }
            }
        }
        p = end;
    }
done:
    PyBuffer_Release(&rv);
    return out;
}

/* secret_keys(raw, token_min) -> [key, ...]: ids(raw, token_min), then the digits of
 * numbers(raw), as taint._secret_keys gives them from a spaced fold: one call, and no copy of
 * the text made in Python. */
static PyObject *
py_secret_keys(PyObject *self, PyObject *args)
{
    PyObject *raw;
    Py_ssize_t token_min;
    if (!PyArg_ParseTuple(args, "O!n", &PyBytes_Type, &raw, &token_min)) {
        return NULL;
    }
    PyObject *out = py_ids(self, args);
    if (!out) {
        return NULL;
    }
    const uint8_t *s = (const uint8_t *)PyBytes_AS_STRING(raw);
    Py_ssize_t n = PyBytes_GET_SIZE(raw), nd = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        nd += is_digit(s[i]);
    }
    if (nd < 7) {
        return out; /* no number of 7 digits */
    }
    if (numbers_into(s, n, out, NUM_BARE) < 0) {
        Py_CLEAR(out);
    }
    return out;
}

/* units(codes, classes, token_min) -> [(text, offset, is_id), ...]: the units of tokenize(),
 * in order, with the common case settled: a unit that is only letters, digits, "_" and "-"
 * once ".,:;!?'\"-" are stripped from its ends (taint._TRIM) is an id when it has a digit and,
 * stripped of "-" and "_" too, at least token_min characters: it comes as (id, offset, True),
 * or not at all. Every other unit comes as (unit, offset, False) for the caller to read
 * (URLs, emails, hosts, handles). Only ASCII units are settled here; a unit with other
 * letters (Latin-1 codes) is handed back. */
static inline int
is_trim(uint32_t ch)
{
    return ch == '.' || ch == ',' || ch == ':' || ch == ';' || ch == '!' || ch == '?' || ch == '\'' || ch == '"' ||
           ch == '-';
}

static PyObject *
py_units(PyObject *self, PyObject *args)
{
    PyObject *obj, *spans = NULL, *out = NULL;
    Py_buffer cls;
    Py_ssize_t token_min;
    if (!PyArg_ParseTuple(args, "Oy*n", &obj, &cls, &token_min)) {
        return NULL;
    }
    Codes c;
    if (codes_get(obj, &c) < 0) {
        PyBuffer_Release(&cls);
        return NULL;
    }
    PyObject *targs = Py_BuildValue("(OOn)", obj, PyTuple_GET_ITEM(args, 1), token_min);
    if (!targs) {
        goto done;
    }
    spans = py_tokenize(self, targs);
    Py_DECREF(targs);
    if (!spans) {
        goto done;
    }
    out = PyList_New(0);
    if (!out) {
        goto done;
    }
#define AT(i) ((uint32_t)code_at(&c, (i)))
    for (Py_ssize_t u = 0; u < PyList_GET_SIZE(spans); u++) {
        Py_ssize_t a, b;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(spans, u), "nn", &a, &b)) {
            Py_CLEAR(out);
            goto done;
        }
        const Py_ssize_t start = a; /* the unit's offset, reported for an id too */
        if (a < 0 || b > c.n || a > b) {
            PyErr_SetString(PyExc_ValueError, "unit out of the text");
            Py_CLEAR(out);
            goto done;
        }
        Py_ssize_t x = a, y = b;
        while (x < y && is_trim(AT(x))) {
            x++;
        }
        while (y > x && is_trim(AT(y - 1))) {
            y--;
        }
        int word = y > x, digit = 0;
        for (Py_ssize_t i = x; i < y && word; i++) {
            word = is_word(AT(i));
            digit |= is_digit(AT(i));
        }
        PyObject *t = NULL, *str = NULL;
        if (word) {
            if (y - x < token_min || y - x < 2 || !digit) {
                continue;
            }
            while (x < y && (AT(x) == '-' || AT(x) == '_')) {
                x++;
            }
            while (y > x && (AT(y - 1) == '-' || AT(y - 1) == '_')) {
                y--;
            }
            if (y - x < token_min) {
                continue;
            }
            a = x; /* the id's own text */
            b = y;
        }
        /* the caller's text at [a, b): uint8 codes are Latin-1 (every code under 256) */
        if (c.u8) {
            str = PyUnicode_DecodeLatin1((const char *)c.u8 + a, b - a, "strict");
        }
        else {
            str = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, c.u32 + a, b - a);
        }
        if (str) {
            t = Py_BuildValue("(NnO)", str, start, word ? Py_True : Py_False);
        }
        if (append_new(out, t) < 0) {
            Py_CLEAR(out);
            goto done;
        }
    }
done:
    Py_XDECREF(spans);
    PyBuffer_Release(&c.view);
    PyBuffer_Release(&cls);
    return out;
}

/* text_keys(codes, classes, token_min, parents, ids_only, kinds) -> (entries, pending):
 * taint._text_keys on a code array, unit by unit, for the units that are all ASCII: ids as
 * units() settles them, and the URL, email, host and handle keys of taint._unit_keys (the
 * canonical forms of _normalize.split_url, canonical_url and canonical_host for an ASCII
 * unit without "%", "xn--" or "[": nothing to decode there). entries are (key, kind, offset)
 * in order; a unit it leaves to the caller (other characters, percent-escapes, punycode, an
 * IPv6 literal) comes as (unit, None, offset) in its place, and pending counts them. kinds
 * are the kind strings ("id", "url", "email", "host", "handle"), so that the entries carry
 * the caller's own objects. */
typedef struct {
    PyObject *out;
    PyObject *kind[5]; /* id, url, email, host, handle */
    int ids_only;      /* keep only ids, URLs and emails (taint._CONTACT_KINDS and "id") */
} KeySink;

enum { K_ID, K_URL, K_EMAIL, K_HOST, K_HANDLE };

static int
sink_add(KeySink *k, const char *s, Py_ssize_t n, int kind, Py_ssize_t at)
{
    if (k->ids_only && kind != K_ID && kind != K_URL && kind != K_EMAIL) {
        return 0;
    }
    PyObject *key = PyUnicode_DecodeASCII(s, n, "strict");
    if (!key) {
        return -1;
    }
    PyObject *pos = PyLong_FromSsize_t(at);
    PyObject *t = pos ? PyTuple_New(3) : NULL;
    if (!t) {
        Py_DECREF(key);
        Py_XDECREF(pos);
        return -1;
    }
    Py_INCREF(k->kind[kind]);
    PyTuple_SET_ITEM(t, 0, key);
    PyTuple_SET_ITEM(t, 1, k->kind[kind]);
    PyTuple_SET_ITEM(t, 2, pos);
    return append_new(k->out, t);
}

static inline int
is_alnum_a(uint8_t ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static inline int
is_alpha_a(uint8_t ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* taint._ids on an ASCII unit: the [A-Za-z0-9_-] run around each digit, "-"/"_" stripped from
 * its ends, kept from token_min characters. */
static int
sink_ids(KeySink *k, const uint8_t *s, Py_ssize_t n, Py_ssize_t token_min, Py_ssize_t at)
{
    Py_ssize_t p = 0;
    while (p < n) {
        if (!is_digit(s[p])) {
            p++;
            continue;
        }
        Py_ssize_t a = p, end = p;
        while (a > 0 && is_word(s[a - 1])) {
            a--;
        }
        while (end < n && is_word(s[end])) {
            end++;
        }
        Py_ssize_t x = a, y = end;
        while (x < y && (s[x] == '-' || s[x] == '_')) {
            x++;
        }
        while (y > x && (s[y - 1] == '-' || s[y - 1] == '_')) {
            y--;
        }
        if (end - a >= token_min && y - x >= token_min) {
            if (sink_add(k, (const char *)s + x, y - x, K_ID, at) < 0) {
                return -1;
            }
        }
        p = end;
    }
    return 0;
}

/* taint._hosts_with_parents: the host, and with parents each parent domain of two labels or
 * more (not for an IPv4 address: a host ending in a digit). */
static int
sink_host(KeySink *k, const uint8_t *h, Py_ssize_t n, int parents, Py_ssize_t at)
{
    if (sink_add(k, (const char *)h, n, K_HOST, at) < 0) {
        return -1;
    }
    if (!parents || n == 0 || is_digit(h[n - 1])) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (h[i] != '.') {
            continue;
        }
        const uint8_t *parent = h + i + 1;
        Py_ssize_t pn = n - i - 1;
        if (!memchr(parent, '.', (size_t)pn)) {
            break;
        }
        if (sink_add(k, (const char *)parent, pn, K_HOST, at) < 0) {
            return -1;
        }
    }
    return 0;
}

/* Does s[0:n] contain what canonical_host would decode ("%" or "xn--")? */
static int
host_needs_python(const uint8_t *s, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        if (s[i] == '%' || (s[i] == 'x' && i + 3 < n && s[i + 1] == 'n' && s[i + 2] == '-' && s[i + 3] == '-')) {
            return 1;
        }
    }
    return 0;
}

/* canonical_host(h, normalised=True) when host_needs_python is false: h.strip("."). */
static void
strip_dots(const uint8_t **h, Py_ssize_t *n)
{
    while (*n > 0 && (*h)[0] == '.') {
        (*h)++;
        (*n)--;
    }
    while (*n > 0 && (*h)[*n - 1] == '.') {
        (*n)--;
    }
}

/* The end of _HOST.match(u) (taint._HOST, ASCII): -1 when it does not match.
 *   (?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_][\w-]{1,62} | (?:\d{1,3}\.){3}\d{1,3}
 * A label is the whole run between two dots ("\." follows it and it holds no dot): 1 to 63
 * word characters or "-", alphanumeric at both ends. The greedy repeat takes as many
 * labels as there are, then gives them back one by one until the last part (a letter, then
 * 1 to 62 word characters or "-", greedy) matches after them. */
static Py_ssize_t
host_match_end(const uint8_t *u, Py_ssize_t m)
{
    Py_ssize_t dots[64]; /* the position after each label's dot (on the heap beyond 64) */
    Py_ssize_t nd = 0, p = 0;
    Py_ssize_t *after = dots, cap = 64;
    Py_ssize_t *heap = NULL;
    for (;;) {
        Py_ssize_t q = p;
        while (q < m && is_word(u[q])) {
            q++;
        }
        Py_ssize_t len = q - p;
        if (q >= m || u[q] != '.' || len < 1 || len > 63 || !is_alnum_a(u[p]) || !is_alnum_a(u[q - 1])) {
            break;
        }
        if (nd == cap) {
            Py_ssize_t *grown = PyMem_Realloc(heap, (size_t)cap * 2 * sizeof(Py_ssize_t));
            if (!grown) {
                PyMem_Free(heap);
                return -2;
            }
            if (!heap) {
                memcpy(grown, dots, sizeof(dots));
            }
            heap = after = grown;
            cap *= 2;
        }
        after[nd++] = q + 1;
        p = q + 1;
    }
    Py_ssize_t end = -1;
    for (Py_ssize_t j = nd; j >= 1 && end < 0; j--) {
        Py_ssize_t t = after[j - 1];
        if (t < m && is_alpha_a(u[t])) {
            Py_ssize_t r = t + 1;
            while (r < m && r - t < 63 && is_word(u[r])) {
                r++;
            }
            if (r - t >= 2) {
                end = r;
            }
        }
    }
    PyMem_Free(heap);
    if (end >= 0) {
        return end;
    }
    /* IPv4: three runs of 1 to 3 digits each followed by ".", then 1 to 3 digits */
    p = 0;
    for (int g = 0; g < 3; g++) {
        Py_ssize_t q = p;
        while (q < m && q - p < 3 && is_digit(u[q])) {
            q++;
        }
        if (q == p || q >= m || u[q] != '.') {
            return -1;
        }
        p = q + 1;
    }
    Py_ssize_t q = p;
    while (q < m && q - p < 3 && is_digit(u[q])) {
        q++;
    }
    return q > p ? q : -1;
}

/* The keys of one ASCII unit u[0:m] (stripped of taint._TRIM, not all word characters):
 * 1 done, 0 left to the caller (nothing added), -1 error. buf holds at least m bytes. */
static int
unit_keys_ascii(KeySink *k, const uint8_t *u, Py_ssize_t m, Py_ssize_t token_min, int parents, Py_ssize_t at,
                uint8_t *buf)
{
    if (m < 2) {
        return 1;
    }
    int has_at = memchr(u, '@', (size_t)m) != NULL;
    int has_sep = 0;
    for (Py_ssize_t i = 0; i + 2 < m && !has_sep; i++) {
        has_sep = u[i] == ':' && u[i + 1] == '/' && u[i + 2] == '/';
    }
    if (k->ids_only && !has_at && !has_sep) {
        /* a labelled text needs only the unit's ids */
        if (m >= token_min) {
            return sink_ids(k, u, m, token_min, at) < 0 ? -1 : 1;
        }
        return 1;
    }
    if (m >= 7 && memcmp(u, "mailto:", 7) == 0) {
        u += 7;
        m -= 7;
        has_sep = 0;
        for (Py_ssize_t i = 0; i + 2 < m && !has_sep; i++) {
            has_sep = u[i] == ':' && u[i + 1] == '/' && u[i + 2] == '/';
        }
        has_at = memchr(u, '@', (size_t)m) != NULL;
    }
    if (m == 0) {
        return 0; /* (not reached: the unit ends with a character that is not trimmed) */
    }
    if (has_sep) {
        /* split_url: ^([a-z][a-z0-9+.\-]{0,30}):/{2,}([^/?#\\]*)(.*)$, case-insensitive */
        Py_ssize_t i = 0;
        while (i < m && u[i] != ':') {
            i++;
        }
        int ok = i >= 1 && i <= 31 && is_alpha_a(u[0]);
        for (Py_ssize_t j = 1; j < i && ok; j++) {
            ok = is_alnum_a(u[j]) || u[j] == '+' || u[j] == '.' || u[j] == '-';
        }
        ok = ok && i + 2 < m && u[i + 1] == '/' && u[i + 2] == '/';
        if (ok) {
            Py_ssize_t j = i + 1;
            while (j < m && u[j] == '/') {
                j++;
            }
            Py_ssize_t a = j;
            while (j < m && u[j] != '/' && u[j] != '?' && u[j] != '#' && u[j] != '\\') {
                j++;
            }
            Py_ssize_t rest = j; /* u[rest:] */
            Py_ssize_t hp = a;   /* hostport: after the last "@" of the authority */
            for (Py_ssize_t x = a; x < rest; x++) {
                if (u[x] == '@') {
                    hp = x + 1;
                }
            }
            if (hp < rest && u[hp] == '[') {
                return 0; /* an IPv6 literal */
            }
            Py_ssize_t he = hp;
            while (he < rest && u[he] != ':') {
                he++;
            }
            const uint8_t *port = he < rest ? u + he + 1 : u + rest;
            Py_ssize_t pn = he < rest ? rest - he - 1 : 0;
            if (he > hp) {
                const uint8_t *h = u + hp;
                Py_ssize_t hn = he - hp;
                if (host_needs_python(h, hn)) {
                    return 0;
                }
                strip_dots(&h, &hn);
                /* the scheme in lower case, "://", the host, the port unless the scheme's
                 * default, the rest unless it is "/" */
                Py_ssize_t o = 0;
                for (Py_ssize_t x = 0; x < i; x++) {
                    uint8_t ch = u[x];
                    buf[o++] = (ch >= 'A' && ch <= 'Z') ? (uint8_t)(ch + 32) : ch;
                }
                const char *sch = (const char *)buf;
                int dflt = (i == 4 && memcmp(sch, "http", 4) == 0 && pn == 2 && memcmp(port, "80", 2) == 0) ||
                           (i == 5 && memcmp(sch, "https", 5) == 0 && pn == 3 && memcmp(port, "443", 3) == 0) ||
                           (i == 2 && memcmp(sch, "ws", 2) == 0 && pn == 2 && memcmp(port, "80", 2) == 0) ||
                           (i == 3 && memcmp(sch, "wss", 3) == 0 && pn == 3 && memcmp(port, "443", 3) == 0) ||
                           (i == 3 && memcmp(sch, "ftp", 3) == 0 && pn == 2 && memcmp(port, "21", 2) == 0);
                memcpy(buf + o, "://", 3);
                o += 3;
                memcpy(buf + o, h, (size_t)hn);
                o += hn;
                if (pn && !dflt) {
                    buf[o++] = ':';
                    memcpy(buf + o, port, (size_t)pn);
                    o += pn;
                }
                if (!(m - rest == 1 && u[rest] == '/')) {
                    memcpy(buf + o, u + rest, (size_t)(m - rest));
                    o += m - rest;
                }
                if (sink_add(k, (const char *)buf, o, K_URL, at) < 0) {
                    return -1;
                }
                if (hn && sink_host(k, h, hn, parents, at) < 0) {
                    return -1;
                }
            }
        }
    }
    else if (has_at) {
        if (u[0] == '@') {
            if (m > 2 && sink_add(k, (const char *)u, m, K_HANDLE, at) < 0) {
                return -1;
            }
        }
        else {
            /* _EMAIL.fullmatch: [^@\s]{1,64}@[^@\s]+\.[^@\s.]+ (no whitespace in a unit) */
            const uint8_t *p = memchr(u, '@', (size_t)m);
            Py_ssize_t l = p - u;
            const uint8_t *d = p + 1;
            Py_ssize_t dn = m - l - 1;
            Py_ssize_t last_dot = -1;
            int ok = l >= 1 && l <= 64 && !memchr(d, '@', (size_t)dn);
            for (Py_ssize_t x = 0; ok && x < dn; x++) {
                if (d[x] == '.') {
                    last_dot = x;
                }
            }
            if (ok && last_dot >= 1 && last_dot < dn - 1) {
                if (host_needs_python(d, dn)) {
                    return 0;
                }
                strip_dots(&d, &dn);
                memcpy(buf, u, (size_t)l + 1);
                memcpy(buf + l + 1, d, (size_t)dn);
                if (sink_add(k, (const char *)buf, l + 1 + dn, K_EMAIL, at) < 0) {
                    return -1;
                }
                if (parents && dn && sink_host(k, d, dn, parents, at) < 0) {
                    return -1;
                }
            }
        }
    }
    else if (u[0] == '#') {
        if (m > 2 && sink_add(k, (const char *)u, m, K_HANDLE, at) < 0) {
            return -1;
        }
    }
    else {
        Py_ssize_t e = host_match_end(u, m);
        if (e == -2) {
            PyErr_NoMemory();
            return -1;
        }
        if (e >= 0 && (e == m || u[e] == '/' || u[e] == ':' || u[e] == '?' || u[e] == '#')) {
            if (host_needs_python(u, e)) {
                return 0;
            }
            const uint8_t *h = u;
            Py_ssize_t hn = e;
            strip_dots(&h, &hn);
            if (hn && sink_host(k, h, hn, parents, at) < 0) {
                return -1;
            }
        }
    }
    if (m >= token_min) {
        int digit = 0;
        for (Py_ssize_t x = 0; x < m && !digit; x++) {
            digit = is_digit(u[x]);
        }
        if (digit && sink_ids(k, u, m, token_min, at) < 0) {
            return -1;
        }
    }
    return 1;
}

static PyObject *
py_text_keys(PyObject *self, PyObject *args)
{
    PyObject *obj, *kinds, *result = NULL;
    Py_buffer cls;
    Py_ssize_t token_min;
    int parents, ids_only;
    if (!PyArg_ParseTuple(args, "Oy*nppO!", &obj, &cls, &token_min, &parents, &ids_only, &PyTuple_Type, &kinds)) {
        return NULL;
    }
    KeySink k = {NULL, {NULL}, ids_only};
    Py_ssize_t *spans = NULL, pending = 0;
    uint8_t *ubuf = NULL, *kbuf = NULL;
    Codes c;
    if (cls.len != 256 || PyTuple_GET_SIZE(kinds) != 5) {
        PyErr_SetString(PyExc_ValueError, "classes must be 256 bytes and kinds 5 strings");
        PyBuffer_Release(&cls);
        return NULL;
    }
    for (int i = 0; i < 5; i++) {
        k.kind[i] = PyTuple_GET_ITEM(kinds, i);
        if (!PyUnicode_Check(k.kind[i])) {
            PyErr_SetString(PyExc_ValueError, "kinds must be strings");
            PyBuffer_Release(&cls);
            return NULL;
        }
    }
    if (codes_get(obj, &c) < 0) {
        PyBuffer_Release(&cls);
        return NULL;
    }
    Py_ssize_t count = tokenize_spans(&c, (const uint8_t *)cls.buf, token_min, &spans);
    if (count < 0) {
        goto done;
    }
    ubuf = PyMem_Malloc((size_t)c.n + 1);
    kbuf = PyMem_Malloc((size_t)c.n + 1);
    k.out = PyList_New(0);
    if (!ubuf || !kbuf) {
        PyErr_NoMemory();
    }
    if (!ubuf || !kbuf || !k.out) {
        Py_CLEAR(k.out);
        goto done;
    }
#define AT(i) ((uint32_t)code_at(&c, (i)))
    for (Py_ssize_t u = 0; u < count; u++) {
        Py_ssize_t a = spans[2 * u], b = spans[2 * u + 1];
        if (a < 0 || b > c.n || a > b) {
            PyErr_SetString(PyExc_ValueError, "unit out of the text");
            Py_CLEAR(k.out);
            goto done;
        }
        Py_ssize_t x = a, y = b;
        while (x < y && is_trim(AT(x))) {
            x++;
        }
        while (y > x && is_trim(AT(y - 1))) {
            y--;
        }
        int word = y > x, digit = 0, ascii = 1;
        for (Py_ssize_t i = x; i < y; i++) {
            uint32_t ch = AT(i);
            word = word && is_word(ch);
            digit |= is_digit(ch);
            ascii &= ch < 128;
        }
        if (word) {
            /* an id, or nothing (units() does the same) */
            if (y - x < token_min || y - x < 2 || !digit) {
                continue;
            }
            while (x < y && (AT(x) == '-' || AT(x) == '_')) {
                x++;
            }
            while (y > x && (AT(y - 1) == '-' || AT(y - 1) == '_')) {
                y--;
            }
            if (y - x < token_min) {
                continue;
            }
            for (Py_ssize_t i = x; i < y; i++) {
                ubuf[i - x] = (uint8_t)AT(i);
            }
            if (sink_add(&k, (const char *)ubuf, y - x, K_ID, a) < 0) {
                Py_CLEAR(k.out);
                goto done;
            }
            continue;
        }
        if (ascii) {
            for (Py_ssize_t i = x; i < y; i++) {
                ubuf[i - x] = (uint8_t)AT(i);
            }
            Py_ssize_t before = PyList_GET_SIZE(k.out);
            int r = unit_keys_ascii(&k, ubuf, y - x, token_min, parents, a, kbuf);
            if (r < 0) {
                Py_CLEAR(k.out);
                goto done;
            }
            if (r == 1) {
                continue;
            }
            if (PyList_GET_SIZE(k.out) != before && PyList_SetSlice(k.out, before, PY_SSIZE_T_MAX, NULL) < 0) {
                Py_CLEAR(k.out);
                goto done;
            }
        }
        /* the caller reads this unit: its text as units() gives it */
        PyObject *str = c.u8 ? PyUnicode_DecodeLatin1((const char *)c.u8 + a, b - a, "strict")
                             : PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, c.u32 + a, b - a);
        PyObject *t = str ? Py_BuildValue("(NOn)", str, Py_None, a) : NULL;
        if (append_new(k.out, t) < 0) {
            Py_CLEAR(k.out);
            goto done;
        }
        pending++;
    }
#undef AT
    result = Py_BuildValue("(On)", k.out, pending);
    Py_CLEAR(k.out);
done:
    PyMem_Free(spans);
    PyMem_Free(ubuf);
    PyMem_Free(kbuf);
    PyBuffer_Release(&c.view);
    PyBuffer_Release(&cls);
    return result;
}

/* source_of(starts, n, base, vals) -> bytes of int64: for each stored value v, the source
 * whose stream start is the last one <= v + base (starts: int64, the first n sorted). */
static PyObject *
py_source_of(PyObject *self, PyObject *args)
{
    PyObject *so, *vo, *out = NULL;
    Py_ssize_t n;
    long long base;
    if (!PyArg_ParseTuple(args, "OnLO", &so, &n, &base, &vo)) {
        return NULL;
    }
    Py_buffer sv, vv;
    if (items_get(so, &sv, 8, "starts") < 0) {
        return NULL;
    }
    if (items_get(vo, &vv, 4, "values") < 0) {
        PyBuffer_Release(&sv);
        return NULL;
    }
    if (n < 0 || n > sv.len / 8) {
        PyErr_SetString(PyExc_ValueError, "more sources than starts");
        goto done;
    }
    const int64_t *starts = sv.buf;
    const uint32_t *vals = vv.buf;
    Py_ssize_t nv = vv.len / 4;
    out = PyBytes_FromStringAndSize(NULL, nv * 8);
    if (!out) {
        goto done;
    }
    int64_t *o = (int64_t *)PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < nv; i++) {
        int64_t pos = (int64_t)vals[i] + base;
        Py_ssize_t lo = 0, hi = n; /* first start > pos */
        while (lo < hi) {
            Py_ssize_t mid = lo + (hi - lo) / 2;
            if (starts[mid] <= pos) {
                lo = mid + 1;
            }
            else {
                hi = mid;
            }
        }
        o[i] = (int64_t)lo - 1;
    }
done:
    PyBuffer_Release(&sv);
    PyBuffer_Release(&vv);
    return out;
}

/* ---------------------------------------------------------------------------------------
 * The scan's query path in one call (TaintLedger._scan_core): batch assembly, query keys,
 * lookup and sources, so that a scan pays one crossing into C instead of a dozen numpy
 * calls. Each step computes what the separate functions above compute (scan_keys, lookup,
 * source_of; the tests compare the ledger's answers with and without the core).
 *
 *   scan_query(parts, k, w, tokens, runs, dups, starts, nsrc, base) -> (n_fp, hits, lens)
 *   fold_offsets(spaced, positions)   the index in a spaced fold of the p-th folded byte
 *   scan_tokens(spaced, token_min)    its secret keys, and the units around "@" and "://"
 */

#define SQ_REVERSED 1 /* the part's codes go in reversed */
#define SQ_SPACED 2   /* the part is a spaced fold (bytes): its spaces are left out */
#define SQ_SEGMENT 4  /* the part is a segment of its own, after a separator; else the stream */
#define SQ_SEP8 0xFFu /* the separator of a batch of bytes (taint._SENTINEL8) */
#define SQ_SEP32 0x110000u /* of a batch of code points (taint._SENTINEL, _normalize.SEPARATOR) */

typedef struct {
    Codes c;
    int how;
    Py_ssize_t len; /* codes put in the batch, -1 for a segment left out */
    Py_ssize_t at;  /* where they start in the batch */
    PyObject *obj;  /* the codes' object (borrowed from the parts list) */
} SqPart;

/* Write part p's codes at out + at (uint8 or uint32 items, by wide): the spaces of a spaced
 * fold left out, reversed when asked. Returns how many were written. */
static Py_ssize_t
sq_fill(const SqPart *p, void *out, Py_ssize_t at, int wide)
{
    const Codes *c = &p->c;
    Py_ssize_t n = 0, cn = c->n; /* (locals: a byte store could alias c's fields) */
    if (!wide) {
        uint8_t *o = (uint8_t *)out + at;
        const uint8_t *u = c->u8;
        if (p->how & SQ_SPACED) {
            for (Py_ssize_t i = 0; i < cn; i++) { /* branch-free: spaces are frequent */
                uint8_t ch = u[i];
                o[n] = ch;
                n += ch != 0x20;
            }
        }
        else {
            memcpy(o, u, (size_t)cn);
            n = cn;
        }
        if (p->how & SQ_REVERSED) {
            for (Py_ssize_t i = 0, j = n - 1; i < j; i++, j--) {
                uint8_t t = o[i];
                o[i] = o[j];
                o[j] = t;
            }
        }
        return n;
    }
    uint32_t *o = (uint32_t *)out + at;
    for (Py_ssize_t i = 0; i < c->n; i++) {
        uint32_t v = c->u8 ? c->u8[i] : c->u32[i];
        o[n] = v;
        n += !((p->how & SQ_SPACED) && v == 0x20);
    }
    if (p->how & SQ_REVERSED) {
        for (Py_ssize_t i = 0, j = n - 1; i < j; i++, j--) {
            uint32_t t = o[i];
            o[i] = o[j];
            o[j] = t;
        }
    }
    return n;
}

/* The window-minimum queries of scan_keys (the minimum of each run of windows with the same
 * minimum, at its first position in the run's last window) of h[0:m] (m > w), by keeping the
 * current window's minimum and its leftmost position, and searching a window again only when
 * that position leaves it: two or three comparisons per k-gram on hashes in random order, where
 * window_minima makes three passes. Crafted text can make every window a new search: past a
 * budget of 8 m comparisons this gives up (-1) and the caller takes window_minima. Returns the
 * number of queries written to qk/qp. */
static Py_ssize_t
sq_window_queries(const uint64_t *h, Py_ssize_t m, int w, uint64_t *qk, int64_t *qp)
{
    Py_ssize_t nw = m - w + 1, n = 0, budget = 8 * m;
    uint64_t v = h[0];
    Py_ssize_t pm = 0;
    for (Py_ssize_t p = 1; p < w; p++) {
        if (h[p] < v) {
            v = h[p];
            pm = p;
        }
    }
    /* v, pm: window j - 1's minimum and its leftmost position, until window j changes them;
     * a change of value ends a run of windows, whose last is j - 1 */
    for (Py_ssize_t j = 1; j < nw; j++) {
        Py_ssize_t e = j + w - 1;
        if (pm < j) { /* the minimum left: search the window (leftmost minimum) */
            budget -= w;
            if (budget < 0) {
                return -1;
            }
            uint64_t nv = h[j];
            Py_ssize_t npm = j;
            for (Py_ssize_t p = j + 1; p <= e; p++) { /* branch-free: a new minimum is random */
                uint64_t x = h[p];
                int lt = x < nv;
                nv = lt ? x : nv;
                npm = lt ? p : npm;
            }
            if (nv != v) {
                qk[n] = v;
                qp[n++] = pm;
            }
            v = nv;
            pm = npm;
        }
        else if (h[e] < v) { /* (an equal one entering is not the leftmost) */
            qk[n] = v;
            qp[n++] = pm;
            v = h[e];
            pm = e;
        }
    }
    qk[n] = v;
    qp[n++] = pm;
    return n;
}

/* The attribute names scan_query reads from a run ("keys", "vals", "directory", "bits"),
 * interned once and kept for the life of the process (constants, not state): reading them by
 * C string would build and hash four new str objects per run and scan. NULL with an
 * exception set when they cannot be made. */
static PyObject *const *
run_attr_names(void)
{
    static PyObject *names[4];
    static const char *const spelled[4] = {"keys", "vals", "directory", "bits"};
    if (!names[3]) {
        for (int i = 0; i < 4; i++) {
            if (!names[i] && !(names[i] = PyUnicode_InternFromString(spelled[i]))) {
                return NULL;
            }
        }
    }
    return names;
}

/* scan_query(parts, k, w, tokens, runs, dups, starts, nsrc, base) -> (n_fp, hits, lens)
 *
 * parts   [(codes, how), ...]: the batch of TaintLedger._batch. Parts without SQ_SEGMENT are
 *         joined into the stream (they come first); each SQ_SEGMENT part follows a separator
 *         (0xFF when every part is 1-byte codes, else 0x110000 in a batch of code points, as
 *         numpy's concatenation would promote it). SQ_SPACED leaves out the spaces of a
 *         spaced fold (bytes), SQ_REVERSED reverses the part.
 * k, w    the k-gram length and window: the fingerprint queries are those of scan_keys with
 *         every segment (the stream included) as a segment, mixed.
 * tokens  keys (str) queried after the fingerprints by their hash (taint._key_hashes).
 * runs    the index's runs (objects with keys, vals, directory, bits), as lookup() reads them.
 * starts, nsrc, base   as source_of().
 *
 * A segment part whose codes are fewer than k is left out (separator and all), as _batch
 * leaves it out.
 *
 * n_fp is the number of fingerprint queries; hits is [(query index, batch position, value,
 * source), ...] sorted by (query index, value), the position -1 for a token query; lens (None
 * when there is no hit) the codes each part put in the batch, -1 for a part left out. */
static PyObject *
py_scan_query(PyObject *self, PyObject *args)
{
    PyObject *parts_obj, *tokens, *runs_obj, *starts_obj;
    int k, w, dups;
    Py_ssize_t nsrc;
    long long base;
    if (!PyArg_ParseTuple(args, "O!iiO!O!iOnL", &PyList_Type, &parts_obj, &k, &w, &PyList_Type, &tokens, &PyList_Type,
                          &runs_obj, &dups, &starts_obj, &nsrc, &base) ||
        check_kw(k, w) < 0) {
        return NULL;
    }
    if (dups < 1 || dups > 1024) {
        PyErr_SetString(PyExc_ValueError, "dups must be between 1 and 1024");
        return NULL;
    }
    Py_ssize_t nparts = PyList_GET_SIZE(parts_obj);
    Py_ssize_t nruns = PyList_GET_SIZE(runs_obj);
    Py_ssize_t ntok = PyList_GET_SIZE(tokens);
    PyObject *result = NULL, *hits_list = NULL;
    SqPart *parts = PyMem_Calloc((size_t)(nparts ? nparts : 1), sizeof(SqPart));
    Run *runs = PyMem_Calloc((size_t)(nruns ? nruns : 1), sizeof(Run));
    Py_ssize_t got_parts = 0, got_runs = 0;
    void *batch = NULL;
    Py_ssize_t *segs = NULL; /* (start, end) of every segment */
    Scratch s = {NULL, NULL, NULL, NULL};
    uint64_t *qk = NULL, *hits = NULL;
    int64_t *qp = NULL;
    Py_ssize_t *bounds = NULL;
    Py_buffer sv = {0};
    int have_starts = 0;
    if (!parts || !runs) {
        PyErr_NoMemory();
        goto done;
    }
    /* 1. the parts, then the batch (at most the parts' codes and a separator each) */
    int wide = 0;
    Py_ssize_t cap_codes = 0, nseg = 1;
    for (; got_parts < nparts; got_parts++) {
        PyObject *t = PyList_GET_ITEM(parts_obj, got_parts), *obj;
        SqPart *p = &parts[got_parts];
        if (!PyArg_ParseTuple(t, "Oi", &obj, &p->how) || codes_get(obj, &p->c) < 0) {
            goto done;
        }
        p->obj = obj;
        if (p->how & ~(SQ_REVERSED | SQ_SPACED | SQ_SEGMENT) || ((p->how & SQ_SPACED) && !p->c.u8) ||
            (!(p->how & SQ_SEGMENT) && got_parts > 0 && (parts[got_parts - 1].how & SQ_SEGMENT))) {
            got_parts++; /* release this one too */
            PyErr_SetString(PyExc_ValueError, "malformed scan part");
            goto done;
        }
        wide |= p->c.u32 != NULL;
        if (p->how & SQ_SEGMENT) {
            cap_codes += 1;
            nseg++;
        }
        cap_codes += p->c.n;
    }
    if (cap_codes >= ((Py_ssize_t)1 << 30) || ntok >= ((Py_ssize_t)1 << 29) || nseg >= ((Py_ssize_t)1 << 20)) {
        PyErr_SetString(PyExc_ValueError, "scan batch too big");
        goto done;
    }
    batch = PyMem_Malloc((size_t)(cap_codes ? cap_codes : 1) * (wide ? 4 : 1));
    segs = PyMem_Malloc(sizeof(Py_ssize_t) * 2 * (size_t)nseg);
    if (!batch || !segs) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t total = 0, si = 0;
    segs[0] = 0;
    segs[1] = 0;
    for (Py_ssize_t i = 0; i < nparts; i++) {
        SqPart *p = &parts[i];
        if (!(p->how & SQ_SEGMENT)) {
            p->at = total;
            p->len = sq_fill(p, batch, total, wide);
            total += p->len;
            segs[1] = total; /* the stream */
            continue;
        }
        p->at = total + 1;
        /* an argument reversed: from its copy in the stream when it has one (the same object,
         * the same flags but the reversal) */
        const SqPart *fwd = NULL;
        for (Py_ssize_t j = 0; (p->how & SQ_REVERSED) && j < i && !(parts[j].how & SQ_SEGMENT); j++) {
            if (parts[j].obj == p->obj && parts[j].how == (p->how & SQ_SPACED)) {
                fwd = &parts[j];
                break;
            }
        }
        if (fwd) {
            Py_ssize_t n = p->len = fwd->len;
            if (wide) {
                uint32_t *o = (uint32_t *)batch + p->at;
                const uint32_t *f = (const uint32_t *)batch + fwd->at + n - 1;
                for (Py_ssize_t j = 0; j < n; j++) {
                    o[j] = f[-j];
                }
            }
            else {
                uint8_t *o = (uint8_t *)batch + p->at;
                const uint8_t *f = (const uint8_t *)batch + fwd->at + n - 1;
                for (Py_ssize_t j = 0; j < n; j++) {
                    o[j] = f[-j];
                }
            }
        }
        else {
            p->len = sq_fill(p, batch, total + 1, wide);
        }
        if (p->len < k) {
            p->len = -1; /* too short for a k-gram of its own: left out, separator and all */
            continue;
        }
        if (wide) {
            ((uint32_t *)batch)[total] = SQ_SEP32;
        }
        else {
            ((uint8_t *)batch)[total] = SQ_SEP8;
        }
        si++;
        segs[2 * si] = total + 1;
        segs[2 * si + 1] = total + 1 + p->len;
        total += 1 + p->len;
    }
    nseg = si + 1;
    /* 2. the fingerprint queries (py_scan_keys) */
    Py_ssize_t m = total - k + 1, nq = 0;
    if (m > 0) {
        if (scratch_alloc(&s, m) < 0) {
            goto done;
        }
        Codes bc;
        bc.u8 = wide ? NULL : (const uint8_t *)batch;
        bc.u32 = wide ? (const uint32_t *)batch : NULL;
        bc.n = total;
        kgram_hashes(&bc, 0, m, k, s.h);
    }
    Py_ssize_t limit = 2 * (Py_ssize_t)(k + w);
    Py_ssize_t cap = (m > 0 ? m + 1 + nseg * limit : 0) + ntok;
    if (cap >= ((Py_ssize_t)1 << 31)) { /* query indexes share a uint64 with a value */
        PyErr_SetString(PyExc_ValueError, "too many queries");
        goto done;
    }
    qk = PyMem_Malloc(sizeof(uint64_t) * (size_t)(cap ? cap : 1));
    qp = PyMem_Malloc(sizeof(int64_t) * (size_t)(cap ? cap : 1));
    if (!qk || !qp) {
        PyErr_NoMemory();
        goto done;
    }
    if (m > 0 && m <= limit) {
        for (Py_ssize_t i = 0; i < m; i++) {
            qk[nq] = s.h[i];
            qp[nq++] = i;
        }
    }
    else if (m > 0) {
        nq = sq_window_queries(s.h, m, w, qk, qp);
        if (nq < 0) { /* crafted text: the branch-free passes of scan_keys */
            nq = 0;
            window_minima(s.h, m, w, s.mins, s.tmp);
            Py_ssize_t nw = m - w + 1;
            for (Py_ssize_t j = 0; j < nw; j++) {
                if (j + 1 == nw || s.mins[j + 1] != s.mins[j]) {
                    Py_ssize_t p = j;
                    while (s.h[p] != s.mins[j]) {
                        p++;
                    }
                    qk[nq] = s.mins[j];
                    qp[nq++] = p;
                }
            }
        }
        for (Py_ssize_t i = 0; i < nseg; i++) {
            Py_ssize_t a = segs[2 * i], b = segs[2 * i + 1];
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
    Py_ssize_t n_fp = nq;
    /* 3. the token queries */
    for (Py_ssize_t i = 0; i < ntok; i++) {
        Py_hash_t hv = PyObject_Hash(PyList_GET_ITEM(tokens, i));
        if (hv == -1 && PyErr_Occurred()) {
            goto done;
        }
        qk[nq] = (uint64_t)hv;
        qp[nq++] = -1;
    }
    /* 4. the lookup (py_lookup) */
    for (; got_runs < nruns; got_runs++) {
        PyObject *ro = PyList_GET_ITEM(runs_obj, got_runs);
        PyObject *const *names = run_attr_names();
        if (!names) {
            goto done;
        }
        PyObject *ko = PyObject_GetAttr(ro, names[0]);
        PyObject *vo = ko ? PyObject_GetAttr(ro, names[1]) : NULL;
        PyObject *dobj = vo ? PyObject_GetAttr(ro, names[2]) : NULL;
        PyObject *bo = dobj ? PyObject_GetAttr(ro, names[3]) : NULL;
        Run *r = &runs[got_runs];
        int ok = bo != NULL;
        int bits = ok ? PyLong_AsLong(bo) : 0;
        ok = ok && !(bits == -1 && PyErr_Occurred());
        ok = ok && items_get(ko, &r->keys, 8, "keys") == 0;
        if (ok && items_get(vo, &r->vals, 4, "values") < 0) {
            PyBuffer_Release(&r->keys);
            ok = 0;
        }
        r->has_dir = ok && dobj != Py_None;
        if (ok && r->has_dir && items_get(dobj, &r->dir, 4, "directory") < 0) {
            PyBuffer_Release(&r->keys);
            PyBuffer_Release(&r->vals);
            r->has_dir = 0;
            ok = 0;
        }
        Py_XDECREF(ko);
        Py_XDECREF(vo);
        Py_XDECREF(dobj);
        Py_XDECREF(bo);
        if (!ok) {
            goto done;
        }
        r->n = r->keys.len / 8;
        r->bits = bits;
        if (r->vals.len / 4 != r->n ||
            (r->has_dir && (bits < 1 || bits > 32 || r->dir.len / 4 != ((Py_ssize_t)1 << bits) + 1))) {
            got_runs++;
            PyErr_SetString(PyExc_ValueError, "malformed run");
            goto done;
        }
    }
    bounds = bounds_alloc(nq, nruns);
    if (!bounds) {
        goto done;
    }
    Py_ssize_t nhits = 0, hcap = 0;
    if (search_runs(runs, nruns, qk, nq, dups, bounds, &hits, &nhits, &hcap) < 0) {
        goto done;
    }
    /* 5. the source of each hit (py_source_of), and the answer */
    if (items_get(starts_obj, &sv, 8, "starts") < 0) {
        goto done;
    }
    have_starts = 1;
    if (nsrc < 0 || nsrc > sv.len / 8) {
        PyErr_SetString(PyExc_ValueError, "more sources than starts");
        goto done;
    }
    const int64_t *starts = sv.buf;
    hits_list = PyList_New(nhits);
    if (!hits_list) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < nhits; i++) {
        Py_ssize_t q = (Py_ssize_t)(hits[i] >> 32);
        uint32_t val = (uint32_t)hits[i];
        int64_t at = (int64_t)val + base;
        Py_ssize_t lo = 0, hi = nsrc;
        while (lo < hi) {
            Py_ssize_t mid = lo + (hi - lo) / 2;
            if (starts[mid] <= at) {
                lo = mid + 1;
            }
            else {
                hi = mid;
            }
        }
        PyObject *item = Py_BuildValue("(nLkn)", q, (long long)qp[q], (unsigned long)val, lo - 1);
        if (!item) {
            goto done;
        }
        PyList_SET_ITEM(hits_list, i, item);
    }
    PyObject *lens = Py_None; /* the layout, for the explanation of hits */
    Py_INCREF(lens);
    if (nhits) {
        Py_DECREF(lens);
        lens = PyList_New(nparts);
        for (Py_ssize_t i = 0; lens && i < nparts; i++) {
            PyObject *v = PyLong_FromSsize_t(parts[i].len);
            if (!v) {
                Py_CLEAR(lens);
                break;
            }
            PyList_SET_ITEM(lens, i, v);
        }
        if (!lens) {
            goto done;
        }
    }
    result = Py_BuildValue("(nNN)", n_fp, hits_list, lens);
    hits_list = NULL; /* (stolen) */
done:
    Py_XDECREF(hits_list);
    for (Py_ssize_t i = 0; i < got_parts; i++) {
        PyBuffer_Release(&parts[i].c.view);
    }
    for (Py_ssize_t ri = 0; ri < got_runs; ri++) {
        PyBuffer_Release(&runs[ri].keys);
        PyBuffer_Release(&runs[ri].vals);
        if (runs[ri].has_dir) {
            PyBuffer_Release(&runs[ri].dir);
        }
    }
    if (have_starts) {
        PyBuffer_Release(&sv);
    }
    PyMem_Free(parts);
    PyMem_Free(runs);
    PyMem_Free(batch);
    PyMem_Free(segs);
    scratch_free(&s);
    PyMem_Free(qk);
    PyMem_Free(qp);
    PyMem_Free(hits);
    PyMem_Free(bounds);
    return result;
}

/* fold_offsets(spaced, positions) -> [index, ...]: for each p of positions, the index in
 * spaced (a spaced fold, bytes) of its p-th byte that is not a space: where folded byte p
 * comes from (what the fold index of _normalize.fold_index reads from a spaced fold). */
static PyObject *
py_fold_offsets(PyObject *self, PyObject *args)
{
    PyObject *sp, *ps;
    if (!PyArg_ParseTuple(args, "O!O!", &PyBytes_Type, &sp, &PyList_Type, &ps)) {
        return NULL;
    }
    const uint8_t *s = (const uint8_t *)PyBytes_AS_STRING(sp);
    Py_ssize_t n = PyBytes_GET_SIZE(sp), np_ = PyList_GET_SIZE(ps);
    PyObject *out = PyList_New(np_);
    Py_ssize_t j = 0, seen = 0; /* seen: the bytes not a space in s[0:j] */
    for (Py_ssize_t i = 0; out && i < np_; i++) {
        Py_ssize_t p = PyLong_AsSsize_t(PyList_GET_ITEM(ps, i));
        if (p == -1 && PyErr_Occurred()) {
            Py_CLEAR(out);
            break;
        }
        if (p < seen) { /* (positions in increasing order go on from the last one) */
            j = 0;
            seen = 0;
        }
        for (; j < n; j++) {
            if (s[j] != 0x20) {
                if (seen == p) {
                    break;
                }
                seen++;
            }
        }
        if (p < 0 || j >= n) {
            Py_CLEAR(out);
            PyErr_SetString(PyExc_IndexError, "fold position out of range");
            break;
        }
        PyObject *v = PyLong_FromSsize_t(j);
        if (!v) {
            Py_CLEAR(out);
            break;
        }
        PyList_SET_ITEM(out, i, v);
    }
    return out;
}

/* A byte that ends a contact unit (taint._UNIT_TR maps it to a space): whitespace, controls,
 * DEL and the punctuation around addresses in prose and markup. */
static inline int
sq_unit_sep(uint8_t ch)
{
    return ch <= 0x20 || ch == 0x7F || (ch < 0x80 && strchr("\"'<>()[]{},;!|\\^*`", ch) != NULL);
}

/* scan_tokens(spaced, token_min) -> (keys, units): the secret-like keys of an argument's
 * spaced fold (secret_keys(spaced, token_min)) and the units around each "@", then each
 * "://", as taint._secret_units finds them (the runs between unit separators; a unit ends
 * the search for the next mark of its kind). spaced is ASCII: the caller reads the units'
 * contact keys. */
static PyObject *
py_scan_tokens(PyObject *self, PyObject *args)
{
    PyObject *sp;
    Py_ssize_t token_min;
    if (!PyArg_ParseTuple(args, "O!n", &PyBytes_Type, &sp, &token_min)) {
        return NULL;
    }
    const uint8_t *s = (const uint8_t *)PyBytes_AS_STRING(sp);
    Py_ssize_t n = PyBytes_GET_SIZE(sp);
    /* the keys of secret_keys(sp, token_min): its ids, then the numbers of the spaced text
     * (read with its spaces: they decide the group separators) */
    PyObject *keys = py_ids(self, args);
    if (!keys) {
        return NULL;
    }
    Py_ssize_t nd = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        nd += (uint8_t)(s[i] - '0') < 10;
    }
    int rc = nd >= 7 ? numbers_into(s, n, keys, NUM_BARE) : 0; /* (a number has 7 digits or more) */
    if (rc < 0) {
        Py_DECREF(keys);
        return NULL;
    }
    PyObject *units = PyList_New(0);
    static const char *marks[2] = {"@", "://"};
    for (int mi = 0; units && mi < 2; mi++) {
        const char *mark = marks[mi];
        Py_ssize_t ml = (Py_ssize_t)strlen(mark), p = 0;
        while (p + ml <= n) {
            const uint8_t *hit = memchr(s + p, mark[0], (size_t)(n - ml + 1 - p));
            if (!hit) {
                break;
            }
            p = hit - s;
            if (memcmp(s + p, mark, (size_t)ml) != 0) {
                p++;
                continue;
            }
            Py_ssize_t a = p, e = p;
            while (a > 0 && !sq_unit_sep(s[a - 1])) {
                a--;
            }
            while (e < n && !sq_unit_sep(s[e])) {
                e++;
            }
            for (Py_ssize_t i = a; i < e; i++) {
                if (s[i] >= 0x80) {
                    Py_CLEAR(units);
                    PyErr_SetString(PyExc_ValueError, "a spaced fold is ASCII");
                    break;
                }
            }
            if (!units || append_new(units, PyUnicode_DecodeASCII((const char *)s + a, e - a, NULL)) < 0) {
                Py_CLEAR(units);
                break;
            }
            p = e;
        }
    }
    if (!units) {
        Py_DECREF(keys);
        return NULL;
    }
    return Py_BuildValue("(NN)", keys, units);
}

/* decode_candidates(raw) -> [(start, end), ...]: the runs of 16 or more base64/hex/escape
 * characters of an argument (taint._long_runs; raw is the argument encoded to ASCII with "?"
 * for any other character, one byte per character) that might decode: every run the
 * decoders of taint._decode_once could turn into a layer. A run is left out only when none
 * can: no "\" (escapes), no "/" or "=" before its trailing padding (pieces), not all hex, and
 * its base64 decoding (taint._b64) is too short or not mostly printable. The caller runs the
 * decoders on what is left, so a run kept for nothing costs time, never a layer. */
#define MAX_RUN_DECODE 4096 /* base64 characters checked here; a longer run is kept */

/* The characters of an encoded run (taint._B64_ALPHABET: A-Z a-z 0-9 + / = _ - and \\), as a
 * table: 1 for each (a test compares it with the alphabet). */
static const uint8_t B64_RUN_CHAR[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 0, 1,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static inline int
is_hex(uint8_t ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

static inline int
b64_value(uint8_t ch)
{
    if (ch >= 'A' && ch <= 'Z') {
        return ch - 'A';
    }
    if (ch >= 'a' && ch <= 'z') {
        return ch - 'a' + 26;
    }
    if (ch >= '0' && ch <= '9') {
        return ch - '0' + 52;
    }
    if (ch == '+' || ch == '-') { /* base64url "-" reads as "+" */
        return 62;
    }
    if (ch == '/' || ch == '_') { /* and "_" as "/" */
        return 63;
    }
    return -1;
}

/* The characters and the U+FFFD of bytes.decode("utf-8", "replace") (CPython's decoder: one
 * U+FFFD per maximal invalid subsequence, as Unicode recommends). */
static void
utf8_replace_counts(const uint8_t *s, Py_ssize_t n, Py_ssize_t *chars, Py_ssize_t *bad)
{
    Py_ssize_t i = 0, c = 0, f = 0;
    while (i < n) {
        uint8_t b = s[i];
        if (b < 0x80) {
            c++;
            i++;
            continue;
        }
        int need;
        uint8_t lo = 0x80, hi = 0xBF; /* the range of the first continuation byte */
        if (b >= 0xC2 && b <= 0xDF) {
            need = 1;
        }
        else if (b == 0xE0) {
            need = 2;
            lo = 0xA0;
        }
        else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) {
            need = 2;
        }
        else if (b == 0xED) {
            need = 2;
            hi = 0x9F;
        }
        else if (b == 0xF0) {
            need = 3;
            lo = 0x90;
        }
        else if (b >= 0xF1 && b <= 0xF3) {
            need = 3;
        }
        else if (b == 0xF4) {
            need = 3;
            hi = 0x8F;
        }
        else {
            c++; /* not a lead byte */
            f++;
            i++;
            continue;
        }
        Py_ssize_t j = i + 1;
        int k = 0;
        while (k < need && j < n && s[j] >= (k == 0 ? lo : 0x80) && s[j] <= (k == 0 ? hi : 0xBF)) {
            j++;
            k++;
        }
        c++;
        if (k < need || (need == 2 && b == 0xEF && s[i + 1] == 0xBF && s[i + 2] == 0xBD)) {
            f++; /* a truncated sequence, or U+FFFD itself */
        }
        i = j;
    }
    *chars = c;
    *bad = f;
}

/* Does base64 (taint._b64) turn r[0:m] (no "=" or "\" in it) into printable text? */
static int
b64_printable(const uint8_t *r, Py_ssize_t m)
{
    uint8_t dec[MAX_RUN_DECODE];
    Py_ssize_t len = 0, kept = 0;
    uint32_t acc = 0;
    int bits = 0;
    if (m > MAX_RUN_DECODE) {
        return 1; /* a long run: let the decoders judge */
    }
    for (Py_ssize_t i = 0; i < m; i++) {
        int v = b64_value(r[i]);
        if (v < 0) {
            return 1; /* not expected in a run; let the decoders judge */
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            uint8_t byte = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
            dec[len++] = byte;
            kept += !((byte < 32 && byte != 9 && byte != 10 && byte != 13) || byte == 127);
        }
    }
    if (len < 8 || (double)kept < 0.9 * (double)len) {
        return 0; /* taint._printable refuses it */
    }
    Py_ssize_t chars, bad;
    utf8_replace_counts(dec, len, &chars, &bad);
    return bad * 10 <= chars; /* and so it does with too many U+FFFD */
}

/* May the run r[0:n] decode to a layer? (1 = maybe, 0 = certainly not), following
 * taint._decode_once: hex escapes, all hex, base64 of the whole run, then of its pieces. */
static int
run_may_decode(const uint8_t *r, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        if (r[i] == '\\') {
            return 1; /* hex escapes, or a "\" the decoders look at */
        }
    }
    Py_ssize_t h = (n >= 2 && r[0] == '0' && (r[1] == 'x' || r[1] == 'X')) ? 2 : 0;
    if (n - h >= 16) {
        int all_hex = 1;
        for (Py_ssize_t i = h; i < n && all_hex; i++) {
            all_hex = is_hex(r[i]);
        }
        if (all_hex) {
            return 1; /* hex */
        }
    }
    Py_ssize_t t = n;
    while (t > 0 && r[t - 1] == '=') {
        t--; /* run.rstrip("=") */
    }
    int dash = 0, plus = 0, slash = 0, eq = 0;
    for (Py_ssize_t i = 0; i < t; i++) {
        dash |= r[i] == '-' || r[i] == '_';
        plus |= r[i] == '+';
        slash |= r[i] == '/';
        eq |= r[i] == '=';
    }
    if (eq) {
        return 1; /* padding inside: let the decoders judge */
    }
    if (!(dash && (plus || slash)) && b64_printable(r, t % 4 == 1 ? t - 1 : t)) {
        return 1; /* base64 (base64url), the last character of a 4k+1 run dropped */
    }
    if (!slash) {
        return 0; /* no pieces: nothing splits the run */
    }
    /* pieces between runs of "/" (no "=" or "\" left): only those of 16 or more are tried */
    Py_ssize_t a = 0;
    for (Py_ssize_t i = 0; i <= n; i++) {
        if (i == n || r[i] == '/' || r[i] == '=') {
            if (i - a >= 16) {
                return 1;
            }
            a = i + 1;
        }
    }
    return 0;
}

/* Appends (start, end) to out for every run of s[0:n] that might decode (decode_candidates).
 * -1 with an exception set on error. */
static int
decode_runs_into(const uint8_t *s, Py_ssize_t n, PyObject *out)
{
    const uint8_t *run_char = B64_RUN_CHAR;
    /* A run of 16 or more characters holds a position i with i % 16 == 15: only those are
     * looked at, and a run through one is extended both ways (prose is short runs, words:
     * about one byte in 16 read, and the few around it). After a run ending at e (s[e] is
     * not a run character) the next run starts after e: the search goes on from the first
     * such position past e. */
    Py_ssize_t i = 15;
    while (i < n) {
        if (!run_char[s[i]]) {
            i += 16;
            continue;
        }
        Py_ssize_t a = i, e = i + 1;
        while (a > 0 && run_char[s[a - 1]]) {
            a--;
        }
        while (e < n && run_char[s[e]]) {
            e++;
        }
        if (e - a >= 16 && run_may_decode(s + a, e - a) && append_new(out, Py_BuildValue("(nn)", a, e)) < 0) {
            return -1;
        }
        i = (e + 1) | 15;
    }
    return 0;
}

static PyObject *
py_decode_candidates(PyObject *self, PyObject *args)
{
    Py_buffer rv;
    if (!PyArg_ParseTuple(args, "y*", &rv)) {
        return NULL;
    }
    PyObject *out = PyList_New(0);
    if (out && decode_runs_into(rv.buf, rv.len, out) < 0) {
        Py_CLEAR(out);
    }
    PyBuffer_Release(&rv);
    return out;
}

/* ---------------------------------------------------------------------------------------
 * plain_size(value, max_depth): the argument-shape fast path of the decision core.
 *
 * The size toolguard.policy._plain counts for a call's arguments, or -1 when it cannot say
 * "plain" by the strict rule: exact JSON types only (dict with str keys, list, str, int,
 * bool, None, finite float), every key and string printable (str.isprintable), within
 * max_depth. -1 is "not known": the Python walk then decides (it also accepts strings
 * that are not printable but clean, and names every problem). Pure C: no Python code
 * runs, so the containers cannot change during the walk.
 */

static int
tg_printable(PyObject *s)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    if (PyUnicode_IS_ASCII(s)) {
        const unsigned char *p = (const unsigned char *)PyUnicode_DATA(s);
        for (Py_ssize_t i = 0; i < n; i++) {
            if (p[i] < 0x20 || p[i] > 0x7e) {
                return 0;
            }
        }
        return 1;
    }
    int kind = PyUnicode_KIND(s);
    const void *data = PyUnicode_DATA(s);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!Py_UNICODE_ISPRINTABLE(PyUnicode_READ(kind, data, i))) {
            return 0;
        }
    }
    return 1;
}

static Py_ssize_t
tg_plain(PyObject *v, int depth, int max_depth)
{
    if (depth > 200) {
        return -1;
    }
    if (PyDict_CheckExact(v)) {
        if (depth >= max_depth && PyDict_GET_SIZE(v)) {
            return -1;
        }
        Py_ssize_t size = 2, pos = 0;
        PyObject *k, *item;
        while (PyDict_Next(v, &pos, &k, &item)) {
            if (!PyUnicode_CheckExact(k) || !tg_printable(k)) {
                return -1;
            }
            Py_ssize_t lk = PyUnicode_GET_LENGTH(k);
            if (PyUnicode_CheckExact(item)) {
                if (!tg_printable(item)) {
                    return -1;
                }
                size += lk + 4 + PyUnicode_GET_LENGTH(item);
            }
            else if (PyLong_CheckExact(item) || PyBool_Check(item) || item == Py_None) {
                size += lk + 12;
            }
            else {
                Py_ssize_t n = tg_plain(item, depth + 1, max_depth);
                if (n < 0) {
                    return -1;
                }
                size += lk + 4 + n;
            }
        }
        return size;
    }
    if (PyList_CheckExact(v)) {
        Py_ssize_t len = PyList_GET_SIZE(v);
        if (depth >= max_depth && len) {
            return -1;
        }
        Py_ssize_t size = 2;
        for (Py_ssize_t i = 0; i < len; i++) {
            PyObject *item = PyList_GET_ITEM(v, i);
            if (PyUnicode_CheckExact(item)) {
                if (!tg_printable(item)) {
                    return -1;
                }
                size += PyUnicode_GET_LENGTH(item);
            }
            else if (PyLong_CheckExact(item) || PyBool_Check(item) || item == Py_None) {
                size += 8;
            }
            else {
                Py_ssize_t n = tg_plain(item, depth + 1, max_depth);
                if (n < 0) {
                    return -1;
                }
                size += n;
            }
        }
        return size;
    }
    if (PyUnicode_CheckExact(v)) {
        return tg_printable(v) ? PyUnicode_GET_LENGTH(v) : -1;
    }
    if (PyLong_CheckExact(v) || PyBool_Check(v) || v == Py_None) {
        return 8;
    }
    if (PyFloat_CheckExact(v) && isfinite(PyFloat_AS_DOUBLE(v))) {
        return 8;
    }
    return -1;
}

static PyObject *
py_plain_size(PyObject *self, PyObject *args)
{
    PyObject *value;
    int max_depth;
    if (!PyArg_ParseTuple(args, "Oi:plain_size", &value, &max_depth)) {
        return NULL;
    }
    return PyLong_FromSsize_t(tg_plain(value, 0, max_depth));
}

/* ===========================================================================================
 * Ingest (TaintLedger._ingest_taint / _ingest_trusted / _postal_keys): one pass where the
 * Python side made several.
 *
 *   latin_fp(sp, prefix, k, w)        fingerprints, numbers and carry of a spaced Latin fold
 *   ascii_tr(text, table, delete)     text.encode("ascii", "replace").translate(table, delete)
 *   strict_ascii(raw, table, drop)    the strict form of ASCII or inert UTF-8 bytes
 *   latin_spaced(text, table, cache, image)  the spaced Latin fold of a str, with its index map
 * =========================================================================================== */

/* Winnowing (the positions winnow() keeps, the same set in the same order) in one pass with
 * the minimum carried from window to window: an entering hash at most the minimum is kept
 * (a new minimum, or a tie); when the minimum's rightmost copy has left the window, the
 * window is searched again. Random hashes make that rare (about 2 in w + 1 windows), so this
 * reads each hash about twice where window_minima() and winnow() read it five times. */
static Py_ssize_t
winnow_carried(const uint64_t *h, Py_ssize_t m, int w, int64_t *out)
{
    Py_ssize_t n = 0;
    if (m <= 0) {
        return 0;
    }
    Py_ssize_t first = m < w ? m : w; /* the first window (the only one when m <= w) */
    uint64_t v = h[0];
    for (Py_ssize_t i = 1; i < first; i++) {
        v = h[i] < v ? h[i] : v;
    }
    Py_ssize_t r = -1, last = -1; /* rightmost copy of v in the window; last kept */
    for (Py_ssize_t i = 0; i < first; i++) {
        if (h[i] == v) {
            out[n++] = last = r = i;
        }
    }
    for (Py_ssize_t j = 1; j + w <= m; j++) {
        Py_ssize_t p = j + w - 1; /* the entering position */
        uint64_t x = h[p];
        if (x <= v) {
            v = x;
            out[n++] = last = r = p;
            continue;
        }
        if (r >= j) {
            continue;
        }
        /* the search: the minimum and its rightmost copy in one pass, counting the copies;
         * a second pass only when there are several (the same k-gram twice in a window) */
        v = h[j];
        r = j;
        Py_ssize_t copies = 1;
        for (Py_ssize_t q = j + 1; q <= p; q++) {
            uint64_t y = h[q];
            if (y < v) {
                v = y;
                r = q;
                copies = 1;
            }
            else if (y == v) {
                r = q;
                copies++;
            }
        }
        if (copies == 1) {
            if (r > last) {
                out[n++] = last = r;
            }
            continue;
        }
        for (Py_ssize_t q = j; q <= p; q++) {
            if (h[q] == v && q > last) {
                out[n++] = last = q;
            }
        }
    }
    return n;
}

/* The winnowed k-gram hashes of the m codes f, mixed (times taint._MIX), chunk by chunk as
 * py_fingerprints does, into new bytes *hbp (uint64) and *pbp (int64: the index in f of each
 * one's first code, which the caller maps to its own positions). 0, or -1 with an exception
 * set and nothing returned. */
static int
winnowed_into(const uint8_t *f, Py_ssize_t m, int k, int w, PyObject **hbp, PyObject **pbp)
{
    PyObject *hb = NULL, *pb = NULL;
    uint64_t *hs = NULL;
    int64_t *kept = NULL;
    int rc = -1;
    Py_ssize_t nk = m - k + 1, got_total = 0;
    if (nk <= 0) {
        hb = PyBytes_FromStringAndSize("", 0);
        pb = PyBytes_FromStringAndSize("", 0);
        rc = hb && pb ? 0 : -1;
        goto done;
    }
    Py_ssize_t span = (nk < CHUNK ? nk : CHUNK) + 2 * (Py_ssize_t)w;
    hs = PyMem_Malloc(sizeof(uint64_t) * (size_t)span);
    kept = PyMem_Malloc(sizeof(int64_t) * (size_t)span);
    hb = PyBytes_FromStringAndSize(NULL, (nk / 2 + w + 1) * 8);
    pb = PyBytes_FromStringAndSize(NULL, (nk / 2 + w + 1) * 8);
    if (!hs || !kept) {
        PyErr_NoMemory();
    }
    if (!hs || !kept || !hb || !pb) {
        goto done;
    }
    Codes c;
    memset(&c, 0, sizeof(c));
    c.u8 = f;
    c.n = m;
    for (Py_ssize_t a = 0; a < nk; a += CHUNK) {
        Py_ssize_t b = a + CHUNK < nk ? a + CHUNK : nk;
        Py_ssize_t a0 = a - (w - 1) > 0 ? a - (w - 1) : 0;
        Py_ssize_t b0 = b + (w - 1) < nk ? b + (w - 1) : nk;
        kgram_hashes(&c, a0, b0 - a0, k, hs);
        Py_ssize_t got = winnow_carried(hs, b0 - a0, w, kept);
        Py_ssize_t need = (got_total + got) * 8;
        if (need > PyBytes_GET_SIZE(hb)) {
            Py_ssize_t cap = 2 * need;
            if (_PyBytes_Resize(&hb, cap) < 0 || _PyBytes_Resize(&pb, cap) < 0) {
                goto done;
            }
        }
        uint64_t *ho = (uint64_t *)PyBytes_AS_STRING(hb);
        int64_t *po = (int64_t *)PyBytes_AS_STRING(pb);
        for (Py_ssize_t i = 0; i < got; i++) {
            Py_ssize_t p = a0 + kept[i];
            if (p >= a && p < b) {
                ho[got_total] = hs[kept[i]] * HASH_MIX;
                po[got_total++] = p;
            }
        }
    }
    if (_PyBytes_Resize(&hb, got_total * 8) < 0 || _PyBytes_Resize(&pb, got_total * 8) < 0) {
        goto done;
    }
    rc = 0;
done:
    PyMem_Free(hs);
    PyMem_Free(kept);
    if (rc < 0) {
        Py_XDECREF(hb);
        Py_XDECREF(pb);
    }
    else {
        *hbp = hb;
        *pbp = pb;
    }
    return rc;
}

/* latin_fp(sp, prefix, k, w) -> (hashes, positions, numbers, tail_codes, tail_positions)
 *
 * sp is the spaced Latin fold of a slice of text (ASCII bytes, one space per whitespace
 * character: normalize.latin_spaced_map), prefix the codes carried from the slice before
 * (uint8 bytes, possibly empty). The folded codes are prefix + sp without its spaces; of
 * them this gives, as TaintLedger._ingest_taint computes with numpy:
 *
 *   hashes     the winnowed k-gram hashes (fingerprints()), mixed (times taint._MIX), bytes
 *              of uint64;
 *   positions  the position in sp of each one's first code, bytes of int64; a code of the
 *              prefix has position i - len(prefix) (negative: the caller maps it);
 *   numbers    numbers() of sp (the prefix left out), as (digits, position in sp);
 *   tail_*     the last (k - 1) + (w - 1) folded codes (bytes of uint8) and their positions
 *              (int64, the same convention): the next slice's prefix. */
static PyObject *
py_latin_fp(PyObject *self, PyObject *args)
{
    Py_buffer sv, pv;
    int k, w;
    if (!PyArg_ParseTuple(args, "y*y*ii", &sv, &pv, &k, &w)) {
        return NULL;
    }
    PyObject *result = NULL, *hb = NULL, *pb = NULL, *nums = NULL, *tc = NULL, *tp = NULL;
    uint8_t *f = NULL;
    int64_t *idx = NULL;
    if (check_kw(k, w) < 0) {
        goto done;
    }
    const uint8_t *s = sv.buf;
    Py_ssize_t n = sv.len, np_ = pv.len;
    Py_ssize_t total = np_ + n;
    f = PyMem_Malloc((size_t)total + 1);
    idx = PyMem_Malloc(sizeof(int64_t) * ((size_t)total + 1));
    if (!f || !idx) {
        PyErr_NoMemory();
        goto done;
    }
    memcpy(f, pv.buf, (size_t)np_);
    for (Py_ssize_t i = 0; i < np_; i++) {
        idx[i] = i - np_;
    }
    Py_ssize_t m = np_;
    for (Py_ssize_t i = 0; i < n; i++) {
        f[m] = s[i];
        idx[m] = i;
        m += s[i] != ' ';
    }
    /* fingerprints, at their indices in f, then mapped to sp */
    if (winnowed_into(f, m, k, w, &hb, &pb) < 0) {
        goto done;
    }
    int64_t *po = (int64_t *)PyBytes_AS_STRING(pb);
    for (Py_ssize_t i = 0, nh = PyBytes_GET_SIZE(pb) / 8; i < nh; i++) {
        po[i] = idx[po[i]];
    }
    /* numbers of this slice, read from sp (its spaces decide the group separators), at
     * their positions in sp */
    nums = PyList_New(0);
    if (!nums || numbers_into(s, n, nums, NUM_AT_SPACED) < 0) {
        goto done;
    }
    Py_ssize_t tail = (Py_ssize_t)(k - 1) + (w - 1);
    Py_ssize_t t0 = m - tail > 0 ? m - tail : 0;
    tc = PyBytes_FromStringAndSize((const char *)f + t0, m - t0);
    tp = PyBytes_FromStringAndSize((const char *)(idx + t0), (m - t0) * 8);
    if (tc && tp) {
        result = PyTuple_Pack(5, hb, pb, nums, tc, tp);
    }
done:
    Py_XDECREF(hb);
    Py_XDECREF(pb);
    Py_XDECREF(nums);
    Py_XDECREF(tc);
    Py_XDECREF(tp);
    PyMem_Free(f);
    PyMem_Free(idx);
    PyBuffer_Release(&sv);
    PyBuffer_Release(&pv);
    return result;
}

/* ascii_tr(text, table, delete) -> bytes: text.encode("ascii", "replace").translate(table,
 * delete) in one pass over the str, whatever its width (every character beyond ASCII, lone
 * surrogates included, reads as "?"). */
static PyObject *
py_ascii_tr(PyObject *self, PyObject *args)
{
    PyObject *text;
    Py_buffer tv, dv;
    if (!PyArg_ParseTuple(args, "Uy*y*", &text, &tv, &dv)) {
        return NULL;
    }
    PyObject *out = NULL;
    if (tv.len != 256) {
        PyErr_SetString(PyExc_ValueError, "table must be 256 bytes");
        goto done;
    }
    uint8_t del[256] = {0};
    for (Py_ssize_t i = 0; i < dv.len; i++) {
        del[((const uint8_t *)dv.buf)[i]] = 1;
    }
    const uint8_t *tab = tv.buf;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    out = PyBytes_FromStringAndSize(NULL, n);
    if (!out) {
        goto done;
    }
    uint8_t *o = (uint8_t *)PyBytes_AS_STRING(out);
    Py_ssize_t m = 0;
#define ASCII_TR_LOOP(T)                                                                       \
    do {                                                                                       \
        const T *u = (const T *)data;                                                          \
        Py_ssize_t i = 0;                                                                      \
        while (i < n) {                                                                        \
            /* four ASCII characters at a time, then one character */                          \
            for (; i + 4 <= n; i += 4) {                                                       \
                T c0 = u[i], c1 = u[i + 1], c2 = u[i + 2], c3 = u[i + 3];                      \
                if ((c0 | c1 | c2 | c3) >= 128) {                                              \
                    break;                                                                     \
                }                                                                              \
                o[m] = tab[c0];                                                                \
                m += !del[c0];                                                                 \
                o[m] = tab[c1];                                                                \
                m += !del[c1];                                                                 \
                o[m] = tab[c2];                                                                \
                m += !del[c2];                                                                 \
                o[m] = tab[c3];                                                                \
                m += !del[c3];                                                                 \
            }                                                                                  \
            if (i < n) {                                                                       \
                T ch = u[i++];                                                                 \
                uint8_t b = ch < 128 ? (uint8_t)ch : (uint8_t)'?';                             \
                o[m] = tab[b];                                                                 \
                m += !del[b];                                                                  \
            }                                                                                  \
        }                                                                                      \
    } while (0);
    if (kind == PyUnicode_1BYTE_KIND) {
        ASCII_TR_LOOP(uint8_t)
    }
    else if (kind == PyUnicode_2BYTE_KIND) {
        ASCII_TR_LOOP(uint16_t)
    }
    else {
        ASCII_TR_LOOP(uint32_t)
    }
#undef ASCII_TR_LOOP
    if (m != n && _PyBytes_Resize(&out, m) < 0) {
        out = NULL;
    }
done:
    PyBuffer_Release(&tv);
    PyBuffer_Release(&dv);
    return out;
}

/* strict_ascii(raw, table, drop) -> bytes: normalize._strict_bytes before its decoding:
 * raw.translate(table, drop), runs of spaces collapsed to one, spaces stripped from both
 * ends (drop: the bytes removed, as bytes.translate's second argument). */
static PyObject *
py_strict_ascii(PyObject *self, PyObject *args)
{
    Py_buffer rv, tv, dv;
    if (!PyArg_ParseTuple(args, "y*y*y*", &rv, &tv, &dv)) {
        return NULL;
    }
    PyObject *out = NULL;
    if (tv.len != 256) {
        PyErr_SetString(PyExc_ValueError, "table must be 256 bytes");
        goto done;
    }
    uint8_t del[256] = {0};
    for (Py_ssize_t i = 0; i < dv.len; i++) {
        del[((const uint8_t *)dv.buf)[i]] = 1;
    }
    const uint8_t *tab = tv.buf, *s = rv.buf;
    Py_ssize_t n = rv.len, m = 0;
    out = PyBytes_FromStringAndSize(NULL, n);
    if (!out) {
        goto done;
    }
    uint8_t *o = (uint8_t *)PyBytes_AS_STRING(out);
    int space = 1; /* the last byte written is a space (or nothing is written yet) */
    for (Py_ssize_t i = 0; i < n; i++) {
        if (del[s[i]]) {
            continue;
        }
        uint8_t b = tab[s[i]];
        if (b == ' ') {
            if (!space) {
                o[m++] = ' ';
                space = 1;
            }
            continue;
        }
        o[m++] = b;
        space = 0;
    }
    if (m > 0 && o[m - 1] == ' ') {
        m--;
    }
    if (m != n && _PyBytes_Resize(&out, m) < 0) {
        out = NULL;
    }
done:
    PyBuffer_Release(&rv);
    PyBuffer_Release(&tv);
    PyBuffer_Release(&dv);
    return out;
}

/* Room for need bytes in *out (and *idx, when there is one): 0, or -1 with an exception set
 * (*out is then NULL). */
static int
latin_grow(PyObject **out, Py_ssize_t **idx, Py_ssize_t *cap, Py_ssize_t need)
{
    Py_ssize_t c = 2 * need + 16;
    if (*idx) {
        Py_ssize_t *ni = PyMem_Realloc(*idx, sizeof(Py_ssize_t) * ((size_t)c + 1));
        if (!ni) {
            PyErr_NoMemory();
            return -1;
        }
        *idx = ni;
    }
    if (_PyBytes_Resize(out, c) < 0) {
        return -1;
    }
    *cap = c;
    return 0;
}

/* The image of the non-ASCII character ch (text index i of n) written at *m: 1, 0 when it
 * is not ASCII (the text is not Latin), -1 with an exception set. */
static int
latin_image(PyObject *image, PyObject *cache, Py_UCS4 ch, Py_ssize_t i, Py_ssize_t n, const uint8_t *tab,
            PyObject **out, Py_ssize_t **idx, Py_ssize_t *cap, Py_ssize_t *m, int *bad)
{
    PyObject *key = PyUnicode_FromOrdinal((int)ch);
    if (!key) {
        return -1;
    }
    PyObject *img = PyDict_GetItemWithError(cache, key); /* borrowed */
    if (img) {
        Py_INCREF(img);
    }
    else if (!PyErr_Occurred()) {
        img = PyObject_CallOneArg(image, key);
    }
    Py_DECREF(key);
    if (!img) {
        return -1;
    }
    if (!PyUnicode_Check(img)) {
        Py_DECREF(img);
        PyErr_SetString(PyExc_TypeError, "a fold image must be a str");
        return -1;
    }
    if (!PyUnicode_IS_ASCII(img)) {
        Py_DECREF(img);
        return 0;
    }
    Py_ssize_t len = PyUnicode_GET_LENGTH(img);
    const uint8_t *ib8 = PyUnicode_DATA(img);
    if (len != 1 && !*idx) {
        /* from here on, bytes and characters part: record the index of each byte */
        *idx = PyMem_Malloc(sizeof(Py_ssize_t) * ((size_t)*cap + 1));
        if (!*idx) {
            Py_DECREF(img);
            PyErr_NoMemory();
            return -1;
        }
        for (Py_ssize_t j = 0; j < *m; j++) {
            (*idx)[j] = j;
        }
    }
    Py_ssize_t need = *m + len + (n - i - 1);
    if (need > *cap && latin_grow(out, idx, cap, need) < 0) {
        Py_DECREF(img);
        return -1;
    }
    uint8_t *o = (uint8_t *)PyBytes_AS_STRING(*out);
    for (Py_ssize_t j = 0; j < len; j++) {
        uint8_t b = tab[ib8[j]];
        *bad |= b == 0x80;
        if (*idx) {
            (*idx)[*m] = i;
        }
        o[(*m)++] = b;
    }
    Py_DECREF(img);
    return 1;
}

/* latin_spaced(text, table, cache, image) -> (sp, idx) or None: normalize.latin_spaced_map
 * in one pass over the str. Each ASCII character becomes table[ch] (the spaced fold, with
 * the control characters as 0x80); any other character becomes its image (cache[ch], or
 * image(ch), which fills the cache), each byte of it through table too. None when an image
 * is not ASCII or a byte comes out 0x80. idx (bytes of intp) gives the text index of each
 * byte of sp, None when byte i comes from character i. */
static PyObject *
latin_spaced(PyObject *text, const uint8_t *tab, PyObject *cache, PyObject *image)
{
    PyObject *out = NULL, *result = NULL, *ib = NULL;
    Py_ssize_t *idx = NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), m = 0, cap = n;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    out = PyBytes_FromStringAndSize(NULL, cap);
    if (!out) {
        goto done;
    }
    uint8_t *o = (uint8_t *)PyBytes_AS_STRING(out);
    int bad = 0;
    unsigned marks = 0; /* the OR of the bytes of the ASCII runs written without an index */
    /* Invariant: cap >= m + (n - i) before character i (an ASCII character writes one byte,
     * so ASCII runs need no check; an image makes room for itself first). */
#define LATIN_LOOP(T)                                                                          \
    do {                                                                                       \
        const T *u = (const T *)data;                                                          \
        Py_ssize_t i = 0;                                                                      \
        while (i < n) {                                                                        \
            if (!idx) {                                                                        \
                /* four characters at a time while they are ASCII (the table's bytes are       \
                 * ASCII or 0x80: their OR tells a control character) */                       \
                for (; i + 4 <= n; i += 4) {                                                   \
                    T c0 = u[i], c1 = u[i + 1], c2 = u[i + 2], c3 = u[i + 3];                  \
                    if ((c0 | c1 | c2 | c3) >= 128) {                                          \
                        break;                                                                 \
                    }                                                                          \
                    uint8_t b0 = tab[c0], b1 = tab[c1], b2 = tab[c2], b3 = tab[c3];            \
                    marks |= b0 | b1 | b2 | b3;                                                \
                    o[m] = b0;                                                                 \
                    o[m + 1] = b1;                                                             \
                    o[m + 2] = b2;                                                             \
                    o[m + 3] = b3;                                                             \
                    m += 4;                                                                    \
                }                                                                              \
                for (; i < n && u[i] < 128; i++) {                                             \
                    uint8_t b = tab[u[i]];                                                     \
                    marks |= b;                                                                \
                    o[m++] = b;                                                                \
                }                                                                              \
            }                                                                                  \
            else {                                                                             \
                for (; i < n && u[i] < 128; i++) {                                             \
                    uint8_t b = tab[u[i]];                                                     \
                    bad |= b == 0x80;                                                          \
                    idx[m] = i;                                                                \
                    o[m++] = b;                                                                \
                }                                                                              \
            }                                                                                  \
            if (i >= n) {                                                                      \
                break;                                                                         \
            }                                                                                  \
            int r = latin_image(image, cache, (Py_UCS4)u[i], i, n, tab, &out, &idx, &cap, &m, &bad); \
            if (r < 0) {                                                                       \
                goto done;                                                                     \
            }                                                                                  \
            if (r == 0) {                                                                      \
                Py_INCREF(Py_None);                                                            \
                result = Py_None; /* not Latin */                                              \
                goto done;                                                                     \
            }                                                                                  \
            o = (uint8_t *)PyBytes_AS_STRING(out);                                             \
            i++;                                                                               \
        }                                                                                      \
    } while (0)
    if (kind == PyUnicode_1BYTE_KIND) {
        LATIN_LOOP(uint8_t);
    }
    else if (kind == PyUnicode_2BYTE_KIND) {
        LATIN_LOOP(uint16_t);
    }
    else {
        LATIN_LOOP(uint32_t);
    }
#undef LATIN_LOOP
    if (bad || (marks & 0x80)) {
        Py_INCREF(Py_None);
        result = Py_None; /* control characters: the vectorised path */
        goto done;
    }
    if (m != cap && _PyBytes_Resize(&out, m) < 0) {
        goto done;
    }
    if (idx) {
        ib = PyBytes_FromStringAndSize((const char *)idx, m * (Py_ssize_t)sizeof(Py_ssize_t));
        if (!ib) {
            goto done;
        }
    }
    result = PyTuple_Pack(2, out, ib ? ib : Py_None);
done:
    Py_XDECREF(out);
    Py_XDECREF(ib);
    PyMem_Free(idx);
    return result;
}

static PyObject *
py_latin_spaced(PyObject *self, PyObject *args)
{
    PyObject *text, *cache, *image, *result = NULL;
    Py_buffer tv;
    if (!PyArg_ParseTuple(args, "Uy*O!O", &text, &tv, &PyDict_Type, &cache, &image)) {
        return NULL;
    }
    if (tv.len != 256) {
        PyErr_SetString(PyExc_ValueError, "table must be 256 bytes");
    }
    else {
        result = latin_spaced(text, tv.buf, cache, image);
    }
    PyBuffer_Release(&tv);
    return result;
}

/* ============================== end of the ingest section ================================ */

/* ---- scan ---- */

/* scan_arg(text, token_min, table, cache, image) -> None or (spaced, index, keys, units, runs)
 *
 * What TaintLedger._scan_core reads from one argument before its batch, in one call:
 * spaced, index  latin_spaced(text, table, cache, image) (None when the text is not mostly
 *                Latin: the whole answer is then None, and the caller takes its general path);
 * keys, units    scan_tokens(spaced, token_min);
 * runs           decode_candidates of the text encoded to ASCII with "?" for any other
 *                character (read from the str itself, not encoded); None instead of an
 *                empty list when the text holds none of "%", "&" and "+" either: then no
 *                decoder of taint._decode_once can take anything from it.
 */
static PyObject *
py_scan_arg(PyObject *self, PyObject *args)
{
    PyObject *text, *table, *cache, *image;
    Py_ssize_t token_min;
    if (!PyArg_ParseTuple(args, "UnOO!O", &text, &token_min, &table, &PyDict_Type, &cache, &image)) {
        return NULL;
    }
    PyObject *result = NULL, *tok = NULL, *runs = NULL, *sub = NULL, *lat = NULL;
    uint8_t *ascii = NULL;
    if (!PyBytes_Check(table) || PyBytes_GET_SIZE(table) != 256) {
        PyErr_SetString(PyExc_ValueError, "table must be 256 bytes");
        return NULL;
    }
    lat = latin_spaced(text, (const uint8_t *)PyBytes_AS_STRING(table), cache, image);
    if (!lat || lat == Py_None) {
        return lat;
    }
    if (!PyTuple_Check(lat) || PyTuple_GET_SIZE(lat) != 2 || !PyBytes_Check(PyTuple_GET_ITEM(lat, 0))) {
        PyErr_SetString(PyExc_ValueError, "latin_spaced gave an unexpected value");
        goto done;
    }
    sub = Py_BuildValue("(On)", PyTuple_GET_ITEM(lat, 0), token_min);
    tok = sub ? py_scan_tokens(self, sub) : NULL;
    if (!tok) {
        goto done;
    }
    runs = PyList_New(0);
    if (!runs) {
        goto done;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int marks = 0; /* a "%", "&" or "+": the URL and HTML decoders may apply */
    if (PyUnicode_IS_ASCII(text)) {
        const uint8_t *a = PyUnicode_1BYTE_DATA(text);
        marks = memchr(a, '%', (size_t)n) || memchr(a, '&', (size_t)n) || memchr(a, '+', (size_t)n);
        if (decode_runs_into(a, n, runs) < 0) {
            goto done;
        }
    }
    else {
        /* text.encode("ascii", "replace"): one byte per character */
        ascii = PyMem_Malloc((size_t)(n ? n : 1));
        if (!ascii) {
            PyErr_NoMemory();
            goto done;
        }
        int kind = PyUnicode_KIND(text);
        const void *data = PyUnicode_DATA(text);
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_UCS4 ch = PyUnicode_READ(kind, data, i);
            ascii[i] = ch < 128 ? (uint8_t)ch : (uint8_t)'?';
            marks |= ch == '%' || ch == '&' || ch == '+';
        }
        if (decode_runs_into(ascii, n, runs) < 0) {
            goto done;
        }
    }
    result = PyTuple_Pack(5, PyTuple_GET_ITEM(lat, 0), PyTuple_GET_ITEM(lat, 1), PyTuple_GET_ITEM(tok, 0),
                          PyTuple_GET_ITEM(tok, 1), marks || PyList_GET_SIZE(runs) ? runs : Py_None);
done:
    Py_XDECREF(sub);
    Py_XDECREF(lat);
    Py_XDECREF(tok);
    Py_XDECREF(runs);
    PyMem_Free(ascii);
    return result;
}


/* ---- ingest ----
 *
 *   keyed_values(text)                 the credentials labelled text states as key and value
 *   non_ascii(text)                    the set of the distinct non-ASCII characters of a str
 *   strict_utf8(text, table, drop)     strict_ascii of text.encode("utf-8"), from the str
 *   sort_unique(keys, positions)       the distinct keys, sorted, with their first positions
 *   sort_run(keys, values)             keys and values in the stable order of the keys
 *   ingest_fold(text, table, cache, image, prefix, prefix_pos, base, k, w)
 *                                      a slice's fold, fingerprints, numbers and carry
 *   key_run(fp_keys, fp_pos, token_keys, token_pos, offset)
 *                                      a text's fingerprints and token keys as one sorted run
 */

/* The UTF-8 length of a code point (a lone surrogate as surrogatepass writes it: 3). */
static inline Py_ssize_t
utf8_len(Py_UCS4 ch)
{
    return ch < 0x80 ? 1 : ch < 0x800 ? 2 : ch < 0x10000 ? 3 : 4;
}

static inline int
keyed_label(Py_UCS4 ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' || ch == '-';
}

/* A character of a stated value: anything but ASCII whitespace (bytes \s) and "'`,;<> */
static inline int
keyed_value_char(Py_UCS4 ch)
{
    return !(ch == ' ' || (ch >= 0x09 && ch <= 0x0D) || ch == '"' || ch == '\'' || ch == '`' || ch == ',' ||
             ch == ';' || ch == '<' || ch == '>');
}

/* The value stated after a key word that ends at q (taint._KEYED_TAIL matched at q, then
 * decoded and stripped as taint._keyed_values does), appended to out as (value, start); nothing
 * when there is none. 0, or -1 with an exception set. */
static int
keyed_tail(int kind, const void *data, Py_ssize_t n, Py_ssize_t q, PyObject *text, PyObject *out)
{
#define KT(i) PyUnicode_READ(kind, data, (i))
    Py_ssize_t lab = 0;
    while (q < n && lab < 12 && keyed_label(KT(q))) {
        q++;
        lab++;
    }
    if (q < n && (KT(q) == '"' || KT(q) == '\'')) {
        q++;
    }
    while (q < n && (KT(q) == ' ' || KT(q) == '\t')) {
        q++;
    }
    if (q >= n || (KT(q) != ':' && KT(q) != '=')) {
        return 0;
    }
    q++;
    while (q < n && (KT(q) == ' ' || KT(q) == '\t')) {
        q++;
    }
    if (q < n && (KT(q) == '"' || KT(q) == '\'')) {
        q++;
    }
    /* the value: its bytes (at most 128) and the characters wholly within them */
    Py_ssize_t a = q, bytes = 0, whole = q;
    while (q < n && bytes < 128) {
        Py_UCS4 ch = KT(q);
        if (!keyed_value_char(ch)) {
            break;
        }
        bytes += utf8_len(ch);
        q++;
        if (bytes <= 128) {
            whole = q;
        }
    }
    if (bytes < 8) {
        return 0;
    }
    /* ".)]}" stripped from the end; lone surrogates are not in the decoded value (they
     * neither count nor stop the strip) */
    Py_ssize_t e = whole, kept = 0;
    int has_surrogate = 0;
    for (Py_ssize_t p = a; p < whole; p++) {
        Py_UCS4 ch = KT(p);
        int sur = ch >= 0xD800 && ch <= 0xDFFF;
        kept += !sur;
        has_surrogate |= sur;
    }
    while (e > a) {
        Py_UCS4 ch = KT(e - 1);
        if (ch >= 0xD800 && ch <= 0xDFFF) {
            e--;
            continue;
        }
        if (ch == '.' || ch == ')' || ch == ']' || ch == '}') {
            e--;
            kept--;
            continue;
        }
        break;
    }
    if (kept < 8) {
        return 0;
    }
    PyObject *value;
    if (!has_surrogate) {
        value = PyUnicode_Substring(text, a, e);
    }
    else {
        Py_UCS4 *buf = PyMem_Malloc(sizeof(Py_UCS4) * (size_t)(e - a + 1));
        if (!buf) {
            PyErr_NoMemory();
            return -1;
        }
        Py_ssize_t m = 0;
        for (Py_ssize_t p = a; p < e; p++) {
            Py_UCS4 ch = KT(p);
            if (!(ch >= 0xD800 && ch <= 0xDFFF)) {
                buf[m++] = ch;
            }
        }
        value = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf, m);
        PyMem_Free(buf);
    }
#undef KT
    if (!value) {
        return -1;
    }
    return append_new(out, Py_BuildValue("(Nn)", value, a));
}

/* keyed_values(text) -> [(value, start), ...]: taint._keyed_values in one pass over the str.
 *
 * For each of the words pass, pwd, secret, key, token (in that order), at each place the
 * text holds it (ASCII case ignored, in order, overlaps included), the match of
 * taint._KEYED_TAIL right after it: up to 12 of [A-Za-z_-], an optional quote, blanks, ":" or
 * "=", blanks, an optional quote, then the value: 8 to 128 bytes of UTF-8 (the greedy longest)
 * of characters that are not whitespace nor "'`,;<>. Each step of that pattern is forced (no
 * other choice could match where it fails), so one forward walk finds what the regular
 * expression finds. The value is the characters whose bytes all lie within those 128 bytes,
 * lone surrogates left out (what decode("utf-8", "ignore") keeps), then ".)]}" stripped from
 * its end; kept when at least 8 characters remain (taint._KEYED_MIN). start: the character
 * index of the value in text. One pass finds the words (by their first letter); the values
 * of each word are collected apart and handed back in the words' order. */
#define KEYED_WORDS 5
static PyObject *
py_keyed_values(PyObject *self, PyObject *args)
{
    PyObject *text;
    if (!PyArg_ParseTuple(args, "U:keyed_values", &text)) {
        return NULL;
    }
    static const char *words[KEYED_WORDS] = {"pass", "pwd", "secret", "key", "token"};
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    PyObject *found[KEYED_WORDS] = {NULL, NULL, NULL, NULL, NULL}, *out = NULL;
    for (int wi = 0; wi < KEYED_WORDS; wi++) {
        if (!(found[wi] = PyList_New(0))) {
            goto done;
        }
    }
    static const Py_ssize_t lens[KEYED_WORDS] = {4, 3, 6, 3, 5};
    uint8_t first[128] = {0};
    first['p'] = first['s'] = first['k'] = first['t'] = 1;
    /* (ch | 0x20 is a small letter only for that letter and its capital) */
#define KEYED_SCAN(T)                                                                          \
    do {                                                                                       \
        const T *u = (const T *)data;                                                          \
        for (Py_ssize_t i = 0; i + 3 <= n; i++) {                                              \
            Py_UCS4 c0 = (Py_UCS4)u[i] | 0x20;                                                 \
            if (c0 >= 128 || !first[c0]) {                                                     \
                continue;                                                                      \
            }                                                                                  \
            /* (the second letter, before the words are tried) */                              \
            Py_UCS4 c1 = (Py_UCS4)u[i + 1] | 0x20;                                             \
            if (c1 != 'a' && c1 != 'w' && c1 != 'e' && c1 != 'o') {                            \
                continue;                                                                      \
            }                                                                                  \
            for (int wi = 0; wi < KEYED_WORDS; wi++) {                                         \
                const char *word = words[wi];                                                  \
                Py_ssize_t wl = lens[wi], j = 1;                                               \
                if ((Py_UCS4)word[0] != c0 || i + wl > n) {                                    \
                    continue;                                                                  \
                }                                                                              \
                while (j < wl && ((Py_UCS4)u[i + j] | 0x20) == (Py_UCS4)word[j]) {             \
                    j++;                                                                       \
                }                                                                              \
                if (j == wl && keyed_tail(kind, data, n, i + wl, text, found[wi]) < 0) {       \
                    goto done;                                                                 \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
    } while (0)
    if (kind == PyUnicode_1BYTE_KIND) {
        KEYED_SCAN(uint8_t);
    }
    else if (kind == PyUnicode_2BYTE_KIND) {
        KEYED_SCAN(uint16_t);
    }
    else {
        KEYED_SCAN(uint32_t);
    }
#undef KEYED_SCAN
    out = found[0];
    found[0] = NULL;
    for (int wi = 1; wi < KEYED_WORDS; wi++) {
        if (PyList_GET_SIZE(found[wi]) && PyList_SetSlice(out, PY_SSIZE_T_MAX, PY_SSIZE_T_MAX, found[wi]) < 0) {
            Py_CLEAR(out);
            goto done;
        }
    }
done:
    for (int wi = 0; wi < KEYED_WORDS; wi++) {
        Py_XDECREF(found[wi]);
    }
    return out;
}
#undef KEYED_WORDS

/* non_ascii(text) -> set: the distinct non-ASCII characters of a str (normalize.non_ascii_chars,
 * lone surrogates included), without encoding it. A small direct-mapped memory of the
 * characters already added spares the set most repeats. */
static PyObject *
py_non_ascii(PyObject *self, PyObject *args)
{
    PyObject *text;
    if (!PyArg_ParseTuple(args, "U:non_ascii", &text)) {
        return NULL;
    }
    PyObject *out = PySet_New(NULL);
    if (!out || PyUnicode_IS_ASCII(text)) {
        return out;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_UCS4 seen[256];
    memset(seen, 0, sizeof(seen)); /* 0: no character (an ASCII one never lands here) */
#define NON_ASCII_LOOP(T)                                                                      \
    do {                                                                                       \
        const T *u = (const T *)data;                                                          \
        for (Py_ssize_t i = 0; i < n; i++) {                                                   \
            while (i + 4 <= n && (u[i] | u[i + 1] | u[i + 2] | u[i + 3]) < 128) {              \
                i += 4;                                                                        \
            }                                                                                  \
            if (i >= n) {                                                                      \
                break;                                                                         \
            }                                                                                  \
            Py_UCS4 ch = u[i];                                                                 \
            if (ch < 128 || seen[ch & 255] == ch) {                                            \
                continue;                                                                      \
            }                                                                                  \
            seen[ch & 255] = ch;                                                               \
            PyObject *s = PyUnicode_FromOrdinal((int)ch);                                      \
            if (!s || PySet_Add(out, s) < 0) {                                                 \
                Py_XDECREF(s);                                                                 \
                Py_DECREF(out);                                                                \
                return NULL;                                                                   \
            }                                                                                  \
            Py_DECREF(s);                                                                      \
        }                                                                                      \
    } while (0)
    if (kind == PyUnicode_1BYTE_KIND) {
        NON_ASCII_LOOP(uint8_t);
    }
    else if (kind == PyUnicode_2BYTE_KIND) {
        NON_ASCII_LOOP(uint16_t);
    }
    else {
        NON_ASCII_LOOP(uint32_t);
    }
#undef NON_ASCII_LOOP
    return out;
}

/* strict_utf8(text, table, drop) -> bytes or None: strict_ascii(text.encode("utf-8"), table,
 * drop) from the str, in one pass (ASCII characters through table and drop, runs of spaces
 * collapsed, spaces stripped at both ends; every other character written as its UTF-8 bytes,
 * which table and drop leave alone); None when the text holds a lone surrogate (encode would
 * raise). drop must name ASCII bytes only. */
static PyObject *
py_strict_utf8(PyObject *self, PyObject *args)
{
    PyObject *text;
    Py_buffer tv, dv;
    if (!PyArg_ParseTuple(args, "Uy*y*:strict_utf8", &text, &tv, &dv)) {
        return NULL;
    }
    PyObject *out = NULL;
    if (tv.len != 256) {
        PyErr_SetString(PyExc_ValueError, "table must be 256 bytes");
        goto done;
    }
    uint8_t del[128] = {0};
    for (Py_ssize_t i = 0; i < dv.len; i++) {
        uint8_t b = ((const uint8_t *)dv.buf)[i];
        if (b >= 128) {
            PyErr_SetString(PyExc_ValueError, "drop must be ASCII");
            goto done;
        }
        del[b] = 1;
    }
    const uint8_t *tab = tv.buf;
    for (int b = 128; b < 256; b++) {
        if (tab[b] != b) {
            PyErr_SetString(PyExc_ValueError, "table must leave non-ASCII bytes alone");
            goto done;
        }
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), m = 0;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t cap = kind == PyUnicode_1BYTE_KIND ? 2 * n : kind == PyUnicode_2BYTE_KIND ? 3 * n : 4 * n;
    out = PyBytes_FromStringAndSize(NULL, cap);
    if (!out) {
        goto done;
    }
    uint8_t *o = (uint8_t *)PyBytes_AS_STRING(out);
    int space = 1; /* the last byte written is a space (or nothing is written yet) */
#define STRICT_LOOP(T)                                                                         \
    do {                                                                                       \
        const T *u = (const T *)data;                                                          \
        for (Py_ssize_t i = 0; i < n; i++) {                                                   \
            Py_UCS4 ch = u[i];                                                                 \
            if (ch < 128) {                                                                    \
                if (del[ch]) {                                                                 \
                    continue;                                                                  \
                }                                                                              \
                uint8_t b = tab[ch];                                                           \
                if (b == ' ') {                                                                \
                    if (!space) {                                                              \
                        o[m++] = ' ';                                                          \
                        space = 1;                                                             \
                    }                                                                          \
                    continue;                                                                  \
                }                                                                              \
                o[m++] = b;                                                                    \
                space = 0;                                                                     \
                continue;                                                                      \
            }                                                                                  \
            space = 0;                                                                         \
            if (ch < 0x800) {                                                                  \
                o[m++] = (uint8_t)(0xC0 | (ch >> 6));                                          \
                o[m++] = (uint8_t)(0x80 | (ch & 0x3F));                                        \
            }                                                                                  \
            else if (ch < 0x10000) {                                                           \
                if (ch >= 0xD800 && ch <= 0xDFFF) {                                            \
                    Py_CLEAR(out);                                                             \
                    Py_INCREF(Py_None);                                                        \
                    out = Py_None;                                                             \
                    goto done;                                                                 \
                }                                                                              \
                o[m++] = (uint8_t)(0xE0 | (ch >> 12));                                         \
                o[m++] = (uint8_t)(0x80 | ((ch >> 6) & 0x3F));                                 \
                o[m++] = (uint8_t)(0x80 | (ch & 0x3F));                                        \
            }                                                                                  \
            else {                                                                             \
                o[m++] = (uint8_t)(0xF0 | (ch >> 18));                                         \
                o[m++] = (uint8_t)(0x80 | ((ch >> 12) & 0x3F));                                \
                o[m++] = (uint8_t)(0x80 | ((ch >> 6) & 0x3F));                                 \
                o[m++] = (uint8_t)(0x80 | (ch & 0x3F));                                        \
            }                                                                                  \
        }                                                                                      \
    } while (0)
    if (kind == PyUnicode_1BYTE_KIND) {
        STRICT_LOOP(uint8_t);
    }
    else if (kind == PyUnicode_2BYTE_KIND) {
        STRICT_LOOP(uint16_t);
    }
    else {
        STRICT_LOOP(uint32_t);
    }
#undef STRICT_LOOP
    if (m > 0 && o[m - 1] == ' ') {
        m--;
    }
    if (m != cap && _PyBytes_Resize(&out, m) < 0) {
        out = NULL;
    }
done:
    PyBuffer_Release(&tv);
    PyBuffer_Release(&dv);
    return out;
}


/* A stable LSD radix sort of (k, ix)[0:n] by k, one byte per pass (a pass whose byte is the
 * same for every key is skipped); k2 and i2 are scratch of n items. The result ends in k, ix. */
static int
radix_sort_pairs(uint64_t *k, uint32_t *ix, uint64_t *k2, uint32_t *i2, Py_ssize_t n)
{
    Py_ssize_t (*cnt)[256] = PyMem_Calloc(8, sizeof(*cnt));
    if (!cnt) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        for (int b = 0; b < 8; b++) {
            cnt[b][(k[i] >> (8 * b)) & 255]++;
        }
    }
    uint64_t *ka = k, *kb = k2;
    uint32_t *ia = ix, *ib = i2;
    for (int b = 0; b < 8; b++) {
        Py_ssize_t *c = cnt[b];
        if (n == 0 || c[(ka[0] >> (8 * b)) & 255] == n) {
            continue;
        }
        Py_ssize_t sum = 0;
        for (int d = 0; d < 256; d++) {
            Py_ssize_t t = c[d];
            c[d] = sum;
            sum += t;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_ssize_t dst = c[(ka[i] >> (8 * b)) & 255]++;
            kb[dst] = ka[i];
            ib[dst] = ia[i];
        }
        uint64_t *tk = ka;
        ka = kb;
        kb = tk;
        uint32_t *ti = ia;
        ia = ib;
        ib = ti;
    }
    if (ka != k) {
        memcpy(k, ka, sizeof(uint64_t) * (size_t)n);
        memcpy(ix, ia, sizeof(uint32_t) * (size_t)n);
    }
    PyMem_Free(cnt);
    return 0;
}

/* The stable order of keys[0:n]: k1 gets the keys sorted, i1 the index of each in keys (k2
 * and i2: scratch of n items). A counting sort by the keys' top bits (about one key per
 * bucket: fingerprints are mixed, token keys are SipHash), then each bucket by insertion
 * while it is small, by a radix sort beyond (so no input makes it quadratic). 0, or -1 with
 * an exception set. */
static int
stable_order(const uint64_t *keys, Py_ssize_t n, uint64_t *k1, uint32_t *i1, uint64_t *k2, uint32_t *i2)
{
    if ((uint64_t)n >= UINT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "too many keys");
        return -1;
    }
    int bits = 8;
    while (bits < 20 && ((Py_ssize_t)1 << bits) < n) {
        bits++;
    }
    Py_ssize_t nb = (Py_ssize_t)1 << bits;
    int shift = 64 - bits;
    Py_ssize_t *start = PyMem_Calloc((size_t)nb + 1, sizeof(Py_ssize_t));
    if (!start) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        start[(keys[i] >> shift) + 1]++;
    }
    for (Py_ssize_t d = 0; d < nb; d++) {
        start[d + 1] += start[d];
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t dst = start[keys[i] >> shift]++;
        k1[dst] = keys[i];
        i1[dst] = (uint32_t)i;
    }
    /* start[d] is now the end of bucket d: each bucket sorted in place, stably */
    Py_ssize_t a = 0;
    for (Py_ssize_t d = 0; d < nb; d++) {
        Py_ssize_t e = start[d];
        if (e - a > 32) {
            if (radix_sort_pairs(k1 + a, i1 + a, k2, i2, e - a) < 0) {
                PyMem_Free(start);
                return -1;
            }
        }
        else {
            for (Py_ssize_t i = a + 1; i < e; i++) {
                uint64_t x = k1[i];
                uint32_t xi = i1[i];
                Py_ssize_t j = i;
                while (j > a && k1[j - 1] > x) {
                    k1[j] = k1[j - 1];
                    i1[j] = i1[j - 1];
                    j--;
                }
                k1[j] = x;
                i1[j] = xi;
            }
        }
        a = e;
    }
    PyMem_Free(start);
    return 0;
}

/* sort_unique(keys, positions) -> (keys, positions): the distinct keys (bytes of uint64)
 * in increasing order, each with the position (int64) of its first occurrence in the input;
 * what TaintLedger._ingest_taint computes with numpy (argsort, then the smallest index of each
 * run of equal keys). The order is stable (stable_order), so the first of each run of equal
 * keys is its first occurrence.
 *
 * sort_run(keys, values) -> (keys, values): keys (uint64) and values (uint32) in the stable
 * order of the keys (what _Index._add_run takes from np.argsort(kind="stable")). */
static PyObject *
sort_pairs(PyObject *args, int unique)
{
    PyObject *ko, *po;
    if (!PyArg_ParseTuple(args, unique ? "OO:sort_unique" : "OO:sort_run", &ko, &po)) {
        return NULL;
    }
    Py_ssize_t vsize = unique ? 8 : 4;
    Py_buffer kv, pv;
    if (items_get(ko, &kv, 8, "keys") < 0) {
        return NULL;
    }
    if (items_get(po, &pv, vsize, "values") < 0) {
        PyBuffer_Release(&kv);
        return NULL;
    }
    PyObject *result = NULL, *kb = NULL, *pb = NULL;
    uint64_t *k1 = NULL, *k2 = NULL;
    uint32_t *i1 = NULL, *i2 = NULL;
    Py_ssize_t n = kv.len / 8;
    if (pv.len / vsize != n) {
        PyErr_SetString(PyExc_ValueError, "keys and values differ in length");
        goto done;
    }
    size_t sz = (size_t)(n > 0 ? n : 1);
    k1 = PyMem_Malloc(8 * sz);
    k2 = PyMem_Malloc(8 * sz);
    i1 = PyMem_Malloc(4 * sz);
    i2 = PyMem_Malloc(4 * sz);
    if (!k1 || !k2 || !i1 || !i2) {
        PyErr_NoMemory();
        goto done;
    }
    if (stable_order(kv.buf, n, k1, i1, k2, i2) < 0) {
        goto done;
    }
    Py_ssize_t m = 0;
    if (unique) {
        for (Py_ssize_t i = 0; i < n; i++) {
            if (i == 0 || k1[i] != k1[i - 1]) {
                k2[m] = k1[i];
                i2[m++] = i1[i];
            }
        }
    }
    else {
        memcpy(k2, k1, 8 * (size_t)n);
        memcpy(i2, i1, 4 * (size_t)n);
        m = n;
    }
    kb = PyBytes_FromStringAndSize((const char *)k2, m * 8);
    pb = PyBytes_FromStringAndSize(NULL, m * vsize);
    if (!kb || !pb) {
        goto done;
    }
    if (unique) {
        const int64_t *pos = pv.buf;
        int64_t *po8 = (int64_t *)PyBytes_AS_STRING(pb);
        for (Py_ssize_t i = 0; i < m; i++) {
            po8[i] = pos[i2[i]];
        }
    }
    else {
        const uint32_t *val = pv.buf;
        uint32_t *po4 = (uint32_t *)PyBytes_AS_STRING(pb);
        for (Py_ssize_t i = 0; i < m; i++) {
            po4[i] = val[i2[i]];
        }
    }
    result = PyTuple_Pack(2, kb, pb);
done:
    Py_XDECREF(kb);
    Py_XDECREF(pb);
    PyMem_Free(k1);
    PyMem_Free(k2);
    PyMem_Free(i1);
    PyMem_Free(i2);
    PyBuffer_Release(&kv);
    PyBuffer_Release(&pv);
    return result;
}

static PyObject *
py_sort_unique(PyObject *self, PyObject *args)
{
    return sort_pairs(args, 1);
}

static PyObject *
py_sort_run(PyObject *self, PyObject *args)
{
    return sort_pairs(args, 0);
}

/* ---- amounts ----
 *
 * Amounts written with digit-group separators (docs/threat-model.md): numbers_into() reads a
 * spaced text, so it can tell "2,350,000" (one amount) from "1, 234, 567" (a list) and "0130
 * 00, 120" (a number, then another), which the text without its spaces cannot.
 *
 *   group_sep(s, n, i)          s[i] is a "," or "'" between a digit and exactly three digits
 *   decimal_key(nd, sep_nd, .)  the length of a number's second key (its digits before a
 *                               decimal part), or 0
 *   count_spaces(s, a, b)       the spaces of s[a:b] (a number's offset without them)
 */

/* A "," or "'" (the fold of "’") that separates digit groups: a digit right before it, three
 * digits right after it, and no fourth digit after those. Whitespace on either side makes it
 * a boundary ("1, 234"); "." needs no rule (it is a separator of every number). */
static int
group_sep(const uint8_t *s, Py_ssize_t n, Py_ssize_t i)
{
    return (s[i] == ',' || s[i] == '\'') && i > 0 && i + 3 < n && is_digit(s[i - 1]) && is_digit(s[i + 1])
           && is_digit(s[i + 2]) && is_digit(s[i + 3]) && (i + 4 == n || !is_digit(s[i + 4]));
}

/* A number of nd digits whose last separators (sep_dot: a lone ".") came after its first
 * sep_nd digits: when one or two digits follow that "." (a decimal part, "2,350,000.50"),
 * the digits before it are a second key, so that the amount meets its spellings without
 * decimals or with a decimal comma ("2.350.000,50" stops at the ","). */
static Py_ssize_t
decimal_key(Py_ssize_t nd, Py_ssize_t sep_nd, int sep_dot)
{
    return sep_dot && nd - sep_nd >= 1 && nd - sep_nd <= 2 ? sep_nd : 0;
}

/* Eight bytes at a time: a byte of t = x ^ 0x20.. is zero exactly where x holds a space,
 * ~(((t & 0x7F..) + 0x7F..) | t | 0x7F..) has the top bit of exactly those bytes set, and
 * the sum of those bits (one per byte) is the top byte of their product by 0x01.. */
static Py_ssize_t
count_spaces(const uint8_t *s, Py_ssize_t a, Py_ssize_t b)
{
    Py_ssize_t c = 0;
    for (; a + 8 <= b; a += 8) {
        uint64_t x;
        memcpy(&x, s + a, 8);
        uint64_t t = x ^ 0x2020202020202020ULL;
        uint64_t z = ~(((t & 0x7F7F7F7F7F7F7F7FULL) + 0x7F7F7F7F7F7F7F7FULL) | t | 0x7F7F7F7F7F7F7F7FULL);
        c += (Py_ssize_t)(((z >> 7) * 0x0101010101010101ULL) >> 56);
    }
    for (; a < b; a++) {
        c += s[a] == ' ';
    }
    return c;
}

/* ---- audit ----
 *
 * audit_line(fd, key, args, node, mode, call_id, decision_id, codes, findings, a, b, c, d,
 *            timing, seq, prev, stamp, sha) -> (hash, bytes written) | None
 *
 * One inline decision record of toolguard/audit.py (AuditLog._decision_native): the
 * arguments' canonical JSON and their masked copy in one walk, the arguments' SHA-256, the
 * record's text (its fields between the cached parts a, b, c, d of audit._shape, as
 * audit._decision_parts and audit._decision_text write them), its SHA-256 (HMAC-SHA-256
 * with a key), and the line written to fd. The text is the standard library's canonical
 * JSON (json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)) byte
 * for byte: keys sorted by code point, strings escaped as json's ASCII escaper does (\uXXXX
 * in lower-case hex, surrogate pairs above the BMP), int.__repr__ and float.__repr__.
 *
 * None (nothing computed, nothing written): a value that is not plain data as audit._walk
 * takes it (exact dict with str keys, list, tuple, str, int, bool, None, finite float,
 * nesting up to 64), or a field that is not of the expected type; any error on the way
 * (an int too long for repr...) is cleared into None too. The caller then takes the Python
 * path, which raises or writes exactly as it always did. An OSError of the write is raised
 * (the record may be partly written; the caller marks the log failed).
 *
 * node: the compiled destination tree of audit._ctree, a tuple (keep, keys, other, index):
 * keep (bool): a string here is kept; keys: dict str -> node or None; other: the node
 * below any other key or index, or None; index: dict int -> node (the keys that are
 * str(i) of an index), or None. mode: 0 hash (no input), 1 masked, 2 full.
 * timing: (account_us, decide_us), floats 0 <= x < 1e12 (written as audit._milli does),
 * or a str, the timing object's text ("" when the record has none). stamp: a float time
 * 0 <= t < 253402300800 (written as audit._timestamp does) or the timestamp's str.
 * sha: None (SHA-256 here, on the CPU's SHA extensions when it has them) or hashlib.sha256,
 * for the unkeyed digests (what the caller passes where the CPU lacks the extensions: see
 * audit_digest). HMAC-SHA-256 is always computed here. */

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define AUDIT_SHA_NI 1
#include <cpuid.h>
#include <immintrin.h>
#endif
#include <errno.h>
#ifdef _WIN32
#include <io.h>
#define AUDIT_WRITE(fd, p, n) _write((fd), (p), (unsigned int)((n) > 0x40000000 ? 0x40000000 : (n)))
#else
#include <unistd.h>
#define AUDIT_WRITE(fd, p, n) write((fd), (p), (n))
#endif

static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR32(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void
sha256_blocks_c(uint32_t st[8], const uint8_t *p, size_t blocks)
{
    while (blocks--) {
        uint32_t w[64];
        for (int i = 0; i < 16; i++) {
            w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
        }
        for (int i = 16; i < 64; i++) {
            uint32_t s0 = ROR32(w[i - 15], 7) ^ ROR32(w[i - 15], 18) ^ (w[i - 15] >> 3);
            uint32_t s1 = ROR32(w[i - 2], 17) ^ ROR32(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        uint32_t a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6], h = st[7];
        for (int i = 0; i < 64; i++) {
            uint32_t t1 = h + (ROR32(e, 6) ^ ROR32(e, 11) ^ ROR32(e, 25)) + ((e & f) ^ (~e & g)) + sha256_k[i] + w[i];
            uint32_t t2 = (ROR32(a, 2) ^ ROR32(a, 13) ^ ROR32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            h = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }
        st[0] += a;
        st[1] += b;
        st[2] += c;
        st[3] += d;
        st[4] += e;
        st[5] += f;
        st[6] += g;
        st[7] += h;
        p += 64;
    }
}

#ifdef AUDIT_SHA_NI
/* The SHA extensions (sha256rnds2, sha256msg1/2): four rounds per step, the message
 * schedule in four registers. */
__attribute__((target("sha,sse4.1,ssse3"))) static void
sha256_blocks_ni(uint32_t st[8], const uint8_t *p, size_t blocks)
{
    const __m128i mask = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i tmp = _mm_loadu_si128((const __m128i *)&st[0]);
    __m128i s1 = _mm_loadu_si128((const __m128i *)&st[4]);
    tmp = _mm_shuffle_epi32(tmp, 0xB1);          /* CDAB */
    s1 = _mm_shuffle_epi32(s1, 0x1B);            /* EFGH */
    __m128i s0 = _mm_alignr_epi8(tmp, s1, 8);    /* ABEF */
    s1 = _mm_blend_epi16(s1, tmp, 0xF0);         /* CDGH */
    while (blocks--) {
        __m128i save0 = s0, save1 = s1;
        __m128i w[4];
        for (int i = 0; i < 16; i++) {
            __m128i m;
            if (i < 4) {
                m = w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), mask);
            }
            else {
                __m128i x = _mm_sha256msg1_epu32(w[i & 3], w[(i + 1) & 3]);
                x = _mm_add_epi32(x, _mm_alignr_epi8(w[(i + 3) & 3], w[(i + 2) & 3], 4));
                m = w[i & 3] = _mm_sha256msg2_epu32(x, w[(i + 3) & 3]);
            }
            m = _mm_add_epi32(m, _mm_loadu_si128((const __m128i *)&sha256_k[4 * i]));
            s1 = _mm_sha256rnds2_epu32(s1, s0, m);
            s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(m, 0x0E));
        }
        s0 = _mm_add_epi32(s0, save0);
        s1 = _mm_add_epi32(s1, save1);
        p += 64;
    }
    tmp = _mm_shuffle_epi32(s0, 0x1B);           /* FEBA */
    s1 = _mm_shuffle_epi32(s1, 0xB1);            /* DCHG */
    s0 = _mm_blend_epi16(tmp, s1, 0xF0);         /* DCBA */
    s1 = _mm_alignr_epi8(s1, tmp, 8);            /* HGFE */
    _mm_storeu_si128((__m128i *)&st[0], s0);
    _mm_storeu_si128((__m128i *)&st[4], s1);
}

static int
sha_ni_available(void)
{
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSSE3) || !(c & bit_SSE4_1)) {
        return 0;
    }
    if (__get_cpuid_max(0, NULL) < 7) {
        return 0;
    }
    __cpuid_count(7, 0, a, b, c, d);
    return (b >> 29) & 1;
}
#endif

typedef void (*sha256_fn)(uint32_t st[8], const uint8_t *p, size_t blocks);

/* The block function: the SHA extensions when the CPU has them (decided once, on first use:
 * the module's only static state, the same answer every time; both give the same digests,
 * the tests compare them with hashlib). */
static sha256_fn
sha256_blocks(void)
{
    static sha256_fn fn = NULL;
    if (fn == NULL) {
#ifdef AUDIT_SHA_NI
        fn = sha_ni_available() ? sha256_blocks_ni : sha256_blocks_c;
#else
        fn = sha256_blocks_c;
#endif
    }
    return fn;
}

typedef struct {
    uint32_t st[8];
    uint64_t len;
    uint8_t buf[64];
    size_t nbuf;
    sha256_fn blocks;
} sha256_ctx;

static void
sha256_init(sha256_ctx *c, sha256_fn fn)
{
    static const uint32_t iv[8] = {
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    };
    memcpy(c->st, iv, sizeof iv);
    c->len = 0;
    c->nbuf = 0;
    c->blocks = fn;
}

static void
sha256_update(sha256_ctx *c, const uint8_t *p, size_t n)
{
    c->len += n;
    if (c->nbuf) {
        size_t take = 64 - c->nbuf < n ? 64 - c->nbuf : n;
        memcpy(c->buf + c->nbuf, p, take);
        c->nbuf += take;
        p += take;
        n -= take;
        if (c->nbuf < 64) {
            return;
        }
        c->blocks(c->st, c->buf, 1);
        c->nbuf = 0;
    }
    if (n >= 64) {
        c->blocks(c->st, p, n / 64);
        p += n / 64 * 64;
        n %= 64;
    }
    memcpy(c->buf, p, n);
    c->nbuf = n;
}

static void
sha256_final(sha256_ctx *c, uint8_t out[32])
{
    uint64_t bits = c->len * 8;
    uint8_t pad[72] = {0x80};
    size_t padlen = (c->nbuf < 56 ? 56 : 120) - c->nbuf;
    for (int i = 0; i < 8; i++) {
        pad[padlen + i] = (uint8_t)(bits >> (56 - 8 * i));
    }
    sha256_update(c, pad, padlen + 8);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(c->st[i] >> 24);
        out[4 * i + 1] = (uint8_t)(c->st[i] >> 16);
        out[4 * i + 2] = (uint8_t)(c->st[i] >> 8);
        out[4 * i + 3] = (uint8_t)c->st[i];
    }
}

/* SHA-256 of data (key NULL) or HMAC-SHA-256 (RFC 2104) with key, as 64 lower-case hex digits. */
static void
audit_digest_hex(const uint8_t *key, size_t keylen, const uint8_t *data, size_t n, char hex[64]);

static void
audit_digest_with(sha256_fn fn, const uint8_t *key, size_t keylen, const uint8_t *data, size_t n, char hex[64]);

static void
audit_digest_hex(const uint8_t *key, size_t keylen, const uint8_t *data, size_t n, char hex[64])
{
    audit_digest_with(sha256_blocks(), key, keylen, data, n, hex);
}

static void
audit_digest_with(sha256_fn fn, const uint8_t *key, size_t keylen, const uint8_t *data, size_t n, char hex[64])
{
    static const char digits[] = "0123456789abcdef";
    uint8_t out[32];
    sha256_ctx c;
    if (key == NULL) {
        sha256_init(&c, fn);
        sha256_update(&c, data, n);
        sha256_final(&c, out);
    }
    else {
        uint8_t k0[64] = {0}, pad[64];
        if (keylen > 64) {
            sha256_init(&c, fn);
            sha256_update(&c, key, keylen);
            sha256_final(&c, k0);
        }
        else {
            memcpy(k0, key, keylen);
        }
        for (int i = 0; i < 64; i++) {
            pad[i] = k0[i] ^ 0x36;
        }
        sha256_init(&c, fn);
        sha256_update(&c, pad, 64);
        sha256_update(&c, data, n);
        sha256_final(&c, out);
        for (int i = 0; i < 64; i++) {
            pad[i] = k0[i] ^ 0x5c;
        }
        sha256_init(&c, fn);
        sha256_update(&c, pad, 64);
        sha256_update(&c, out, 32);
        sha256_final(&c, out);
    }
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[out[i] >> 4];
        hex[2 * i + 1] = digits[out[i] & 15];
    }
}

/* The digest of audit_digest_hex, or with `sha` (hashlib.sha256, not None) for an unkeyed
 * digest: OpenSSL's where the CPU lacks the SHA extensions, its vector code being faster
 * than sha256_blocks_c. 0, or -1 with an exception set. */
static int
audit_digest(PyObject *sha, const uint8_t *key, size_t keylen, const uint8_t *data, size_t n, char hex[64])
{
    static const char digits[] = "0123456789abcdef";
    if (sha == Py_None || key != NULL) {
        audit_digest_hex(key, keylen, data, n, hex);
        return 0;
    }
    PyObject *mv = PyMemoryView_FromMemory((char *)data, (Py_ssize_t)n, PyBUF_READ);
    if (mv == NULL) {
        return -1;
    }
    PyObject *h = PyObject_CallOneArg(sha, mv);
    Py_DECREF(mv);
    if (h == NULL) {
        return -1;
    }
    PyObject *d = PyObject_CallMethod(h, "digest", NULL);
    Py_DECREF(h);
    if (d == NULL) {
        return -1;
    }
    if (!PyBytes_CheckExact(d) || PyBytes_GET_SIZE(d) != 32) {
        Py_DECREF(d);
        PyErr_SetString(PyExc_ValueError, "the digest is not 32 bytes");
        return -1;
    }
    const uint8_t *out = (const uint8_t *)PyBytes_AS_STRING(d);
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[out[i] >> 4];
        hex[2 * i + 1] = digits[out[i] & 15];
    }
    Py_DECREF(d);
    return 0;
}

/* sha_extensions() -> bool: does SHA-256 here run on the CPU's SHA extensions? */
static PyObject *
py_sha_extensions(PyObject *self, PyObject *unused)
{
    return PyBool_FromLong(sha256_blocks() != sha256_blocks_c);
}

/* sha256_hex(data, key, portable=False) -> str: what audit_line hashes with (the tests
 * compare it with hashlib; portable: the C block function even where the SHA extensions are). */
static PyObject *
py_sha256_hex(PyObject *self, PyObject *args)
{
    Py_buffer data, key = {0};
    PyObject *ko;
    int portable = 0;
    if (!PyArg_ParseTuple(args, "y*O|p:sha256_hex", &data, &ko, &portable)) {
        return NULL;
    }
    if (ko != Py_None && PyObject_GetBuffer(ko, &key, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&data);
        return NULL;
    }
    char hex[64];
    audit_digest_with(portable ? sha256_blocks_c : sha256_blocks(), ko == Py_None ? NULL : key.buf,
                      ko == Py_None ? 0 : (size_t)key.len, data.buf, (size_t)data.len, hex);
    if (ko != Py_None) {
        PyBuffer_Release(&key);
    }
    PyBuffer_Release(&data);
    return PyUnicode_FromStringAndSize(hex, 64);
}

typedef struct {
    char *p;
    size_t n, cap;
} abuf;

static int
abuf_grow(abuf *b, size_t more)
{
    if (b->n + more <= b->cap) {
        return 0;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + more) {
        cap *= 2;
    }
    char *p = PyMem_Realloc(b->p, cap);
    if (p == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

static inline int
abuf_put(abuf *b, const char *s, size_t n)
{
    if (b->n + n > b->cap && abuf_grow(b, n) < 0) {
        return -1;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    return 0;
}

#define ABUF_LIT(b, s) abuf_put((b), (s), sizeof(s) - 1)

/* The decimal text of x (what int.__repr__ writes), without printf. */
static int
abuf_int(abuf *b, long long x)
{
    char tmp[24];
    char *e = tmp + sizeof tmp, *o = e;
    unsigned long long u = x < 0 ? 0ULL - (unsigned long long)x : (unsigned long long)x;
    do {
        *--o = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (x < 0) {
        *--o = '-';
    }
    return abuf_put(b, o, (size_t)(e - o));
}

/* x as `width` digits with leading zeros (0 <= x < 10**width). */
static void
put_digits(char *o, long long x, int width)
{
    while (width--) {
        o[width] = (char)('0' + x % 10);
        x /= 10;
    }
}

/* A str as json's ASCII escaper writes it, quotes included. */
static int
abuf_json_str(abuf *b, PyObject *s)
{
    static const char digits[] = "0123456789abcdef";
    Py_ssize_t len = PyUnicode_GET_LENGTH(s);
    if (abuf_grow(b, 2 + 12 * (size_t)len) < 0) { /* at most \udXXX\udXXX per character */
        return -1;
    }
    char *o = b->p + b->n;
    *o++ = '"';
    int kind = PyUnicode_KIND(s);
    const void *data = PyUnicode_DATA(s);
    for (Py_ssize_t i = 0; i < len; i++) {
        Py_UCS4 c = kind == PyUnicode_1BYTE_KIND ? ((const Py_UCS1 *)data)[i] : PyUnicode_READ(kind, data, i);
        if (c >= ' ' && c <= '~' && c != '\\' && c != '"') {
            *o++ = (char)c;
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '\\': *o++ = '\\'; break;
        case '"': *o++ = '"'; break;
        case '\b': *o++ = 'b'; break;
        case '\f': *o++ = 'f'; break;
        case '\n': *o++ = 'n'; break;
        case '\r': *o++ = 'r'; break;
        case '\t': *o++ = 't'; break;
        default:
            if (c >= 0x10000) {
                Py_UCS4 v = c - 0x10000;
                Py_UCS4 hi = 0xd800 | ((v >> 10) & 0x3ff);
                c = 0xdc00 | (v & 0x3ff);
                *o++ = 'u';
                *o++ = digits[(hi >> 12) & 0xf];
                *o++ = digits[(hi >> 8) & 0xf];
                *o++ = digits[(hi >> 4) & 0xf];
                *o++ = digits[hi & 0xf];
                *o++ = '\\';
            }
            *o++ = 'u';
            *o++ = digits[(c >> 12) & 0xf];
            *o++ = digits[(c >> 8) & 0xf];
            *o++ = digits[(c >> 4) & 0xf];
            *o++ = digits[c & 0xf];
        }
    }
    *o++ = '"';
    b->n = (size_t)(o - b->p);
    return 0;
}

/* The text of an ASCII str (1), or 0 when it is not an exact ASCII str. */
static int
ascii_text(PyObject *s, const char **p, Py_ssize_t *n)
{
    if (!PyUnicode_CheckExact(s) || !PyUnicode_IS_ASCII(s)) {
        return 0;
    }
    *p = (const char *)PyUnicode_1BYTE_DATA(s);
    *n = PyUnicode_GET_LENGTH(s);
    return 1;
}

typedef struct {
    abuf full;   /* the arguments' canonical JSON */
    abuf masked; /* the masked copy's (mode 1) */
    int dual;
} awalk;

#define AUDIT_NOT_PLAIN 1
#define AUDIT_MAX_DEPTH 64

/* The same text to both outputs (the masked copy holds everything but strings as they are). */
static int
awalk_both(awalk *w, const char *s, size_t n)
{
    if (abuf_put(&w->full, s, n) < 0) {
        return -1;
    }
    return w->dual ? abuf_put(&w->masked, s, n) : 0;
}

/* A node's parts: 0, or AUDIT_NOT_PLAIN for a node that is not a compiled tree. */
static int
node_parts(PyObject *node, int *keep, PyObject **keys, PyObject **other, PyObject **index)
{
    if (node == Py_None) {
        *keep = 0;
        *keys = *other = *index = NULL;
        return 0;
    }
    if (!PyTuple_CheckExact(node) || PyTuple_GET_SIZE(node) != 4) {
        return AUDIT_NOT_PLAIN;
    }
    *keep = PyTuple_GET_ITEM(node, 0) == Py_True;
    *keys = PyTuple_GET_ITEM(node, 1);
    *other = PyTuple_GET_ITEM(node, 2);
    *index = PyTuple_GET_ITEM(node, 3);
    if (*keys == Py_None) {
        *keys = NULL;
    }
    else if (!PyDict_CheckExact(*keys)) {
        return AUDIT_NOT_PLAIN;
    }
    if (*index == Py_None) {
        *index = NULL;
    }
    else if (!PyDict_CheckExact(*index)) {
        return AUDIT_NOT_PLAIN;
    }
    return 0;
}

static int awalk_value(awalk *w, PyObject *v, PyObject *node, int depth);

typedef struct {
    PyObject *k, *v;
} akv;

static int
akv_cmp(const void *x, const void *y)
{
    return PyUnicode_Compare(((const akv *)x)->k, ((const akv *)y)->k);
}

static int
awalk_dict(awalk *w, PyObject *d, PyObject *keys, PyObject *other, int depth)
{
    Py_ssize_t n = PyDict_GET_SIZE(d);
    if (n == 0) {
        return awalk_both(w, "{}", 2);
    }
    akv small[16];
    akv *items = n <= 16 ? small : PyMem_Malloc(sizeof(akv) * (size_t)n);
    if (items == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t pos = 0, m = 0;
    PyObject *k, *v;
    int r = 0;
    while (m < n && PyDict_Next(d, &pos, &k, &v)) {
        if (!PyUnicode_CheckExact(k)) {
            r = AUDIT_NOT_PLAIN;
            break;
        }
        Py_INCREF(k);
        Py_INCREF(v);
        items[m].k = k;
        items[m++].v = v;
    }
    if (r == 0 && m != n) {
        r = AUDIT_NOT_PLAIN; /* changed size under the walk */
    }
    if (r == 0) {
        /* by code point, as sorted() orders str keys (exact str: no Python code runs) */
        if (m <= 16) {
            for (Py_ssize_t i = 1; i < m; i++) {
                akv x = items[i];
                Py_ssize_t j = i;
                while (j > 0 && PyUnicode_Compare(items[j - 1].k, x.k) > 0) {
                    items[j] = items[j - 1];
                    j--;
                }
                items[j] = x;
            }
        }
        else {
            qsort(items, (size_t)m, sizeof(akv), akv_cmp);
        }
    }
    for (Py_ssize_t i = 0; i < m && r == 0; i++) {
        if ((r = awalk_both(w, i ? "," : "{", 1)) < 0 || (r = abuf_json_str(&w->full, items[i].k)) < 0
            || (w->dual && (r = abuf_json_str(&w->masked, items[i].k)) < 0) || (r = awalk_both(w, ":", 1)) < 0) {
            break;
        }
        PyObject *sub = Py_None;
        if (keys != NULL) {
            sub = PyDict_GetItemWithError(keys, items[i].k);
            if (sub == NULL) {
                if (PyErr_Occurred()) {
                    r = -1;
                    break;
                }
                sub = other != NULL ? other : Py_None;
            }
        }
        else if (other != NULL) {
            sub = other;
        }
        r = awalk_value(w, items[i].v, sub, depth + 1);
    }
    if (r == 0) {
        r = awalk_both(w, "}", 1);
    }
    for (Py_ssize_t i = 0; i < m; i++) {
        Py_DECREF(items[i].k);
        Py_DECREF(items[i].v);
    }
    if (items != small) {
        PyMem_Free(items);
    }
    return r;
}

static int
awalk_seq(awalk *w, PyObject *s, int is_list, PyObject *keys, PyObject *other, PyObject *index, int depth)
{
    if ((is_list ? PyList_GET_SIZE(s) : PyTuple_GET_SIZE(s)) == 0) {
        return awalk_both(w, "[]", 2);
    }
    int r = awalk_both(w, "[", 1);
    for (Py_ssize_t i = 0; r == 0 && i < (is_list ? PyList_GET_SIZE(s) : PyTuple_GET_SIZE(s)); i++) {
        PyObject *item = is_list ? PyList_GET_ITEM(s, i) : PyTuple_GET_ITEM(s, i);
        PyObject *sub = Py_None;
        if (is_list) {
            /* keys.get(str(i), other): the index dict holds the keys that are str(i) */
            sub = other != NULL ? other : Py_None;
            if (keys != NULL && index != NULL) {
                PyObject *ix = PyLong_FromSsize_t(i);
                if (ix == NULL) {
                    return -1;
                }
                PyObject *hit = PyDict_GetItemWithError(index, ix);
                Py_DECREF(ix);
                if (hit != NULL) {
                    sub = hit;
                }
                else if (PyErr_Occurred()) {
                    return -1;
                }
            }
        }
        Py_INCREF(item);
        if (i) {
            r = awalk_both(w, ",", 1);
        }
        if (r == 0) {
            r = awalk_value(w, item, sub, depth + 1);
        }
        Py_DECREF(item);
    }
    return r ? r : awalk_both(w, "]", 1);
}

static int
awalk_value(awalk *w, PyObject *v, PyObject *node, int depth)
{
    PyTypeObject *t = Py_TYPE(v);
    if (t == &PyUnicode_Type) {
        if (abuf_json_str(&w->full, v) < 0) {
            return -1;
        }
        if (!w->dual) {
            return 0;
        }
        int keep = node != Py_None && PyTuple_CheckExact(node) && PyTuple_GET_SIZE(node) == 4
                   && PyTuple_GET_ITEM(node, 0) == Py_True;
        if (keep) {
            return abuf_json_str(&w->masked, v);
        }
        if (ABUF_LIT(&w->masked, "\"<") < 0 || abuf_int(&w->masked, (long long)PyUnicode_GET_LENGTH(v)) < 0) {
            return -1;
        }
        return ABUF_LIT(&w->masked, " chars>\"");
    }
    if (v == Py_None) {
        return awalk_both(w, "null", 4);
    }
    if (v == Py_True) {
        return awalk_both(w, "true", 4);
    }
    if (v == Py_False) {
        return awalk_both(w, "false", 5);
    }
    if (t == &PyLong_Type) {
        int overflow = 0;
        long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (x == -1 && PyErr_Occurred()) {
            return -1;
        }
        if (!overflow) {
            size_t at = w->full.n;
            if (abuf_int(&w->full, x) < 0) {
                return -1;
            }
            return w->dual ? abuf_put(&w->masked, w->full.p + at, w->full.n - at) : 0;
        }
        PyObject *s = PyLong_Type.tp_repr(v); /* int.__repr__, as json writes it */
        if (s == NULL) {
            return -1;
        }
        const char *p;
        Py_ssize_t n;
        int r = ascii_text(s, &p, &n) ? awalk_both(w, p, (size_t)n) : AUDIT_NOT_PLAIN;
        Py_DECREF(s);
        return r;
    }
    if (t == &PyFloat_Type) {
        double x = PyFloat_AS_DOUBLE(v);
        if (!isfinite(x)) {
            return AUDIT_NOT_PLAIN;
        }
        char *s = PyOS_double_to_string(x, 'r', 0, Py_DTSF_ADD_DOT_0, NULL); /* float.__repr__ */
        if (s == NULL) {
            return -1;
        }
        int r = awalk_both(w, s, strlen(s));
        PyMem_Free(s);
        return r;
    }
    if (depth > AUDIT_MAX_DEPTH) {
        return AUDIT_NOT_PLAIN;
    }
    int keep;
    PyObject *keys, *other, *index;
    if (node_parts(node, &keep, &keys, &other, &index)) {
        return AUDIT_NOT_PLAIN;
    }
    if (other == Py_None) {
        other = NULL;
    }
    if (t == &PyDict_Type) {
        return awalk_dict(w, v, keys, other, depth);
    }
    if (t == &PyList_Type) {
        return awalk_seq(w, v, 1, keys, other, index, depth);
    }
    if (t == &PyTuple_Type) { /* pointers do not walk into tuples: nothing below one is kept */
        return awalk_seq(w, v, 0, NULL, NULL, NULL, depth);
    }
    return AUDIT_NOT_PLAIN;
}

/* float.__repr__(round(x, 3)) for 0 <= x < 1e12 (audit._milli): %.3f, trailing zeros cut. */
static int
abuf_milli(abuf *b, double x)
{
    char *s = PyOS_double_to_string(x, 'f', 3, 0, NULL);
    if (s == NULL) {
        return -1;
    }
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '0') {
        n--;
    }
    int r = abuf_put(b, s, n);
    if (r == 0 && n > 0 && s[n - 1] == '.') {
        r = abuf_put(b, "0", 1);
    }
    PyMem_Free(s);
    return r;
}

/* audit._timestamp(t) for 0 <= t < 253402300800 (years 1970 to 9999): the UTC civil date
 * of floor(t) and int((t - floor(t)) * 1e6) microseconds, at most 999999. */
static int
abuf_stamp(abuf *b, double t)
{
    double fl = floor(t);
    long long sec = (long long)fl;
    long us = (long)((t - (double)sec) * 1000000.0);
    if (us > 999999) {
        us = 999999;
    }
    long long days = sec / 86400, rem = sec % 86400;
    /* days since 1970-01-01 to year, month, day (proleptic Gregorian) */
    long long z = days + 719468;
    long long era = z / 146097;
    long long doe = z - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long y = yoe + era * 400;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153;
    long long day = doy - (153 * mp + 2) / 5 + 1;
    long long month = mp < 10 ? mp + 3 : mp - 9;
    if (month <= 2) {
        y++;
    }
    char tmp[27] = "0000-00-00T00:00:00.000000Z";
    put_digits(tmp, y, 4);
    put_digits(tmp + 5, month, 2);
    put_digits(tmp + 8, day, 2);
    put_digits(tmp + 11, rem / 3600, 2);
    put_digits(tmp + 14, rem / 60 % 60, 2);
    put_digits(tmp + 17, rem % 60, 2);
    put_digits(tmp + 20, us, 6);
    return abuf_put(b, tmp, sizeof tmp);
}

/* stamp_text(t) -> str: what audit_line writes for a float time (tests compare it with audit._timestamp). */
static PyObject *
py_stamp_text(PyObject *self, PyObject *arg)
{
    double t = PyFloat_AsDouble(arg);
    if (t == -1.0 && PyErr_Occurred()) {
        return NULL;
    }
    if (!(t >= 0.0 && t < 253402300800.0)) {
        PyErr_SetString(PyExc_ValueError, "the time is out of range");
        return NULL;
    }
    abuf b = {0};
    PyObject *r = NULL;
    if (abuf_stamp(&b, t) == 0) {
        r = PyUnicode_FromStringAndSize(b.p, (Py_ssize_t)b.n);
    }
    PyMem_Free(b.p);
    return r;
}

/* Write all of data to fd, the GIL released; -1 with OSError set. */
static int
audit_write(int fd, const char *p, size_t n)
{
    while (n > 0) {
        Py_ssize_t k;
        Py_BEGIN_ALLOW_THREADS
        k = (Py_ssize_t)AUDIT_WRITE(fd, p, n);
        Py_END_ALLOW_THREADS
        if (k < 0) {
            if (errno == EINTR) {
                if (PyErr_CheckSignals() < 0) {
                    return -1;
                }
                continue;
            }
            PyErr_SetFromErrno(PyExc_OSError);
            return -1;
        }
        if (k == 0) {
            errno = EIO;
            PyErr_SetFromErrno(PyExc_OSError);
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static PyObject *
py_audit_line(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 18) {
        PyErr_SetString(PyExc_TypeError, "audit_line takes 18 arguments");
        return NULL;
    }
    PyObject *sha = args[17];
    PyObject *key = args[1], *value = args[2], *node = args[3], *call_id = args[5], *decision_id = args[6];
    PyObject *timing = args[13], *stamp = args[16];
    int fd = PyLong_CheckExact(args[0]) ? (int)PyLong_AsLong(args[0]) : -1;
    long mode = PyLong_CheckExact(args[4]) ? PyLong_AsLong(args[4]) : -1;
    long long seq = PyLong_CheckExact(args[14]) ? PyLong_AsLongLong(args[14]) : -1;
    if (PyErr_Occurred()) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    const char *txt[7];
    Py_ssize_t len[7];
    PyObject *const fixed[7] = {args[7], args[8], args[9], args[10], args[11], args[12], args[15]};
    for (int i = 0; i < 7; i++) {
        if (!ascii_text(fixed[i], &txt[i], &len[i])) {
            Py_RETURN_NONE;
        }
    }
    enum { CODES, FOUND, A, B, C, D, PREV };
    const char *key_p = NULL;
    Py_ssize_t key_n = 0;
    if (key != Py_None) {
        if (!PyBytes_CheckExact(key)) {
            Py_RETURN_NONE;
        }
        key_p = PyBytes_AS_STRING(key);
        key_n = PyBytes_GET_SIZE(key);
    }
    double t = 0.0, acc = 0.0, dec = 0.0;
    int stamp_float = PyFloat_CheckExact(stamp), timing_pair = PyTuple_CheckExact(timing);
    if (stamp_float) {
        t = PyFloat_AS_DOUBLE(stamp);
        if (!(t >= 0.0 && t < 253402300800.0)) {
            Py_RETURN_NONE;
        }
    }
    else if (!PyUnicode_CheckExact(stamp) || !PyUnicode_IS_ASCII(stamp)) {
        Py_RETURN_NONE;
    }
    if (timing_pair) {
        if (PyTuple_GET_SIZE(timing) != 2 || !PyFloat_CheckExact(PyTuple_GET_ITEM(timing, 0))
            || !PyFloat_CheckExact(PyTuple_GET_ITEM(timing, 1))) {
            Py_RETURN_NONE;
        }
        acc = PyFloat_AS_DOUBLE(PyTuple_GET_ITEM(timing, 0));
        dec = PyFloat_AS_DOUBLE(PyTuple_GET_ITEM(timing, 1));
        if (!(acc >= 0.0 && acc < 1e12 && dec >= 0.0 && dec < 1e12)) {
            Py_RETURN_NONE;
        }
    }
    else if (!PyUnicode_CheckExact(timing) || !PyUnicode_IS_ASCII(timing)) {
        Py_RETURN_NONE;
    }
    if (fd < 0 || mode < 0 || mode > 2 || seq < 0 || !PyUnicode_CheckExact(call_id) || !PyUnicode_CheckExact(decision_id)
        || len[D] < 1 || txt[D][len[D] - 1] != '}') {
        Py_RETURN_NONE;
    }
    awalk w = {{0}, {0}, mode == 1};
    abuf rec = {0};
    PyObject *result = NULL;
    int r = awalk_value(&w, value, mode == 1 ? node : Py_None, 0);
    if (r != 0) {
        goto done;
    }
    char hex[64];
    if (audit_digest(sha, NULL, 0, (const uint8_t *)w.full.p, w.full.n, hex) < 0) {
        r = -1;
        goto done;
    }
    if (abuf_grow(&rec, 512 + w.full.n + w.masked.n + (size_t)(len[A] + len[B] + len[C] + len[D] + len[CODES] + len[FOUND]))
        < 0) {
        r = -1;
        goto done;
    }
    if ((r = ABUF_LIT(&rec, "{\"args_sha256\":\"")) || (r = abuf_put(&rec, hex, 64)) || (r = ABUF_LIT(&rec, "\",\"call_id\":"))
        || (r = abuf_json_str(&rec, call_id)) || (r = ABUF_LIT(&rec, ",\"codes\":"))
        || (r = abuf_put(&rec, txt[CODES], (size_t)len[CODES])) || (r = ABUF_LIT(&rec, ",\"decision_id\":"))
        || (r = abuf_json_str(&rec, decision_id)) || (r = ABUF_LIT(&rec, ",\"findings\":"))
        || (r = abuf_put(&rec, txt[FOUND], (size_t)len[FOUND]))) {
        goto done;
    }
    if (mode != 0) {
        abuf *in = mode == 1 ? &w.masked : &w.full;
        if ((r = ABUF_LIT(&rec, ",\"input\":")) || (r = abuf_put(&rec, in->p, in->n))) {
            goto done;
        }
    }
    if ((r = abuf_put(&rec, txt[A], (size_t)len[A])) || (r = abuf_put(&rec, txt[PREV], (size_t)len[PREV]))
        || (r = abuf_put(&rec, txt[B], (size_t)len[B])) || (r = abuf_int(&rec, seq))
        || (r = abuf_put(&rec, txt[C], (size_t)len[C]))) {
        goto done;
    }
    if (stamp_float) {
        r = abuf_stamp(&rec, t);
    }
    else {
        r = abuf_put(&rec, (const char *)PyUnicode_1BYTE_DATA(stamp), (size_t)PyUnicode_GET_LENGTH(stamp));
    }
    if (r || (r = ABUF_LIT(&rec, "\""))) {
        goto done;
    }
    if (timing_pair) {
        if ((r = ABUF_LIT(&rec, ",\"timing\":{\"account_us\":")) || (r = abuf_milli(&rec, acc))
            || (r = ABUF_LIT(&rec, ",\"decide_us\":")) || (r = abuf_milli(&rec, dec)) || (r = ABUF_LIT(&rec, "}"))) {
            goto done;
        }
    }
    else if (PyUnicode_GET_LENGTH(timing) > 0) {
        if ((r = ABUF_LIT(&rec, ",\"timing\":"))
            || (r = abuf_put(&rec, (const char *)PyUnicode_1BYTE_DATA(timing), (size_t)PyUnicode_GET_LENGTH(timing)))) {
            goto done;
        }
    }
    if ((r = abuf_put(&rec, txt[D], (size_t)len[D]))) {
        goto done;
    }
    if (audit_digest(sha, (const uint8_t *)key_p, (size_t)key_n, (const uint8_t *)rec.p, rec.n, hex) < 0) {
        r = -1;
        goto done;
    }
    rec.n--; /* the closing brace: the hash goes before it */
    if ((r = ABUF_LIT(&rec, ",\"hash\":\"")) || (r = abuf_put(&rec, hex, 64)) || (r = ABUF_LIT(&rec, "\"}\n"))) {
        goto done;
    }
    /* the answer is made before the write: once the line is out, nothing can fail */
    PyObject *h = PyUnicode_FromStringAndSize(hex, 64);
    if (h == NULL || (result = Py_BuildValue("(Nn)", h, (Py_ssize_t)rec.n)) == NULL) {
        r = -1;
        goto done;
    }
    if (audit_write(fd, rec.p, rec.n) < 0) {
        Py_CLEAR(result); /* OSError (or a signal handler's exception) raised */
    }
done:
    PyMem_Free(w.full.p);
    PyMem_Free(w.masked.p);
    PyMem_Free(rec.p);
    if (result == NULL && r != 0) {
        /* not plain data, or an error before anything was written: the Python path */
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    return result;
}

/* The folded codes of a spaced fold: sp[0:n] without its spaces, written to fo (which has room
 * for n + 16 bytes), 16 bytes of sp at a time. For each block b of 16 bytes of sp, blk[b] is
 * the number of folded codes before it and keep[b] the bit mask of its non-spaces: what
 * fold_sp_index() reads to map a folded index back to sp. Returns the number of folded codes.
 * On x86-64 with SSSE3 (and POPCNT), each half block is packed by one byte shuffle (PACK8[mask]: the
 * indices of the set bits of mask, then 0x80, which clears a byte); else byte by byte.
 * fold_sp_index() reads PACK8 too: byte r of PACK8[mask] is the index of mask's r-th set bit
 * (its low four bits). */
static const uint64_t PACK8[256] = {
    0x8080808080808080ULL, 0x8080808080808000ULL, 0x8080808080808001ULL, 0x8080808080800100ULL,
    0x8080808080808002ULL, 0x8080808080800200ULL, 0x8080808080800201ULL, 0x8080808080020100ULL,
    0x8080808080808003ULL, 0x8080808080800300ULL, 0x8080808080800301ULL, 0x8080808080030100ULL,
    0x8080808080800302ULL, 0x8080808080030200ULL, 0x8080808080030201ULL, 0x8080808003020100ULL,
    0x8080808080808004ULL, 0x8080808080800400ULL, 0x8080808080800401ULL, 0x8080808080040100ULL,
    0x8080808080800402ULL, 0x8080808080040200ULL, 0x8080808080040201ULL, 0x8080808004020100ULL,
    0x8080808080800403ULL, 0x8080808080040300ULL, 0x8080808080040301ULL, 0x8080808004030100ULL,
    0x8080808080040302ULL, 0x8080808004030200ULL, 0x8080808004030201ULL, 0x8080800403020100ULL,
    0x8080808080808005ULL, 0x8080808080800500ULL, 0x8080808080800501ULL, 0x8080808080050100ULL,
    0x8080808080800502ULL, 0x8080808080050200ULL, 0x8080808080050201ULL, 0x8080808005020100ULL,
    0x8080808080800503ULL, 0x8080808080050300ULL, 0x8080808080050301ULL, 0x8080808005030100ULL,
    0x8080808080050302ULL, 0x8080808005030200ULL, 0x8080808005030201ULL, 0x8080800503020100ULL,
    0x8080808080800504ULL, 0x8080808080050400ULL, 0x8080808080050401ULL, 0x8080808005040100ULL,
    0x8080808080050402ULL, 0x8080808005040200ULL, 0x8080808005040201ULL, 0x8080800504020100ULL,
    0x8080808080050403ULL, 0x8080808005040300ULL, 0x8080808005040301ULL, 0x8080800504030100ULL,
    0x8080808005040302ULL, 0x8080800504030200ULL, 0x8080800504030201ULL, 0x8080050403020100ULL,
    0x8080808080808006ULL, 0x8080808080800600ULL, 0x8080808080800601ULL, 0x8080808080060100ULL,
    0x8080808080800602ULL, 0x8080808080060200ULL, 0x8080808080060201ULL, 0x8080808006020100ULL,
    0x8080808080800603ULL, 0x8080808080060300ULL, 0x8080808080060301ULL, 0x8080808006030100ULL,
    0x8080808080060302ULL, 0x8080808006030200ULL, 0x8080808006030201ULL, 0x8080800603020100ULL,
    0x8080808080800604ULL, 0x8080808080060400ULL, 0x8080808080060401ULL, 0x8080808006040100ULL,
    0x8080808080060402ULL, 0x8080808006040200ULL, 0x8080808006040201ULL, 0x8080800604020100ULL,
    0x8080808080060403ULL, 0x8080808006040300ULL, 0x8080808006040301ULL, 0x8080800604030100ULL,
    0x8080808006040302ULL, 0x8080800604030200ULL, 0x8080800604030201ULL, 0x8080060403020100ULL,
    0x8080808080800605ULL, 0x8080808080060500ULL, 0x8080808080060501ULL, 0x8080808006050100ULL,
    0x8080808080060502ULL, 0x8080808006050200ULL, 0x8080808006050201ULL, 0x8080800605020100ULL,
    0x8080808080060503ULL, 0x8080808006050300ULL, 0x8080808006050301ULL, 0x8080800605030100ULL,
    0x8080808006050302ULL, 0x8080800605030200ULL, 0x8080800605030201ULL, 0x8080060503020100ULL,
    0x8080808080060504ULL, 0x8080808006050400ULL, 0x8080808006050401ULL, 0x8080800605040100ULL,
    0x8080808006050402ULL, 0x8080800605040200ULL, 0x8080800605040201ULL, 0x8080060504020100ULL,
    0x8080808006050403ULL, 0x8080800605040300ULL, 0x8080800605040301ULL, 0x8080060504030100ULL,
    0x8080800605040302ULL, 0x8080060504030200ULL, 0x8080060504030201ULL, 0x8006050403020100ULL,
    0x8080808080808007ULL, 0x8080808080800700ULL, 0x8080808080800701ULL, 0x8080808080070100ULL,
    0x8080808080800702ULL, 0x8080808080070200ULL, 0x8080808080070201ULL, 0x8080808007020100ULL,
    0x8080808080800703ULL, 0x8080808080070300ULL, 0x8080808080070301ULL, 0x8080808007030100ULL,
    0x8080808080070302ULL, 0x8080808007030200ULL, 0x8080808007030201ULL, 0x8080800703020100ULL,
    0x8080808080800704ULL, 0x8080808080070400ULL, 0x8080808080070401ULL, 0x8080808007040100ULL,
    0x8080808080070402ULL, 0x8080808007040200ULL, 0x8080808007040201ULL, 0x8080800704020100ULL,
    0x8080808080070403ULL, 0x8080808007040300ULL, 0x8080808007040301ULL, 0x8080800704030100ULL,
    0x8080808007040302ULL, 0x8080800704030200ULL, 0x8080800704030201ULL, 0x8080070403020100ULL,
    0x8080808080800705ULL, 0x8080808080070500ULL, 0x8080808080070501ULL, 0x8080808007050100ULL,
    0x8080808080070502ULL, 0x8080808007050200ULL, 0x8080808007050201ULL, 0x8080800705020100ULL,
    0x8080808080070503ULL, 0x8080808007050300ULL, 0x8080808007050301ULL, 0x8080800705030100ULL,
    0x8080808007050302ULL, 0x8080800705030200ULL, 0x8080800705030201ULL, 0x8080070503020100ULL,
    0x8080808080070504ULL, 0x8080808007050400ULL, 0x8080808007050401ULL, 0x8080800705040100ULL,
    0x8080808007050402ULL, 0x8080800705040200ULL, 0x8080800705040201ULL, 0x8080070504020100ULL,
    0x8080808007050403ULL, 0x8080800705040300ULL, 0x8080800705040301ULL, 0x8080070504030100ULL,
    0x8080800705040302ULL, 0x8080070504030200ULL, 0x8080070504030201ULL, 0x8007050403020100ULL,
    0x8080808080800706ULL, 0x8080808080070600ULL, 0x8080808080070601ULL, 0x8080808007060100ULL,
    0x8080808080070602ULL, 0x8080808007060200ULL, 0x8080808007060201ULL, 0x8080800706020100ULL,
    0x8080808080070603ULL, 0x8080808007060300ULL, 0x8080808007060301ULL, 0x8080800706030100ULL,
    0x8080808007060302ULL, 0x8080800706030200ULL, 0x8080800706030201ULL, 0x8080070603020100ULL,
    0x8080808080070604ULL, 0x8080808007060400ULL, 0x8080808007060401ULL, 0x8080800706040100ULL,
    0x8080808007060402ULL, 0x8080800706040200ULL, 0x8080800706040201ULL, 0x8080070604020100ULL,
    0x8080808007060403ULL, 0x8080800706040300ULL, 0x8080800706040301ULL, 0x8080070604030100ULL,
    0x8080800706040302ULL, 0x8080070604030200ULL, 0x8080070604030201ULL, 0x8007060403020100ULL,
    0x8080808080070605ULL, 0x8080808007060500ULL, 0x8080808007060501ULL, 0x8080800706050100ULL,
    0x8080808007060502ULL, 0x8080800706050200ULL, 0x8080800706050201ULL, 0x8080070605020100ULL,
    0x8080808007060503ULL, 0x8080800706050300ULL, 0x8080800706050301ULL, 0x8080070605030100ULL,
    0x8080800706050302ULL, 0x8080070605030200ULL, 0x8080070605030201ULL, 0x8007060503020100ULL,
    0x8080808007060504ULL, 0x8080800706050400ULL, 0x8080800706050401ULL, 0x8080070605040100ULL,
    0x8080800706050402ULL, 0x8080070605040200ULL, 0x8080070605040201ULL, 0x8007060504020100ULL,
    0x8080800706050403ULL, 0x8080070605040300ULL, 0x8080070605040301ULL, 0x8007060504030100ULL,
    0x8080070605040302ULL, 0x8007060504030200ULL, 0x8007060504030201ULL, 0x0706050403020100ULL,
};

/* The number of set bits of a byte. */
static const uint8_t POPCOUNT8[256] = {
    0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 1, 2, 2, 3, 2, 3, 3, 4, 2, 3, 3, 4, 3, 4, 4,
    5, 1, 2, 2, 3, 2, 3, 3, 4, 2, 3, 3, 4, 3, 4, 4, 5, 2, 3, 3, 4, 3, 4, 4, 5, 3, 4, 4, 5, 4, 5,
    5, 6, 1, 2, 2, 3, 2, 3, 3, 4, 2, 3, 3, 4, 3, 4, 4, 5, 2, 3, 3, 4, 3, 4, 4, 5, 3, 4, 4, 5, 4,
    5, 5, 6, 2, 3, 3, 4, 3, 4, 4, 5, 3, 4, 4, 5, 4, 5, 5, 6, 3, 4, 4, 5, 4, 5, 5, 6, 4, 5, 5, 6,
    5, 6, 6, 7, 1, 2, 2, 3, 2, 3, 3, 4, 2, 3, 3, 4, 3, 4, 4, 5, 2, 3, 3, 4, 3, 4, 4, 5, 3, 4, 4,
    5, 4, 5, 5, 6, 2, 3, 3, 4, 3, 4, 4, 5, 3, 4, 4, 5, 4, 5, 5, 6, 3, 4, 4, 5, 4, 5, 5, 6, 4, 5,
    5, 6, 5, 6, 6, 7, 2, 3, 3, 4, 3, 4, 4, 5, 3, 4, 4, 5, 4, 5, 5, 6, 3, 4, 4, 5, 4, 5, 5, 6, 4,
    5, 5, 6, 5, 6, 6, 7, 3, 4, 4, 5, 4, 5, 5, 6, 4, 5, 5, 6, 5, 6, 6, 7, 4, 5, 5, 6, 5, 6, 6, 7,
    5, 6, 6, 7, 6, 7, 7, 8,
};

static Py_ssize_t
fold_pack_bytes(const uint8_t *sp, Py_ssize_t n, uint8_t *fo, uint32_t *blk, uint16_t *keep)
{
    Py_ssize_t m = 0;
    for (Py_ssize_t b = 0; 16 * b < n; b++) {
        Py_ssize_t a = 16 * b, e = a + 16 < n ? a + 16 : n;
        unsigned mask = 0;
        blk[b] = (uint32_t)m;
        for (Py_ssize_t i = a; i < e; i++) {
            fo[m] = sp[i];
            mask |= (unsigned)(sp[i] != ' ') << (i - a);
            m += sp[i] != ' ';
        }
        keep[b] = (uint16_t)mask;
    }
    return m;
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <tmmintrin.h>
__attribute__((target("ssse3,popcnt"))) static Py_ssize_t
fold_pack_ssse3(const uint8_t *sp, Py_ssize_t n, uint8_t *fo, uint32_t *blk, uint16_t *keep)
{
    Py_ssize_t m = 0, b = 0;
    const __m128i space = _mm_set1_epi8(' ');
    for (; 16 * b + 16 <= n; b++) {
        __m128i v = _mm_loadu_si128((const __m128i *)(sp + 16 * b));
        unsigned mask = ~(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, space)) & 0xFFFF;
        unsigned lo = mask & 0xFF, hi = mask >> 8;
        blk[b] = (uint32_t)m;
        keep[b] = (uint16_t)mask;
        __m128i plo = _mm_shuffle_epi8(v, _mm_cvtsi64_si128((long long)PACK8[lo]));
        __m128i phi = _mm_shuffle_epi8(_mm_srli_si128(v, 8), _mm_cvtsi64_si128((long long)PACK8[hi]));
        _mm_storel_epi64((__m128i *)(fo + m), plo);
        m += __builtin_popcount(lo);
        _mm_storel_epi64((__m128i *)(fo + m), phi);
        m += __builtin_popcount(hi);
    }
    if (16 * b < n) { /* the last, partial block */
        Py_ssize_t m0 = m;
        m += fold_pack_bytes(sp + 16 * b, n - 16 * b, fo + m, blk + b, keep + b);
        blk[b] += (uint32_t)m0;
    }
    return m;
}
#endif

static Py_ssize_t
fold_pack(const uint8_t *sp, Py_ssize_t n, uint8_t *fo, uint32_t *blk, uint16_t *keep)
{
#if defined(__GNUC__) && defined(__x86_64__)
    if (__builtin_cpu_supports("ssse3") && __builtin_cpu_supports("popcnt")) {
        return fold_pack_ssse3(sp, n, fo, blk, keep);
    }
#endif
    return fold_pack_bytes(sp, n, fo, blk, keep);
}

/* The sp index of folded code p (0 <= p < the count fold_pack returned), from the nb blocks
 * fold_pack described. *at is the block to start from, updated: queries mostly come in
 * increasing order, each resuming where the last stopped (a smaller one starts over). */
static inline Py_ssize_t
fold_sp_index(const uint32_t *blk, const uint16_t *keep, Py_ssize_t nb, Py_ssize_t *at, Py_ssize_t p)
{
    Py_ssize_t b = *at;
    if (b >= nb || (Py_ssize_t)blk[b] > p) {
        b = 0;
    }
    while (b + 1 < nb && (Py_ssize_t)blk[b + 1] <= p) {
        b++;
    }
    *at = b;
    /* the r-th non-space of the block (r counted from 0): in its low or its high half */
    unsigned mask = keep[b], lo = mask & 0xFF;
    Py_ssize_t r = p - (Py_ssize_t)blk[b];
    int c = POPCOUNT8[lo];
    if (r < c) {
        return 16 * b + (Py_ssize_t)((PACK8[lo] >> (8 * r)) & 0x0F);
    }
    r -= c;
    return 16 * b + 8 + (Py_ssize_t)((PACK8[mask >> 8] >> (8 * (r & 7))) & 0x0F);
}

/* ingest_fold(text, table, cache, image, prefix, prefix_pos, base, k, w)
 *   -> None or (sp, index, hashes, positions, numbers, tail_codes, tail_positions)
 *
 * A slice of text's fold and its fingerprints in one call: latin_spaced(text, table, cache,
 * image) (None when that is None: the caller's general path), then what latin_fp(sp, prefix,
 * k, w) computes from it, with every position mapped to the text (TaintLedger._ingest_taint
 * did that with numpy, through the fold's index map):
 *
 *   sp, index  latin_spaced's answer (index: bytes of intp, or None);
 *   hashes     the winnowed k-gram hashes of prefix + sp without its spaces, mixed;
 *   positions  the text position (int64) of each one's first code: base + the text index of
 *              its byte of sp, or prefix_pos[i] for the i-th code of the prefix;
 *   numbers    the numbers of sp (numbers_into(), which reads sp's spaces for the group
 *              separators; the prefix left out), as (digits, text position);
 *   tail_*     the last (k - 1) + (w - 1) folded codes (bytes) and their text positions
 *              (int64): the next slice's prefix and prefix_pos. */
static PyObject *
py_ingest_fold(PyObject *self, PyObject *args)
{
    PyObject *text, *cache, *image;
    Py_buffer tv, pv, qv;
    Py_ssize_t base;
    int k, w;
    if (!PyArg_ParseTuple(args, "Uy*O!Oy*y*nii:ingest_fold", &text, &tv, &PyDict_Type, &cache, &image, &pv, &qv, &base, &k,
                          &w)) {
        return NULL;
    }
    PyObject *lat = NULL, *result = NULL, *hb = NULL, *pb = NULL, *nums = NULL, *found = NULL, *tc = NULL, *tp = NULL;
    uint8_t *f = NULL;
    uint32_t *blk = NULL;
    uint16_t *keep = NULL;
    if (tv.len != 256) {
        PyErr_SetString(PyExc_ValueError, "table must be 256 bytes");
        goto done;
    }
    if (qv.len != pv.len * 8) {
        PyErr_SetString(PyExc_ValueError, "prefix_pos must hold one int64 per prefix code");
        goto done;
    }
    if (check_kw(k, w) < 0) {
        goto done;
    }
    lat = latin_spaced(text, tv.buf, cache, image);
    if (!lat || lat == Py_None) {
        result = lat;
        lat = NULL;
        goto done;
    }
    PyObject *spo = PyTuple_GET_ITEM(lat, 0), *ibo = PyTuple_GET_ITEM(lat, 1);
    const uint8_t *s = (const uint8_t *)PyBytes_AS_STRING(spo);
    const Py_ssize_t *spi = ibo == Py_None ? NULL : (const Py_ssize_t *)PyBytes_AS_STRING(ibo);
    const int64_t *ppos = qv.buf;
    Py_ssize_t n = PyBytes_GET_SIZE(spo), np_ = pv.len;
    if ((uint64_t)n >= UINT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "slice too long");
        goto done;
    }
    Py_ssize_t nb = (n + 15) / 16, at_b = 0;
    f = PyMem_Malloc((size_t)(np_ + n) + 16);
    blk = PyMem_Malloc(sizeof(uint32_t) * ((size_t)nb + 1));
    keep = PyMem_Malloc(sizeof(uint16_t) * ((size_t)nb + 1));
    if (!f || !blk || !keep) {
        PyErr_NoMemory();
        goto done;
    }
    memcpy(f, pv.buf, (size_t)np_);
    /* the folded codes: sp without its spaces, after the prefix */
    uint8_t *fo = f + np_;
    Py_ssize_t nf = fold_pack(s, n, fo, blk, keep); /* folded codes of this slice */
    Py_ssize_t m = np_ + nf;                        /* all folded codes */
    /* the text position of folded code p */
#define SP_INDEX(p) fold_sp_index(blk, keep, nb, &at_b, (p) - np_)
#define TEXT_POS(p) ((p) < np_ ? ppos[(p)] : (int64_t)base + (int64_t)(spi ? spi[SP_INDEX(p)] : SP_INDEX(p)))
    if (winnowed_into(f, m, k, w, &hb, &pb) < 0) {
        goto done;
    }
    int64_t *po = (int64_t *)PyBytes_AS_STRING(pb);
    for (Py_ssize_t i = 0, nh = PyBytes_GET_SIZE(pb) / 8; i < nh; i++) {
        po[i] = TEXT_POS(po[i]);
    }
    /* numbers of this slice, read from sp (its spaces decide the group separators), at their
     * text positions */
    found = PyList_New(0);
    if (!found || numbers_into(s, n, found, NUM_AT_SPACED) < 0) {
        goto done;
    }
    Py_ssize_t nn = PyList_GET_SIZE(found);
    nums = PyList_New(nn);
    if (!nums) {
        goto done;
    }
    for (Py_ssize_t t = 0; t < nn; t++) {
        PyObject *item = PyList_GET_ITEM(found, t);
        Py_ssize_t at = PyLong_AsSsize_t(PyTuple_GET_ITEM(item, 1));
        if (at < 0 || at >= n) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_ValueError, "number out of the text");
            }
            goto done;
        }
        PyObject *pair = Py_BuildValue("(OL)", PyTuple_GET_ITEM(item, 0), (long long)base + (long long)(spi ? spi[at] : at));
        if (!pair) {
            goto done;
        }
        PyList_SET_ITEM(nums, t, pair);
    }
    Py_ssize_t tail = (Py_ssize_t)(k - 1) + (w - 1);
    Py_ssize_t t0 = m - tail > 0 ? m - tail : 0;
    tc = PyBytes_FromStringAndSize((const char *)f + t0, m - t0);
    tp = PyBytes_FromStringAndSize(NULL, (m - t0) * 8);
    if (!tc || !tp) {
        goto done;
    }
    int64_t *tpo = (int64_t *)PyBytes_AS_STRING(tp);
    for (Py_ssize_t p = t0; p < m; p++) {
        tpo[p - t0] = TEXT_POS(p);
    }
#undef TEXT_POS
#undef SP_INDEX
    result = PyTuple_Pack(7, spo, ibo, hb, pb, nums, tc, tp);
done:
    Py_XDECREF(lat);
    Py_XDECREF(hb);
    Py_XDECREF(pb);
    Py_XDECREF(nums);
    Py_XDECREF(found);
    Py_XDECREF(tc);
    Py_XDECREF(tp);
    PyMem_Free(f);
    PyMem_Free(blk);
    PyMem_Free(keep);
    PyBuffer_Release(&tv);
    PyBuffer_Release(&pv);
    PyBuffer_Release(&qv);
    return result;
}

/* key_run(fp_keys, fp_pos, token_keys, token_pos, offset) -> (keys, values)
 *
 * What TaintLedger._ingest_taint adds to the index for one text, as one sorted run: the
 * distinct fingerprints (fp_keys: uint64, fp_pos: int64; sort_unique's answer) and the
 * distinct token keys (str; each at the position of its first occurrence in token_keys, its
 * hash Python's hash() of the str, what taint._key_hashes gives), merged in the stable order
 * of the hashes, fingerprints first on equal hashes: the order the index's stable sort gives
 * the fingerprints followed by the tokens. values: position + offset, as uint32 (as
 * numpy's astype(np.uint32) casts). */
static PyObject *
py_key_run(PyObject *self, PyObject *args)
{
    PyObject *ko, *po, *tk, *tpos;
    Py_ssize_t offset;
    if (!PyArg_ParseTuple(args, "OOO!O!n:key_run", &ko, &po, &PyList_Type, &tk, &PyList_Type, &tpos, &offset)) {
        return NULL;
    }
    Py_buffer kv, pv;
    if (items_get(ko, &kv, 8, "keys") < 0) {
        return NULL;
    }
    if (items_get(po, &pv, 8, "positions") < 0) {
        PyBuffer_Release(&kv);
        return NULL;
    }
    PyObject *result = NULL, *seen = NULL, *kb = NULL, *vb = NULL;
    uint64_t *fk1 = NULL, *fk2 = NULL, *th = NULL, *tk1 = NULL, *tk2 = NULL;
    uint32_t *fi1 = NULL, *fi2 = NULL, *ti1 = NULL, *ti2 = NULL;
    int64_t *tq = NULL;
    Py_ssize_t n = kv.len / 8, nt = PyList_GET_SIZE(tk);
    if (pv.len / 8 != n) {
        PyErr_SetString(PyExc_ValueError, "keys and positions differ in length");
        goto done;
    }
    if (PyList_GET_SIZE(tpos) != nt) {
        PyErr_SetString(PyExc_ValueError, "token keys and positions differ in length");
        goto done;
    }
    size_t sf = (size_t)(n > 0 ? n : 1), st = (size_t)(nt > 0 ? nt : 1);
    fk1 = PyMem_Malloc(8 * sf);
    fk2 = PyMem_Malloc(8 * sf);
    fi1 = PyMem_Malloc(4 * sf);
    fi2 = PyMem_Malloc(4 * sf);
    th = PyMem_Malloc(8 * st);
    tq = PyMem_Malloc(8 * st);
    tk1 = PyMem_Malloc(8 * st);
    tk2 = PyMem_Malloc(8 * st);
    ti1 = PyMem_Malloc(4 * st);
    ti2 = PyMem_Malloc(4 * st);
    if (!fk1 || !fk2 || !fi1 || !fi2 || !th || !tq || !tk1 || !tk2 || !ti1 || !ti2) {
        PyErr_NoMemory();
        goto done;
    }
    /* the fingerprints: distinct, sorted, each at its first occurrence (sort_unique) */
    if (stable_order(kv.buf, n, fk1, fi1, fk2, fi2) < 0) {
        goto done;
    }
    Py_ssize_t nf = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (i == 0 || fk1[i] != fk1[i - 1]) {
            fk2[nf] = fk1[i];
            fi2[nf++] = fi1[i];
        }
    }
    /* the tokens: each distinct key once, at its first position, with its str hash */
    seen = PySet_New(NULL);
    if (!seen) {
        goto done;
    }
    Py_ssize_t nu = 0;
    for (Py_ssize_t i = 0; i < nt; i++) {
        PyObject *key = PyList_GET_ITEM(tk, i);
        if (!PyUnicode_CheckExact(key)) {
            PyErr_SetString(PyExc_TypeError, "token keys must be str");
            goto done;
        }
        Py_hash_t h = PyObject_Hash(key);
        if (h == -1 && PyErr_Occurred()) {
            goto done;
        }
        Py_ssize_t before = PySet_GET_SIZE(seen);
        if (PySet_Add(seen, key) < 0) {
            goto done;
        }
        if (PySet_GET_SIZE(seen) == before) {
            continue; /* a later occurrence */
        }
        long long at = PyLong_AsLongLong(PyList_GET_ITEM(tpos, i));
        if (at == -1 && PyErr_Occurred()) {
            goto done;
        }
        th[nu] = (uint64_t)h;
        tq[nu++] = (int64_t)at;
    }
    if (stable_order(th, nu, tk1, ti1, tk2, ti2) < 0) {
        goto done;
    }
    /* one run: the two merged, fingerprints first on equal keys */
    kb = PyBytes_FromStringAndSize(NULL, (nf + nu) * 8);
    vb = PyBytes_FromStringAndSize(NULL, (nf + nu) * 4);
    if (!kb || !vb) {
        goto done;
    }
    uint64_t *ko8 = (uint64_t *)PyBytes_AS_STRING(kb);
    uint32_t *vo4 = (uint32_t *)PyBytes_AS_STRING(vb);
    const int64_t *fpos = pv.buf;
    Py_ssize_t a = 0, b = 0, o = 0;
    while (a < nf || b < nu) {
        if (b >= nu || (a < nf && fk2[a] <= tk1[b])) {
            ko8[o] = fk2[a];
            vo4[o++] = (uint32_t)(fpos[fi2[a++]] + offset);
        }
        else {
            ko8[o] = tk1[b];
            vo4[o++] = (uint32_t)(tq[ti1[b++]] + offset);
        }
    }
    result = PyTuple_Pack(2, kb, vb);
done:
    Py_XDECREF(seen);
    Py_XDECREF(kb);
    Py_XDECREF(vb);
    PyMem_Free(fk1);
    PyMem_Free(fk2);
    PyMem_Free(fi1);
    PyMem_Free(fi2);
    PyMem_Free(th);
    PyMem_Free(tq);
    PyMem_Free(tk1);
    PyMem_Free(tk2);
    PyMem_Free(ti1);
    PyMem_Free(ti2);
    PyBuffer_Release(&kv);
    PyBuffer_Release(&pv);
    return result;
}

/* ---- accounting ----
 *
 * The accounting fast path of toolguard/accounting.py (Accounting._fast_decide and the
 * short output path of Accounting.after_execute), each function the Python loop it
 * replaces, computing exactly what that loop computes (tests/egress compare both on
 * generated inputs). Pure C over the objects handed in: no Python code runs, so nothing
 * changes under them (the caller holds the store's lock where the Python loop did).
 *
 *   egress_size(args, keys, dest_keys)   accounting._plan_bytes on a disjoint plan, or -1
 *   lease_spend(leases, usage, items, now, fill, buckets)
 *                                        LeasedCounterStore.spend's two loops
 *   store_spend(store, items, now, fill) the same under the store's lock, its clock's high mark too
 *   AuditChain                          an audit log's head and lock; record(): _native in C
 *   output_gates(gates)                 the built-in redactor's triggers, compiled for:
 *   plain_output(text, compiled, cap)   outputs.untouched's tests for that redactor
 */

/* UTF-8 size of a str, lone surrogates counted as 3 bytes (encode "surrogatepass"). */
static Py_ssize_t
acct_utf8_len(PyObject *s)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    if (PyUnicode_IS_ASCII(s)) {
        return n;
    }
    Py_ssize_t size = n;
    int kind = PyUnicode_KIND(s);
    const void *data = PyUnicode_DATA(s);
    if (kind == PyUnicode_1BYTE_KIND) {
        const unsigned char *p = (const unsigned char *)data;
        for (Py_ssize_t i = 0; i < n; i++) {
            size += p[i] >> 7;
        }
        return size;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        size += (c >= 0x80) + (c >= 0x800) + (c >= 0x10000);
    }
    return size;
}

/* Sum of the UTF-8 sizes of every str inside v (keys excluded: _pointer.walk_strings), or
 * -1 for anything but exact str, dict, list, int, float, bool and None, or nesting past 200. */
static Py_ssize_t
acct_strings_size(PyObject *v, int depth)
{
    if (PyUnicode_CheckExact(v)) {
        return acct_utf8_len(v);
    }
    if (depth > 200) {
        return -1;
    }
    Py_ssize_t total = 0, n;
    if (PyDict_CheckExact(v)) {
        Py_ssize_t pos = 0;
        PyObject *k, *item;
        while (PyDict_Next(v, &pos, &k, &item)) {
            if ((n = acct_strings_size(item, depth + 1)) < 0) {
                return -1;
            }
            total += n;
        }
        return total;
    }
    if (PyList_CheckExact(v)) {
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(v); i++) {
            if ((n = acct_strings_size(PyList_GET_ITEM(v, i), depth + 1)) < 0) {
                return -1;
            }
            total += n;
        }
        return total;
    }
    if (PyLong_CheckExact(v) || PyFloat_CheckExact(v) || PyBool_Check(v) || v == Py_None) {
        return 0;
    }
    return -1;
}

/* egress_size(args, keys, dest_keys) -> int: the bytes accounting._plan_bytes counts for a
 * plan with disjoint payload keys and plain destination keys. keys: tuple of str (the
 * payload's top-level keys); dest_keys: tuple of (key, each) with each a bool (the pointer
 * /key, or /key/ and a wildcard). -1 when args is not an exact dict or a payload value holds anything the walk
 * above does not take: the caller then counts in Python. */
static PyObject *
py_egress_size(PyObject *self, PyObject *args)
{
    PyObject *a, *keys, *dest_keys;
    if (!PyArg_ParseTuple(args, "OO!O!:egress_size", &a, &PyTuple_Type, &keys, &PyTuple_Type, &dest_keys)) {
        return NULL;
    }
    if (!PyDict_CheckExact(a)) {
        return PyLong_FromLong(-1);
    }
    Py_ssize_t total = 0, n;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(keys); i++) {
        PyObject *key = PyTuple_GET_ITEM(keys, i);
        if (!PyUnicode_CheckExact(key)) {
            PyErr_SetString(PyExc_TypeError, "egress_size: keys must be str");
            return NULL;
        }
        PyObject *value = PyDict_GetItemWithError(a, key);
        if (value == NULL) {
            if (PyErr_Occurred()) {
                return NULL;
            }
            continue;
        }
        if ((n = acct_strings_size(value, 0)) < 0) {
            return PyLong_FromLong(-1);
        }
        total += n;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(dest_keys); i++) {
        PyObject *pair = PyTuple_GET_ITEM(dest_keys, i);
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2 || !PyUnicode_CheckExact(PyTuple_GET_ITEM(pair, 0))) {
            PyErr_SetString(PyExc_TypeError, "egress_size: dest_keys must be (str, bool) pairs");
            return NULL;
        }
        PyObject *value = PyDict_GetItemWithError(a, PyTuple_GET_ITEM(pair, 0));
        if (value == NULL) {
            if (PyErr_Occurred()) {
                return NULL;
            }
            continue;
        }
        int each = PyObject_IsTrue(PyTuple_GET_ITEM(pair, 1));
        if (each < 0) {
            return NULL;
        }
        if (!each) {
            if (PyUnicode_CheckExact(value)) {
                total += acct_utf8_len(value);
            }
            else if (PyUnicode_Check(value)) {
                return PyLong_FromLong(-1);  /* a str subclass: Python measures it */
            }
            continue;
        }
        /* a wildcard below the key: every str item of a list, every str value of a dict */
        if (PyList_CheckExact(value)) {
            for (Py_ssize_t j = 0; j < PyList_GET_SIZE(value); j++) {
                PyObject *item = PyList_GET_ITEM(value, j);
                if (PyUnicode_CheckExact(item)) {
                    total += acct_utf8_len(item);
                }
                else if (PyUnicode_Check(item)) {
                    return PyLong_FromLong(-1);
                }
            }
        }
        else if (PyDict_CheckExact(value)) {
            Py_ssize_t pos = 0;
            PyObject *k, *item;
            while (PyDict_Next(value, &pos, &k, &item)) {
                if (PyUnicode_CheckExact(item)) {
                    total += acct_utf8_len(item);
                }
                else if (PyUnicode_Check(item)) {
                    return PyLong_FromLong(-1);
                }
            }
        }
        else if (PyList_Check(value) || PyDict_Check(value)) {
            return PyLong_FromLong(-1);  /* a subclass: Python walks it */
        }
    }
    return PyLong_FromSsize_t(total);
}

/* lease_spend(leases, usage, items, now, fill, buckets) -> dict | None | NotImplemented
 *
 * LeasedCounterStore.spend under its lock, after the checks of now and fill: items are
 * (key, per, cost) with cost an int or None (None: fill). First every item is checked in
 * order (a cost that is not a non-negative int raises ValueError as the Python loop does;
 * a missing lease, one with less left than the cost, or one whose bucket
 * floor(now / (per / buckets)) has passed answers None); then every cost is spent:
 * lease.left -= cost, usage[key] += cost, and the new usage of each key is returned.
 * Counts are read as 64-bit ints: a count or a bucket beyond them, an item of another shape
 * or a key twice answers NotImplemented (nothing changed: the caller's Python loop spends). */
#define ACCT_MAX_ITEMS 16
static int
acct_ll(PyObject *v, long long *out)
{
    int overflow = 0;
    if (!PyLong_CheckExact(v)) {
        return 0;
    }
    *out = PyLong_AsLongLongAndOverflow(v, &overflow);
    return !overflow && !(*out == -1 && PyErr_Occurred());
}

static PyObject *lease_spend_impl(PyObject *const *args);

static PyObject *
py_lease_spend(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6 || !PyDict_CheckExact(args[0]) || !PyDict_CheckExact(args[1]) || !PyTuple_CheckExact(args[2])
        || !PyFloat_CheckExact(args[3])) {
        PyErr_SetString(PyExc_TypeError, "lease_spend(leases: dict, usage: dict, items: tuple, now: float, fill: int, buckets: int)");
        return NULL;
    }
    return lease_spend_impl(args);
}

/* store_spend(store, items, now, fill) -> dict | None | NotImplemented
 *
 * LeasedCounterStore.spend after its checks of now and fill, its lock included: the lock
 * taken (store._lock.acquire(), which waits with the GIL released), now raised to the
 * store's high-water mark (store._high, which it moves on), lease_spend on the store's
 * leases and usage, the lock released. */
static PyObject *
py_store_spend(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    static PyObject *names[7];
    static const char *const text[7] = {"_lock", "_leases", "_usage", "_high", "buckets", "acquire", "release"};
    if (names[6] == NULL) {
        for (int i = 0; i < 7; i++) {
            if ((names[i] = PyUnicode_InternFromString(text[i])) == NULL) {
                return NULL;
            }
        }
    }
    if (nargs != 4 || !PyTuple_CheckExact(args[1]) || !PyFloat_CheckExact(args[2])) {
        PyErr_SetString(PyExc_TypeError, "store_spend(store, items: tuple, now: float, fill: int)");
        return NULL;
    }
    PyObject *store = args[0], *result = NULL, *high = NULL;
    PyObject *lock = PyObject_GetAttr(store, names[0]);
    if (lock == NULL) {
        return NULL;
    }
    PyObject *got = PyObject_CallMethodNoArgs(lock, names[5]);
    if (got == NULL) {
        Py_DECREF(lock);
        return NULL;
    }
    Py_DECREF(got);
    PyObject *a[6] = {NULL, NULL, args[1], NULL, args[3], NULL};
    double now = PyFloat_AS_DOUBLE(args[2]);
    if ((high = PyObject_GetAttr(store, names[3])) == NULL) {
        goto unlock;
    }
    double h = PyFloat_AsDouble(high);
    if (h == -1.0 && PyErr_Occurred()) {
        goto unlock;
    }
    if (now < h) {
        now = h;
    }
    else if (PyObject_SetAttr(store, names[3], args[2]) < 0) {
        goto unlock;
    }
    if ((a[0] = PyObject_GetAttr(store, names[1])) == NULL || (a[1] = PyObject_GetAttr(store, names[2])) == NULL
        || (a[3] = PyFloat_FromDouble(now)) == NULL || (a[5] = PyObject_GetAttr(store, names[4])) == NULL) {
        goto unlock;
    }
    if (!PyDict_CheckExact(a[0]) || !PyDict_CheckExact(a[1])) {
        result = Py_NotImplemented;
        Py_INCREF(result);
        goto unlock;
    }
    result = lease_spend_impl(a);
unlock:
    {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        PyObject *r = PyObject_CallMethodNoArgs(lock, names[6]);
        if (r == NULL) {
            Py_CLEAR(result);
            Py_XDECREF(type);
            Py_XDECREF(value);
            Py_XDECREF(tb);
        }
        else {
            Py_DECREF(r);
            PyErr_Restore(type, value, tb);
        }
    }
    Py_DECREF(lock);
    Py_XDECREF(high);
    Py_XDECREF(a[0]);
    Py_XDECREF(a[1]);
    Py_XDECREF(a[3]);
    Py_XDECREF(a[5]);
    return result;
}

static PyObject *
lease_spend_impl(PyObject *const *args)
{
    PyObject *leases = args[0], *usage = args[1], *items = args[2];
    double now = PyFloat_AS_DOUBLE(args[3]);
    long long fill, n_buckets;
    if (!acct_ll(args[4], &fill) || !acct_ll(args[5], &n_buckets) || fill < 0 || n_buckets <= 0) {
        PyErr_Clear();
        PyErr_SetString(PyExc_ValueError, "lease_spend: fill must be a non-negative int and buckets a positive one");
        return NULL;
    }
    static PyObject *s_left = NULL, *s_bucket = NULL;
    if (s_left == NULL) {
        s_left = PyUnicode_InternFromString("left");
        s_bucket = PyUnicode_InternFromString("bucket");
        if (s_left == NULL || s_bucket == NULL) {
            return NULL;
        }
    }
    Py_ssize_t n = PyTuple_GET_SIZE(items);
    if (n > ACCT_MAX_ITEMS) {
        Py_RETURN_NOTIMPLEMENTED;
    }
    PyObject *lease_of[ACCT_MAX_ITEMS];
    long long cost_of[ACCT_MAX_ITEMS], left_of[ACCT_MAX_ITEMS];
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PyTuple_GET_ITEM(items, i);
        if (!PyTuple_CheckExact(item) || PyTuple_GET_SIZE(item) != 3) {
            Py_RETURN_NOTIMPLEMENTED;
        }
        PyObject *key = PyTuple_GET_ITEM(item, 0), *cost = PyTuple_GET_ITEM(item, 2);
        PyObject *lease = PyDict_GetItemWithError(leases, key);
        if (lease == NULL && PyErr_Occurred()) {
            return NULL;
        }
        if (cost == Py_None) {
            cost_of[i] = fill;
        }
        else if (!PyLong_CheckExact(cost) || _PyLong_Sign(cost) < 0) {
            PyObject *krepr = PyObject_Repr(key), *crepr = PyObject_Repr(cost);
            if (krepr && crepr) {
                PyErr_Format(PyExc_ValueError, "charge %U: cost must be a non-negative int, not %U", krepr, crepr);
            }
            Py_XDECREF(krepr);
            Py_XDECREF(crepr);
            return NULL;
        }
        else if (!acct_ll(cost, &cost_of[i])) {
            PyErr_Clear();
            Py_RETURN_NOTIMPLEMENTED;
        }
        if (lease == NULL) {
            Py_RETURN_NONE;
        }
        PyObject *per_o = PyTuple_GET_ITEM(item, 1);
        double per = PyFloat_CheckExact(per_o) ? PyFloat_AS_DOUBLE(per_o) : PyFloat_AsDouble(per_o);
        if (per == -1.0 && PyErr_Occurred()) {
            return NULL;
        }
        double width = per / (double)n_buckets;
        if (width == 0.0) {
            PyErr_SetString(PyExc_ZeroDivisionError, "float division by zero");
            return NULL;
        }
        double q = floor(now / width);
        PyObject *left = PyObject_GetAttr(lease, s_left);
        if (left == NULL) {
            return NULL;
        }
        int ok = acct_ll(left, &left_of[i]);
        Py_DECREF(left);
        if (!ok) {
            PyErr_Clear();
            Py_RETURN_NOTIMPLEMENTED;
        }
        if (left_of[i] < cost_of[i]) {
            Py_RETURN_NONE;
        }
        PyObject *bucket_o = PyObject_GetAttr(lease, s_bucket);
        if (bucket_o == NULL) {
            return NULL;
        }
        long long bucket;
        ok = acct_ll(bucket_o, &bucket);
        Py_DECREF(bucket_o);
        /* |q| < 2**53 compares exactly with a 64-bit int as a double; beyond: Python compares */
        if (!ok || !(fabs(q) < 9007199254740992.0)) {
            PyErr_Clear();
            Py_RETURN_NOTIMPLEMENTED;
        }
        if ((double)bucket < q) {
            Py_RETURN_NONE;
        }
        lease_of[i] = lease;
    }
    /* the same key twice (which the callers never pass) would spend twice from one read */
    for (Py_ssize_t i = 1; i < n; i++) {
        for (Py_ssize_t j = 0; j < i; j++) {
            if (lease_of[i] == lease_of[j]) {
                Py_RETURN_NOTIMPLEMENTED;
            }
        }
    }
    /* every item fits: the new counts, computed before anything changes */
    long long used_of[ACCT_MAX_ITEMS];
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *was = PyDict_GetItemWithError(usage, PyTuple_GET_ITEM(PyTuple_GET_ITEM(items, i), 0));
        long long w = 0;
        if (was == NULL && PyErr_Occurred()) {
            return NULL;
        }
        if (was != NULL && !acct_ll(was, &w)) {
            PyErr_Clear();
            Py_RETURN_NOTIMPLEMENTED;
        }
        if (w > LLONG_MAX - cost_of[i]) {
            Py_RETURN_NOTIMPLEMENTED;
        }
        used_of[i] = w + cost_of[i];
    }
    PyObject *out = PyDict_New();
    if (out == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *key = PyTuple_GET_ITEM(PyTuple_GET_ITEM(items, i), 0);
        PyObject *left = PyLong_FromLongLong(left_of[i] - cost_of[i]);
        PyObject *used = PyLong_FromLongLong(used_of[i]);
        int bad = left == NULL || used == NULL || PyObject_SetAttr(lease_of[i], s_left, left) < 0
                  || PyDict_SetItem(usage, key, used) < 0 || PyDict_SetItem(out, key, used) < 0;
        Py_XDECREF(left);
        Py_XDECREF(used);
        if (bad) {
            Py_DECREF(out);
            return NULL;
        }
    }
    return out;
}

/* output_gates(gates) -> capsule; plain_output(text, compiled, cap) -> int
 *
 * outputs.untouched's tests of a text under the built-in redactor, in one pass: -1 when a
 * trigger occurs in it or its UTF-8 size is over cap (cap < 0: no cap); else the number of
 * ASCII digits it holds (what the patterns without a trigger need). -2 is "not known":
 * the caller runs the Python tests. Only texts of one byte per character are read (for
 * those, str.lower() changes ASCII letters alone and never makes an ASCII character out of
 * another one); any other text answers -2.
 *
 * gates: a tuple of (trigger, offset, lower), trigger a non-empty ASCII bytes (lower: no
 * upper-case letter in it), offset the index in it of the byte the scan looks for, lower:
 * match the text's ASCII letters lower-cased, as `t in text.lower()` does. output_gates
 * compiles them once (the redactor keeps the capsule): for each byte value, the chain of
 * the gates looking for it. None: a gate the scan cannot take (the caller never asks). */
#define ACCT_MAX_GATES 64
#define ACCT_GATES_NAME "toolguard._taintc.gates"
typedef struct {
    int ng;
    unsigned char exact_at[256], lower_at[256], next[ACCT_MAX_GATES]; /* chains: gate index + 1, 0 ends */
    Py_ssize_t tl[ACCT_MAX_GATES], to[ACCT_MAX_GATES];
    unsigned char *tp[ACCT_MAX_GATES];
} acct_gates;

static void
acct_gates_free(PyObject *capsule)
{
    acct_gates *g = (acct_gates *)PyCapsule_GetPointer(capsule, ACCT_GATES_NAME);
    if (g != NULL) {
        for (int i = 0; i < g->ng; i++) {
            PyMem_Free(g->tp[i]);
        }
        PyMem_Free(g);
    }
}

static PyObject *
py_output_gates(PyObject *self, PyObject *gates)
{
    if (!PyTuple_Check(gates)) {
        PyErr_SetString(PyExc_TypeError, "output_gates: gates must be a tuple");
        return NULL;
    }
    Py_ssize_t ng = PyTuple_GET_SIZE(gates);
    if (ng > ACCT_MAX_GATES) {
        Py_RETURN_NONE;
    }
    acct_gates *G = PyMem_Calloc(1, sizeof(acct_gates));
    if (G == NULL) {
        return PyErr_NoMemory();
    }
    PyObject *result = NULL; /* what a failure returns: NULL (an error set) or None */
    for (Py_ssize_t g = 0; g < ng; g++) {
        PyObject *gate = PyTuple_GET_ITEM(gates, g);
        if (!PyTuple_Check(gate) || PyTuple_GET_SIZE(gate) != 3 || !PyBytes_Check(PyTuple_GET_ITEM(gate, 0))) {
            PyErr_SetString(PyExc_TypeError, "output_gates: gates must be (bytes, int, bool) tuples");
            goto fail;
        }
        PyObject *t = PyTuple_GET_ITEM(gate, 0);
        Py_ssize_t len = PyBytes_GET_SIZE(t), off = PyLong_AsSsize_t(PyTuple_GET_ITEM(gate, 1));
        if (off == -1 && PyErr_Occurred()) {
            goto fail;
        }
        int low = PyObject_IsTrue(PyTuple_GET_ITEM(gate, 2));
        if (low < 0) {
            goto fail;
        }
        const unsigned char *src = (const unsigned char *)PyBytes_AS_STRING(t);
        int ascii = len > 0 && off >= 0 && off < len;
        for (Py_ssize_t j = 0; ascii && j < len; j++) {
            ascii = src[j] < 0x80 && !(low && src[j] >= 'A' && src[j] <= 'Z');
        }
        if (!ascii) {
            result = Py_None;
            goto fail;
        }
        if ((G->tp[g] = PyMem_Malloc((size_t)len)) == NULL) {
            PyErr_NoMemory();
            goto fail;
        }
        memcpy(G->tp[g], src, (size_t)len);
        G->ng = (int)g + 1;
        G->tl[g] = len;
        G->to[g] = off;
        unsigned char *head = low ? G->lower_at : G->exact_at;
        G->next[g] = head[src[off]];
        head[src[off]] = (unsigned char)(g + 1);
    }
    PyObject *capsule = PyCapsule_New(G, ACCT_GATES_NAME, acct_gates_free);
    if (capsule == NULL) {
        goto fail;
    }
    return capsule;
fail:
    for (int i = 0; i < G->ng; i++) {
        PyMem_Free(G->tp[i]);
    }
    PyMem_Free(G);
    Py_XINCREF(result);
    return result;
}

static PyObject *
py_plain_output(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyUnicode_Check(args[0]) || !PyLong_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "plain_output(text: str, compiled: capsule, cap: int)");
        return NULL;
    }
    const acct_gates *G = (const acct_gates *)PyCapsule_GetPointer(args[1], ACCT_GATES_NAME);
    if (G == NULL) {
        return NULL;
    }
    Py_ssize_t cap = PyLong_AsSsize_t(args[2]);
    if (cap == -1 && PyErr_Occurred()) {
        return NULL;
    }
    PyObject *text = args[0];
    if (PyUnicode_KIND(text) != PyUnicode_1BYTE_KIND) {
        return PyLong_FromLong(-2);
    }
    const unsigned char *p = (const unsigned char *)PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), digits = 0, size = n;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        unsigned char low = (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
        digits += (c >= '0' && c <= '9');
        size += c >> 7;
        for (unsigned g1 = G->exact_at[c]; g1; g1 = G->next[g1 - 1]) {
            Py_ssize_t g = g1 - 1, start = i - G->to[g];
            if (start >= 0 && start + G->tl[g] <= n && memcmp(p + start, G->tp[g], (size_t)G->tl[g]) == 0) {
                return PyLong_FromLong(-1);
            }
        }
        for (unsigned g1 = G->lower_at[low]; g1; g1 = G->next[g1 - 1]) {
            Py_ssize_t g = g1 - 1, start = i - G->to[g], j = 0;
            if (start < 0 || start + G->tl[g] > n) {
                continue;
            }
            for (; j < G->tl[g]; j++) {
                unsigned char d = p[start + j];
                if (((d >= 'A' && d <= 'Z') ? (d | 0x20) : d) != G->tp[g][j]) {
                    break;
                }
            }
            if (j == G->tl[g]) {
                return PyLong_FromLong(-1);
            }
        }
    }
    return PyLong_FromSsize_t(cap >= 0 && size > cap ? -1 : digits);
}

/* AuditChain(shapes, key, mode, sha, clock): the head of an AuditLog's chain and what its
 * writes need, kept here so that record() reads and moves them without Python
 * attributes (audit.AuditLog keeps its _seq, _prev, _size, _dirty ... in it, as properties).
 *
 *   seq, prev, size, dirty     the chain's head and the active file's size (AuditLog._seq...)
 *   fd                         the file descriptor records go to; -1: the log takes none
 *                              (closed, closing or failed: the Python path raises)
 *   sync_due                   the time.monotonic() at which an fsync is due (-inf: every
 *                              record, inf: never)
 *   rotate_at                  the size at which the file rotates (-1: never)
 *
 * It is the log's lock as well: `with chain:` and acquire()/release() take its lock (waiting
 * with the GIL released). record(log, ...) writes one inline decision record as
 * AuditLog._native does, under the lock. */
typedef struct {
    PyObject_HEAD
    PyThread_type_lock lock;
    long long seq, size, rotate_at;
    PyObject *prev, *shapes, *key, *sha, *clock;
    double sync_due;
    int dirty, fd, mode;
} AuditChain;

static int
chain_init(AuditChain *c, PyObject *args, PyObject *kw)
{
    PyObject *shapes, *key, *sha, *clock;
    int mode;
    if (!PyArg_ParseTuple(args, "O!OiOO:AuditChain", &PyDict_Type, &shapes, &key, &mode, &sha, &clock)) {
        return -1;
    }
    if (c->lock == NULL && (c->lock = PyThread_allocate_lock()) == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    Py_INCREF(shapes);
    Py_INCREF(key);
    Py_INCREF(sha);
    Py_INCREF(clock);
    Py_XSETREF(c->shapes, shapes);
    Py_XSETREF(c->key, key);
    Py_XSETREF(c->sha, sha);
    Py_XSETREF(c->clock, clock);
    if (c->prev == NULL && (c->prev = PyUnicode_FromString("")) == NULL) {
        return -1;
    }
    c->mode = mode;
    c->fd = -1;
    c->rotate_at = -1;
    c->sync_due = INFINITY;
    return 0;
}

/* The chain holds Python objects (the shapes cache, the clock) that may lead back to it:
 * it takes part in garbage collection. */
static int
chain_traverse(AuditChain *c, visitproc visit, void *arg)
{
    Py_VISIT(c->prev);
    Py_VISIT(c->shapes);
    Py_VISIT(c->key);
    Py_VISIT(c->sha);
    Py_VISIT(c->clock);
    return 0;
}

static int
chain_clear(AuditChain *c)
{
    Py_CLEAR(c->shapes);
    Py_CLEAR(c->key);
    Py_CLEAR(c->sha);
    Py_CLEAR(c->clock);
    return 0;
}

static void
chain_dealloc(AuditChain *c)
{
    PyObject_GC_UnTrack(c);
    if (c->lock != NULL) {
        PyThread_free_lock(c->lock);
    }
    Py_XDECREF(c->prev);
    chain_clear(c);
    Py_TYPE(c)->tp_free((PyObject *)c);
}

static void
chain_lock(AuditChain *c)
{
    if (!PyThread_acquire_lock(c->lock, NOWAIT_LOCK)) {
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(c->lock, WAIT_LOCK);
        Py_END_ALLOW_THREADS
    }
}

static PyObject *
chain_enter(AuditChain *c, PyObject *unused)
{
    chain_lock(c);
    Py_RETURN_TRUE;
}

static PyObject *
chain_exit(AuditChain *c, PyObject *args)
{
    PyThread_release_lock(c->lock);
    Py_RETURN_FALSE;
}

static PyObject *
chain_acquire(AuditChain *c, PyObject *args)
{
    int blocking = 1;
    if (!PyArg_ParseTuple(args, "|p:acquire", &blocking)) {
        return NULL;
    }
    if (blocking) {
        chain_lock(c);
        Py_RETURN_TRUE;
    }
    return PyBool_FromLong(PyThread_acquire_lock(c->lock, NOWAIT_LOCK));
}

static double
chain_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* record(log, verdict, reason, principal, session, tool, manifest, revision, call_id,
 *        decision_id, codes, findings, args, timing) -> hash | None | Ellipsis
 *
 * AuditLog._native's steps in one call: the cached shape (Ellipsis when it is not cached:
 * the caller computes it and asks again), the lock, the clock, the head, audit_line, the
 * head moved on, and log._due() called under the lock when an fsync or a rotation is due.
 * None: nothing written, the Python path must run (a log that takes no records, a time or a
 * field audit_line does not take). An OSError of the write is set as log._failed before
 * the lock is released, and raised. */
static PyObject *
chain_record(AuditChain *c, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 14) {
        PyErr_SetString(PyExc_TypeError, "record takes 14 arguments");
        return NULL;
    }
    PyObject *log = args[0], *manifest = args[6];
    if (c->shapes == NULL || c->key == NULL || c->sha == NULL || c->clock == NULL || c->prev == NULL || c->lock == NULL) {
        Py_RETURN_NONE; /* not initialised, or cleared by the garbage collector: the Python path */
    }
    PyObject *mid = PyLong_FromVoidPtr(manifest);
    PyObject *key = mid ? PyTuple_Pack(7, args[1], args[2], args[3], args[4], args[5], mid, args[7]) : NULL;
    Py_XDECREF(mid);
    if (key == NULL) {
        return NULL;
    }
    PyObject *hit = PyDict_GetItemWithError(c->shapes, key);
    Py_DECREF(key);
    if (hit == NULL) {
        if (PyErr_Occurred()) {
            return NULL;
        }
        Py_INCREF(Py_Ellipsis);
        return Py_Ellipsis;
    }
    if (!PyTuple_CheckExact(hit) || PyTuple_GET_SIZE(hit) != 6 || PyTuple_GET_ITEM(hit, 0) != manifest) {
        Py_INCREF(Py_Ellipsis);
        return Py_Ellipsis;
    }
    Py_INCREF(hit); /* held across the write, which releases the GIL */
    PyObject *result = NULL, *out = NULL;
    PyObject *a[18] = {NULL};
    chain_lock(c);
    PyObject *stamp = PyObject_CallNoArgs(c->clock);
    if (stamp == NULL) {
        goto unlock;
    }
    a[16] = stamp;
    if (c->fd < 0 || c->seq < 0 || c->seq == LLONG_MAX || !PyFloat_CheckExact(stamp)
        || !(PyFloat_AS_DOUBLE(stamp) >= 0.0 && PyFloat_AS_DOUBLE(stamp) < 253402300800.0)) {
        result = Py_None; /* the Python path: it raises for a closed or failed log, writes the rest */
        Py_INCREF(result);
        goto unlock;
    }
    if ((a[0] = PyLong_FromLong(c->fd)) == NULL || (a[4] = PyLong_FromLong(c->mode)) == NULL
        || (a[14] = PyLong_FromLongLong(c->seq + 1)) == NULL) {
        goto unlock;
    }
    PyObject *borrowed[] = {c->key, args[12], PyDict_CheckExact(args[12]) ? PyTuple_GET_ITEM(hit, 5) : Py_None};
    a[1] = borrowed[0];
    a[2] = borrowed[1];
    a[3] = borrowed[2];
    a[5] = args[8];
    a[6] = args[9];
    a[7] = args[10];
    a[8] = args[11];
    for (int i = 0; i < 4; i++) {
        a[9 + i] = PyTuple_GET_ITEM(hit, 1 + i);
    }
    a[13] = args[13];
    a[15] = c->prev;
    a[17] = c->sha;
    for (int i = 1; i < 18; i++) {
        if (i != 4 && i != 14 && i != 16) {
            Py_INCREF(a[i]);
        }
    }
    out = py_audit_line(NULL, a, 18);
    if (out == NULL) {
        /* the write failed (the line may be partly out): the log is failed before anyone else writes */
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        PyErr_NormalizeException(&type, &value, &tb);
        if (value != NULL && PyObject_SetAttrString(log, "_failed", value) < 0) {
            PyErr_Clear();
        }
        c->fd = -1;
        PyErr_Restore(type, value, tb);
        goto unlock;
    }
    if (out == Py_None) {
        result = out;
        out = NULL;
        goto unlock;
    }
    {
        PyObject *h = PyTuple_GET_ITEM(out, 0);
        Py_ssize_t n = PyLong_AsSsize_t(PyTuple_GET_ITEM(out, 1));
        Py_INCREF(h);
        Py_SETREF(c->prev, h);
        c->seq += 1;
        c->size += n;
        c->dirty = 1;
        result = h;
        Py_INCREF(result);
    }
    if (chain_monotonic() >= c->sync_due || (c->rotate_at >= 0 && c->size >= c->rotate_at)) {
        /* an fsync or a rotation may be due: log._due() checks as _native does, and does it */
        PyObject *r = PyObject_CallMethod(log, "_due", NULL);
        if (r == NULL) {
            Py_CLEAR(result);
        }
        Py_XDECREF(r);
    }
unlock:
    PyThread_release_lock(c->lock);
    for (int i = 0; i < 18; i++) {
        Py_XDECREF(a[i]);
    }
    Py_XDECREF(out);
    Py_DECREF(hit);
    return result;
}

static PyMethodDef chain_methods[] = {
    {"record", (PyCFunction)(void (*)(void))chain_record, METH_FASTCALL, "Write one inline decision record (AuditLog._native)."},
    {"acquire", (PyCFunction)chain_acquire, METH_VARARGS, "Take the lock (blocking: wait with the GIL released)."},
    {"release", (PyCFunction)chain_exit, METH_NOARGS, "Release the lock."},
    {"__enter__", (PyCFunction)chain_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)chain_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef chain_members[] = {
    {"seq", T_LONGLONG, offsetof(AuditChain, seq), 0, "the last record's seq (0: none)"},
    {"prev", T_OBJECT_EX, offsetof(AuditChain, prev), 0, "the last record's hash"},
    {"size", T_LONGLONG, offsetof(AuditChain, size), 0, "the active file's size in bytes"},
    {"dirty", T_BOOL, offsetof(AuditChain, dirty), 0, "written since the last fsync"},
    {"fd", T_INT, offsetof(AuditChain, fd), 0, "where records go (-1: the log takes none here)"},
    {"sync_due", T_DOUBLE, offsetof(AuditChain, sync_due), 0, "time.monotonic() of the next fsync"},
    {"rotate_at", T_LONGLONG, offsetof(AuditChain, rotate_at), 0, "the size that rotates the file (-1: never)"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject AuditChainType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "toolguard._taintc.AuditChain",
    .tp_basicsize = sizeof(AuditChain),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The head of an audit log's chain, its write state and its lock.",
    .tp_traverse = (traverseproc)chain_traverse,
    .tp_clear = (inquiry)chain_clear,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)chain_init,
    .tp_dealloc = (destructor)chain_dealloc,
    .tp_methods = chain_methods,
    .tp_members = chain_members,
};

/* ============================== end of the accounting section ============================= */

static PyMethodDef methods[] = {
    {"fingerprints", py_fingerprints, METH_VARARGS, "Winnowed k-gram hashes and positions."},
    {"scan_keys", py_scan_keys, METH_VARARGS, "k-gram hashes and query keys of a scan batch."},
    {"lookup", py_lookup, METH_VARARGS, "(query index, value) of every matching entry."},
    {"directory", py_directory, METH_VARARGS, "Bucket starts of a sorted run."},
    {"merge", py_merge, METH_VARARGS, "Stable merge of two sorted runs, capped per key."},
    {"tokenize", py_tokenize, METH_VARARGS, "Candidate token units of a byte text."},
    {"numbers", py_numbers, METH_VARARGS, "Numbers of 7 digits or more of a spaced byte text."},
    {"ids", py_ids, METH_VARARGS, "Id-like runs around the digits of a spaced byte text."},
    {"secret_keys", py_secret_keys, METH_VARARGS, "ids(raw), then the numbers of raw."},
    {"units", py_units, METH_VARARGS, "Token units of a byte text, ids settled."},
    {"text_keys", py_text_keys, METH_VARARGS, "Keys of the token units of a text, ASCII units settled."},
    {"source_of", py_source_of, METH_VARARGS, "Source index of each stored value."},
    {"decode_candidates", py_decode_candidates, METH_VARARGS, "Encoded runs of an argument that might decode."},
    {"plain_size", py_plain_size, METH_VARARGS, "Size of plain JSON arguments, or -1 (the shape fast path)."},
    {"latin_fp", py_latin_fp, METH_VARARGS, "Fingerprints, numbers and carry of a spaced Latin fold (ingest)."},
    {"ascii_tr", py_ascii_tr, METH_VARARGS, "text.encode('ascii', 'replace').translate(table, delete) in one pass."},
    {"strict_ascii", py_strict_ascii, METH_VARARGS, "The strict form of ASCII or inert UTF-8 bytes, undecoded."},
    {"latin_spaced", py_latin_spaced, METH_VARARGS, "The spaced Latin fold of a str and its index map, or None."},
    {"scan_query", py_scan_query, METH_VARARGS, "A scan's batch, queries, lookup and sources in one call."},
    {"fold_offsets", py_fold_offsets, METH_VARARGS, "Index in a spaced fold of each folded position."},
    {"scan_tokens", py_scan_tokens, METH_VARARGS, "Secret keys and contact units of a spaced fold."},
    {"scan_arg", py_scan_arg, METH_VARARGS, "An argument's spaced fold, secret keys, contact units and encoded runs."},
    {"keyed_values", py_keyed_values, METH_VARARGS, "Credentials stated as key and value in a str, with their positions."},
    {"non_ascii", py_non_ascii, METH_VARARGS, "The set of the distinct non-ASCII characters of a str."},
    {"strict_utf8", py_strict_utf8, METH_VARARGS, "strict_ascii of a str's UTF-8 bytes, from the str (None on a lone surrogate)."},
    {"sort_unique", py_sort_unique, METH_VARARGS, "Distinct keys, sorted, each with its first position."},
    {"sort_run", py_sort_run, METH_VARARGS, "Keys and values in the stable order of the keys."},
    {"audit_line", (PyCFunction)(void (*)(void))py_audit_line, METH_FASTCALL, "Build, hash and write one inline decision record (audit), or None."},
    {"sha256_hex", py_sha256_hex, METH_VARARGS, "SHA-256 (HMAC-SHA-256 with a key) of bytes, as hex (audit)."},
    {"stamp_text", py_stamp_text, METH_O, "The audit timestamp of a float time."},
    {"sha_extensions", py_sha_extensions, METH_NOARGS, "Does SHA-256 here run on the CPU's SHA extensions? (audit)"},
    {"ingest_fold", py_ingest_fold, METH_VARARGS, "A slice's spaced Latin fold, fingerprints, numbers and carry, at text positions."},
    {"key_run", py_key_run, METH_VARARGS, "A text's distinct fingerprints and token keys as one sorted run for the index."},
    {"egress_size", py_egress_size, METH_VARARGS, "UTF-8 bytes a disjoint egress plan counts, or -1 (accounting)."},
    {"store_spend", (PyCFunction)(void (*)(void))py_store_spend, METH_FASTCALL, "LeasedCounterStore.spend under its lock (accounting)."},
    {"lease_spend", (PyCFunction)(void (*)(void))py_lease_spend, METH_FASTCALL, "Spend costs from still-valid leases, or None (accounting)."},
    {"output_gates", py_output_gates, METH_O, "The redactor's triggers compiled for plain_output (accounting)."},
    {"plain_output", (PyCFunction)(void (*)(void))py_plain_output, METH_FASTCALL, "The ASCII digits of a text no trigger occurs in and within the cap, else -1 or -2 (accounting)."},
    {NULL, NULL, 0, NULL},
};

static int
module_exec(PyObject *m)
{
    if (PyType_Ready(&AuditChainType) < 0) {
        return -1;
    }
    Py_INCREF(&AuditChainType);
    if (PyModule_AddObject(m, "AuditChain", (PyObject *)&AuditChainType) < 0) {
        Py_DECREF(&AuditChainType);
        return -1;
    }
    return 0;
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, module_exec},
    {0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "toolguard._taintc", "C core of the taint ledger.", 0, methods, module_slots, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__taintc(void)
{
    return PyModuleDef_Init(&module);
}
