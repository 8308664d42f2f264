"""Provenance and exfiltration checks: where argument values came from, and what leaves.

These checks ask the session's taint ledger (:mod:`toolguard.taint`) about the call's
destinations and payload, and yield the exfiltration-shaped findings:

``destination.untrusted_origin``
    A destination the manifest does not allow came from untrusted content and not from the
    user (an injected "forward this to eve@evil.test").
``payload.private_data``
    Private-labelled data leaves towards a destination not allowed for it, in the payload
    or inside the URL itself (GET-based exfiltration through a read tool).
``url.data_in_query``
    A URL to a non-allowed host carries session data or encoded/high-entropy data in its
    path, query, fragment or subdomain labels. A URL copied verbatim from content the
    session has seen, or typed by the user, carries nothing new and is not flagged.
``markdown.remote_resource``
    Rendered text (a ``markdown`` or ``html`` destination) embeds an image or link to a
    non-allowed host that carries session data: it leaks when displayed.
``payload.encoded_blob``
    A base64/hex/compressed blob in a payload to a non-allowed destination.
``context.untrusted_side_effect``
    The lethal-trifecta rule: after untrusted content entered the session, a call with an
    outward side effect (external_write, destructive, financial) is held unless it is
    *sanctioned*: every destination and every deciding argument is grounded in trusted text
    (the user's words, the system prompt, trusted tool output) or on the allow-list, and
    none came from untrusted content alone.

Reading (side effect ``none`` or ``read``) is ordinary work: a read tool's destination off
its allow-list is not a finding by itself unless the manifest declares an allow-list; what
a read tool's URL *carries* is still checked.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus, urlsplit

from . import _pointer
from .destinations import phone_spellings, trunk_zero_codes
from .findings import Evidence, Finding
from .manifest import OUTWARD_EFFECTS

if TYPE_CHECKING:
    from .policy import Context, Dest

__all__ = ["CHECKS", "FINAL_CHECKS", "address_data_parts", "egress_texts", "find_blobs", "host_data_parts", "leaves", "payload_leaves", "payload_texts", "url_data_parts"]

_B64 = re.compile(r"[A-Za-z0-9+/_\-]{24,}={0,2}")
_HEX = re.compile(r"\b(?:[0-9a-fA-F]{2}[\s:\-]?){24,}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Base64 of gzip (H4sI), zlib (eJ / eN / eF), zstd (KLUv), bzip2 (QlpoO), xz (/Td6), PK zip (UEsDB).
_COMPRESSED = re.compile(r"(?:H4sI|eJ[wxyz]|eN[op]|KLUv/|QlpoO|/Td6WFo|UEsDB)[A-Za-z0-9+/=_\-]{12,}")


def _entropy(s: str) -> float:
    n = len(s)
    if n == 0:
        return 0.0
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values())


def find_blobs(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, kind)`` of encoded or compressed runs that look like packed data.

    Plain words, paths and slugs do not qualify: a base64 run needs >= 24 chars, letters of
    both cases or digits, and entropy >= 4.0 bits/char (inside a URL's path, per segment); a hex run needs >= 48 hex digits
    (longer than a UUID or a SHA-1 commit id, which are identifiers, not packed data).
    Canonical UUIDs are blanked out first.
    """
    out: list[tuple[int, int, str]] = []
    text = _UUID.sub(lambda m: " " * len(m.group()), text)
    for m in _COMPRESSED.finditer(text):
        out.append((m.start(), m.end(), "compressed"))
    for m in _HEX.finditer(text):
        digits = re.sub(r"[\s:\-]", "", m.group())
        if len(digits) >= 48 and any(c.isalpha() for c in digits) and any(c.isdigit() for c in digits):
            out.append((m.start(), m.end(), "hex"))
    paths = [(m.start("path"), m.end("path")) for m in _URL_PATH.finditer(text)] if "/" in text else []
    for m in _B64.finditer(text):
        if any(a <= m.start() < b for a, b, _ in out):
            continue
        if "/" in m.group() and any(m.start() < b and a < m.end() for a, b in paths):
            # Inside a URL's path '/' separates segments (as in url_data_parts): a path such
            # as /wikipedia/commons/8/89/Tomato_je.jpg is not one blob; each segment is judged.
            pos = m.start()
            for seg in m.group().split("/"):
                if len(seg) >= 24 and _packed(seg):
                    out.append((pos, pos + len(seg), "base64"))
                pos += len(seg) + 1
        elif _packed(m.group()):
            out.append((m.start(), m.end(), "base64"))
    return sorted(out)


# The path of a URL written in text (absolute or scheme-relative): what follows the host up
# to the query, fragment or the end of the URL.
_URL_PATH = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.\-]*:)?//[^\s/?#<>\"'`()\[\]]+(?P<path>/[^\s?#<>\"'`()\[\]]*)")


def _packed(s: str) -> bool:
    """A base64 candidate run looks like packed data: two character classes, high entropy,
    and not a run of words (a slug or identifier such as ``Growing_Tomatoes_In_Pots_2026``)."""
    has_upper = any(c.isupper() for c in s)
    has_lower = any(c.islower() for c in s)
    has_digit = any(c.isdigit() for c in s)
    return sum((has_upper, has_lower, has_digit)) >= 2 and _entropy(s) >= 4.0 and not _wordy(s)


_SEGMENT_SPLIT = re.compile(r"[_\-+/]+")
_WORD_TOKEN = re.compile(r"[A-Z][a-z]+|[A-Z]+(?![a-z])|[a-z]+|[0-9]+")
_VOWEL = re.compile(r"[aeiouyAEIOUY]").search
_CONSONANTS = re.compile(r"[b-df-hj-np-tv-xzB-DF-HJ-NP-TV-XZ]{4,}").search


def _wordy(s: str) -> bool:
    """``s`` reads as words joined into a slug or identifier (``Growing_Tomatoes_In_Pots_2026``,
    ``HowToGrowTomatoesInContainers``, ``HTTPServerConfig_v2``), not packed data.

    Each ``_ - + /``-separated segment must be camel-case words (a lower-case word only at its
    start) followed at most by a number; the words average 3.5 letters or more, every word
    of 4+ letters (but short acronyms) has a vowel and none has four consonants in a row. Random base64 (digits between letters, short runs, no vowels)
    and base64 of text (``SGVsbG8gV29ybGQ``) fail it."""
    letters = words = 0
    for seg in _SEGMENT_SPLIT.split(s):
        if not seg:
            continue
        tokens = _WORD_TOKEN.findall(seg)
        if sum(map(len, tokens)) != len(seg):
            return False
        for i, t in enumerate(tokens):
            if t[0].isdigit():
                if i != len(tokens) - 1:
                    return False
                continue
            if t[0].islower() and i != 0:
                return False
            if t.isupper() and len(t) <= 4:
                pass  # an acronym (HTTP, SQL)
            elif (len(t) >= 4 and not _VOWEL(t)) or _CONSONANTS(t):
                return False
            letters += len(t)
            words += 1
    return words >= 2 and letters >= 3.5 * words


def url_data_parts(normalized_url: str, host: str | None, registrable: str | None, *, raw: str = "") -> list[tuple[str, str]]:
    """The parts of a URL that can carry data: ``[(part, decoded text)]``.

    Path, each query value, the fragment, and subdomain labels left of the registrable
    domain (``<data>.evil.test``, read as :func:`host_data_parts` reads them); with ``raw`` (the URL as written), also its userinfo,
    which the normalised form drops but a client sends (``https://user:<data>@evil.test/``).
    """
    try:
        parts = urlsplit(normalized_url)
    except ValueError:
        return [("url", normalized_url)]
    out: list[tuple[str, str]] = []
    userinfo = _userinfo(raw) if "@" in raw else ""
    if userinfo:
        out.append(("userinfo", userinfo))
    # mailto:, tel:, sms: name an address in their path: that is where a click would go (the
    # destination itself), not data riding to a host. Their query (?subject=&body=) is data.
    path = "" if parts.scheme.lower() in _ADDRESS_SCHEMES else parts.path
    for segment in path.split("/"):
        # Segment by segment: a path is not one blob because '/' is in the base64 alphabet.
        text = unquote_plus(segment)
        if text:
            out.append(("path", text))
    if parts.query:
        for pair in parts.query.split("&"):
            key, _, value = pair.partition("=")
            text = unquote_plus(value if value else key)
            if text:
                out.append(("query", text))
    if parts.fragment:
        out.append(("fragment", unquote_plus(parts.fragment)))
    # Subdomain labels as a host's are read: as written, hex labels joined, all joined.
    out.extend(host_data_parts(host, registrable))
    return out


def host_data_parts(host: str | None, registrable: str | None) -> list[tuple[str, str]]:
    """The labels of a host name left of its registrable domain, which a lookup of it sends
    to that domain's name servers (``<data>.<data>.evil.test``): ``[("subdomain", text)]``.
    Data is split into labels of at most 63 characters, and a host name is case-folded, so
    what survives is hex: consecutive all-hex labels are also read joined."""
    if not host or not registrable or not host.endswith("." + registrable):
        return []
    sub = host[: -len(registrable) - 1].strip(".")
    if not sub:
        return []
    out = [("subdomain", sub)]
    if "." in sub:
        joined = _HEX_LABELS.sub(lambda m: m.group().replace(".", ""), sub)
        if joined != sub:
            out.append(("subdomain", joined))
        # A short secret cut at any point into labels (``c4r7.lk2m9.evil.test``) is read
        # whole too: every run of two or more consecutive labels, joined.
        seen = {sub, joined}
        for run in _label_runs(sub.split(".")):
            if run not in seen:
                seen.add(run)
                out.append(("subdomain", run))
    return out


_MAX_RUN_LABELS = 16  # longer names: runs of up to this many labels (a secret is not spread wider)


def _label_runs(labels: list[str]) -> list[str]:
    """Each run of two or more consecutive labels, joined (a label pads nothing away: the
    secret in ``x.c4r7l.k2m9`` is the run ``c4r7l.k2m9``). Bounded: runs of at most
    :data:`_MAX_RUN_LABELS` labels."""
    n = len(labels)
    return ["".join(labels[i:j]) for i in range(n) for j in range(i + 2, min(n, i + _MAX_RUN_LABELS) + 1)]


# Two or more consecutive labels made of hex digits only.
_HEX_LABELS = re.compile(r"(?<![^.])[0-9a-f]+(?:\.[0-9a-f]+)+(?![^.])")


def address_data_parts(normalized: str, host: str | None, registrable: str | None, *, raw: str = "") -> list[tuple[str, str]]:
    """The parts of an email address that carry data to the mail server of its domain:
    ``[("local part", text), ("subdomain", text)]``. Whatever is left of ``@`` reaches that
    server as written (``<data>@collector.evil.test``, a probe's ``RCPT TO`` included), and so
    do the labels of the domain left of its registrable domain. The local part is taken as
    written in ``raw`` when it is there (the normalised form is lower-cased, which would
    spoil base64); dot-separated hex pieces of it are also read joined, as a host's labels are."""
    local = normalized.rpartition("@")[0].strip('"')
    if raw and local:
        at = raw.lower().find(local + "@")
        if at >= 0:
            local = raw[at : at + len(local)]
    out: list[tuple[str, str]] = []
    if local:
        out.append(("local part", local))
        if "." in local:
            joined = _HEX_LABELS.sub(lambda m: m.group().replace(".", ""), local.lower())
            if joined != local.lower():
                out.append(("local part", joined))
            seen = {local.lower(), joined}
            for run in _label_runs(local.split(".")):
                if run.lower() not in seen:
                    seen.add(run.lower())
                    out.append(("local part", run))
    out.extend(host_data_parts(host, registrable))
    return out


def _data_parts(d: Dest) -> list[tuple[str, str]]:
    """The data-bearing parts of a destination: a URL's (:func:`url_data_parts`), a host's or
    domain's labels (:func:`host_data_parts`), an email address's local part and labels
    (:func:`address_data_parts`), a channel's name (a channel created or named after the
    data shows it to everyone who lists the workspace's channels); none for other kinds (an
    IBAN or a phone number is checked whole by its parser, which refuses anything else in it,
    an extension included)."""
    assert d.dest is not None
    kind = d.dest.kind
    if kind == "url":
        return url_data_parts(d.dest.normalized, d.dest.host, d.dest.registrable_domain, raw=_raw_if_userinfo(d))
    if kind in _HOST_KINDS:
        return host_data_parts(d.dest.host, d.dest.registrable_domain)
    if kind == "email":
        return address_data_parts(d.dest.normalized, d.dest.host, d.dest.registrable_domain, raw=d.raw)
    if kind == "channel":
        name = d.dest.normalized.lstrip("#@")
        return [("channel name", name)] if name else []
    return []


_HOST_KINDS = frozenset({"host", "domain"})
_DATA_KINDS = frozenset({"url", "email", "channel", *_HOST_KINDS})
# Destinations named by a value the session may have seen whole (a link, an address, a
# channel): copied whole, they send their place only its own name (see egress_texts).
_COPYABLE_KINDS = frozenset({"url", "email", "channel"})


# A number the taint ledger indexes as such (7+ digits, with up to 3 of ``().+/-`` between
# digits, or a digit-group separator: "," or "'" between a digit and exactly three digits,
# taint._GROUP; "’" folds to "'"): a value holding one can be "seen" through that number alone.
_LONG_NUMBER = re.compile(r"\d(?:\d|[().+/\-]{1,3}\d|[,'\u2019](?=\d{3}(?!\d))\d){6,}")

_ADDRESS_SCHEMES = frozenset({"mailto", "tel", "sms", "callto", "xmpp", "im"})


def _userinfo(raw: str) -> str:
    """The decoded credentials of a URL as written (``user:password``), or ``""``.

    Only called for URLs the destination parser accepted: a host that a WHATWG and an
    RFC 3986 client read differently is refused there, so the authority ends at the first
    ``/``, ``?`` or ``#`` (or ``\\``, which WHATWG reads as ``/`` in web URLs) for both."""
    rest = raw.strip()
    scheme_end = rest.find("//")
    if scheme_end < 0:
        return ""
    authority = re.split(r"[/?#\\]", rest[scheme_end + 2 :], maxsplit=1)[0]
    userinfo, at, _ = authority.rpartition("@")
    return unquote_plus(userinfo) if at else ""


def _quote(value: str, limit: int = 60) -> str:
    """A value quoted for a message (escaped, truncated), as policy.show does."""
    return repr(value[:limit]) + (f"... ({len(value)} chars)" if len(value) > limit else "")


def _match_evidence(m: Any) -> Evidence:
    detail = m.to_dict() if hasattr(m, "to_dict") else {"match": str(m)}
    return Evidence("taint", detail)


def _forms(d: Dest) -> list[str]:
    assert d.dest is not None
    forms = [d.dest.normalized]
    if d.dest.host:
        forms.append(d.dest.host)
    if d.dest.kind == "phone":
        # a number is the same number in each of its usual spellings (07700 900444 for
        # +447700900444), whether the user typed it or a page named it
        forms.extend(phone_spellings(d.dest.normalized))
    return forms


def _open(ctx: Context) -> list[Dest]:
    """Destinations data would reach that the allow-list does not cover (computed once per call)."""
    cached: list[Dest] | None = ctx.__dict__.get("_open")
    if cached is None:
        cached = [d for d in ctx.dests if d.dest is not None and d.allowed is None and "special_scheme" not in d.dest.flags]
        ctx.__dict__["_open"] = cached
    return cached


def _public(ctx: Context) -> list[Dest]:
    """The call's own allowed destinations that the manifest declares ``public``.

    An allow-list says where a tool may act; ``public: true`` says that what goes there can
    be read by anyone. Private data sent there leaves as surely as to an outside address, so
    :func:`check_private_data` treats these as open for labelled data (and for nothing else:
    they are still allowed destinations for every other rule).
    """
    return [d for d in ctx.dests if d.spec.public and d.allowed is not None and d.embedded is None and d.dest is not None]


def leaves(ctx: Context) -> bool:
    """True when the call sends data somewhere not allowed for it."""
    m = ctx.manifest
    assert m is not None
    if _open(ctx):
        return True
    # An outward tool with no declared destination, or any tool that declares a payload but
    # no destination (a search query goes to the search provider), sends data to a place
    # nobody allowed. Entries of kind markdown/html name only the links inside the text, not
    # where the text itself goes (a storefront, a tracker): with no other entry, that place
    # is undeclared too.
    return (m.side_effect in OUTWARD_EFFECTS or m.payload is not None) and not m.compiled.has_own_destination


def payload_leaves(ctx: Context) -> bool:
    """True when the call's *payload* (not only a URL inside it) goes somewhere not allowed.

    A link or image inside rendered text (a ``markdown``/``html`` destination) carries its
    own URL, which :func:`egress_texts` and the rendered-text check judge; the text around it
    goes where the call's other destinations send it. So when the call has a destination of
    another kind (a repository, a channel) and every such destination is allowed, a link in
    the body does not make the whole body leave: a pull request to an allowed repository that
    links its issue is not private code sent to github.com. A call whose only destinations are
    rendered text, or that leaves out its other destination argument, keeps the stricter
    reading of :func:`leaves`.
    """
    cached: bool | None = ctx.__dict__.get("_payload_leaves")
    if cached is None:
        # The call's own destination values (not URLs found inside rendered text). Without
        # one (none declared, or the optional argument left out), the rule of leaves() holds.
        direct = [d for d in ctx.dests if d.embedded is None]
        cached = any(d.embedded is None for d in _open(ctx)) if direct else leaves(ctx)
        ctx.__dict__["_payload_leaves"] = cached
    return cached


def _has_long_number(d: Dest) -> bool:
    return bool(_LONG_NUMBER.search(d.raw) or _LONG_NUMBER.search(unquote_plus(d.raw)))


def _is_copied(ctx: Context, d: Dest, *, exact: bool = False) -> bool:
    """The whole URL was seen in session content or typed by the user: it carries nothing new.

    Whole-value lookups: a URL is not "seen" because trusted text holds a number it contains
    (the date the user typed, appended to an injected URL that carries the chat). ``exact``:
    seen as a whole token of untrusted text, not as fingerprints that may cover only its
    first 20 characters (a page's ``https://docs-telemetry.dev/`` and a key appended to it)."""
    cache: dict[tuple[int, bool], bool] = ctx.__dict__.setdefault("_copied", {})
    key = (id(d), exact)
    if key not in cache:
        ledger = ctx.view.ledger
        assert d.dest is not None
        forms = [d.dest.normalized, d.raw]
        cache[key] = bool(ledger.origin(d.raw, forms=forms, whole=True, exact=exact)) or ledger.sanctioned(d.raw, forms=forms, whole=True) is not None
    return cache[key]


def _own_sources(ctx: Context, d: Dest) -> frozenset[int]:
    """The sources whose text holds this destination whole (as a whole token): a link in a
    private calendar invite, a URL the user typed. Labelled data that such a source wrote
    into the link itself (the meeting number of a dial-in link, copied whole from the invite)
    goes to the link's own host only, as the link does."""
    cache: dict[int, frozenset[int]] = ctx.__dict__.setdefault("_own_sources", {})
    if id(d) not in cache:
        ledger = ctx.view.ledger
        assert d.dest is not None
        forms = [d.dest.normalized, d.raw]
        own = {m.source.index for m in ledger.origin(d.raw, forms=forms, whole=True, exact=True)}
        trusted = ledger.sanctioned(d.raw, forms=forms, whole=True)
        if trusted is not None:
            own.add(trusted.index)
        cache[id(d)] = frozenset(own)
    return cache[id(d)]


def _carried_labelled(ctx: Context, d: Dest, parts: Sequence[tuple[str, str]], copied: bool) -> list[Any]:
    """Labelled matches in the data-bearing parts of a destination that the user did not say;
    for a destination copied whole from the session, only those from a source that does not
    hold it whole (what the source wrote into its own link is the link's)."""
    ledger = ctx.view.ledger
    labelled = [m for m in ledger.scan([(d.pointer, t) for _, t in parts], labels=None, untrusted=False) if m.source.labels and not _user_said(ledger, m)]
    if copied and labelled:
        own = _own_sources(ctx, d)
        labelled = [m for m in labelled if m.source.index not in own]
    return labelled


def _url_carries(ctx: Context, d: Dest) -> tuple[str, tuple[Evidence, ...]] | None:
    """Does this non-allowed URL carry session or packed data? (what, evidence) or None."""
    assert d.dest is not None
    ledger = ctx.view.ledger
    if d.dest.normalized in ctx.view.requested:
        return None  # an earlier call of the session requested this very URL: its host has it all
    parts = _data_parts(d)
    if not parts:
        return None
    copied = _is_copied(ctx, d, exact=True)
    if copied and not _has_long_number(d):
        return None
    # _is_copied looks the URL up as a whole value (a number it holds, such as the date the
    # user typed, does not make it seen); a copied URL with a long number in it is still
    # judged part by part, as a second line: labelled data from a source other than the one
    # that wrote the link, and each blob seen as a whole in the session or not.
    labelled = _carried_labelled(ctx, d, parts, copied)
    if labelled:
        labels = "/".join(sorted({lab for m in labelled for lab in m.source.labels}))
        src = labelled[0].source
        return (f"{labels} data from {src.tool} (call {src.call_id})", (d.evidence(), *(_match_evidence(m) for m in labelled[:3])))
    for part, text in parts:
        for a, b, kind in find_blobs(text):
            blob = text[a:b]
            if ledger.sanctioned(blob, whole=True) is None and not ledger.origin(blob, whole=True):
                return (
                    f"a {kind} blob in its {part} ({len(blob)} chars)",
                    (d.evidence(), Evidence("rule", {"part": part, "blob_kind": kind, "blob": blob[:80]})),
                )
    if copied:
        return None
    host_origin = ledger.origin(d.dest.host or "", forms=[d.dest.registrable_domain or ""]) if d.dest.host else ()
    if host_origin and ledger.sanctioned(d.dest.host or "", forms=[d.dest.registrable_domain or ""]) is None:
        # The host came from untrusted content. Data in the URL that is not itself an echo of
        # that content was put there by the model: the injected "visit evil.test/?q=<chat>".
        texts = [(d.pointer, t) for _, t in parts]
        echoed = ledger.scan(texts, labels=(), untrusted=True)
        covered = sum(getattr(m, "covered", 0) or len(m.fragment) for m in echoed)
        data_len = sum(len(re.sub(r"[\W_]+", "", t)) for _, t in parts)
        if data_len - covered >= ctx.policy.min_fragment // 2:
            return (
                f"{data_len} characters of data in a URL whose host came from untrusted content",
                (d.evidence(), *(_match_evidence(m) for m in host_origin[:3])),
            )
    return None


def check_untrusted_origin(ctx: Context) -> list[Finding]:
    """An enforced, non-allowed destination taken from untrusted content and not from the user."""
    out: list[Finding] = []
    ledger = ctx.view.ledger
    if not ledger.untrusted_seen:
        return out
    for d in _open(ctx):
        if not d.enforced or d.embedded is not None:
            continue
        forms = _forms(d)
        whole = d.dest is not None and d.dest.kind not in ("phone", "iban")  # (see policy._user_typed)
        if ledger.sanctioned(d.raw, forms=forms, whole=whole) is not None:
            continue  # the user (or the system) wrote this destination, as a whole
        matches = ledger.origin(d.raw, forms=forms)
        if matches:
            src = matches[0].source
            out.append(ctx.finding(
                "destination.untrusted_origin",
                f"{d.pointer}: {d.dest.normalized!r} comes from the output of {src.tool} (call {src.call_id}), not from the user",  # type: ignore[union-attr]
                d.pointer,
                (d.evidence(), *(_match_evidence(m) for m in matches[:5])),
            ))
    return out


def _raw_if_userinfo(d: Dest) -> str:
    return d.raw if d.dest is not None and "userinfo" in d.dest.flags else ""


def _keys(value: Any, ptr: str, out: list[tuple[str, str]]) -> None:
    """The object keys inside ``value`` as ``(pointer, key)``: a JSON body sends its keys too."""
    stack = [(ptr, value)]
    while stack:
        p, v = stack.pop()
        if isinstance(v, dict):
            for k, item in v.items():
                kp = f"{p}/{_pointer.format_pointer([k])[1:]}" if isinstance(k, str) else p
                if isinstance(k, str) and k.strip():
                    out.append((kp, k))
                if isinstance(item, (dict, list)):
                    stack.append((kp, item))
        elif isinstance(v, list):
            stack.extend((f"{p}/{i}", item) for i, item in enumerate(v) if isinstance(item, (dict, list)))


def payload_texts(ctx: Context) -> list[tuple[str, str]]:
    """The call's payload strings (``Context.payload``) and the object keys inside its
    payload values: data can ride in a key as well as in a value. Computed once per call."""
    cached: list[tuple[str, str]] | None = ctx.__dict__.get("_payload_texts")
    if cached is None:
        cached = list(ctx.payload)
        c = ctx.c
        if c.payload is not None:
            roots = [(ptr, v) for toks in c.payload for ptr, v in _pointer.resolve(ctx.args, toks)]
        elif c.outward:
            dest_ptrs = {d.pointer for d in ctx.dests}
            roots = [(p, v) for p, v in ((_pointer.format_pointer([k]), v) for k, v in ctx.args.items()) if p not in dest_ptrs]
        else:
            roots = []
        keys: list[tuple[str, str]] = []
        for ptr, v in roots:
            if isinstance(v, (dict, list)):
                _keys(v, ptr, keys)
        cached.extend(keys)
        ctx.__dict__["_payload_texts"] = cached
    return cached


def egress_texts(ctx: Context) -> list[tuple[str, str]]:
    """Payload strings and keys, plus the data-bearing parts of every non-allowed URL, host,
    domain, email address and channel. A URL, address or channel copied whole from what the
    session saw (as a whole token) or the user typed, with no long number in it, sends its
    place only its own name: a link to an invoice page from a private email, in a note to a
    colleague; a check that a contact's address from the CRM still works."""
    texts = list(payload_texts(ctx)) if payload_leaves(ctx) else []
    for d in _open(ctx):
        if d.dest is not None and d.dest.kind in _DATA_KINDS:
            parts = _data_parts(d)
            # With a long number in it, a copied link is judged part by part (as a second
            # line): it names only itself when no labelled data in it comes from a source
            # other than those that hold the link whole.
            if (parts and d.dest.kind in _COPYABLE_KINDS and _is_copied(ctx, d, exact=True)
                    and (not _has_long_number(d) or not _carried_labelled(ctx, d, parts, True))):
                continue
            texts.extend((d.pointer, t) for _, t in parts)
    return texts


def party(args: Any, tokens: tuple[Any, ...]) -> str | None:
    """The one scalar value ``tokens`` name in ``args`` (an order id, a patient id), case-folded,
    as the party a record is about or a call goes to; None when there is not exactly one."""
    if not isinstance(args, dict):
        return None
    found = _pointer.resolve(args, tokens)
    if len(found) != 1:
        return None
    v = found[0][1]
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str) and v.strip() and len(v) <= 256:
        return v.strip().casefold()
    return None


def _own_record_to(ctx: Context) -> str | None:
    """The party a call whose manifest declares ``recipient`` goes to, when nothing else in it
    leaves (no link to a non-allowed place): labelled data in clear from a trusted output that
    is that party's own record (``output.about`` of the same value) is theirs to read."""
    tokens = ctx.c.recipient
    if tokens is None or _open(ctx):
        return None
    return party(ctx.args, tokens)


# An email address inside a longer run of token characters: ``note=a.b@c.example``,
# ``'%a.b@c.example%'`` (a SQL LIKE pattern), ``/a.b@c.example/``, ``key:a.b@c.example``. The
# ledger keys an address by the whole run around its ``@`` (a unit ends only at whitespace,
# quotes, brackets and ``,;!|\\^*```), so glued to other characters it is another key; the same
# run URL-encoded once or twice (``%25a.b%40c.example%25``) decodes to such a run.
_LOCAL_REVERSED = re.compile(r"[\w.+\-]+")  # matched on the 64 characters before an ``@``, reversed
_DOMAIN_HEAD = re.compile(r"[\w\-]+(?:\.[\w\-]+)+")
_UNIT_END = frozenset(" \t\r\n\"'<>()[]{},;!|\\^*`")
_UNQUOTE_ROUNDS = 3


def _glued_emails(texts: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Each email address of ``texts`` that is glued to other token characters (as written, or
    after URL-decoding up to three times), on its own under its text's pointer, so that it is
    matched as the address it is."""
    out: list[tuple[str, str]] = []
    for ptr, text in texts:
        if "@" not in text and ("%" not in text or "40" not in text):
            continue
        seen: set[str] = set()
        for _ in range(_UNQUOTE_ROUNDS + 1):
            p = text.find("@")
            while p > 0:
                local = _LOCAL_REVERSED.match(text[max(0, p - 64):p][::-1])
                domain = _DOMAIN_HEAD.match(text, p + 1)
                if local is not None and domain is not None:
                    x, y = p - local.end(), domain.end()
                    raw = text[x:y]
                    email = raw.strip(".-+")
                    glued = (x > 0 and text[x - 1] not in _UNIT_END) or (y < len(text) and text[y] not in _UNIT_END) or email != raw
                    if glued and "@" in email and email not in seen:
                        seen.add(email)
                        out.append((ptr, email))
                p = text.find("@", p + 1)
            if "%" not in text:
                break
            decoded = unquote_plus(text)
            if decoded == text:
                break
            text = decoded
    return out


# A token (a run of letters, digits, ``-`` and ``_`` with a digit in it) short enough that only
# its key finds it, not a guaranteed fingerprint: written backwards (``72109335P`` for a
# passport number ``P53390127``) it is another key.
_TOKEN_RUN = re.compile(r"[\w\-]{8,}")
_TOKEN_MAX = 42
_DIGIT = re.compile(r"[0-9]").search


def _reversed_tokens(texts: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The tokens of each text from 8 to 42 characters with a digit in them, each reversed,
    as one text (space-separated) under the text's pointer; longer runs are found reversed by
    the fingerprints."""
    out: list[tuple[str, str]] = []
    for ptr, text in texts:
        if _DIGIT(text) is None:
            continue
        rev = [t[::-1] for t in _TOKEN_RUN.findall(text) if len(t) <= _TOKEN_MAX and _DIGIT(t) is not None and t != t[::-1]]
        if rev:
            out.append((ptr, " ".join(rev)))
    return out


# A phone number in an argument, written internationally (``+44 7700 900 835``, ``0044 ...``,
# ``+44 (0)7700 ...``) or nationally with a trunk ``0`` (``07700-900-835``): labelled text may
# hold it in the other spelling, whose digits differ (``447700900835`` against ``07700900835``).
_PHONE_INTL = re.compile(r"(?<![\w+])(?:\+|00)[1-9][0-9 ().\-/]{6,22}[0-9]")
_PHONE_NATIONAL = re.compile(r"(?<![\w+])0[1-9][0-9 ().\-/]{6,16}[0-9](?![0-9])")
_PHONE_SEP = re.compile(r"[\s().\-/]")


def _phone_spellings(texts: Sequence[tuple[str, str]], ledger: Any = None) -> list[tuple[str, str]]:
    """The other spellings of each phone number of ``texts``, as one text under the text's
    pointer: a number written internationally also nationally (``07700900835`` for
    ``+44 7700 900 835``), and one written nationally with a trunk ``0`` also under each
    country code whose plan dials it (``447700900835``, ``337700900835``, ...), so that a
    number labelled text holds in one spelling is found in the other. A number the user wrote,
    as the argument spells it, is the user's (labelled text holding it in another spelling
    does not make it a disclosure). The spellings are separated by ``;``, a boundary between
    numbers."""
    out: list[tuple[str, str]] = []
    for ptr, text in texts:
        if "0" not in text:
            continue
        forms: list[str] = []
        for m in _PHONE_INTL.finditer(text):
            digits = _PHONE_SEP.sub("", m.group().replace("(0)", "", 1))
            digits = digits[1:] if digits.startswith("+") else digits[2:]
            if 8 <= len(digits) <= 15 and digits.isdigit() and not _in_users_words(ledger, m.group()):
                forms.append(digits)
                forms.extend(_PHONE_SEP.sub("", f) for f in phone_spellings("+" + digits))
        for m in _PHONE_NATIONAL.finditer(text):
            nsn = _PHONE_SEP.sub("", m.group())[1:]
            if 7 <= len(nsn) <= 12 and nsn.isdigit() and not _in_users_words(ledger, m.group()):
                forms.extend(cc + nsn for cc in trunk_zero_codes())  # (a national number names no country)
        if forms:
            out.append((ptr, "; ".join(dict.fromkeys(f.lstrip("+") for f in forms))))
    return out


def check_private_data(ctx: Context) -> list[Finding]:
    """Labelled (private) data on its way to a destination not allowed for it."""
    out: list[Finding] = []
    ledger = ctx.view.ledger
    public = _public(ctx)
    if not leaves(ctx) and not public:
        return out
    texts = egress_texts(ctx)
    if public and not payload_leaves(ctx):
        texts = list(payload_texts(ctx)) + texts
    if not texts:
        return out
    matches = ledger.scan(texts + _glued_emails(texts) + _reversed_tokens(texts) + _phone_spellings(texts, ledger), labels=None, untrusted=False)
    # A record about the one person the call writes to (a customer's own record, in a reply
    # to that customer) is theirs to read: its data in clear is not a leak to them.
    direct = [d for d in _open(ctx) if d.embedded is None]
    to = [d.dest.normalized for d in direct if d.dest is not None and d.dest.kind == "email"]
    if len(to) != len(direct):
        to = []
    recipient = _own_record_to(ctx)
    about = ctx.view.about
    by_ptr: dict[str, list[Any]] = {}
    dictated = _dictated(ledger, texts) if any(m.source.labels for m in matches) else frozenset()
    for m in matches:
        if m.source.labels:
            if to and m.transform in ("plain", "case/unicode") and all(ledger.addressed_to(m.source, a) for a in to):
                continue
            if recipient is not None and m.transform in ("plain", "case/unicode") and m.source.trusted and about.get(m.source.index) == recipient:
                continue
            if _users_own(ledger, m, dictated):
                continue
            by_ptr.setdefault(getattr(m, "pointer", "") or "", []).append(m)
    if not by_ptr:
        return out
    # Name where the data goes: the call's own open destinations, else the rendered links
    # that carry it. A URL is named by its host: the rest of it may be the very data.
    opened = [d for d in _open(ctx) if d.embedded is None] or [d for d in _open(ctx) if d.pointer in by_ptr]
    names = {_dest_name(d, carries=d.pointer in by_ptr) for d in opened} | {f"{_dest_name(d)} (public)" for d in public}
    open_dests = ", ".join(sorted(names)[:3]) or f"the {ctx.manifest.side_effect} tool's undeclared destination"  # type: ignore[union-attr]
    for ptr, ms in sorted(by_ptr.items()):
        labels = sorted({lab for m in ms for lab in m.source.labels})
        src = ms[0].source
        out.append(ctx.finding(
            "payload.private_data",
            f"{ptr or '/'} carries {'/'.join(labels)} data from {src.tool} (call {src.call_id}) to {open_dests}, which is not allowed for it",
            ptr,
            tuple(_match_evidence(m) for m in ms[:5]),
        ))
    return out


def _user_said(ledger: Any, m: Any) -> bool:
    """The matched fragment of labelled data is, as a whole and in clear, in the user's own
    words: the user's words are not what a tool disclosed (an invoice number the user typed,
    also in a private email, as a payment's reference). Only a whole match in clear counts,
    and only when the user's words are the earliest trusted text holding it; the system
    prompt does not count (an operator's key in it is still the labelled file's secret)."""
    if m.transform not in ("plain", "case/unicode") or not m.fragment.strip() or (getattr(m, "covered", 0) or 0) > len(m.fragment):
        return False  # encoded, split, or a fragment cut short in the evidence
    return _in_users_words(ledger, m.fragment)


def _in_users_words(ledger: Any, text: str) -> bool:
    """``text`` (trimmed) is, as a whole token, in the user's own words, and they are the
    earliest trusted text holding it (the system prompt does not count). False without a ledger."""
    t = text.strip()
    if ledger is None or not t:
        return False
    src = ledger.sanctioned(t, whole=True)
    return src is not None and src.tool == "user"


def _users_own(ledger: Any, m: Any, dictated: frozenset[str]) -> bool:
    """A match of labelled data that is the user's: said by the user (:func:`_user_said`), or in
    clear inside a text the user dictated (``dictated``: :func:`_dictated`'s pointers)."""
    return _user_said(ledger, m) or (m.transform in ("plain", "case/unicode") and getattr(m, "pointer", "") in dictated)


_DICTATED_MAX = 16384  # longer texts are not looked for in the user's words


def _dictated(ledger: Any, texts: Sequence[tuple[str, str]]) -> frozenset[str]:
    """The pointers whose every text the user dictated: the whole text (trimmed) is, as a
    whole token, in the user's own words, and they are the earliest trusted text holding it
    (an ad or a reply the user wrote out and asked to send). Labelled data in clear inside such
    a text is the user's even where it also is in a private document: it can carry nothing
    the user did not write. A text with anything added to it is judged fragment by fragment,
    as :func:`_user_said` does (a greeting around a quote can carry a short private tail)."""
    said: dict[str, bool] = {}
    for ptr, text in texts:  # one pointer may give several texts (a JSON value's keys and strings)
        if said.get(ptr, True):
            said[ptr] = len(text.strip()) <= _DICTATED_MAX and _in_users_words(ledger, text)
    return frozenset(ptr for ptr, ok in said.items() if ok)


def _dest_name(d: Dest, *, carries: bool = False) -> str:
    """How a finding names a destination: a URL by its host (the rest of it may be the very
    data), and so an address or channel whose own value carries the data (``carries``)."""
    assert d.dest is not None
    if d.dest.kind == "url" and d.dest.host:
        return f"the host {d.dest.host}"
    if carries and d.dest.kind in ("email", "channel"):
        return _where(d)[4:]
    if d.dest.kind in _HOST_KINDS and d.dest.registrable_domain and host_data_parts(d.dest.host, d.dest.registrable_domain):
        return f"a host name under {d.dest.registrable_domain}"  # its labels may be the very data
    return d.dest.normalized[:120]


def check_url_data(ctx: Context) -> list[Finding]:
    """A URL (a url destination, not inside rendered text) to a non-allowed host carrying
    data; and a host or domain destination whose labels carry data (a DNS lookup of
    ``<data>.evil.test`` sends them to the domain's name servers)."""
    out: list[Finding] = []
    for d in _open(ctx):
        if d.embedded is not None or d.dest is None or d.dest.kind not in _DATA_KINDS:
            continue
        carried = _url_carries(ctx, d)
        if carried:
            what, evidence = carried
            where = _where(d)
            out.append(ctx.finding(
                "url.data_in_query",
                f"{d.pointer}: {where} carries {what}",
                d.pointer,
                evidence,
            ))
    return out


def _where(d: Dest) -> str:
    """The data-bearing destination, named without the part that may be the data."""
    assert d.dest is not None
    kind = d.dest.kind
    if kind == "url":
        return f"the URL to {d.dest.host}"
    if kind == "email":
        return f"the address at {d.dest.host}"
    if kind == "channel":
        return "the channel name"
    return f"the host name under {d.dest.registrable_domain}"


def check_rendered(ctx: Context) -> list[Finding]:
    """Images and links in rendered text (markdown/html destinations) that carry data out."""
    out: list[Finding] = []
    for d in _open(ctx):
        if d.embedded is None or d.dest is None:
            continue
        carried = _url_carries(ctx, d)
        if carried:
            what, evidence = carried
            kind = "image/resource" if d.embedded.resource else "link"
            out.append(ctx.finding(
                "markdown.remote_resource",
                f"{d.pointer}: a rendered {kind} to {d.dest.host} carries {what}; it would leak when displayed",
                d.pointer,
                evidence,
            ))
    return out


def check_encoded_blob(ctx: Context) -> list[Finding]:
    """Packed data (base64, hex, compressed) in a payload to a non-allowed destination."""
    out: list[Finding] = []
    if not payload_leaves(ctx):
        return out
    ledger = ctx.view.ledger
    for ptr, text in payload_texts(ctx):
        for a, b, kind in find_blobs(text):
            blob = text[a:b]
            if ledger.sanctioned(blob, whole=True) is not None or ledger.origin(blob, whole=True):
                continue
            out.append(ctx.finding(
                "payload.encoded_blob",
                f"{ptr or '/'} carries a {kind} blob of {b - a} chars to a destination that is not allowed",
                ptr,
                (Evidence("rule", {"blob_kind": kind, "offset": [a, b], "blob": blob[:80]}),),
            ))
            break
    return out


def _deciding_values(ctx: Context) -> list[tuple[str, str, tuple[str, ...]]]:
    """``(pointer, value, forms)`` of every deciding scalar; numbers carry their usual spellings."""
    m = ctx.manifest
    assert m is not None
    toks = ctx.c.deciding
    out: list[tuple[str, str, tuple[str, ...]]] = []
    if toks:
        for t in toks:
            for ptr, v in _pointer.resolve(ctx.args, t):
                out.extend(_scalars(v, ptr))
    elif not m.destinations:
        for k, v in ctx.args.items():
            out.extend(_scalars(v, _pointer.format_pointer([k])))
    return out


def _scalars(v: Any, ptr: str) -> list[tuple[str, str, tuple[str, ...]]]:
    if isinstance(v, bool) or v is None:
        return []
    if isinstance(v, str):
        return [(ptr, v, ())] if v.strip() else []
    if isinstance(v, int):
        return [(ptr, str(v), _number_forms(v))]
    if isinstance(v, float):
        return [(ptr, str(int(v)) if v.is_integer() else repr(v), _number_forms(v))]
    if isinstance(v, list):
        return [x for i, item in enumerate(v) for x in _scalars(item, f"{ptr}/{i}")]
    if isinstance(v, dict):
        return [x for k, item in v.items() for x in _scalars(item, f"{ptr}/{k}")]
    return []


def _number_forms(v: float) -> tuple[str, ...]:
    """The ways a person writes the number ``v``: ``1250.5`` is also ``1,250.50``, ``1250,50``,
    ``1 250,50``... (grouped by thousands or not; point or comma decimals; none, the shortest
    or two decimals). A JSON number has no spelling of its own, so the user's "39.90 EUR"
    grounds ``39.9`` exactly as their "40 EUR" grounds ``40``. Bounded to finite values."""
    if not math.isfinite(v) or abs(v) >= 1e15:
        return ()
    whole = float(v).is_integer()
    bodies = {f"{v:,.2f}"} | ({f"{int(v):,}"} if whole else {f"{v:,}".rstrip("0").rstrip(".")})
    forms: set[str] = set()
    for body in bodies:
        intpart, _, frac = body.partition(".")
        for group in ("", ",", ".", " ", "'"):
            for point in (".", ","):
                if group == point:
                    continue
                text = intpart.replace(",", group)
                forms.add(f"{text}{point}{frac}" if frac else text)
    return tuple(sorted(forms))


def _grounded(ledger: Any, value: str, origin: tuple[Any, ...], *, forms: list[str] | None = None) -> bool:
    """Grounded in trusted text: the user's or system's words; or trusted tool output, unless
    untrusted content also names the value (an injected "delete f_999" that matches a real
    file from a trusted listing is the attacker's choice, not the user's)."""
    return _grounding(ledger, value, origin, forms=forms) is None


def _grounding(ledger: Any, value: str, origin: tuple[Any, ...], *, forms: list[str] | None = None) -> str | None:
    """None when ``value`` is grounded (see :func:`_grounded`), else why not, in words an
    approver and the model can act on."""
    src = ledger.sanctioned(value, forms=forms or ())
    if src is not None and (src.tool in ("user", "system") or not origin):
        return None
    if origin:
        named = f"{origin[0].source.tool}, call {origin[0].source.call_id}"
        if src is not None:
            # The confusing case: the value *is* in trusted output, but untrusted content names
            # it too, so it may be the injected choice among trusted values.
            return f"is in the output of {src.tool} but untrusted content ({named}) names it too, so only the user's words would ground it"
        return f"comes from untrusted content ({named}), not from the user's words or trusted output"
    return "is not in the user's words or trusted output"


#: Kinds whose places anyone can hold: an allow pattern over them is a prefix (a country's
#: IBANs, an area code), which bounds where a payment or a call may go but names no one.
_PREFIX_KINDS = frozenset({"iban", "phone"})


def _bounds_only(d: Dest) -> bool:
    """The destination is allowed, but only as a path inside its roots or an account/number
    under a prefix pattern (``DE*``, ``+4930*``): the allow-list bounds *where* the tool may
    act, it does not choose *which* file, account or number. For the untrusted-context rule
    such a destination decides the action and must be grounded like a deciding argument: an
    invoice that swaps the vendor's IBAN for another German one has chosen the payee. An
    exact pattern (one account the operator named) is the operator's choice and sanctions it."""
    assert d.dest is not None
    if d.dest.kind == "path":
        return True
    return d.dest.kind in _PREFIX_KINDS and d.allowed is not None and d.allowed.rstrip().endswith("*")


#: Kinds that name who receives a call (a person's address, a channel's members): an allow
#: pattern over them (``*@acme.example``, ``#ops-*``) covers many recipients.
_RECIPIENT_KINDS = frozenset({"email", "channel"})


def _labelled_payload(ctx: Context) -> list[Any]:
    """The matches of labelled data in the call's payload that are not the user's own words
    (as :func:`check_private_data` excuses them: said or dictated by the user)."""
    texts = payload_texts(ctx)
    if not texts:
        return []
    ledger = ctx.view.ledger
    matches = [m for m in ledger.scan(texts, labels=None, untrusted=False) if m.source.labels]
    if not matches:
        return []
    dictated = _dictated(ledger, texts)
    return [m for m in matches if not _users_own(ledger, m, dictated)]


def _chosen_recipients(ctx: Context) -> list[Evidence]:
    """Recipients (addresses, channels) under an allow *pattern* that untrusted content chose
    for labelled data: an allow pattern trusts every place it covers, but one that only
    untrusted content names is that content's choice, and private data is not sent there on
    its say-so alone (an "auditor" on the auditors' domain asking for the vendor master data).
    Grounded as any value is (:func:`_grounding`); an exact allow entry is the operator's
    choice and is not looked at. The costly lookups run only in a session that holds labelled
    data, all recipients in one, and the payload is scanned only when one is named."""
    ledger = ctx.view.ledger
    cands = [d for d in ctx.dests if d.dest is not None and d.embedded is None and d.allowed is not None
             and d.dest.kind in _RECIPIENT_KINDS and "*" in d.allowed]
    if not cands or not any(src.labels for src in ledger.sources):
        return []
    forms = [f for d in cands for f in (d.raw, *_forms(d))]
    if not ledger.origin(forms[0], forms=forms[1:]):
        return []
    out: list[Evidence] = []
    labelled: list[Any] | None = None
    for d in cands:
        origin = ledger.origin(d.raw, forms=_forms(d))
        why = _grounding(ledger, d.raw, origin, forms=_forms(d)) if origin else None
        if why is None:
            continue
        if labelled is None:
            labelled = _labelled_payload(ctx)
        if not labelled:
            return out
        src = labelled[0].source
        out.append(Evidence("grounding", {
            "pointer": d.pointer, "value": d.raw[:120], "from_untrusted": [o.source.call_id for o in origin[:3]],
            "allowed_by": d.allowed,
            "reason": f"is allowed by the pattern {d.allowed!r}, but {why}, and the call carries "
                      f"{'/'.join(sorted(src.labels))} data from {src.tool} (call {src.call_id}) there",
        }))
    return out


def check_untrusted_side_effect(ctx: Context) -> list[Finding]:
    """Hold an outward action after untrusted content unless it is sanctioned by trusted text."""
    out: list[Finding] = []
    m = ctx.manifest
    assert m is not None
    ledger = ctx.view.ledger
    if m.side_effect not in OUTWARD_EFFECTS or not ledger.untrusted_seen:
        return out
    ungrounded = _chosen_recipients(ctx)
    for d in ctx.dests:
        if d.dest is None or d.embedded is not None:
            continue
        if d.allowed is not None and not _bounds_only(d):
            continue
        # A path inside its roots is *where* the tool may act, not *which* file the user
        # chose: for an outward tool (a delete, an upload of a local file) the path decides
        # the action, so it must be grounded like any deciding argument. So does an account
        # or a number that a prefix pattern allows (see _bounds_only).
        origin = ledger.origin(d.raw, forms=_forms(d))
        why = _grounding(ledger, d.raw, origin, forms=_forms(d))
        if why is None:
            continue
        ungrounded.append(Evidence("grounding", {"pointer": d.pointer, "value": d.raw[:120], "from_untrusted": [o.source.call_id for o in origin[:3]], "reason": why}))
    values = _deciding_values(ctx)
    if not values and not m.destinations and not m.deciding:
        ungrounded.append(Evidence("grounding", {"pointer": "", "value": "", "note": "the call has no arguments to ground", "reason": "has no argument that the user's words could ground"}))
    for ptr, v, forms in values:
        origin = ledger.origin(v, forms=forms)
        why = _grounding(ledger, v, origin, forms=list(forms))
        if why is None:
            continue
        ungrounded.append(Evidence("grounding", {"pointer": ptr, "value": v[:120], "from_untrusted": [o.source.call_id for o in origin[:3]], "reason": why}))
    if not ungrounded:
        return out
    sources = [s for s in ledger.sources if not s.trusted]
    first = sources[0] if sources else None
    # One reason per argument (the first four): "is not grounded" alone misleads when the
    # value is in trusted output but untrusted content names it too.
    whats = "; ".join(f"{e.detail['pointer'] or 'the call'} {_quote(e.detail['value']) + ' ' if e.detail['value'] else ''}{e.detail['reason']}" for e in ungrounded[:4])
    if len(ungrounded) > 4:
        whats += f"; and {len(ungrounded) - 4} more"
    effect = m.side_effect
    out.append(ctx.finding(
        "context.untrusted_side_effect",
        f"{'an' if effect[0] in 'aeiou' else 'a'} {effect} call after untrusted content entered the session"
        + (f" (first from {first.tool}, call {first.call_id})" if first else "")
        + f": {whats}",
        ungrounded[0].detail.get("pointer", ""),
        tuple(ungrounded[:8]),
    ))
    return out


CHECKS = {
    "untrusted_origin": check_untrusted_origin,
    "private_data": check_private_data,
    "url_data": check_url_data,
    "rendered": check_rendered,
    "encoded_blob": check_encoded_blob,
}

#: Checks that run only when nothing else stopped the call ("with nothing else wrong").
FINAL_CHECKS = {"untrusted_side_effect": check_untrusted_side_effect}


def quiet(ctx: Context) -> bool:
    """True when none of the checks in :data:`QUIET` can find anything in this call.

    That is when no untrusted content entered the session and the call sends nothing to a
    place its allow-lists do not cover: every check above first asks one of these (the
    origin and trifecta rules need untrusted content; the payload, URL, rendered-text and
    blob rules need data leaving to a non-allowed place). The decision core then skips
    them; tests/exfil compare decisions with and without the skip.
    """
    return not ctx.view.ledger.untrusted_seen and not leaves(ctx) and not (ctx.c.has_public and _public(ctx))


#: The checks :func:`quiet` vouches for.
QUIET: frozenset[Callable[[Context], list[Finding]]] = frozenset({*CHECKS.values(), *FINAL_CHECKS.values()})
