"""Text normalisation for provenance matching (internal; import from :mod:`toolguard.taint`).

Two normal forms, for two opposite questions:

``fold`` (lenient, used to find *taint*):
    Unicode compatibility decomposition (NFKD), case folding, combining marks removed, common
    Cyrillic/Greek/small-capital/punctuation look-alikes mapped to their Latin/ASCII skeleton,
    zero-width/format/control characters removed, and **all whitespace removed** (a stronger form
    of collapsing: re-wrapped, re-indented or re-serialised text such as ``{"a": 1}`` versus
    ``{"a":1}`` still matches). It is a per-character mapping, so it is idempotent, the fold of a
    substring is a substring of the fold, it commutes with reversal (except inside the rare
    characters whose image is several characters, such as ligatures), and every output character
    can be traced back to the input character it came from (:func:`fold_codes_map`). Matching more is the safe direction for taint: a look-alike of an
    attacker's domain *is* attacker-influenced.

``strict`` (conservative, used to decide what the *user sanctioned*):
    NFKC, lower case, format/control characters removed, whitespace collapsed. No look-alike
    mapping and no mark stripping: if the user typed ``paypal.com``, the Cyrillic ``раураl.com`` must
    *not* count as sanctioned. Matching less is the safe direction here.

Both never raise on any ``str``, including lone surrogates (they become U+FFFD).

Folded text is handled as arrays of code points (``numpy`` ``uint8`` for ASCII, ``uint32``
otherwise): the taint ledger hashes those arrays directly. Non-ASCII characters are mapped through a
lazily filled per-code-point table, so folding stays vectorised whatever the script.
"""

from __future__ import annotations

import codecs
import contextlib
import re
import threading
import types
import unicodedata
from collections.abc import Callable
from urllib.parse import unquote

import numpy as np
import numpy.typing as npt

__all__ = [
    "SEPARATOR",
    "canonical_email",
    "canonical_host",
    "canonical_url",
    "codes_to_str",
    "compact",
    "fold",
    "fold_codes",
    "fold_codes_map",
    "fold_index",
    "fold_spaced",
    "folded_bytes",
    "latin_bytes",
    "latin_spaced_map",
    "replace_surrogates",
    "strict",
]

Codes = npt.NDArray[np.uint8] | npt.NDArray[np.uint32]

#: A code that folded text never contains (above the last Unicode code point). The ledger puts it
#: between independent segments so that no k-gram spans two of them.
SEPARATOR = 0x11_0000

# Table sentinels (all above any code point).
_DEL = 0xFFFF_FFF0  # the character disappears
_WS = 0xFFFF_FFF1  # whitespace: disappears in ``fold``, becomes one space in ``fold_spaced``
_MULTI = 0xFFFF_FFF2  # the image has two or more characters (``ﬁ`` -> ``fi``, ``ß`` -> ``ss``)
_UNKNOWN = 0xFFFF_FFFF  # not computed yet

# Look-alikes that compatibility decomposition leaves alone. Keys are already case-folded (the
# table is applied after ``casefold``). A small table, not UTS #39's full skeleton: it covers the
# letters used in practice for homograph domains and disguised text. Digits are deliberately not
# conflated with letters (``0``/``o``, ``1``/``l``): secrets differ in exactly those.
_CONFUSABLES: dict[str, str] = {
    # Cyrillic
    "а": "a", "в": "b", "г": "r", "е": "e", "ѐ": "e", "ё": "e", "є": "e", "ѕ": "s", "і": "i",
    "ї": "i", "ј": "j", "к": "k", "ќ": "k", "қ": "k", "ӄ": "k", "м": "m", "ӎ": "m", "н": "h",
    "ң": "h", "һ": "h", "ћ": "h", "о": "o", "ѳ": "o", "ӧ": "o", "р": "p", "с": "c", "ҫ": "c",
    "т": "t", "ҭ": "t", "у": "y", "ў": "y", "ү": "y", "ұ": "y", "х": "x", "ҳ": "x", "ь": "b",
    "ѡ": "w", "ԝ": "w", "ѵ": "v", "ґ": "r", "ҽ": "e", "ҿ": "e", "ӏ": "l", "ԁ": "d", "ԛ": "q",
    "ԍ": "g", "ӓ": "a", "ӑ": "a", "ӕ": "ae", "ӱ": "y", "ӳ": "y",
    # Greek
    "α": "a", "ά": "a", "β": "b", "ϐ": "b", "γ": "y", "ε": "e", "έ": "e", "ϵ": "e", "η": "n",
    "ή": "n", "ι": "i", "ί": "i", "ϊ": "i", "ΐ": "i", "κ": "k", "ϰ": "k", "μ": "u", "ν": "v",
    "ο": "o", "ό": "o", "ρ": "p", "ϱ": "p", "τ": "t", "υ": "u", "ύ": "u", "ϋ": "u", "ΰ": "u",
    "χ": "x", "ω": "w", "ώ": "w", "ϲ": "c", "ϳ": "j", "ϒ": "y",
    # Latin variants and small capitals
    "ı": "i", "ȷ": "j", "ɑ": "a", "ɡ": "g", "ɩ": "i", "ɪ": "i", "ʟ": "l", "ɴ": "n", "ʀ": "r",
    "ʏ": "y", "ʜ": "h", "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ɢ": "g", "ᴊ": "j",
    "ᴋ": "k", "ᴍ": "m", "ᴏ": "o", "ᴘ": "p", "ꜱ": "s", "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w",
    "ᴢ": "z", "ƒ": "f", "ǀ": "l", "ł": "l", "đ": "d", "ħ": "h", "ŧ": "t", "ø": "o", "ɵ": "o",
    "ɾ": "r", "ʂ": "s", "ƽ": "s",
    # Armenian
    "հ": "h", "ո": "n", "ս": "u", "ց": "g", "օ": "o", "զ": "q",
    # Punctuation that language models and word processors substitute
    "‐": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-", "⁃": "-",
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'",
    "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "«": '"', "»": '"',
    "。": ".", "｡": ".", "⁄": "/", "∕": "/", "∖": "\\", "ǃ": "!", "ː": ":", "꞉": ":", "∶": ":",
}

# Default-ignorable characters that are not format characters (category Cf) but still render
# as nothing: Hangul fillers, Khmer inherent vowels, Mongolian/variation selectors, CGJ.
_IGNORABLE: frozenset[int] = frozenset(
    [
        0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B, 0x180C, 0x180D, 0x180F, 0x3164, 0xFFA0,
        *range(0xFE00, 0xFE10),
        *range(0xE0100, 0xE01F0),
    ]
)

_MARKS = frozenset({"Mn", "Me"})
_GONE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp", "Zs"})


def _image_once(ch: str) -> str:
    """The lenient image of one character, whitespace and ignorables removed."""
    cp = ord(ch)
    if 0xD800 <= cp <= 0xDFFF:
        return "\ufffd"
    if ch.isspace() or cp in _IGNORABLE or unicodedata.category(ch) in _GONE:
        return ""
    s = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", ch).casefold())
    out: list[str] = []
    for c in s:
        if c.isspace() or ord(c) in _IGNORABLE:
            continue
        cat = unicodedata.category(c)
        if cat in _MARKS or cat in _GONE:
            continue
        out.append(_CONFUSABLES.get(c, c))
    return "".join(out)


def _image(cp: int) -> str:
    """Iterate the per-character image to a fixed point, so that folding is idempotent."""
    s = _image_once(chr(cp))
    for _ in range(6):
        t = "".join(_image_once(c) for c in s)
        if t == s:
            break
        s = t
    return s


_CACHE_MAX = 1 << 16  # process-wide caches are bounded (text can hold any code point)
_BMP = np.full(0x1_0000, _UNKNOWN, dtype=np.uint32)
_MULTI_IMAGES: dict[int, tuple[int, ...]] = {}
_ASTRAL: dict[int, int] = {}


def _value(cp: int) -> int:
    """The table value of one code point, computed (and memoised) on first use."""
    if cp < 0x1_0000:
        v = int(_BMP[cp])
        if v != _UNKNOWN:
            return v
    elif cp in _ASTRAL:
        return _ASTRAL[cp]
    ch = chr(cp)
    if ch.isspace():
        v = _WS
    else:
        img = _image(cp)
        if not img:
            v = _DEL
        elif len(img) == 1:
            v = ord(img)
        else:
            v = _MULTI
            _MULTI_IMAGES[cp] = tuple(ord(c) for c in img)
    # Concurrent fills write the same value, so no lock is needed.
    if cp < 0x1_0000:
        _BMP[cp] = v
    else:
        if len(_ASTRAL) >= _CACHE_MAX:
            _ASTRAL.clear()  # recomputed on demand: bounded whatever text comes in
        _ASTRAL[cp] = v
    return v


for _cp in range(128):
    _value(_cp)

# ASCII folds to lower case or nothing: the bytes fast paths below rely on it.
assert all(int(_BMP[_cp]) in (ord(chr(_cp).lower()), _DEL, _WS) for _cp in range(128))

# ASCII fast path tables (uint8; 0xFF means "drop").
_ASCII_FOLD = np.full(256, 0xFF, dtype=np.uint8)
_ASCII_SPACED = np.full(256, 0xFF, dtype=np.uint8)
for _cp in range(128):
    _v = int(_BMP[_cp])
    if _v < 128:
        _ASCII_FOLD[_cp] = _v
        _ASCII_SPACED[_cp] = _v
    elif _v == _WS:
        _ASCII_SPACED[_cp] = 0x20
_ASCII_DROP = bytes(_cp for _cp in range(128) if _ASCII_FOLD[_cp] == 0xFF)
# spaced: lower case, every whitespace to " " (then collapsed with split/join), controls dropped
_ASCII_SPACED_BYTES = bytes(
    (int(_ASCII_SPACED[_c]) if _c < 128 and _ASCII_SPACED[_c] != 0xFF else _c) for _c in range(256)
)
_ASCII_CTRL = bytes(_cp for _cp in range(128) if _ASCII_SPACED[_cp] == 0xFF)
# the same, with the controls as 0x80 (which no ASCII text holds), for a single-pass check
_ASCII_SPACED_MARKED = bytes(0x80 if _c in _ASCII_CTRL else _b for _c, _b in enumerate(_ASCII_SPACED_BYTES))

_SURROGATE = re.compile("[\ud800-\udfff]")


def replace_surrogates(text: str) -> str:
    """Replace lone surrogates (which cannot be encoded) by U+FFFD."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")  # fails only on surrogates; much faster than the regex
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


def _table_values(cps: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint32]:
    if cps.shape[0] and int(cps.max()) > 0xFFFF:
        big = cps > 0xFFFF
        v = _BMP.take(cps, mode="clip")
        uniq, inv = np.unique(cps[big], return_inverse=True)
        vals = np.array([_value(int(c)) for c in uniq.tolist()], dtype=np.uint32)
        v[big] = vals[inv]
    else:
        v = _BMP[cps]
    unknown = np.flatnonzero(v == _UNKNOWN)
    if unknown.shape[0]:
        for cp in np.unique(cps[unknown]).tolist():
            _value(cp)
        v[unknown] = _BMP[cps[unknown]]
    return v


def _collapse(codes: Codes, idx: npt.NDArray[np.intp] | None) -> tuple[Codes, npt.NDArray[np.intp] | None]:
    """Collapse runs of spaces (code 32) to one and strip both ends."""
    if codes.size == 0:
        return codes, idx
    sp = codes == 0x20
    if not sp.any():
        return codes, idx
    drop = sp.copy()
    drop[1:] &= sp[:-1]  # a space after a space
    # leading space: ``drop[0] = sp[0]`` already holds; trailing space: drop the last one if kept
    keep = ~drop
    last_kept = np.flatnonzero(keep)
    if last_kept.size and sp[last_kept[-1]]:
        keep[last_kept[-1]] = False
    return codes[keep], (idx[keep] if idx is not None else None)


def _fold_general(
    text: str, *, spaced: bool, want_map: bool
) -> tuple[Codes, npt.NDArray[np.intp] | None]:
    cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    v = _table_values(cps)
    if spaced:
        v[v == _WS] = 0x20
    if not (v == _MULTI).any():
        keep = v < _DEL
        codes: Codes = v[keep]
        idx = np.flatnonzero(keep) if want_map else None
    else:
        multi = v == _MULTI
        lens = (v < _DEL).astype(np.intp)
        mpos = np.flatnonzero(multi)
        images = [_MULTI_IMAGES[int(c)] for c in cps[mpos].tolist()]
        lens[mpos] = [len(im) for im in images]
        src = np.repeat(np.arange(cps.shape[0], dtype=np.intp), lens)
        codes = v[src]
        starts = np.cumsum(lens) - lens
        for p, im in zip(starts[mpos].tolist(), images, strict=True):
            codes[p : p + len(im)] = im
        idx = src if want_map else None
    if spaced:
        codes, idx = _collapse(codes, idx)
    # mostly-Latin text folds to bytes: every later pass over it is four times cheaper
    if codes.shape[0] and int(codes.max()) < 0x100:
        codes = codes.astype(np.uint8)
    return codes, idx


class _NotLatin(Exception):
    """A character folds to something that is not ASCII: take the vectorised path."""


_SUB_CACHE: tuple[dict[str, str], dict[str, str]] = ({}, {})


def _char_image(ch: str, spaced: bool) -> str:
    cache = _SUB_CACHE[spaced]
    img = cache.get(ch)
    if img is None:
        cp = ord(ch)
        v = _value(cp)
        if v == _WS:
            img = " " if spaced else ""
        elif v == _DEL:
            img = ""
        elif v == _MULTI:
            img = "".join(map(chr, _MULTI_IMAGES[cp]))
        else:
            img = chr(v)
        if len(cache) >= _CACHE_MAX:
            cache.clear()
        cache[ch] = img
    return img


def _ascii_images(spaced: bool) -> Callable[[UnicodeError], tuple[str, int]]:
    def handler(exc: UnicodeError) -> tuple[str, int]:
        if not isinstance(exc, UnicodeEncodeError):
            raise exc
        img = "".join([_char_image(c, spaced) for c in exc.object[exc.start : exc.end]])
        if not img.isascii():
            raise _NotLatin
        return img, exc.end

    return handler


_TLS = threading.local()


def _ascii_images_map(exc: UnicodeError) -> tuple[str, int]:
    """Like the spaced handler, and records where an image is not exactly one character."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    rec: list[tuple[int, int]] = _TLS.rec
    parts = []
    for i in range(exc.start, exc.end):
        img = _char_image(exc.object[i], True)
        if len(img) != 1:
            if not img.isascii():
                raise _NotLatin
            rec.append((i, len(img)))
        elif ord(img) > 0x7F:
            raise _NotLatin
        parts.append(img)
    return "".join(parts), exc.end


# Encoding to ASCII with these error handlers folds the (few) non-ASCII characters of
# mostly-Latin text in C, calling back into Python once per run of them.
codecs.register_error("toolguard.fold", _ascii_images(False))
codecs.register_error("toolguard.fold_spaced", _ascii_images(True))
codecs.register_error("toolguard.fold_spaced_map", _ascii_images_map)


def _spaced_image(ch: str) -> str:
    return _char_image(ch, True)


def latin_spaced_map(text: str, core: types.ModuleType | None = None) -> tuple[bytes, npt.NDArray[np.intp] | None] | None:
    """The spaced fold of mostly-Latin ``text`` *without* collapsing whitespace (every
    whitespace character is one space), as bytes, with the index in ``text`` of each byte
    (``None`` when byte ``i`` comes from character ``i``). ``None`` when some character folds
    to something not ASCII, or when there are control characters (they fold to nothing, which
    the vectorised path handles). ``core``: the taint ledger's C core, which does the same in
    one pass over the str (the images of other characters from the same cache)."""
    if core is not None:
        r: tuple[bytes, bytes | None] | None = core.latin_spaced(text, _ASCII_SPACED_MARKED, _SUB_CACHE[True], _spaced_image)
        if r is None:
            return None
        return r[0], (np.frombuffer(r[1], dtype=np.intp) if r[1] is not None else None)
    rec: list[tuple[int, int]] = []
    if text.isascii():
        raw = text.encode("ascii")
    else:
        _TLS.rec = rec
        try:
            raw = text.encode("ascii", "toolguard.fold_spaced_map")
        except _NotLatin:
            return None
        finally:
            _TLS.rec = None
    # one pass: the spaced fold, with the control characters as 0x80 (raw is ASCII)
    sp = raw.translate(_ASCII_SPACED_MARKED)
    if sp.find(b"\x80") >= 0:  # (not "in", which tries the needle as an int first)
        return None
    if not rec:
        return sp, None
    lens = np.ones(len(text), dtype=np.intp)
    where, sizes = zip(*rec, strict=True)
    lens[list(where)] = sizes
    return sp, np.repeat(np.arange(len(text), dtype=np.intp), lens)


def latin_bytes(text: str, *, spaced: bool = False) -> bytes | None:
    """``text`` with its non-ASCII characters replaced by their (ASCII) fold images, as bytes;
    ``None`` if some character folds to something that is not ASCII. ASCII characters are
    left as they are (the caller lower-cases and drops controls/whitespace)."""
    try:
        return text.encode("ascii", "toolguard.fold_spaced" if spaced else "toolguard.fold")
    except _NotLatin:
        return None


def fold_codes(text: str, *, spaced: bool = False) -> Codes:
    """The lenient fold of ``text`` as an array of code points (``uint8`` when ASCII).

    With ``spaced=True`` whitespace runs become one space (code 32) instead of disappearing,
    which keeps token boundaries for token extraction.
    """
    raw = folded_bytes(text, spaced=spaced)
    if raw is not None:
        return np.frombuffer(raw, dtype=np.uint8)
    return _fold_general(text, spaced=spaced, want_map=False)[0]


def folded_bytes(text: str, *, spaced: bool = False, collapse: bool = True) -> bytes | None:
    """The lenient fold of ``text`` as ASCII bytes, or ``None`` when it is not ASCII.

    ``spaced`` keeps word boundaries as spaces; ``collapse=False`` then leaves whitespace runs
    as runs of spaces (cheaper, for callers to whom one space or several is the same).
    """
    # Mostly-Latin text (smart quotes, a few accents) folds in C with a per-run callback; other
    # scripts take the vectorised table path.
    raw = text.encode("ascii") if text.isascii() else latin_bytes(text, spaced=spaced)
    if raw is None:
        return None
    if not spaced:
        return raw.lower().translate(None, _ASCII_DROP)
    raw = raw.translate(_ASCII_SPACED_BYTES, _ASCII_CTRL)
    return b" ".join(raw.split()) if collapse else raw


def fold_codes_map(text: str, *, spaced: bool = False) -> tuple[Codes, npt.NDArray[np.intp]]:
    """Like :func:`fold_codes`, plus for each output code the index in ``text`` it came from.

    Indexes are in Python ``str`` positions (code points), so ``text[idx[i]]`` is the character
    that produced output ``i``.
    """
    if text.isascii():
        b = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
        v = (_ASCII_SPACED if spaced else _ASCII_FOLD)[b]
        keep = v != 0xFF
        codes: Codes = v[keep]
        idx: npt.NDArray[np.intp] | None = np.flatnonzero(keep)
        if spaced:
            codes, idx = _collapse(codes, idx)
    else:
        codes, idx = _fold_general(text, spaced=spaced, want_map=True)
    assert idx is not None
    return codes, idx


def fold_index(text: str) -> npt.NDArray[np.intp]:
    """For each character of :func:`fold` of ``text``, its index in ``text``."""
    lat = latin_spaced_map(text)
    if lat is None:
        return fold_codes_map(text)[1]
    sp, idx0 = lat
    idx: npt.NDArray[np.intp] = (np.frombuffer(sp, dtype=np.uint8) != 0x20).nonzero()[0]
    return idx if idx0 is None else idx0[idx]


def codes_to_str(codes: Codes) -> str:
    """Turn a code array back into ``str``."""
    if codes.dtype == np.uint8:
        return codes.tobytes().decode("latin-1")
    return codes.astype("<u4").tobytes().decode("utf-32-le")


def fold(text: str) -> str:
    """The lenient (taint-matching) form of ``text``; see the module docstring."""
    raw = folded_bytes(text)
    if raw is not None:
        return raw.decode("ascii")
    return codes_to_str(fold_codes(text))


def fold_spaced(text: str) -> str:
    """:func:`fold`, but whitespace runs become one space and the ends are stripped."""
    raw = folded_bytes(text, spaced=True)
    if raw is not None:
        return raw.decode("ascii")
    return codes_to_str(fold_codes(text, spaced=True))


# Format characters (category Cf, Unicode 14/15), C0/C1 controls other than whitespace, and the
# default-ignorables of ``_IGNORABLE``. A test checks these ranges against ``unicodedata``.
_STRICT_DROP_RANGES: tuple[tuple[int, int], ...] = (
    (0x00, 0x08), (0x0E, 0x1B), (0x7F, 0x84), (0x86, 0x9F), (0xAD, 0xAD), (0x34F, 0x34F),
    (0x600, 0x605), (0x61C, 0x61C), (0x6DD, 0x6DD), (0x70F, 0x70F), (0x890, 0x891),
    (0x8E2, 0x8E2), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F), (0x200B, 0x200F),
    (0x202A, 0x202E), (0x2060, 0x2064), (0x2066, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD),
    (0x110CD, 0x110CD), (0x13430, 0x1343F), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001), (0xE0020, 0xE007F), (0xE0100, 0xE01EF),
)
_STRICT_DROP = re.compile(
    "[" + "".join(re.escape(chr(a)) + ("-" + re.escape(chr(b)) if b > a else "") for a, b in _STRICT_DROP_RANGES) + "]"
)
# The ASCII characters of _STRICT_DROP (deleted from ASCII text by one bytes.translate)
_STRICT_DROP_ASCII = bytes(c for c in range(128) if any(a <= c <= b for a, b in _STRICT_DROP_RANGES))
#: Every character ``str.isspace`` accepts (a test checks the list).
WHITESPACE: tuple[int, ...] = (
    *range(0x09, 0x0E), *range(0x1C, 0x21), 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B),
    0x2028, 0x2029, 0x202F, 0x205F, 0x3000,
)
# Per BMP code point: 1 = dropped by the strict pass, 2 = whitespace. Astral code points are
# never whitespace; the few dropped ones are looked up in _ASTRAL_DROP.
_STRICT_FLAGS = np.zeros(0x1_0000, dtype=np.uint8)
_ASTRAL_DROP = np.array(
    sorted({c for a, b in _STRICT_DROP_RANGES if a > 0xFFFF for c in range(a, b + 1)}), dtype=np.uint32
)
for _a, _b in _STRICT_DROP_RANGES:
    if _a <= 0xFFFF:
        _STRICT_FLAGS[_a : _b + 1] = 1
_STRICT_FLAGS[list(WHITESPACE)] = 2


def _strict_pass_short(s: str) -> str:
    t = _STRICT_DROP.sub("", s)
    t = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", t).lower())
    return " ".join(t.split())


def _strict_pass_long(s: str) -> str:
    """:func:`_strict_pass_short`, vectorised: the regex and ``str.split`` cost 30 ns per
    character on long non-ASCII text, numpy masks a few."""
    c = np.frombuffer(s.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    flags = _STRICT_FLAGS.take(c, mode="clip")
    big = (c > 0xFFFF).nonzero()[0]
    if big.shape[0]:
        flags[big] = np.isin(c[big], _ASTRAL_DROP).astype(np.uint8)
    c = c[(flags & 1) == 0]
    t = c.tobytes().decode("utf-32-le", "surrogatepass")
    t = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", t).lower())
    c = np.frombuffer(t.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    ws = (_STRICT_FLAGS.take(c, mode="clip") & 2) != 0
    if c.shape[0] and int(c.max()) > 0xFFFF:
        ws &= c <= 0xFFFF
    if not ws.any():
        return t
    c = np.where(ws, np.uint32(0x20), c)
    out, _ = _collapse(c, None)
    return out.tobytes().decode("utf-32-le", "surrogatepass") if out.dtype == np.uint32 else codes_to_str(out)


# Non-ASCII characters the strict form leaves as they are, whatever surrounds them: in Latin-1,
# Latin Extended-A/B, general punctuation and currency symbols (no character there composes
# with a neighbour under NFKC), those that NFKC and lower() leave alone and that are neither
# dropped nor whitespace (’ “ ” – — … é ß ...). Decided once per character.
_INERT_RANGES = ((0xA0, 0x24F), (0x2010, 0x205F), (0x20A0, 0x20CF))
_INERT: dict[str, bool] = {}
_ASCII_BYTES = bytes(range(128))


def non_ascii_chars(text: str) -> set[str]:
    """The distinct non-ASCII characters of ``text`` (lone surrogates included)."""
    return set(text.encode("utf-8", "surrogatepass").translate(None, _ASCII_BYTES).decode("utf-8", "surrogatepass"))


def non_ascii_chars_utf8(raw: bytes) -> set[str]:
    """:func:`non_ascii_chars` of a text given as its UTF-8 encoding ``raw``."""
    return set(raw.translate(None, _ASCII_BYTES).decode("utf-8", "surrogatepass"))

# UTF-8 bytes: A-Z lower-cased and ASCII whitespace (what str.isspace accepts) as spaces; the
# bytes of other characters (all >= 0x80) are left alone
_STRICT_BYTES = bytes(range(256)).translate(bytes.maketrans(bytes([9, 10, 11, 12, 13, 28, 29, 30, 31]), b" " * 9)).lower()


def _strict_bytes(raw: bytes, core: types.ModuleType | None = None) -> str:
    """The strict form of ASCII or inert UTF-8 text: controls dropped, lower-cased, whitespace
    collapsed (what ``" ".join(text.lower().split())`` gives, without a string per word), in
    one pass by the taint ledger's C core ``core`` when given."""
    if core is not None:
        out: bytes = core.strict_ascii(raw, _STRICT_BYTES, _STRICT_DROP_ASCII)
        return out.decode("utf-8")
    b = raw.translate(_STRICT_BYTES, _STRICT_DROP_ASCII)
    while b"  " in b:
        # each pass halves every run of spaces (bytes.replace is a memchr loop, where the
        # regular expression tries a match at every space)
        b = b.replace(b"  ", b" ")
    return b.strip(b" ").decode("utf-8")


def _inert(ch: str) -> bool:
    ok = _INERT.get(ch)
    if ok is None:
        cp = ord(ch)
        ok = _INERT[ch] = (
            any(a <= cp <= b for a, b in _INERT_RANGES)
            and unicodedata.combining(ch) == 0
            and not ch.isspace()
            and _STRICT_DROP.match(ch) is None
            and unicodedata.normalize("NFKC", ch) == ch
            and ch.lower() == ch
        )
    return ok


def strict(text: str, *, core: types.ModuleType | None = None) -> str:
    """The conservative (sanction-matching) form of ``text``; see the module docstring.
    ``core``: the taint ledger's C core, for the one-pass form of ASCII and inert text."""
    if text.isascii():
        return _strict_bytes(text.encode("ascii"), core)
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return _strict_general(text)
    if all(_inert(ch) for ch in set(raw.translate(None, _ASCII_BYTES).decode("utf-8"))):
        # mostly-Latin text (smart quotes, accented lower-case letters): NFKC leaves it as it
        # is, so one pass is the ASCII one (a test compares it with the general passes)
        return _strict_bytes(raw, core)
    return _strict_general(text)


def strict_encoded(text: str, *, core: types.ModuleType | None = None, chars: set[str] | None = None) -> tuple[str, bytes]:
    """:func:`strict` and its UTF-8 encoding. With the taint ledger's C core ``core``, ASCII
    and inert text goes from the ``str`` to the encoded strict form in one pass (no encoding
    of the text first, no encoding of the result after); ``chars``: the text's non-ASCII
    characters (:func:`non_ascii_chars`) when the caller has them."""
    if core is not None and not text.isascii():
        if chars is None:
            chars = core.non_ascii(text)
        if all(_inert(ch) for ch in chars):  # (a lone surrogate is not inert)
            raw: bytes | None = core.strict_utf8(text, _STRICT_BYTES, _STRICT_DROP_ASCII)
            if raw is not None:
                return raw.decode("utf-8"), raw
    s = strict(text, core=core)
    return s, s.encode("utf-8")


def _strict_general(text: str) -> str:
    s = replace_surrogates(text)
    step = _strict_pass_long if len(s) > 512 else _strict_pass_short
    for _ in range(6):
        t = step(s)
        if t == s or _stable(t):
            return t
        s = t
    return s


def _stable(t: str) -> bool:
    """Would another strict pass leave ``t`` as it is? A pass output has no dropped character
    and is collapsed; it is stable when it is NFKC and has no upper-case letter (NFKC after
    ``lower`` can make one: ``ℌ`` -> ``H``). Cheaper than running the pass again."""
    return unicodedata.is_normalized("NFKC", t) and (t.islower() or t == t.lower())


# ---------------------------------------------------------------------------------------------
# Canonical forms of destination-like tokens. Both the ledger (at ingest) and the lookups (for a
# value and its forms) go through these, so a token and a value meet on the same key.

_IDEOGRAPHIC_DOTS = str.maketrans({"。": ".", "．": ".", "｡": "."})
_URL = re.compile(r"^([a-z][a-z0-9+.\-]{0,30}):/{2,}([^/?#\\]*)(.*)$", re.DOTALL | re.IGNORECASE)
_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443", "ftp": "21"}


def _norm(text: str, strict_mode: bool) -> str:
    return strict(text).replace(" ", "") if strict_mode else fold(text)


def canonical_host(host: str, *, strict_mode: bool = False, normalised: bool = False) -> str:
    """A host name as a lookup key: percent-decoded, normalised, without leading or trailing
    dots, punycode (``xn--``) labels decoded so that ``xn--bcher-kva.example`` and
    ``bücher.example`` meet. ``normalised=True`` says ``host`` is already in the chosen form."""
    h = host
    if normalised and "%" not in h and "xn--" not in h and h.isascii():
        return h.strip(".")  # the common case: nothing to decode
    if "%" in h:
        h = unquote(h, errors="replace")
        normalised = False
    if not normalised:
        h = _norm(h.translate(_IDEOGRAPHIC_DOTS), strict_mode)
    if not h.isascii():
        h = h.translate(_IDEOGRAPHIC_DOTS)
    h = h.strip(".")
    if "xn--" in h:
        labels = []
        for label in h.split("."):
            if label.startswith("xn--"):
                # an invalid punycode label stays as it is
                with contextlib.suppress(UnicodeError, ValueError):
                    label = label[4:].encode("ascii").decode("punycode")
            labels.append(label)
        h = _norm(".".join(labels), strict_mode).strip(".")
    return h


def canonical_email(email: str, *, strict_mode: bool = False, normalised: bool = False) -> str:
    """``local@host`` as a lookup key (the local part is case-folded too: providers ignore case)."""
    local, _, domain = email.rpartition("@")
    local = local if normalised else _norm(local, strict_mode)
    return local + "@" + canonical_host(domain, strict_mode=strict_mode, normalised=normalised)


def split_url(url: str) -> tuple[str, str, str, str] | None:
    """``(scheme, host, port, rest)`` of an absolute URL, or ``None``. Userinfo is dropped."""
    m = _URL.match(url.strip())
    if m is None:
        return None
    scheme, authority, rest = m.group(1).lower(), m.group(2), m.group(3)
    hostport = authority.rpartition("@")[2]
    port = ""
    if hostport.startswith("["):
        end = hostport.find("]")
        host, tail = (hostport[: end + 1], hostport[end + 1 :]) if end >= 0 else (hostport, "")
        if tail.startswith(":"):
            port = tail[1:]
    else:
        host, sep, port = hostport.partition(":")
        if not sep:
            port = ""
    return scheme, host, port, rest


def canonical_url(
    url: str, *, strict_mode: bool = False, normalised: bool = False, parts: tuple[str, str, str, str] | None = None, host: str | None = None
) -> str:
    """An absolute URL as a lookup key: scheme and host canonical, default port and an empty
    path dropped, userinfo dropped (the destination is the host). ``parts`` (from
    :func:`split_url`) and ``host`` (canonical) may be passed when the caller has them."""
    parts = parts if parts is not None else split_url(url)
    if parts is None:
        return _norm(url, strict_mode)
    scheme, raw_host, port, rest = parts
    host = host if host is not None else canonical_host(raw_host, strict_mode=strict_mode, normalised=normalised)
    if port and _PORTS.get(scheme) == port:
        port = ""
    if not normalised:
        rest = _norm(rest, strict_mode)
    if rest == "/":
        rest = ""
    return f"{scheme}://{host}{':' + port if port else ''}{rest}"


def compact(text: str) -> str:
    """Letters and digits only, case-folded: the key of phone, account and IBAN-like numbers."""
    return "".join(c for c in fold(text) if c.isalnum())
