"""URL normalisation, registrable domains, and the invite links hidden in URLs.

Why normalise: co-link detection keys on the URL string, and distributors vary it (host case, tracking
parameters, ``:443``, a trailing slash, ``#fragment``) so that each copy looks new. The normal form here is
a pure function of the string: nothing is ever fetched, resolved or visited.

Registrable domains come from the public-suffix list bundled in ``publicsuffixlist`` (a dated snapshot
shipped inside the wheel, no network at import or run time). It was preferred over ``tldextract`` because
``tldextract`` tries to download a fresh list unless told not to and caches files on disk; here the
snapshot is plain package data and lookups are an in-memory dict walk.
"""

from __future__ import annotations

from functools import cache, lru_cache
from urllib.parse import unquote

import idna
from publicsuffixlist import PublicSuffixList

# Query keys that only track the click; dropped so that the same link shared twice is one key.
_TRACKING_KEYS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "ttclid",
        "igshid", "igsh", "si", "ref", "ref_src", "ref_url", "_hsenc", "_hsmi", "mkt_tok",
        "spm", "share_id", "trk", "trkid", "__s", "vero_id", "oly_enc_id", "oly_anon_id", "rb_clickid",
    }
)  # fmt: skip
_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "hsa_")
_DEFAULT_PORTS = {"http": "80", "https": "443"}
_TRAILING_PUNCT = ".,;:!?'\"*>]}"
_TELEGRAM_HOSTS = frozenset({"t.me", "telegram.me", "telegram.dog"})
_DISCORD_INVITE_HOSTS = frozenset({"discord.com", "discordapp.com"})


@cache
def _psl() -> PublicSuffixList:
    """The bundled public-suffix list; unknown TLDs are not accepted (``example.notatld`` is no domain)."""
    return PublicSuffixList(accept_unknown=False)


def trim_url(candidate: str) -> str:
    """Drop sentence punctuation a regex swallowed at the end (``see https://x.org/a).`` -> ``.../a``)."""
    url = candidate.rstrip(_TRAILING_PUNCT)
    while url.endswith(")") and url.count(")") > url.count("("):
        url = url[:-1].rstrip(_TRAILING_PUNCT)
    return url


@lru_cache(maxsize=1 << 16)
def normalise_host(host: str) -> str | None:
    """Lower-case IDNA (punycode) host, or None when it is not a name under a known public suffix."""
    host = host.strip(".").lower()
    if not host or len(host) > 253:
        return None
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError, ValueError):
            return None
    labels = host.split(".")
    if len(labels) < 2 or any(not lab or len(lab) > 63 for lab in labels):
        return None
    if any(lab.startswith("-") or lab.endswith("-") for lab in labels):
        return None
    if _psl().publicsuffix(host) is None:
        return None
    return host


@lru_cache(maxsize=1 << 16)
def registrable_domain(host: str) -> str | None:
    """The registrable domain (eTLD+1) of a normalised host: ``a.b.example.co.uk`` -> ``example.co.uk``."""
    return _psl().privatesuffix(host)


def _is_tracking(key: str) -> bool:
    k = unquote(key).lower()
    return k in _TRACKING_KEYS or k.startswith(_TRACKING_PREFIXES)


def normalise_url(url: str, default_scheme: str = "https") -> str | None:
    """Canonical form of an http(s) URL, or None when it has no valid host.

    scheme and host lower case, host IDNA-encoded, user-info and default port and fragment dropped,
    tracking parameters removed (others kept in order, bytes untouched), empty path -> ``/``, a trailing
    slash on a longer path removed. Idempotent: ``normalise_url(normalise_url(u)) == normalise_url(u)``.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = default_scheme, url
    scheme = scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        return None
    rest = rest.split("#", 1)[0]
    cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    authority, tail = rest[:cut], rest[cut:]
    authority = authority.rpartition("@")[2]
    host, colon, port = authority.partition(":")
    if colon and not (port.isdigit() and len(port) <= 5 and int(port) <= 65535):
        return None
    norm_host = normalise_host(host)
    if norm_host is None:
        return None
    path, qmark, query = tail.partition("?")
    if not path:
        path = "/"
    elif len(path) > 1:
        path = path.rstrip("/") or "/"
    kept = [p for p in query.split("&") if p and not _is_tracking(p.partition("=")[0])] if qmark else []
    port_part = f":{int(port)}" if colon and str(int(port)) != _DEFAULT_PORTS[scheme] else ""
    query_part = "?" + "&".join(kept) if kept else ""
    return f"{scheme}://{norm_host}{port_part}{path}{query_part}"


def _query_value(query: str, key: str) -> str:
    for part in query.split("&"):
        k, _, v = part.partition("=")
        if k == key:
            return unquote(v)
    return ""


def invite_of(norm_url: str) -> tuple[str, str] | None:
    """The Telegram/Discord/messenger identity a normalised URL points at: ``("telegram", "tg:name")``...

    Values: ``tg:<username>`` (lower case, Telegram names are case-insensitive), ``tg+:<invite>`` (invite
    hashes are case-sensitive), ``discord:<code>``, ``whatsapp:+<digits>``, ``kik:<name>``, ``snap:<name>``.
    """
    rest = norm_url.partition("://")[2]
    host, _, path_query = rest.partition("/")
    host = host.split(":", 1)[0].removeprefix("www.")
    path, _, query = path_query.partition("?")
    segs = [s for s in path.split("/") if s]
    if host in _TELEGRAM_HOSTS and segs:
        first = segs[0]
        if first.startswith("+") and len(first) > 1:
            return "telegram", f"tg+:{first[1:]}"
        if first == "joinchat" and len(segs) > 1:
            return "telegram", f"tg+:{segs[1]}"
        name = segs[1] if first == "s" and len(segs) > 1 else first
        return ("telegram", f"tg:{name.lower()}") if _is_tg_name(name) else None
    if host == "discord.gg" and segs:
        return "discord", f"discord:{segs[0]}"
    if host in _DISCORD_INVITE_HOSTS and len(segs) > 1 and segs[0] == "invite":
        return "discord", f"discord:{segs[1]}"
    if host == "wa.me" and segs and segs[0].isdigit():
        return "messenger", f"whatsapp:+{segs[0]}"
    if host == "api.whatsapp.com" and segs[:1] == ["send"]:
        phone = "".join(ch for ch in _query_value(query, "phone") if ch.isdigit())
        return ("messenger", f"whatsapp:+{phone}") if 8 <= len(phone) <= 15 else None
    if host == "chat.whatsapp.com" and segs:
        return "messenger", f"whatsapp+:{segs[0]}"
    if host == "kik.me" and segs:
        return "messenger", f"kik:{segs[0].lower()}"
    if host == "snapchat.com" and len(segs) > 1 and segs[0] == "add":
        return "messenger", f"snap:{segs[1].lower()}"
    return None


def _is_tg_name(name: str) -> bool:
    return 4 <= len(name) <= 32 and name.replace("_", "").isalnum() and name.isascii()


def telegram_scheme(url: str) -> str | None:
    """``tg://resolve?domain=name`` -> ``tg:name``; ``tg://join?invite=code`` -> ``tg+:code``."""
    action, _, query = url.partition("://")[2].partition("?")
    action = action.rstrip("/").lower()
    if action == "resolve":
        name = _query_value(query, "domain")
        return f"tg:{name.lower()}" if _is_tg_name(name) else None
    if action == "join":
        code = _query_value(query, "invite")
        return f"tg+:{code}" if code else None
    return None
