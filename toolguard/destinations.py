"""Destinations: where a tool call sends data, reduced to one canonical form.

A *destination* is an argument value of a declared kind (``email``, ``url``, ``domain``,
``host``, ``iban``, ``phone``, ``channel``, ``path``). :func:`parse_destination` turns the raw
value into a :class:`Destination` whose ``normalized`` form is what allow-lists match and
budgets count. Allow-lists (:class:`AllowList`) only ever see normalised forms, so every
allow-list bypass is a normalisation bug; the rules below are written to close them.

Rules shared by every kind
    * Leading and trailing ASCII whitespace is stripped (paths: only tabs and line breaks).
    * Control characters (C0, C1), lone surrogates, line/paragraph separators, format
      characters (Cf: bidi overrides, zero-width characters, the tag block ...), every other
      Default_Ignorable_Code_Point (variation selectors, Hangul fillers ...) and noncharacters
      are refused with reason ``control_characters``; no kind's grammar needs them. In
      particular a tab or newline inside a URL is refused, where a browser would silently
      delete it.
    * Parsing never raises anything but :class:`InvalidDestination` for a ``str`` value, and
      normalisation is idempotent: ``parse(k, parse(k, v).normalized).normalized ==
      parse(k, v).normalized``.

Hosts (``url``, ``email``, ``domain``, ``host``)
    Hosts go through the WHATWG host parser (ada): percent-decoding, UTS #46 mapping (so
    ``ａｃｍｅ.example`` *is* ``acme.example``, as in a browser; flagged
    ``compatibility_mapped``), IDNA to A-labels, and IPv4 in decimal/hex/octal forms to
    dotted decimal (``http://2130706433/`` is ``127.0.0.1``, as glibc's resolver agrees).
    On top of WHATWG, a name must be a usable DNS name: labels of ``[a-z0-9_-]`` (A-labels
    included), 1-63 characters, 253 in all, no empty label. One trailing dot is dropped
    (flag ``trailing_dot``). An IPv4-mapped IPv6 address (``[::ffff:127.0.0.1]``) keeps its
    IPv6 spelling in ``host`` but matches IPv4 allow patterns as the IPv4 address it
    reaches (flag ``ipv4_mapped``). IDN labels are decoded and checked for mixed scripts
    (UTS #39 resolved script sets, flag ``mixed_script``) and for a confusable skeleton that
    is plain ASCII (``аcme`` with a Cyrillic а, flag ``confusable``).

``url``
    WHATWG parsing. ``normalized`` is the serialised URL without credentials (flag
    ``userinfo``), without a default port and without the host's trailing dot. Schemes
    ``http https ws wss ftp`` are network schemes; ``data: javascript: file: blob:
    vbscript:`` are flagged ``special_scheme`` and have no host; any other scheme is flagged
    ``other_scheme``. A URL whose host reads differently to a WHATWG parser (browsers) and
    to an RFC 3986 parser (most HTTP client libraries), e.g. ``https://acme.example\\@evil.test``,
    is refused (``url.ambiguous_host``): whichever client runs the tool, the allow-list must
    have judged the host it connects to. A relative URL is refused (``url.relative``); a
    scheme-relative one (``//host/x``) is resolved against ``https:`` (flag
    ``scheme_relative``).

``email``
    ``Name <addr>`` yields ``addr`` (flag ``display_name``). Dot-atom or RFC 5321 quoted local
    parts; a quoted local part that needs no quotes is unquoted. The local part is
    lowercased (ASCII letters only): real mail systems treat ``Bob@`` and ``bob@`` as one
    mailbox, and an allow-list or a recipient budget that told them apart would be easy to
    sidestep. Sub-addresses stay distinct (``bob+x@`` is not ``bob@``; flag
    ``plus_address``). Domain literals ``[1.2.3.4]`` and ``[IPv6:...]`` are accepted (flag
    ``ip_literal``); an unbracketed IP is refused.

``domain`` and ``host``
    ``domain`` is a host name or IP literal, nothing else. ``host`` also accepts a port
    (``acme.example:8443``, ``[::1]:8080``), kept in ``normalized``; ``Destination.host``
    never includes the port.

``iban`` compact upper case, country length and mod-97 checked. ``phone`` ``+`` and digits
(E.164: 7-15 digits, ``00`` becomes ``+``, a ``(0)`` trunk prefix after a country code is
dropped); without a country code the digits alone, flag ``no_country_code``. ``channel`` NFKC
and case folded, no whitespace. ``path`` see :func:`parse_destination`.

Allow-list patterns: see :class:`AllowList`.
"""

from __future__ import annotations

import bisect
import fnmatch
import functools
import html
import ipaddress
import os
import posixpath
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from html.entities import html5 as _HTML5
from typing import Any, NamedTuple
from urllib.parse import unquote

import ada_url

from . import _confusables
from ._frozen import slot_constructor
from .errors import ToolguardError

try:  # the compiled ada bindings: one call per URL instead of one per attribute
    from ada_url._ada_wrapper import ffi as _ffi
    from ada_url._ada_wrapper import lib as _lib
except ImportError:  # pragma: no cover - exercised by a test that forces the fallback
    _ffi = _lib = None

__all__ = [
    "DESTINATION_KINDS",
    "AllowList",
    "Destination",
    "EmbeddedURL",
    "InvalidDestination",
    "extract_urls",
    "parse_destination",
    "phone_spellings",
    "skeleton",
]

DESTINATION_KINDS: tuple[str, ...] = ("email", "url", "domain", "host", "iban", "phone", "channel", "path", "markdown", "html")
"""Every kind a manifest may declare. ``markdown`` and ``html`` are containers: use
:func:`extract_urls` on them and parse each URL as kind ``url``."""

_VALUE_KINDS = ("email", "url", "domain", "host", "iban", "phone", "channel", "path")
_CONTAINER_KINDS = ("markdown", "html")


# --------------------------------------------------------------------------------------------
# Errors and results


def _show(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


class InvalidDestination(ToolguardError, ValueError):
    """Raised when a value cannot be parsed as its declared kind.

    ``reason`` is a stable short code (``email.syntax``, ``url.relative``,
    ``host.forbidden_code_point``, ``path.outside_root``, ``control_characters`` ...) meant
    for findings and tests; ``value`` is the raw input and ``kind`` the declared kind.
    """

    reason: str
    value: str
    kind: str
    message: str

    def __init__(self, reason: str, value: str = "", kind: str = "", message: str = "") -> None:
        self.reason = reason
        self.value = value
        self.kind = kind
        self.message = message or reason
        super().__init__(reason, value, kind, self.message)

    def __str__(self) -> str:
        return f"{_show(self.value)} is not a valid {self.kind or 'destination'}: {self.message} [{self.reason}]"

    def __repr__(self) -> str:
        return f"InvalidDestination(reason={self.reason!r}, value={_show(self.value)}, kind={self.kind!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.reason, self.value, self.kind, self.message))


class _Reject(Exception):
    """Internal: a part of a value (a host, a local part) was refused; re-raised by the caller."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(reason, message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class Destination:
    """A parsed destination. Immutable; equal values compare and hash equal.

    ``normalized`` is the canonical form that allow-lists match and budgets count. ``host``
    is the ASCII host (A-labels, no trailing dot, IPv4 dotted decimal, IPv6 as ``[...]``)
    for email/url/domain/host and ``None`` otherwise (also for ``data:``/``javascript:``/
    ``file:``/``blob:`` URLs). ``registrable_domain`` is the eTLD+1 by the public suffix list
    (private suffixes included, so ``evil.github.io`` and ``acme.github.io`` differ), ``None``
    for IP literals and public suffixes. ``flags`` are informational signals for policy;
    they never change what matches:

    * host: ``ip_literal``, ``ipv4_mapped``, ``noncanonical_ip`` (decimal/hex/octal or
      mapped spelling), ``loopback``, ``private_address``, ``idn``, ``mixed_script``,
      ``confusable``, ``trailing_dot``, ``percent_encoded_host``, ``compatibility_mapped``
      (full-width or other UTS #46 / NFKC mapping changed the text);
    * url: ``userinfo``, ``non_default_port``, ``special_scheme`` (data/javascript/file/blob/
      vbscript), ``other_scheme``, ``opaque_host``, ``scheme_relative``, ``encoded_separator``
      (``%2f``, ``%5c`` or ``%2e`` in the path);
    * email: ``display_name``, ``display_name_address`` (an address-like display name),
      ``plus_address``, ``smtputf8``; host: ``port``; phone: ``no_country_code``;
      path: ``relative``, ``symlink``, ``percent_encoded``.
    """

    kind: str
    raw: str
    normalized: str
    host: str | None = None
    registrable_domain: str | None = None
    scheme: str | None = None
    flags: frozenset[str] = frozenset()

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict (flags sorted)."""
        return {
            "kind": self.kind,
            "raw": self.raw,
            "normalized": self.normalized,
            "host": self.host,
            "registrable_domain": self.registrable_domain,
            "scheme": self.scheme,
            "flags": sorted(self.flags),
        }


#: ``Destination(...)`` without the frozen ``__init__`` (about a third of a parse).
_dest = slot_constructor(Destination)


# --------------------------------------------------------------------------------------------
# Invisible characters


def _ranges_class(spec: str) -> str:
    parts = []
    for item in spec.split():
        lo, _, hi = item.partition("-")
        a, b = int(lo, 16), int(hi or lo, 16)
        parts.append(f"\\U{a:08x}" if a == b else f"\\U{a:08x}-\\U{b:08x}")
    return "[" + "".join(parts) + "]"


_INVISIBLE_RE = re.compile(_ranges_class(_confusables.INVISIBLE))
_ASCII_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_ASCII_WS = " \t\n\r\f\v"


def _screen(value: str, kind: str, strip: str = _ASCII_WS) -> str:
    if not isinstance(value, str):
        raise TypeError(f"a {kind} destination must be a str, not {type(value).__name__}")
    s = value.strip(strip)
    m = (_ASCII_CONTROL_RE if s.isascii() else _INVISIBLE_RE).search(s)
    if m is not None:
        raise InvalidDestination("control_characters", value, kind, f"contains the invisible or control character U+{ord(m.group()):04X}")
    if not s:
        raise InvalidDestination("empty", value, kind, "is empty")
    return s


# --------------------------------------------------------------------------------------------
# Unicode: skeletons and scripts (UTS #39)


@functools.lru_cache(maxsize=1)
def _confusable_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for item in _confusables.CONFUSABLES.split():
        src, _, dst = item.partition(">")
        table[int(src, 16)] = "".join(chr(int(c, 16)) for c in dst.split("."))
    return table


def skeleton(s: str) -> str:
    """The UTS #39 confusable skeleton of ``s``: two strings that look alike share it.

    ``skeleton("аcme") == skeleton("acme")`` (Cyrillic а). Compare skeletons with each other,
    never with the original text: the skeleton maps ``m`` to ``rn`` and ``0`` to ``O``.
    """
    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", s).translate(_confusable_table()))


class _ScriptTable(NamedTuple):
    starts: list[int]
    ends: list[int]
    values: list[frozenset[str]]


def _load_ranges(spec: str) -> _ScriptTable:
    starts: list[int] = []
    ends: list[int] = []
    values: list[frozenset[str]] = []
    for item in spec.split():
        rng, _, val = item.partition(":")
        lo, _, hi = rng.partition("-")
        starts.append(int(lo, 16))
        ends.append(int(hi or lo, 16))
        values.append(frozenset(val.split(".")))
    return _ScriptTable(starts, ends, values)


@functools.lru_cache(maxsize=1)
def _script_tables() -> tuple[_ScriptTable, _ScriptTable]:
    return _load_ranges(_confusables.SCRIPTS), _load_ranges(_confusables.SCRIPT_EXTENSIONS)


def _lookup(table: _ScriptTable, cp: int) -> frozenset[str] | None:
    i = bisect.bisect_right(table.starts, cp) - 1
    if i >= 0 and cp <= table.ends[i]:
        return table.values[i]
    return None


_NEUTRAL_SCRIPTS = frozenset({"Zyyy", "Zinh", "Zzzz"})
# UTS #39 "augmented script sets": CJK text legitimately mixes these scripts.
_AUGMENT = {
    "Hani": frozenset({"Hani", "Hanb", "Jpan", "Kore"}),
    "Hira": frozenset({"Hira", "Jpan"}),
    "Kana": frozenset({"Kana", "Jpan"}),
    "Hang": frozenset({"Hang", "Kore"}),
    "Bopo": frozenset({"Bopo", "Hanb"}),
}


def _is_mixed_script(label: str) -> bool:
    """True when no single script covers every character (UTS #39 resolved script set)."""
    sc, scx = _script_tables()
    resolved: set[str] | None = None
    for ch in label:
        cp = ord(ch)
        scripts = _lookup(scx, cp) or _lookup(sc, cp) or frozenset({"Zzzz"})
        if scripts & _NEUTRAL_SCRIPTS:
            continue
        augmented: set[str] = set()
        for s in scripts:
            augmented |= _AUGMENT.get(s, {s})
        resolved = augmented if resolved is None else resolved & augmented
        if not resolved:
            return True
    return False


# --------------------------------------------------------------------------------------------
# WHATWG URL parsing (ada)

_OMITTED = 0xFFFFFFFF
_HOST_DEFAULT, _HOST_IPV4, _HOST_IPV6 = 0, 1, 2


class _URLParts(NamedTuple):
    href: str
    scheme: str
    has_authority: bool
    credentials: bool
    hostname: str
    port: int | None
    path: str
    search: str
    fragment: str
    host_type: int


def _ada_parse(s: str, base: str | None = None) -> _URLParts | None:
    """Parse with ada; None when WHATWG parsing fails."""
    try:
        data = s.encode("utf-8")
    except UnicodeEncodeError:
        return None
    if _lib is None:
        return _ada_parse_public(s, base)
    if base is None:
        url = _lib.ada_parse(data, len(data))
    else:
        bdata = base.encode("utf-8")
        url = _lib.ada_parse_with_base(data, len(data), bdata, len(bdata))
    try:
        if not _lib.ada_is_valid(url):
            return None
        raw = _lib.ada_get_href(url)
        href = _ffi.unpack(raw.data, raw.length).decode("utf-8")
        c = _lib.ada_get_components(url)
        protocol_end, host_start, host_end = c.protocol_end, c.host_start, c.host_end
        pathname_start, search_start, hash_start, port = c.pathname_start, c.search_start, c.hash_start, c.port
        host_type = int(_lib.ada_get_host_type(url))
    finally:
        _lib.ada_free(url)
    if not href.isascii():  # pragma: no cover - WHATWG serialisation is ASCII
        return _ada_parse_public(s, base)
    has_authority = href.startswith("//", protocol_end)
    credentials = has_authority and href.startswith("@", host_start)
    hs = host_start + 1 if credentials else host_start
    end = len(href)
    path_end = search_start if search_start != _OMITTED else (hash_start if hash_start != _OMITTED else end)
    search = href[search_start : hash_start if hash_start != _OMITTED else end] if search_start != _OMITTED else ""
    fragment = href[hash_start:] if hash_start != _OMITTED else ""
    return _URLParts(
        href,
        href[: protocol_end - 1],
        has_authority,
        credentials,
        href[hs:host_end] if has_authority else "",
        None if port == _OMITTED else int(port),
        href[pathname_start:path_end],
        search,
        fragment,
        host_type,
    )


def _ada_parse_public(s: str, base: str | None = None) -> _URLParts | None:
    """The same as :func:`_ada_parse` through ada's public API (slower)."""
    try:
        u = ada_url.URL(s, base)
    except ValueError:
        return None
    href, protocol = u.href, u.protocol
    has_authority = href.startswith(protocol + "//")
    # In a serialised URL a raw '#' only starts the fragment and a raw '?' only the query.
    hash_at = href.find("#")
    end = hash_at if hash_at >= 0 else len(href)
    query_at = href.find("?", 0, end)
    return _URLParts(
        href,
        protocol[:-1],
        has_authority,
        bool(u.username or u.password),
        u.hostname if has_authority else "",
        int(u.port) if u.port else None,
        u.pathname,
        href[query_at:end] if query_at >= 0 else "",
        href[hash_at:] if hash_at >= 0 else "",
        int(u.host_type),
    )


# --------------------------------------------------------------------------------------------
# Hosts


class _HostInfo(NamedTuple):
    host: str  # ASCII, no trailing dot; IPv6 in brackets
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None  # for matching (IPv4 for a mapped IPv6)
    registrable: str | None
    flags: frozenset[str]


_DNS_NAME_RE = re.compile(r"(?:[a-z0-9_-]{1,63}\.)*[a-z0-9_-]{1,63}")
_WHATWG_FORBIDDEN = frozenset(" #%/:<>?@[\\]^|")


@functools.lru_cache(maxsize=1)
def _psl() -> Any:
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()  # the copy shipped in the package; never fetched


@functools.lru_cache(maxsize=8192)
def _registrable(host: str) -> str | None:
    result = _psl().privatesuffix(host)
    return result if isinstance(result, str) else None


@functools.lru_cache(maxsize=1)
def _suffix_rules() -> tuple[frozenset[str], frozenset[str]]:
    """Public suffix rules (A-labels; wildcards and exceptions stripped) and every name at or
    above one of them: a wildcard over such a name reaches domains that others register."""
    from publicsuffixlist import PSLFILE

    rules: set[str] = set()
    with open(PSLFILE, encoding="utf-8") as source:
        for line in source:
            rule = line.split(" ", 1)[0].strip().lower()
            if not rule or rule.startswith(("//", "!")):
                continue
            rule = rule.removeprefix("*.")
            if not rule.isascii():
                rule = ada_url.idna_to_ascii(rule).decode("ascii")
            rules.add(rule)
    ancestors = {rule.split(".", i)[-1] for rule in rules for i in range(rule.count(".") + 1)}
    return frozenset(rules), frozenset(ancestors)


def _public_suffix_under(name: str) -> str | None:
    """A public suffix equal to or below ``name``, or None."""
    rules, ancestors = _suffix_rules()
    if name not in ancestors:
        return None
    if name in rules:
        return name
    return min((r for r in rules if r.endswith("." + name)), key=len, default=name)


def _check_dns_name(host: str) -> None:
    if _DNS_NAME_RE.fullmatch(host) and len(host) <= 253:
        return
    if len(host) > 253:
        raise _Reject("host.too_long", f"the host name has {len(host)} characters; DNS allows 253")
    for label in host.split("."):
        if not label:
            raise _Reject("host.empty_label", "the host name has an empty label")
        if len(label) > 63:
            raise _Reject("host.label_too_long", f"the label {label[:20]!r}... has {len(label)} characters; DNS allows 63")
    bad = next((c for c in host if not (c.isascii() and (c.isalnum() or c in "._-"))), "?")
    raise _Reject("host.forbidden_code_point", f"the host name contains {bad!r}, which no DNS name can contain")


@functools.lru_cache(maxsize=8192)
def _host_info(hostname: str, host_type: int) -> _HostInfo:
    """Facts about a host as serialised by ada (lowercase ASCII). Raises _Reject."""
    flags: set[str] = set()
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None
    registrable = None
    if host_type == _HOST_IPV4:
        ip = ipaddress.IPv4Address(hostname)
        flags.add("ip_literal")
        host = hostname
    elif host_type == _HOST_IPV6:
        v6 = ipaddress.IPv6Address(hostname[1:-1])
        flags.add("ip_literal")
        ip = v6
        if v6.ipv4_mapped is not None:
            ip = v6.ipv4_mapped
            flags.add("ipv4_mapped")
        host = hostname
    else:
        if hostname.endswith("."):
            hostname = hostname[:-1]
            flags.add("trailing_dot")
        if not hostname:
            raise _Reject("host.empty", "the host is empty")
        _check_dns_name(hostname)
        host = hostname
        if "xn--" in host:
            for label in host.split("."):
                if not label.startswith("xn--"):
                    continue
                flags.add("idn")
                ulabel = ada_url.idna_to_unicode(label)
                if ulabel.startswith("xn--"):  # ToUnicode failed: not a valid A-label
                    raise _Reject("host.invalid", f"the label {label!r} is not valid Punycode for an IDNA label")
                if _is_mixed_script(ulabel):
                    flags.add("mixed_script")
                if not ulabel.isascii() and skeleton(ulabel).isascii():
                    flags.add("confusable")
        if host == "localhost" or host.endswith(".localhost"):
            flags.add("loopback")
        registrable = _registrable(host)
    if ip is not None:
        if ip.is_loopback:
            flags.add("loopback")
        elif ip.is_private or ip.is_link_local or ip.is_reserved or ip.is_unspecified or ip.is_multicast:
            flags.add("private_address")
    return _HostInfo(host, ip, registrable, frozenset(flags))


def _diagnose_host(text: str) -> _Reject:
    """Explain why WHATWG host parsing refused ``text`` (only called on failure)."""
    bad = next((c for c in text if c in _WHATWG_FORBIDDEN or ord(c) <= 0x20 or ord(c) == 0x7F), None)
    if bad is not None:
        return _Reject("host.forbidden_code_point", f"the host contains {bad!r}")
    if not text:
        return _Reject("host.empty", "the host is empty")
    return _Reject("host.invalid", "the host is not a valid domain name or IP address (WHATWG/UTS #46 host parsing failed)")


@functools.lru_cache(maxsize=8192)
def _host_from_text(text: str) -> _HostInfo:
    """Normalise a bare host (name, IPv4 in any WHATWG form, ``[IPv6]``). Raises _Reject."""
    if not text:
        raise _Reject("host.empty", "the host is empty")
    if text.startswith("["):
        if not text.endswith("]") or "]" in text[:-1]:
            raise _Reject("host.invalid", "an IPv6 literal must be written as [address]")
    else:
        bad = next((c for c in text if c in "/\\?#@:[]"), None)
        if bad is not None:
            raise _Reject("host.forbidden_code_point", f"the host contains {bad!r}")
    parts = _ada_parse(f"http://{text}/")
    if parts is None:
        raise _diagnose_host(text)
    if parts.port is not None or parts.path != "/" or parts.search or parts.fragment or parts.credentials:
        raise _Reject("host.invalid", "the value is more than a host")  # pragma: no cover - excluded above
    return _host_info(parts.hostname, parts.host_type)


def _ip_of(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address to match for an already-normalised host, or None for a name."""
    if host.startswith("["):
        try:
            v6 = ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return None
        return v6.ipv4_mapped or v6
    if host[-1:].isdigit():
        try:
            return ipaddress.IPv4Address(host)
        except ValueError:
            return None
    return None


_RFC_AUTHORITY_END_RE = re.compile(r"[/?#]")
_WHATWG_AUTHORITY_END_RE = re.compile(r"[/\\?#]")


def _host_of_authority(authority: str) -> str:
    host = authority.rpartition("@")[2]
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.partition(":")[0]


def _raw_hosts(rest: str) -> tuple[str, str | None]:
    """The host as written, read the WHATWG way and the RFC 3986 way (None: no authority)."""
    if rest.startswith("//") and rest[2:3] not in ("/", "\\"):
        m = _WHATWG_AUTHORITY_END_RE.search(rest, 2)
        if m is None or m.group() != "\\":  # no backslash: both read the same authority
            host = _host_of_authority(rest[2 : m.start() if m else len(rest)])
            return host, host
    return _raw_authority_host(rest, rfc=False) or "", _raw_authority_host(rest, rfc=True)


def _raw_authority_host(rest: str, *, rfc: bool) -> str | None:
    """The host as written after ``scheme:``: WHATWG style (any slashes, ``\\`` ends the
    authority) or RFC 3986 style (exactly ``//``, only ``/?#`` end it)."""
    if rfc:
        if not rest.startswith("//"):
            return None
        rest = rest[2:]
        m = _RFC_AUTHORITY_END_RE.search(rest)
    else:
        rest = rest.lstrip("/\\")
        m = _WHATWG_AUTHORITY_END_RE.search(rest)
    return _host_of_authority(rest[: m.start()] if m else rest)


# --------------------------------------------------------------------------------------------
# url

_NETWORK_SCHEMES = frozenset({"http", "https", "ws", "wss", "ftp"})
_HOST_PATTERN_SCHEMES = frozenset({"http", "https", "ws", "wss"})
_SPECIAL_SCHEMES = frozenset({"data", "javascript", "file", "blob", "vbscript"})
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}
_RELATIVE_BASE = "https://toolguard.invalid/"
_MAX_URL = 1 << 20
_ENCODED_SEPARATOR_RE = re.compile(r"%(?:2[eEfF]|5[cC])")


# Query parameters that client libraries of non-web URLs read as the endpoint itself,
# overriding the authority: libpq (host, hostaddr, service: a service file names a host),
# and the server/address keys other drivers accept in a connection URI.
_ENDPOINT_PARAMS = frozenset({"host", "hostaddr", "hostname", "service", "server", "address", "addr", "socket", "unix_socket"})


def _endpoint_override(search: str) -> str:
    """The first endpoint-naming parameter in ``search`` (``?a=1&host=x``), or ``""``."""
    for pair in search.lstrip("?").split("&"):
        name = unquote(pair.partition("=")[0]).strip().lower()
        if name in _ENDPOINT_PARAMS:
            return name
    return ""


def _parse_url(value: str) -> Destination:
    s = _screen(value, "url")
    if len(s) > _MAX_URL:
        raise InvalidDestination("url.too_long", value, "url", f"is {len(s)} characters long")
    flags: set[str] = set()
    if s[:1] in ("/", "\\") and s[1:2] in ("/", "\\"):
        # A browser resolves //host/x (and /\host/x) against the page: network, not relative.
        parts = _ada_parse(s, _RELATIVE_BASE)
        flags.add("scheme_relative")
        rest = s
    else:
        parts = _ada_parse(s)
        rest = s[s.find(":") + 1 :]
        if parts is None and _ada_parse(s, _RELATIVE_BASE) is not None:
            raise InvalidDestination("url.relative", value, "url", "is a relative URL; a destination must name its scheme and host")
    if parts is None:
        reject = _diagnose_url(s)
        raise InvalidDestination(reject.reason, value, "url", reject.message)
    scheme = parts.scheme
    if scheme in _SPECIAL_SCHEMES:
        flags.add("special_scheme")
        return _dest("url", value, _without_credentials(parts), None, None, scheme, frozenset(flags))
    if parts.credentials:
        flags.add("userinfo")
    if scheme not in _NETWORK_SCHEMES:
        flags.add("other_scheme")
        override = _endpoint_override(parts.search)
        if override:
            raise InvalidDestination(
                "url.endpoint_in_query",
                value,
                "url",
                f"its query names another endpoint ({override}=...): database and service clients "
                f"(libpq's postgresql://host/db?host=other) connect there instead of the URL's host",
            )
        host = registrable = None
        if parts.hostname:
            try:
                info = _host_from_text(unicodedata.normalize("NFC", parts.hostname).lower())
            except _Reject:
                flags.add("opaque_host")
            else:
                host, registrable = info.host, info.registrable
                flags |= info.flags - {"trailing_dot"}
        return _dest("url", value, _without_credentials(parts), host, registrable, scheme, frozenset(flags))

    try:
        info = _host_info(parts.hostname, parts.host_type)
    except _Reject as exc:
        raise InvalidDestination(exc.reason, value, "url", exc.message) from None
    flags |= info.flags
    raw_host, rfc_host = _raw_hosts(rest)
    if "%" in raw_host:
        flags.add("percent_encoded_host")
    if not raw_host.isascii() and unicodedata.normalize("NFC", raw_host.lower()).rstrip(".") != ada_url.idna_to_unicode(info.host):
        flags.add("compatibility_mapped")
    if info.ip is not None and raw_host.lower().rstrip(".") != info.host:
        flags.add("noncanonical_ip")
    if rfc_host and rfc_host.lower() != parts.hostname:
        _check_rfc3986_host(value, rfc_host, info)
    if parts.port is not None:
        flags.add("non_default_port")
    if _ENCODED_SEPARATOR_RE.search(parts.path):
        flags.add("encoded_separator")
    port = f":{parts.port}" if parts.port is not None else ""
    normalized = f"{scheme}://{info.host}{port}{parts.path}{parts.search}{parts.fragment}"
    return _dest("url", value, normalized, info.host, info.registrable, scheme, frozenset(flags))


def _check_rfc3986_host(value: str, rfc_host: str, info: _HostInfo) -> None:
    """Refuse a URL whose host an RFC 3986 client (no authority: it refuses the URL) would
    read as another host than a browser does."""
    try:
        other = _host_from_text(rfc_host)
    except _Reject:
        other = None
    if other is None or other.host != info.host:
        raise InvalidDestination(
            "url.ambiguous_host",
            value,
            "url",
            f"browsers read the host as {info.host!r} but RFC 3986 clients read {rfc_host!r}",
        )


def _without_credentials(parts: _URLParts) -> str:
    if not parts.credentials:
        return parts.href
    port = f":{parts.port}" if parts.port is not None else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path}{parts.search}{parts.fragment}"


def _diagnose_url(s: str) -> _Reject:
    m = re.match(r"([A-Za-z][A-Za-z0-9+.\-]*):", s)
    if m and m.group(1).lower() in _NETWORK_SCHEMES:
        host = _raw_authority_host(s[m.end() :], rfc=False)
        if host is not None:
            try:
                _host_from_text(host)
            except _Reject as exc:
                if exc.reason != "host.invalid":
                    return exc
            else:
                port = re.split(r"[/\\?#]", s[m.end() :].lstrip("/\\"), maxsplit=1)[0].rpartition("@")[2][len(host) :]
                if port:
                    return _Reject("url.invalid_port", f"the port {port[1:]!r} is not a number from 0 to 65535")
    return _Reject("url.unparseable", "is not a URL a browser would accept (WHATWG URL parsing failed)")


# --------------------------------------------------------------------------------------------
# domain, host


def _parse_domain(value: str) -> Destination:
    return _parse_hostlike(value, "domain")


def _parse_host(value: str) -> Destination:
    return _parse_hostlike(value, "host")


def _parse_hostlike(value: str, kind: str) -> Destination:
    s = _screen(value, kind)
    port: int | None = None
    if s.startswith("["):
        close = s.find("]")
        host_text, tail = (s[: close + 1], s[close + 1 :]) if close >= 0 else (s, "")
    elif s.count(":") > 1:
        host_text, tail = f"[{s}]", ""  # a bare IPv6 address
    else:
        host_text, colon, port_text = s.partition(":")
        tail = colon + port_text
    if tail:
        if kind == "domain":
            raise InvalidDestination("domain.port_not_allowed", value, kind, "a domain has no port; declare the kind 'host' to accept host:port")
        if not re.fullmatch(r":[0-9]{1,5}", tail) or not 0 < int(tail[1:]) <= 65535:
            raise InvalidDestination("host.invalid_port", value, kind, f"{tail[1:]!r} is not a port number from 1 to 65535")
        port = int(tail[1:])
    try:
        info = _host_from_text(host_text)
    except _Reject as exc:
        raise InvalidDestination(exc.reason, value, kind, exc.message) from None
    flags = set(info.flags)
    if not host_text.isascii() and unicodedata.normalize("NFC", host_text.lower()).rstrip(".") != ada_url.idna_to_unicode(info.host):
        flags.add("compatibility_mapped")
    if "%" in host_text:
        flags.add("percent_encoded_host")
    normalized = info.host
    if port is not None:
        flags.add("port")
        normalized = f"{info.host}:{port}"
    return _dest(kind, value, normalized, info.host, info.registrable, None, frozenset(flags))


# --------------------------------------------------------------------------------------------
# email

_ATEXT = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\u0080-\U0010ffff"
_DOT_ATOM_RE = re.compile(rf"[{_ATEXT}]+(?:\.[{_ATEXT}]+)*")
_QUOTED_RE = re.compile(r'"((?:[\x20\x21\x23-\x5b\x5d-\x7e\u0080-\U0010ffff]|\\[\x20-\x7e])*)"')
_UNICODE_SPACE_RE = re.compile(r"\s")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


_EMAIL_STRUCTURE_RE = re.compile(r"[@,;<>()\s]")


def _scan_unquoted(s: str) -> tuple[list[int], dict[str, int]]:
    """Positions of unquoted ``@`` and counts of other unquoted structural characters."""
    ats: list[int] = []
    seen: dict[str, int] = {}
    if '"' not in s:  # fast path: nothing is quoted
        for m in _EMAIL_STRUCTURE_RE.finditer(s):
            c = m.group()
            if c == "@":
                ats.append(m.start())
            else:
                seen[c] = seen.get(c, 0) + 1
        return ats, seen
    quoted = False
    i = 0
    while i < len(s):
        c = s[i]
        if quoted:
            if c == "\\":
                i += 1
            elif c == '"':
                quoted = False
        elif c == '"':
            quoted = True
        elif c == "@":
            ats.append(i)
        elif c in ",;<>()" or c.isspace():
            seen[c] = seen.get(c, 0) + 1
        i += 1
    if quoted:
        seen['"'] = 1
    return ats, seen


def _find_unquoted(s: str, target: str) -> int:
    quoted = False
    i = 0
    while i < len(s):
        c = s[i]
        if quoted:
            if c == "\\":
                i += 1
            elif c == '"':
                quoted = False
        elif c == '"':
            quoted = True
        elif c == target:
            return i
        i += 1
    return -1


def _normalize_local(local: str) -> str:
    """Canonical local part (raises _Reject): NFC, ASCII lowercase, quotes only when needed."""
    if not local.isascii():
        local = unicodedata.normalize("NFC", local)
    elif _DOT_ATOM_RE.fullmatch(local):
        return local.translate(_ASCII_LOWER)  # fast path: a plain ASCII dot-atom
    if local.startswith('"'):
        m = _QUOTED_RE.fullmatch(local)
        if m is None:
            raise _Reject("email.syntax", "the quoted local part is malformed")
        content = re.sub(r"\\(.)", r"\1", m.group(1)).translate(_ASCII_LOWER)
        if content and _DOT_ATOM_RE.fullmatch(content) and not _UNICODE_SPACE_RE.search(content):
            return content
        return '"' + content.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if not _DOT_ATOM_RE.fullmatch(local) or _UNICODE_SPACE_RE.search(local):
        raise _Reject("email.syntax", "the local part has a character or dot placement that needs quoting")
    return local.translate(_ASCII_LOWER)


def _normalize_email_domain(domain: str) -> tuple[str, _HostInfo, set[str]]:
    flags: set[str] = set()
    if domain.startswith("["):
        if not domain.endswith("]"):
            raise _Reject("email.domain_literal", "an address literal must end with ']'")
        inner = domain[1:-1]
        try:
            if inner[:5].lower() == "ipv6:":
                info = _host_from_text(f"[{ipaddress.IPv6Address(inner[5:])}]")
                return f"[IPv6:{info.host[1:-1]}]", info, flags
            ipaddress.IPv4Address(inner)
        except ValueError:
            raise _Reject("email.domain_literal", "only [IPv4] and [IPv6:...] address literals are accepted") from None
        info = _host_from_text(inner)
        return f"[{info.host}]", info, flags
    info = _host_from_text(domain)
    if info.ip is not None:
        raise _Reject("email.unbracketed_ip", "an IP address as a mail domain must be written as [1.2.3.4]")
    if not domain.isascii() and unicodedata.normalize("NFC", domain.lower()).rstrip(".") != ada_url.idna_to_unicode(info.host):
        flags.add("compatibility_mapped")
    return info.host, info, flags


def _parse_email(value: str) -> Destination:
    s = _screen(value, "email")
    if len(s) > 2048:
        raise InvalidDestination("email.too_long", value, "email", f"is {len(s)} characters long")
    flags: set[str] = set()
    addr = s
    display_address = ""
    if s.endswith(">"):
        lt = _find_unquoted(s, "<")
        if lt < 0:
            raise InvalidDestination("email.syntax", value, "email", "has '>' without '<'")
        display, addr = s[:lt].strip(), s[lt + 1 : -1].strip()
        if display:
            flags.add("display_name")
            ats, seen = _scan_unquoted(display)
            if seen.get(",") or seen.get(";"):
                raise InvalidDestination("email.multiple", value, "email", "holds more than one address")
            if seen.get("<") or seen.get(">") or seen.get('"'):
                raise InvalidDestination("email.syntax", value, "email", "has a malformed display name")
            if ats:
                flags.add("display_name_address")
                display_address = display
    ats, seen = _scan_unquoted(addr)
    if seen:
        if len(ats) > 1 or seen.get(",") or seen.get(";"):
            raise InvalidDestination("email.multiple", value, "email", "holds more than one address")
        raise InvalidDestination("email.syntax", value, "email", f"contains {next(iter(seen))!r} outside quotes")
    if not ats:
        raise InvalidDestination("email.missing_at", value, "email", "has no '@'")
    if len(ats) > 1:
        raise InvalidDestination("email.syntax", value, "email", "has more than one '@' outside quotes")
    local, domain = addr[: ats[0]], addr[ats[0] + 1 :]
    if not local:
        raise InvalidDestination("email.empty_local", value, "email", "has nothing before '@'")
    if not domain:
        raise InvalidDestination("email.empty_domain", value, "email", "has nothing after '@'")
    try:
        nlocal = _normalize_local(local)
        ndomain, info, dflags = _normalize_email_domain(domain)
    except _Reject as exc:
        raise InvalidDestination(exc.reason, value, "email", exc.message) from None
    if len(nlocal.encode("utf-8")) > 64:
        raise InvalidDestination("email.local_too_long", value, "email", "the local part is longer than 64 octets")
    if not nlocal.startswith('"') and "+" in nlocal:
        flags.add("plus_address")
    if not nlocal.isascii():
        flags.add("smtputf8")
    flags |= info.flags | dflags
    normalized = f"{nlocal}@{ndomain}"
    if len(normalized.encode("utf-8")) > 254:
        raise InvalidDestination("email.too_long", value, "email", "is longer than 254 octets")
    if display_address:
        # "eve@evil.test <bob@acme.example>": an unquoted '@' is not allowed in a display name
        # (RFC 5322 phrase), and mail libraries recover differently: Python's email package
        # sends to the first address, a strict parser to the bracketed one. Accepted only
        # when both name the same mailbox.
        try:
            other = _parse_email(display_address).normalized
        except InvalidDestination:
            other = ""
        if other != normalized:
            raise InvalidDestination(
                "email.ambiguous",
                value,
                "email",
                f"its display name {_show(display_address)} holds another address outside quotes; mail libraries disagree on which address the value names",
            )
    return _dest("email", value, normalized, info.host, info.registrable, None, frozenset(flags))


# --------------------------------------------------------------------------------------------
# iban, phone, channel

# IBAN lengths by country: the SWIFT IBAN registry, plus the territories that use their
# parent's format (FR: BL GF GP MF MQ NC PF PM RE TF WF YT; FI: AX; GB: GG IM JE).
_IBAN_LENGTHS = {
    cc: int(n)
    for cc, n in re.findall(
        r"([A-Z]{2})(\d+)",
        "AD24 AE23 AL28 AT20 AX18 AZ28 BA20 BE16 BG22 BH22 BI27 BL27 BR29 BY28 CH21 CR22 CY28 CZ24 "
        "DE22 DJ27 DK18 DO28 EE20 EG29 ES24 FI18 FK18 FO18 FR27 GB22 GE22 GF27 GG22 GI23 GL18 GP27 "
        "GR27 GT28 HN28 HR21 HU28 IE22 IL23 IM22 IQ23 IS26 IT27 JE22 JO30 KW30 KZ20 LB28 LC32 LI21 "
        "LT20 LU20 LV21 LY25 MC27 MD24 ME22 MF27 MK19 MN20 MQ27 MR27 MT31 MU30 NC27 NI28 NL18 NO15 "
        "OM23 PF27 PK24 PL28 PM27 PS29 PT25 QA29 RE27 RO24 RS22 RU33 SA24 SC31 SD18 SE24 SI19 SK24 "
        "SM27 SO23 ST25 SV28 TF27 TL23 TN24 TR26 UA29 VA22 VG24 WF27 XK20 YE30 YT27",
    )
}


def _iban_mod97(iban: str) -> int:
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97


def _compact_iban(s: str) -> str:
    s = unicodedata.normalize("NFKC", s)
    return re.sub(r"[ \-]", "", s).upper() if s.isascii() else s


def _parse_iban(value: str) -> Destination:
    s = _screen(value, "iban")
    iban = _compact_iban(s)
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}", iban):
        raise InvalidDestination("iban.syntax", value, "iban", "an IBAN is a country code, two check digits and up to 30 letters or digits")
    length = _IBAN_LENGTHS.get(iban[:2])
    if length is None:
        raise InvalidDestination("iban.country", value, "iban", f"{iban[:2]!r} is not a country that uses IBANs")
    if len(iban) != length:
        raise InvalidDestination("iban.length", value, "iban", f"a {iban[:2]} IBAN has {length} characters, not {len(iban)}")
    if _iban_mod97(iban) != 1:
        raise InvalidDestination("iban.checksum", value, "iban", "the check digits do not match (mod 97)")
    return _dest("iban", value, iban, flags=frozenset())


_PHONE_SEPARATORS_RE = re.compile(r"[\s().\-/]")


def _compact_phone(s: str) -> str:
    s = unicodedata.normalize("NFKC", s).strip()
    if s[:4].lower() == "tel:":
        s = s[4:]
    if s.startswith(("+", "00")):
        s = s.replace("(0)", "", 1)  # +49 (0)30 ...: the trunk prefix is not dialled internationally
    s = _PHONE_SEPARATORS_RE.sub("", s)
    return "+" + s[2:] if s.startswith("00") else s


@functools.lru_cache(maxsize=512)
def _national_prefix(cc: int) -> str | None:
    """The national (trunk) prefix dialled at home in the plan of country code ``cc``
    (``"0"`` for +44, ``"8"`` for +7, ``"06"`` for +36, ``"1"`` for +1), from libphonenumber's
    metadata; None for a plan without one (+39, +34)."""
    import phonenumbers
    from phonenumbers import PhoneMetadata

    md = PhoneMetadata.metadata_for_region_or_calling_code(cc, phonenumbers.region_code_for_country_code(cc))
    return (md.national_prefix or None) if md is not None else None


@functools.lru_cache(maxsize=1)
def trunk_zero_codes() -> tuple[str, ...]:
    """The country codes whose numbering plan dials a trunk ``0`` at home (libphonenumber's
    metadata): the codes a national number written with a leading ``0`` may belong to."""
    import phonenumbers

    return tuple(str(cc) for cc in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE) if _national_prefix(cc) == "0")


def phone_spellings(normalized: str) -> tuple[str, ...]:
    """The usual spellings of an international phone number (``+447700900444``) besides
    itself, as people write it: with the ``00`` international prefix, and nationally: with the
    plan's trunk prefix (``07700 900444``, ``8 495 123-45-67``), also as ``+44 (0)7700 900444``
    where that prefix is ``0``, and as the national number alone where the plan has none or
    people commonly leave it out (``(617) 555-0148``). The country code and the plan's prefix
    come from libphonenumber's metadata. Separators do not matter to the callers, which read
    numbers by their digits. Empty for a number without country code, or one libphonenumber
    cannot read."""
    if not normalized.startswith("+"):
        return ()
    import phonenumbers

    try:
        num = phonenumbers.parse(normalized, None)
    except phonenumbers.NumberParseException:
        return ()
    cc = str(num.country_code)
    digits = normalized[1:]
    if not digits.startswith(cc):
        return ()
    nsn = digits[len(cc):]  # as written: an Italian number keeps its leading 0
    if len(nsn) < 4:
        return ()
    prefix = _national_prefix(num.country_code)
    if prefix is None:
        return (f"00{cc} {nsn}", nsn)
    if prefix == "0":
        return (f"00{cc} {nsn}", f"+{cc} (0){nsn}", f"00{cc} (0){nsn}", "0" + nsn)
    # (the +1 plan's prefix is its country code: with it, the number is the number itself)
    return (f"00{cc} {nsn}", nsn) if prefix == cc else (f"00{cc} {nsn}", nsn, prefix + nsn)


def _parse_phone(value: str) -> Destination:
    s = _screen(value, "phone")
    compact = _compact_phone(s)
    if not re.fullmatch(r"\+?[0-9]+", compact):
        raise InvalidDestination("phone.syntax", value, "phone", "a phone number is digits with an optional leading '+' and separators ( ) - . / space")
    digits = compact.lstrip("+")
    flags = set()
    if compact.startswith("+"):
        if digits.startswith("0"):
            raise InvalidDestination("phone.country_code", value, "phone", "no country code starts with 0")
    else:
        flags.add("no_country_code")
    if not 7 <= len(digits) <= 15:
        raise InvalidDestination("phone.length", value, "phone", f"has {len(digits)} digits; E.164 numbers have 7 to 15")
    return _dest("phone", value, compact, flags=frozenset(flags))


def _fold_channel(s: str) -> str:
    for _ in range(4):
        folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", s).casefold()).strip()
        if folded == s:
            break
        s = folded
    return s


def _parse_channel(value: str) -> Destination:
    s = _screen(value, "channel")
    normalized = _fold_channel(s)
    if not normalized:
        raise InvalidDestination("empty", value, "channel", "is empty")
    if _UNICODE_SPACE_RE.search(normalized):
        raise InvalidDestination("channel.whitespace", value, "channel", "a channel name has no whitespace")
    if _INVISIBLE_RE.search(normalized):  # pragma: no cover - NFKC does not produce them
        raise InvalidDestination("control_characters", value, "channel", "contains an invisible character")
    flags = {"compatibility_mapped"} if unicodedata.normalize("NFKC", s) != s else set()
    return _dest("channel", value, normalized, flags=frozenset(flags))


# --------------------------------------------------------------------------------------------
# path

_MAX_PATH = 4096
_PCT_RE = re.compile(r"%([0-9A-Fa-f]{2})|%[uU]([0-9A-Fa-f]{4})")


def _decode_path_once(s: str) -> str:
    def repl(m: re.Match[str]) -> str:
        if m.group(2):
            return chr(int(m.group(2), 16))
        return "%" + m.group(1) if int(m.group(1), 16) >= 0x80 else chr(int(m.group(1), 16))

    # Multi-byte sequences stay encoded: they cannot spell '.', '/' or '\\' in valid UTF-8,
    # and the overlong forms that would (%c0%ae) are refused below.
    return _PCT_RE.sub(repl, s)


def _structure(p: str) -> list[str]:
    return [c if c in ("", ".", "..") else "*" for c in p.split("/")]


def _check_path_spelling(value: str, s: str) -> set[str]:
    flags: set[str] = set()
    if "\\" in s:
        raise InvalidDestination("path.backslash", value, "path", "contains '\\', a path separator on Windows and a literal on POSIX")
    if re.search(r"%(?:c0|c1|e0%[89][0-9a-f]|f0%8[0-9a-f])", s, re.IGNORECASE):
        raise InvalidDestination("path.encoded_traversal", value, "path", "contains an overlong UTF-8 percent-encoding")
    decoded = s
    for _ in range(4):
        nxt = unicodedata.normalize("NFKC", _decode_path_once(decoded))
        if nxt == decoded:
            break
        decoded = nxt
    if decoded != s:
        if "\x00" in decoded or "\\" in decoded or _structure(decoded) != _structure(s):
            raise InvalidDestination(
                "path.encoded_traversal",
                value,
                "path",
                "contains percent-encoded or look-alike separators or dots (%2e, %2f, ．, ․ ...) that decode to a different path",
            )
        flags.add("compatibility_mapped" if not s.isascii() else "percent_encoded")
    return flags


def _lexical(p: str) -> str:
    out = posixpath.normpath(p)
    return "/" + out.lstrip("/") if out.startswith("//") else out


def _within(p: str, root: str) -> bool:
    return p == root or p.startswith(root if root.endswith("/") else root + "/")


def _parse_path(value: str, roots: tuple[str, ...]) -> Destination:
    if not isinstance(value, str):
        raise TypeError(f"a path destination must be a str, not {type(value).__name__}")
    if "\x00" in value:
        raise InvalidDestination("path.nul_byte", value, "path", "contains a NUL byte")
    # Spaces are legal at either end of a file name, so only tabs and line breaks are stripped.
    s = _screen(value, "path", strip="\t\n\r\f\v")
    if len(s) > _MAX_PATH:
        raise InvalidDestination("path.too_long", value, "path", f"is {len(s)} characters long")
    flags = _check_path_spelling(value, s)
    if not roots:
        lexical = _lexical(s)
        if not lexical.startswith("/"):
            if lexical == ".." or lexical.startswith("../"):
                raise InvalidDestination("path.traversal", value, "path", "climbs above its starting directory")
            flags.add("relative")
        return _dest("path", value, lexical, flags=frozenset(flags))
    lexical_roots, real_roots = _roots(roots)
    joined = s if s.startswith("/") else lexical_roots[0] + "/" + s
    lexical = _lexical(joined)
    if not any(_within(lexical, r) for r in lexical_roots + real_roots):
        raise InvalidDestination("path.outside_root", value, "path", f"resolves to {lexical!r}, outside the allowed roots")
    try:
        # realpath on the joined spelling: the kernel resolves a symlink before a later '..'.
        real = os.path.realpath(joined)
    except (OSError, ValueError) as exc:
        raise InvalidDestination("path.unresolvable", value, "path", f"cannot be resolved: {exc}") from None
    if real != lexical:
        flags.add("symlink")
    if not any(_within(real, r) for r in real_roots):
        raise InvalidDestination("path.outside_root", value, "path", f"resolves through a symbolic link to {real!r}, outside the allowed roots")
    return _dest("path", value, real, flags=frozenset(flags))


@functools.lru_cache(maxsize=256)
def _roots(roots: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    lexical: list[str] = []
    for root in roots:
        if not isinstance(root, str) or not root.startswith("/") or "\x00" in root:
            raise ValueError(f"a path root must be an absolute POSIX path, not {root!r}")
        lexical.append(_lexical(root))
    return tuple(lexical), tuple(os.path.realpath(r) for r in lexical)


# --------------------------------------------------------------------------------------------
# parse_destination

_PARSERS: dict[str, Callable[[str], Destination]] = {
    "email": _parse_email,
    "url": _parse_url,
    "domain": _parse_domain,
    "host": _parse_host,
    "iban": _parse_iban,
    "phone": _parse_phone,
    "channel": _parse_channel,
}
_CACHE_LIMIT = 2048  # longer values are parsed every time rather than pinned in the cache


@functools.lru_cache(maxsize=16384)
def _parse_cached(kind: str, value: str) -> Destination:
    return _PARSERS[kind](value)


def parse_destination(kind: str, value: str, *, roots: Sequence[str] = ()) -> Destination:
    """Parse ``value`` as a destination of ``kind`` and return its canonical form.

    Raises :class:`InvalidDestination` (a ``ValueError``) when the value is not a valid
    ``kind``, and plain ``ValueError`` for a kind that is not a value kind (``markdown`` and
    ``html`` are containers: call :func:`extract_urls` and parse each URL as ``url``).

    ``roots`` only applies to ``path``. A path is resolved lexically (``.``/``..``); a
    relative path is joined to the first root; the result must lie inside a root. With
    roots, symbolic links are then resolved (``os.path.realpath``) and the real path must
    lie inside a root's real path too; ``normalized`` is the real path (flag ``symlink``
    when it differs), so allow-list globs judge the file that is actually reached. Without
    roots no file system access happens and ``normalized`` is the lexical path. Encoded or
    look-alike dots and separators (``%2e%2e``, ``．．``, ``․․``) are refused
    (``path.encoded_traversal``) rather than decoded: a file system compares bytes, so
    decoding would judge a different file than the tool opens.

    >>> parse_destination("url", "https://user:pw@ACME.example.:443/a/../b").normalized
    'https://acme.example/b'
    >>> parse_destination("email", "Bob <Bob+x@ACME.example>").normalized
    'bob+x@acme.example'
    """
    if kind == "path":
        return _parse_path(value, tuple(roots))
    parser = _PARSERS.get(kind)
    if parser is None:
        if kind in _CONTAINER_KINDS:
            raise ValueError(f"{kind!r} is a container kind: use extract_urls() and parse each URL as 'url'")
        raise ValueError(f"unknown destination kind {kind!r}; expected one of: {', '.join(_VALUE_KINDS)}")
    if not isinstance(value, str):
        raise TypeError(f"a {kind} destination must be a str, not {type(value).__name__}")
    if len(value) > _CACHE_LIMIT:
        return parser(value)
    return _parse_cached(kind, value)


# --------------------------------------------------------------------------------------------
# Allow-lists


class _PatternError(Exception):
    pass


_Matcher = Callable[[Destination], bool]


class _HostPattern(NamedTuple):
    """A compiled host pattern: ``any``, ``exact``, ``suffix`` (``*.x``), ``glob`` or ``net``."""

    mode: str
    value: Any

    def matches(self, host: str | None) -> bool:
        if host is None:
            return False
        mode = self.mode
        if mode == "exact":
            return bool(host == self.value)
        if mode == "suffix":
            return host.endswith(self.value) and len(host) > len(self.value)
        if mode == "any":
            return True
        ip = _ip_of(host)
        if mode == "net":
            return ip is not None and ip.version == self.value.version and ip in self.value
        return ip is None and self.value.fullmatch(host) is not None  # glob: names only


def _pattern_text(p: object) -> str:
    if not isinstance(p, str):
        raise _PatternError(f"a pattern must be a string, not {type(p).__name__}")
    s = p.strip()
    if not s:
        raise _PatternError("the pattern is empty")
    m = _INVISIBLE_RE.search(s)
    if m is not None:
        raise _PatternError(f"contains the invisible or control character U+{ord(m.group()):04X}")
    return s


def _normalize_pattern_host(text: str) -> _HostInfo:
    try:
        return _host_from_text(text)
    except _Reject as exc:
        raise _PatternError(exc.message) from None


def _compile_host_pattern(p: str) -> _HostPattern:
    """Domain-pattern rules shared by domain, host, email and url allow-lists."""
    if p == "*":
        return _HostPattern("any", None)
    if "/" in p:  # CIDR
        addr, _, bits = p.rpartition("/")
        if addr.startswith("[") and addr.endswith("]"):
            addr = addr[1:-1]
        try:
            return _HostPattern("net", ipaddress.ip_network(f"{addr}/{bits}"))
        except ValueError as exc:
            raise _PatternError(f"not a valid CIDR block ({exc})") from None
    if p.count(":") > 1 and not p.startswith("["):
        p = f"[{p}]"
    if "*" not in p:
        info = _normalize_pattern_host(p)
        if info.ip is not None:
            return _HostPattern("net", ipaddress.ip_network(info.ip))
        return _HostPattern("exact", info.host)
    if "**" in p:
        raise _PatternError("'**' has no meaning in a host pattern; '*.' at the start matches any depth")
    labels = p[:-1].split(".") if p.endswith(".") else p.split(".")
    if len(labels) < 2:
        raise _PatternError("a wildcard host pattern needs a fixed domain, e.g. *.acme.example")
    if all(re.fullmatch(r"[0-9*]+", label) for label in labels):
        raise _PatternError("for address ranges use CIDR notation, e.g. 10.0.0.0/8")
    if "*" in labels[-1]:
        raise _PatternError("a wildcard in the top-level label matches domains anyone can register")
    leading = labels[0] == "*"
    body = labels[1:] if leading else labels
    if not any("*" in label for label in body):
        fixed = _normalize_pattern_host(".".join(body))
        if fixed.ip is not None:
            raise _PatternError("for address ranges use CIDR notation, e.g. 10.0.0.0/8")
        _refuse_public_suffix(fixed.host)
        return _HostPattern("suffix", "." + fixed.host)
    tail = body[max(i for i, label in enumerate(body) if "*" in label) + 1 :]
    _refuse_public_suffix(_normalize_pattern_host(".".join(tail)).host)
    regex = [r"(?:[^.]+\.)+"] if leading else []
    for i, label in enumerate(body):
        if "*" in label:
            if not re.fullmatch(r"[A-Za-z0-9_*-]+", label):
                raise _PatternError(f"the label {label!r} mixes a wildcard with characters that are not ASCII letters, digits, '-' or '_'")
            regex.append(".*".join(re.escape(part) for part in label.lower().split("*")).replace(".*", "[^.]*"))
        else:
            fixed_label = _normalize_pattern_host(label).host
            if "." in fixed_label:
                raise _PatternError(f"the label {label!r} maps to more than one label")
            regex.append(re.escape(fixed_label))
        if i < len(body) - 1:
            regex.append(r"\.")
    return _HostPattern("glob", re.compile("".join(regex)))


def _refuse_public_suffix(fixed: str) -> None:
    suffix = _public_suffix_under(fixed)
    if suffix == fixed:
        raise _PatternError(f"{fixed!r} is a public suffix: the pattern would match domains anyone can register")
    if suffix is not None:
        raise _PatternError(
            f"names under {fixed!r} include the public suffix {suffix!r}, where anyone can register a domain; list the hosts you mean instead"
        )


def _split_port(p: str) -> tuple[str, str | None]:
    """Split ``host:port`` / ``[v6]:port`` / ``host:*`` (port None when absent)."""
    if p.startswith("["):
        close = p.find("]")
        if close < 0:
            raise _PatternError("an IPv6 literal must be written as [address]")
        host, tail = p[: close + 1], p[close + 1 :]
        if tail and not tail.startswith(":"):
            raise _PatternError(f"unexpected {tail!r} after the IPv6 literal")
        return host, tail[1:] if tail else None
    if p.count(":") == 1:
        host, _, port = p.partition(":")
        return host, port
    return p, None


def _port_value(port: str | None) -> int | str | None:
    if port is None:
        return None
    if port == "*":
        return "*"
    if not re.fullmatch(r"[0-9]{1,5}", port) or not 0 < int(port) <= 65535:
        raise _PatternError(f"{port!r} is not a port number from 1 to 65535 (or '*')")
    return int(port)


def _domain_matcher(p: str) -> _Matcher:
    hp = _compile_host_pattern(p)
    return lambda d: hp.matches(d.host)


def _host_matcher(p: str) -> _Matcher:
    host, port_text = _split_port(p) if "/" not in p else (p, None)
    hp = _compile_host_pattern(host)
    port = _port_value(port_text)
    if port is None or port == "*":
        return lambda d: hp.matches(d.host)

    def match(d: Destination) -> bool:
        host = d.host
        if not hp.matches(host) or host is None or len(d.normalized) <= len(host):
            return False
        return d.normalized[len(host) + 1 :] == str(port)

    return match


def _email_matcher(p: str) -> _Matcher:
    local, at, domain = p.rpartition("@")
    if not at:
        local, domain = "*", p  # a bare domain pattern: any address at that domain
    if not local:
        raise _PatternError("the local part is empty (use '*@domain' for any address)")
    if domain.startswith("[") and domain.endswith("]"):
        inner = domain[1:-1]
        domain = f"[{inner[5:]}]" if inner[:5].lower() == "ipv6:" else inner
    hp = _compile_host_pattern(domain)
    if local == "*":
        return lambda d: hp.matches(d.host)
    if any(c in local for c in "*?["):
        rx = re.compile(fnmatch.translate(unicodedata.normalize("NFC", local).translate(_ASCII_LOWER)))

        def glob_match(d: Destination) -> bool:
            return hp.matches(d.host) and rx.match(d.normalized.rpartition("@")[0]) is not None

        return glob_match
    try:
        exact = _normalize_local(local)
    except _Reject as exc:
        raise _PatternError(exc.message) from None

    def exact_match(d: Destination) -> bool:
        return hp.matches(d.host) and d.normalized.rpartition("@")[0] == exact

    return exact_match


def _glob_regex(glob: str, star: str) -> str:
    return star.join(re.escape(part) for part in glob.split("*"))


_UNRESERVED_PCT_RE = re.compile(r"%([0-9A-Fa-f]{2})")


def _canon_pct(s: str) -> str:
    """Decode percent-escapes of RFC 3986 unreserved characters; upper-case the rest."""

    def repl(m: re.Match[str]) -> str:
        c = chr(int(m.group(1), 16))
        return c if (c.isascii() and (c.isalnum() or c in "-._~")) else "%" + m.group(1).upper()

    return _UNRESERVED_PCT_RE.sub(repl, s) if "%" in s else s


class _URLView(NamedTuple):
    scheme: str
    host: str
    port: int | None
    path: str
    query: str | None


@functools.lru_cache(maxsize=8192)
def _url_view(normalized: str) -> _URLView | None:
    scheme, sep, rest = normalized.partition("://")
    if not sep or scheme not in _NETWORK_SCHEMES:
        return None
    slash = rest.find("/")
    authority, tail = (rest, "/") if slash < 0 else (rest[:slash], rest[slash:])
    tail = tail.partition("#")[0]
    path, qmark, query = tail.partition("?")
    host, port_text = _split_port(authority) if authority.count(":") <= 1 or authority.startswith("[") else (authority, None)
    port = int(port_text) if port_text and port_text.isdigit() else None
    return _URLView(scheme, host, port, _canon_pct(path), _canon_pct(query) if qmark else None)


_IP_PATTERN_RE = re.compile(r"\[[^\]]*\](?:/[0-9]+)?|[0-9A-Fa-f.:]*:[0-9A-Fa-f.:]*(?:/[0-9]+)?")


def _url_matcher(p: str) -> _Matcher:
    if "://" in p:
        scheme, _, rest = p.partition("://")
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.\-]*", scheme):
            raise _PatternError(f"{scheme!r} is not a URL scheme")
        scheme = scheme.lower()
        if scheme not in _NETWORK_SCHEMES:
            return _opaque_url_matcher(f"{scheme}://{rest}")
        return _network_url_matcher(scheme, rest)
    scheme_match = re.match(r"([A-Za-z][A-Za-z0-9+.\-]*):", p)
    if scheme_match and not _IP_PATTERN_RE.fullmatch(p):
        tail, scheme = p[scheme_match.end() :], scheme_match.group(1).lower()
        if re.fullmatch(r"[0-9]*", tail) or (tail == "*" and ("." in scheme or scheme == "localhost")):
            raise _PatternError("a host pattern in a url allow-list has no port; write a URL pattern such as https://host:8443/*")
        if scheme in _NETWORK_SCHEMES:
            raise _PatternError(f"write {scheme} URL patterns as {scheme}://host/path")
        return _opaque_url_matcher(scheme + p[scheme_match.end() - 1 :])
    hp = _compile_host_pattern(p)
    return lambda d: d.scheme in _HOST_PATTERN_SCHEMES and hp.matches(d.host)


def _opaque_url_matcher(p: str) -> _Matcher:
    rx = re.compile(_glob_regex(p, ".*"), re.DOTALL)
    return lambda d: rx.fullmatch(d.normalized) is not None


def _network_url_matcher(scheme: str, rest: str) -> _Matcher:
    if "#" in rest:
        raise _PatternError("a fragment is never sent to the server; remove the '#...' part")
    end = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    authority, path_query = rest[:end], rest[end:]
    if "@" in authority:
        raise _PatternError("credentials have no place in a pattern")
    if not authority:
        raise _PatternError("the URL pattern has no host")
    host_text, port_text = _split_port(authority)
    hp = _compile_host_pattern(host_text)
    port = _port_value(port_text)
    default = _DEFAULT_PORTS[scheme]
    if port == default:
        port = None
    path_glob, qmark, query_glob = path_query.partition("?")
    path_rx = query_rx = None
    guard_encoded = False
    if path_glob:
        if re.search(r"(?:^|/)(?:\.|\.\.|%2e|%2e%2e|\.%2e|%2e\.)(?:/|$)", path_glob, re.IGNORECASE):
            raise _PatternError("the path pattern has '.' or '..' segments")
        probe = _ada_parse(f"{scheme}://h{path_glob}")
        if probe is None:
            raise _PatternError("the path pattern is not a valid URL path")  # pragma: no cover
        path_norm = _canon_pct(probe.path)
        path_rx = re.compile(_glob_regex(path_norm, ".*"), re.DOTALL)
        guard_encoded = path_norm != "/*"
    if qmark:
        probe = _ada_parse(f"{scheme}://h/?{query_glob}")
        query_norm = _canon_pct(probe.search[1:] if probe is not None else query_glob)
        query_rx = re.compile(_glob_regex(query_norm, ".*"), re.DOTALL)

    def match(d: Destination) -> bool:
        if d.scheme != scheme or not hp.matches(d.host):
            return False
        view = _url_view(d.normalized)
        if view is None:
            return False
        if port != "*" and view.port != port:
            return False
        if path_rx is not None:
            if guard_encoded and _ENCODED_SEPARATOR_RE.search(view.path):
                return False  # %2f, %5c, %2e could walk out of the allowed path on the server
            if path_rx.fullmatch(view.path) is None:
                return False
        return query_rx is None or query_rx.fullmatch(view.query or "") is not None

    return match


def _prefix_or_exact(
    p: str, compact: Callable[[str], str], prefix_rx: str, hint: str, parse: Callable[[str], Destination]
) -> _Matcher:
    """``PREFIX*`` matches normalised values starting with the compacted prefix; else exact."""
    if p.endswith("*"):
        prefix = compact(p[:-1])
        if not re.fullmatch(prefix_rx, prefix):
            raise _PatternError(hint)
        return lambda d: d.normalized.startswith(prefix)
    try:
        exact = parse(p).normalized
    except InvalidDestination as exc:
        raise _PatternError(exc.message) from None
    return lambda d: d.normalized == exact


def _iban_matcher(p: str) -> _Matcher:
    return _prefix_or_exact(
        p, _compact_iban, r"[A-Z0-9]*", "an IBAN prefix pattern is letters and digits followed by '*', e.g. DE*", _parse_iban
    )


def _phone_matcher(p: str) -> _Matcher:
    return _prefix_or_exact(
        p, _compact_phone, r"\+?[0-9]*",
        "a phone prefix pattern is an optional '+' and digits followed by '*', e.g. +4930*", _parse_phone,
    )


def _channel_matcher(p: str) -> _Matcher:
    rx = re.compile(fnmatch.translate(_fold_channel(p)))
    return lambda d: rx.match(d.normalized) is not None


def _path_matcher(p: str) -> _Matcher:
    if not p.startswith("/"):
        raise _PatternError("a path pattern must be absolute, e.g. /data/reports/**")
    if "\x00" in p or "\\" in p:
        raise _PatternError("a path pattern has no NUL or backslash")
    segments = [seg for seg in p.split("/")[1:] if seg]
    if any(seg in (".", "..") for seg in segments):
        raise _PatternError("a path pattern has no '.' or '..' segments")
    regex = ""
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if seg == "**":
            regex += "(?:/[^/]+)+" if last else "(?:/[^/]+)*"
        elif "**" in seg:
            raise _PatternError("'**' must be a whole segment, e.g. /data/**/x.csv")
        else:
            regex += "/" + re.escape(seg).replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
    rx = re.compile(regex or "/", re.DOTALL)
    return lambda d: rx.fullmatch(d.normalized) is not None


_COMPILERS: dict[str, Callable[[str], _Matcher]] = {
    "email": _email_matcher,
    "url": _url_matcher,
    "domain": _domain_matcher,
    "host": _host_matcher,
    "iban": _iban_matcher,
    "phone": _phone_matcher,
    "channel": _channel_matcher,
    "path": _path_matcher,
}
_COMPATIBLE = {"domain": ("domain", "host"), "host": ("host", "domain")}


class AllowList:
    """Compiled allow patterns for one destination kind. Built once at manifest load; matching
    is on normalised forms only.

    Patterns, by kind:

    * ``domain`` / ``host``: ``acme.example`` matches that host exactly (after the same
      normalisation as values: case, IDNA, trailing dot, IPv4 forms); ``*.acme.example``
      matches every subdomain at any depth but not ``acme.example`` itself; any other ``*``
      matches within one label (``api-*.acme.example``); ``*`` alone matches every host.
      ``10.0.0.0/8``, ``[2001:db8::]/32`` and single addresses match IP hosts (IPv4-mapped
      IPv6 hosts as their IPv4 address). Name patterns never match IP hosts. For ``host``
      a ``:port`` (or ``:*``) suffix restricts the port; without one any port matches.
      Refused: a wildcard that reaches names anyone can register, because the fixed part is
      or contains a public suffix (``*.github.io``, ``*.co.uk``, ``*.amazonaws.com``,
      ``acme-*.com``) or the wildcard is in the top-level label (``acme.*``); globs over
      digits (use CIDR).
    * ``email``: ``local@domain-pattern``; the local part is a case-insensitive glob
      (``*@acme.example``, ``billing-*@*.acme.example``); a bare domain pattern means
      ``*@domain``.
    * ``url``: with ``://`` a URL pattern: the scheme must be equal, the host follows the
      domain rules, the port must be equal (the default port when none is written; ``:*``
      any), the path is a glob where ``*`` also crosses ``/`` (no path: any path), the query
      is ignored unless the pattern has ``?``. Without ``://`` a host pattern, matching any
      http/https/ws/wss URL on that host. ``data:``/``javascript:``/``file:``... URLs match
      only patterns of their own scheme (``data:image/png;*``), as a glob over the whole URL.
    * ``iban``: exact or prefix (``DE*``); ``phone``: exact or prefix (``+4930*``);
      ``channel``: a glob on the folded name; ``path``: a glob on the resolved path
      (``**`` any number of segments, ``*`` and ``?`` within one).

    >>> allow = AllowList("email", ["*@acme.example"])
    >>> allow.match(parse_destination("email", "Bob@ACME.example"))
    '*@acme.example'
    """

    __slots__ = ("_cache", "_matchers", "kind", "patterns")

    kind: str
    patterns: tuple[str, ...]

    def __init__(self, kind: str, patterns: Sequence[str]) -> None:
        compiler = _COMPILERS.get(kind)
        if compiler is None:
            raise ValueError(f"no allow-list for kind {kind!r}; expected one of: {', '.join(_COMPILERS)}")
        if isinstance(patterns, str):
            raise ValueError(f"allow patterns must be a list of strings, not the single string {_show(patterns)}")
        self.kind = kind
        self.patterns = tuple(patterns)
        matchers: list[_Matcher] = []
        for p in self.patterns:
            try:
                matchers.append(compiler(_pattern_text(p)))
            except _PatternError as exc:
                raise ValueError(f"bad {kind} allow pattern {_show(p)}: {exc}") from None
        self._matchers = tuple(matchers)
        self._cache: dict[Destination, str | None] = {}

    def match(self, dest: Destination) -> str | None:
        """The first pattern (in declaration order) that ``dest`` matches, or None."""
        if dest.kind != self.kind and dest.kind not in _COMPATIBLE.get(self.kind, ()):
            raise ValueError(f"a {dest.kind} destination cannot be matched against a {self.kind} allow-list")
        try:
            return self._cache[dest]
        except KeyError:
            pass
        result = next((p for p, m in zip(self.patterns, self._matchers, strict=True) if m(dest)), None)
        if len(self._cache) >= 4096:
            self._cache.clear()
        self._cache[dest] = result
        return result

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def __len__(self) -> int:
        return len(self.patterns)

    def __repr__(self) -> str:
        return f"AllowList({self.kind!r}, {list(self.patterns)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AllowList) and (self.kind, self.patterns) == (other.kind, other.patterns)

    def __hash__(self) -> int:
        return hash((self.kind, self.patterns))


# --------------------------------------------------------------------------------------------
# URLs embedded in markdown, HTML and text


@dataclass(frozen=True, slots=True)
class EmbeddedURL:
    """A URL found in rendered text. ``start``/``end`` delimit its spelling in the text;
    ``url`` is what the renderer resolves (entities and escapes decoded, tabs and newlines
    removed). ``resource`` is True when the renderer fetches it without a click (images,
    scripts, stylesheets, frames, CSS ``url()``, ``<a ping>``, meta refresh ...)."""

    url: str
    start: int
    end: int
    resource: bool


class _Found:
    def __init__(self) -> None:
        self.items: dict[tuple[int, int, str], bool] = {}
        self.bare: dict[tuple[int, int, str], bool] = {}
        self.base: str | None = None

    def add(self, url: str, start: int, end: int, resource: bool, *, bare: bool = False) -> None:
        url = _clean_url(url)
        if not url:
            return
        items = self.bare if bare else self.items
        key = (start, end, url)
        items[key] = items.get(key, False) or resource

    def add_variants(self, raw: str, start: int, end: int, resource: bool, decoders: Iterable[Callable[[str], str]]) -> None:
        seen: set[str] = set()
        for decode in decoders:
            url = decode(raw)
            if url not in seen:
                seen.add(url)
                self.add(url, start, end, resource)

    def result(self) -> list[EmbeddedURL]:
        items = dict(self.items)
        # A bare-URL match that starts where a link, image or attribute URL starts is a
        # worse reading of the same URL (it stops at a newline or a bracket): drop it.
        starts = {start for start, _, _ in self.items}
        items.update((key, res) for key, res in self.bare.items() if key[0] not in starts)
        if self.base is not None:  # <base href> also applies to every relative URL
            for (start, end, url), resource in self.items.items():
                if _ada_parse(url) is None:
                    resolved = _ada_parse(url, self.base)
                    if resolved is not None:
                        key = (start, end, resolved.href)
                        items[key] = items.get(key, False) or resource
        # One entry per (start, url): a bare-URL match at the start of a link or an attribute
        # is the same URL; keep the longest span and the resource flag of either.
        merged: dict[tuple[int, str], tuple[int, bool]] = {}
        for (start, end, url), resource in items.items():
            prev_end, prev_resource = merged.get((start, url), (end, False))
            merged[(start, url)] = (max(end, prev_end), resource or prev_resource)
        return [EmbeddedURL(url, start, end, res) for (start, url), (end, res) in sorted(merged.items())]


_TAB_NEWLINE = str.maketrans("", "", "\t\n\r")
_C0_AND_SPACE = "".join(chr(i) for i in range(0x21))


def _clean_url(url: str) -> str:
    # What a browser does before parsing: drop tabs/newlines, trim C0 controls and spaces.
    return url.translate(_TAB_NEWLINE).strip(_C0_AND_SPACE)


# --- decoders -------------------------------------------------------------------------------

_CHARREF_RE = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)")
_MD_ESCAPE_OR_REF_RE = re.compile(r"\\([!-/:-@\[-`{-~])|&(#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{1,31};)")


def _charref(ref: str, attribute: bool) -> str | None:
    """Decode one ``&...`` reference as the HTML tokenizer does; None to leave it alone."""
    if ref[1] == "#" or (ref.endswith(";") and ref[1:] in _HTML5):
        return html.unescape(ref)
    name = ref[1:]
    for x in range(len(name), 1, -1):
        if name[:x] in _HTML5:
            if attribute and x < len(name) and (name[x].isalnum() or name[x] == "="):
                return None  # historical rule: "&amp=" in an attribute stays as written
            return _HTML5[name[:x]] + name[x:]
    return None


def _decode_map(s: str, rx: re.Pattern[str], repl: Callable[[re.Match[str]], str | None]) -> tuple[str, list[int]]:
    """Decode ``s``; also return, for each decoded character, its offset in ``s``."""
    out: list[str] = []
    index: list[int] = []
    pos = 0
    for m in rx.finditer(s):
        rep = repl(m)
        if rep is None:
            continue
        out.append(s[pos : m.start()])
        index.extend(range(pos, m.start()))
        out.append(rep)
        index.extend([m.start()] * len(rep))
        pos = m.end()
    out.append(s[pos:])
    index.extend(range(pos, len(s)))
    index.append(len(s))
    return "".join(out), index


def _attr_decode(s: str) -> tuple[str, list[int]]:
    return _decode_map(s, _CHARREF_RE, lambda m: _charref(m.group(0), True))


def _attr_unescape(s: str) -> str:
    return _attr_decode(s)[0] if "&" in s else s


def _text_decode(s: str) -> tuple[str, list[int]]:
    return _decode_map(s, _CHARREF_RE, lambda m: _charref(m.group(0), False))


def _md_repl(m: re.Match[str]) -> str | None:
    return m.group(1) if m.group(1) is not None else html.unescape(m.group(0))


def _md_decode(s: str) -> tuple[str, list[int]]:
    return _decode_map(s, _MD_ESCAPE_OR_REF_RE, _md_repl)


def _md_unescape(s: str) -> str:
    return _md_decode(s)[0] if ("\\" in s or "&" in s) else s


def _identity(s: str) -> str:
    return s


_MD_DECODERS = (_md_unescape, _identity, html.unescape)
_LITERAL_DECODERS = (_identity, html.unescape)
_ATTR_DECODERS = (_attr_unescape, html.unescape)


# --- bare URLs ------------------------------------------------------------------------------

_BARE_RE = re.compile(r"(?:(?:https?|wss?|ftps?)://|(?<![\w.@-])www\.)[^\s<>\"'`\x00-\x1f\x7f]*", re.IGNORECASE)


def _trim_bare(url: str) -> str:
    depth = {"(": 0, "[": 0}
    for i, c in enumerate(url if (")" in url or "]" in url) else ""):  # an unbalanced closing bracket ends the URL: "...png)](..."
        if c in "([":
            depth[c] += 1
        elif c in ")]":
            opener = "(" if c == ")" else "["
            if depth[opener] == 0:
                url = url[:i]
                break
            depth[opener] -= 1
    # Brackets are balanced now; strip trailing punctuation and entity-like "&name;" (GFM).
    while True:
        url = url.rstrip("?!.,:;*_~\"'")
        if not url.endswith(";"):
            return url
        amp = url.rfind("&")
        if amp < 0 or not url[amp + 1 : -1].isalnum():
            return url
        url = url[:amp]


def _scan_bare(text: str, index: list[int] | None, found: _Found) -> None:
    for m in _BARE_RE.finditer(text):
        spelled = _trim_bare(m.group(0))
        start, end = m.start(), m.start() + len(spelled)
        if spelled.endswith(("://", "www.")):
            continue
        url = spelled if "://" in spelled else "http://" + spelled  # GFM: www.x.com is http://www.x.com
        if index is not None:
            start, end = index[start], index[end]
        found.add(url, start, end, False, bare=True)


# --- markdown -------------------------------------------------------------------------------

_MD_REFDEF_RE = re.compile(
    r"^[ \t>]*(?:(?:[-+*]|[0-9]{1,9}[.)])[ \t]+)*\[((?:[^\[\]\\]|\\.){1,999})\]:[ \t]*(?:\r?\n[ \t>]*)?(<[^<>\n]*>|\S+)",
    re.MULTILINE,
)
_AUTOLINK_RE = re.compile(r"<([A-Za-z][A-Za-z0-9+.\-]{1,31}:[^\x00-\x20<>]*)>")
_EMAIL_AUTOLINK_RE = re.compile(r"<([A-Za-z0-9.!#$%&'*+/=?^_`{|}~\-]+@[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?)>")


def _md_label(label: str) -> str:
    return " ".join(_md_unescape(label).split()).casefold()


_MD_DEST_CHUNK_RE = re.compile(r"[^\x00-\x20()\\]+")


def _md_destination(text: str, i: int) -> tuple[int, int] | None:
    n = len(text)
    while i < n and text[i] in " \t\r\n":
        i += 1
    if i < n and text[i] == "<":
        k = i + 1
        while k < n and text[k] not in "<>\n":
            k += 2 if text[k] == "\\" else 1
        return (i + 1, k) if k < n and text[k] == ">" else None
    depth, k = 0, i
    while k < n:
        chunk = _MD_DEST_CHUNK_RE.match(text, k)
        if chunk is not None:
            k = chunk.end()
            if k >= n:
                break
        c = text[k]
        if c == "\\" and k + 1 < n:
            k += 2
            continue
        if c <= " ":
            break
        if c == "(":
            depth += 1
            if depth > 32:  # cmark's nesting limit: deeper is not a link (and keeps this linear)
                return None
        elif c == ")":
            if depth == 0:
                break
            depth -= 1
        k += 1
    return (i, k) if k > i else None


def _scan_markdown(text: str, found: _Found) -> None:
    stack: list[int] = []
    image_labels: set[str] = set()
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            stack.append(i)
        elif c == "]" and stack:
            open_ = stack.pop()
            image = open_ > 0 and text[open_ - 1] == "!" and not (open_ > 1 and text[open_ - 2] == "\\")
            if i + 1 < n and text[i + 1] == "(":
                span = _md_destination(text, i + 2)
                if span is not None:
                    found.add_variants(text[span[0] : span[1]], span[0], span[1], image, _MD_DECODERS)
            elif image:
                label = text[open_ + 1 : i]
                if i + 1 < n and text[i + 1] == "[":
                    close = text.find("]", i + 2)
                    if close > i + 2:
                        label = text[i + 2 : close]
                image_labels.add(_md_label(label))
        i += 1
    for m in _MD_REFDEF_RE.finditer(text):
        start, end = m.span(2)
        if text[start] == "<":
            start, end = start + 1, end - 1
        found.add_variants(text[start:end], start, end, _md_label(m.group(1)) in image_labels, _MD_DECODERS)
    for m in _AUTOLINK_RE.finditer(text):
        found.add_variants(m.group(1), m.start(1), m.end(1), False, _LITERAL_DECODERS)
    for m in _EMAIL_AUTOLINK_RE.finditer(text):
        found.add("mailto:" + m.group(1), m.start(1), m.end(1), False)


# --- HTML -----------------------------------------------------------------------------------

_TAG_RE = re.compile(r"<([A-Za-z][^\t\n\f\r />]*)")
_HTML_SPACE = "\t\n\f\r "
# Attributes whose URL the renderer fetches by itself (True) or only on a click or submit (False).
_URL_ATTRS = {
    "src": True,
    "poster": True,
    "background": True,
    "lowsrc": True,
    "dynsrc": True,
    "manifest": True,
    "codebase": True,
    "classid": True,
    "icon": True,
    "data": True,
    "action": False,
    "formaction": False,
    "cite": False,
    "longdesc": False,
    "usemap": False,
    "profile": False,
}
_LIST_ATTRS = {"srcset": True, "imagesrcset": True, "ping": True, "archive": True}
_CLICK_HREF_ELEMENTS = frozenset({"a", "area", "base"})
_LOOKS_ABSOLUTE_RE = re.compile(r"\s*(?:[A-Za-z][A-Za-z0-9+.\-]*:|[/\\]{2})")


# One attribute (or the closing '>') as the HTML tokenizer reads it: the name's first character
# may be '='; a value is double-quoted, single-quoted (possibly unterminated) or unquoted.
_ATTRIBUTE_RE = re.compile(
    r"[\t\n\f\r /]*(?:(>)|([^\t\n\f\r />][^\t\n\f\r />=]*)"
    r"(?:[\t\n\f\r ]*=[\t\n\f\r ]*(?:\"([^\"]*)(\"?)|'([^']*)('?)|([^\t\n\f\r >]*)))?)"
)


def _tag_attributes(text: str, pos: int, limit: int) -> tuple[list[tuple[str, int, int]], int, bool]:
    """Attributes (name, value start, value end) of the tag whose name ends at ``pos``, the
    offset of its closing ``>``, and whether the tag was closed before ``limit``."""
    attrs: list[tuple[str, int, int]] = []
    while True:
        m = _ATTRIBUTE_RE.match(text, pos, limit)
        if m is None:
            return attrs, limit, False
        if m.group(1):
            return attrs, m.start(1), True
        name = m.group(2).lower()
        for value, quote in ((3, 4), (5, 6)):
            if m.group(value) is not None:
                attrs.append((name, *m.span(value)))
                if not m.group(quote):  # unterminated quote: the value runs to the limit
                    return attrs, limit, False
                break
        else:
            attrs.append((name, *m.span(7)) if m.group(7) is not None else (name, m.end(), m.end()))
        pos = m.end()


def _split_list(value: str, srcset: bool) -> list[tuple[int, int]]:
    """URL spans in a srcset (comma-separated candidates) or a space/comma list."""
    spans: list[tuple[int, int]] = []
    n, i = len(value), 0
    while i < n:
        while i < n and (value[i] in _HTML_SPACE or value[i] == ","):
            i += 1
        start = i
        while i < n and value[i] not in _HTML_SPACE and not (not srcset and value[i] == ","):
            i += 1
        end = i
        if srcset:
            while end > start and value[end - 1] == ",":
                end -= 1
            if end == i:  # skip descriptors up to the next top-level comma
                depth = 0
                while i < n and not (value[i] == "," and depth == 0):
                    depth += value[i] == "("
                    depth -= value[i] == ")" and depth > 0
                    i += 1
        if end > start:
            spans.append((start, end))
    return spans


def _add_mapped(found: _Found, raw: str, offset: int, spans: Iterable[tuple[int, int]], decoded: str, index: list[int], resource: bool) -> None:
    for a, b in spans:
        found.add(decoded[a:b], offset + index[a], offset + index[b], resource)


_CSS_COMMENT_RE = re.compile(r"/\*.*?(?:\*/|$)", re.DOTALL)
_CSS_ESCAPE_RE = re.compile(r"\\(?:([0-9A-Fa-f]{1,6})[ \t\n\r\f]?|\r\n|\n|\r|\f|(.))", re.DOTALL)
# An unquoted url() cannot hold '(' (CSS makes it a bad-url token): excluding it keeps the
# search linear on hostile input such as "url(url(url(...".
_CSS_URL_RE = re.compile(r"url\(\s*(?:\"((?:[^\"\\]|\\.)*)\"|'((?:[^'\\]|\\.)*)'|([^()\"'\s]*))\s*\)", re.IGNORECASE | re.DOTALL)
_CSS_IMPORT_RE = re.compile(r"@import\s*(?:\"((?:[^\"\\]|\\.)*)\"|'((?:[^'\\]|\\.)*)')", re.IGNORECASE)
_CSS_IMAGE_SET_RE = re.compile(r"image-set\(([^()]*)\)", re.IGNORECASE)
_CSS_STRING_RE = re.compile(r"\"((?:[^\"\\]|\\.)*)\"|'((?:[^'\\]|\\.)*)'", re.DOTALL)


def _css_repl(m: re.Match[str]) -> str:
    if m.group(1):
        cp = int(m.group(1), 16)
        return chr(cp) if 0 < cp <= 0x10FFFF and not 0xD800 <= cp <= 0xDFFF else "\ufffd"
    return m.group(2) or ""


def _scan_css(css: str, offset: int, index: list[int] | None, found: _Found) -> None:
    """CSS ``url()``, ``@import`` and ``image-set()`` references (all fetched without a click)."""
    stripped = _CSS_COMMENT_RE.sub(lambda m: " " * len(m.group(0)), css)
    decoded, dindex = _decode_map(stripped, _CSS_ESCAPE_RE, _css_repl)

    def emit(a: int, b: int, text_index: list[int], text: str) -> None:
        start, end = text_index[a], text_index[b]
        if index is not None:
            start, end = index[start], index[end]
        found.add(_decode_map(text[a:b], _CSS_ESCAPE_RE, _css_repl)[0], offset + start, offset + end, True)

    for text, text_index in ((stripped, list(range(len(stripped) + 1))), (decoded, dindex)):
        for rx in (_CSS_URL_RE, _CSS_IMPORT_RE):
            for m in rx.finditer(text):
                if m.lastindex:  # exactly one alternative group takes part in a match
                    emit(m.start(m.lastindex), m.end(m.lastindex), text_index, text)
        for m in _CSS_IMAGE_SET_RE.finditer(text):
            for s in _CSS_STRING_RE.finditer(text, m.start(1), m.end(1)):
                g = 1 if s.group(1) is not None else 2
                emit(s.start(g), s.end(g), text_index, text)


def _scan_html(text: str, found: _Found) -> None:
    # Tags are read left to right as a browser does: what sits inside a quoted attribute value
    # is not a tag. A tag left open (no '>', or an unterminated quote) is read to the end, as a
    # browser would, and then scanning resumes right after its name, because a markdown
    # renderer shows such a fragment as text and the tags after it are real. After a few open
    # tags, each is only read up to the next '<' so that hostile input stays linear.
    lower = None
    pos, open_tags, n = 0, 0, len(text)
    while True:
        m = _TAG_RE.search(text, pos)
        if m is None:
            break
        element = m.group(1).lower()
        limit = n
        if open_tags >= 2:
            nxt = text.find("<", m.end())
            limit = n if nxt < 0 else nxt
        attrs, end, closed = _tag_attributes(text, m.end(), limit)
        if closed:
            pos = end + 1
        else:
            open_tags += 1
            pos = m.end()
        values = {name: (a, b) for name, a, b in reversed(attrs)}  # a browser keeps the first
        for name, a, b in attrs:  # ... but every duplicate is reported: a superset is safe
            raw = text[a:b]
            if name in ("href", "xlink:href"):
                found.add_variants(raw, a, b, element not in _CLICK_HREF_ELEMENTS, _ATTR_DECODERS)
                if element == "base" and found.base is None:
                    base = _ada_parse(_clean_url(_attr_unescape(raw)))
                    if base is not None:
                        found.base = base.href
            elif name in _URL_ATTRS:
                if name == "data" and element != "object":
                    continue
                found.add_variants(raw, a, b, _URL_ATTRS[name], _ATTR_DECODERS)
            elif name in _LIST_ATTRS:
                decoded, index = _attr_decode(raw)
                spans = _split_list(decoded, srcset=name.endswith("srcset"))
                _add_mapped(found, raw, a, spans, decoded, index, _LIST_ATTRS[name])
            elif name == "style":
                decoded, index = _attr_decode(raw)
                _scan_css(decoded, a, index, found)
            elif name == "content" and element == "meta":
                refresh = values.get("http-equiv")
                if refresh is not None and "refresh" in text[refresh[0] : refresh[1]].lower():
                    decoded, index = _attr_decode(raw)
                    r = re.match(r"[\s0-9.]*[;,]?\s*(?:url\s*=\s*)?([\"']?)", decoded, re.IGNORECASE)
                    start = r.end() if r else 0
                    stop = decoded.find(r.group(1), start) if r and r.group(1) else -1
                    stop = len(decoded) if stop < 0 else stop
                    if decoded[start:stop].strip():
                        found.add(decoded[start:stop], a + index[start], a + index[stop], True)
            elif name.startswith("data-") and _LOOKS_ABSOLUTE_RE.match(_attr_unescape(raw)):
                found.add_variants(raw, a, b, False, _ATTR_DECODERS)
        if element == "style" and closed:
            if lower is None:
                lower = text.lower()
            close = lower.find("</style", end)
            close = n if close < 0 else close
            _scan_css(text[end + 1 : close], end + 1, None, found)


def extract_urls(text: str, kind: str) -> list[EmbeddedURL]:
    """Every URL a renderer of ``text`` would resolve, in text order.

    ``kind`` is ``"markdown"``, ``"html"`` or ``"text"``. The scan is deliberately a superset
    of what any one renderer does: markdown inline links and images, reference definitions
    (``resource`` when an image uses them), autolinks, raw HTML inside markdown, bare
    ``http(s)://``/``www.`` URLs (also after decoding entities and escapes), and in HTML every
    URL-bearing attribute (quoted or not, entity-decoded as a browser does, ``srcset``,
    ``ping``, ``style`` and ``<style>`` CSS, meta refresh, ``<base href>`` applied to relative
    URLs). Where renderers disagree about decoding, each reading is returned (same span).
    Code spans and HTML comments are scanned too. Parse each ``url`` with kind ``url``.

    >>> [(u.url, u.resource) for u in extract_urls("![x](https://evil.test/?q=secret)", "markdown")]
    [('https://evil.test/?q=secret', True)]
    """
    if kind not in ("markdown", "html", "text"):
        raise ValueError(f"extract_urls kind must be 'markdown', 'html' or 'text', not {kind!r}")
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    found = _Found()
    if kind == "markdown":
        _scan_markdown(text, found)
    if kind in ("markdown", "html"):
        _scan_html(text, found)
    _scan_bare(text, None, found)
    if kind in ("markdown", "html") and ("&" in text or "\\" in text):
        for decoder in (_text_decode, _md_decode) if kind == "markdown" else (_text_decode,):
            decoded, index = decoder(text)
            if decoded != text:
                _scan_bare(decoded, index, found)
    return found.result()
