"""URL normalisation: worked examples from the rules, idempotence and tracking-parameter invariance."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cordon.signals.entities import normalise_url, registrable_domain
from cordon.signals.entities.urls import invite_of, telegram_scheme, trim_url


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTPS://Example.COM", "https://example.com/"),
        ("https://example.com:443/a/", "https://example.com/a"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("https://example.com/a?utm_source=x&id=7&fbclid=abc#top", "https://example.com/a?id=7"),
        ("https://example.com/?UTM_Medium=y&gclid=1&si=2&ref=3&mc_cid=4", "https://example.com/"),
        ("https://user:pw@Example.org/x", "https://example.org/x"),
        ("https://BÜCHER.de/", "https://xn--bcher-kva.de/"),
        ("example.co.uk/path", "https://example.co.uk/path"),
        ("https://example.com/A/B", "https://example.com/A/B"),  # the path is case-sensitive
    ],
)
def test_normalisation_examples(raw: str, expected: str) -> None:
    assert normalise_url(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "ftp://example.com/",
        "https://localhost/",
        "https://example.notatld/",
        "https://-bad-.com/",
        "https://a..b.com/",
    ],
)
def test_urls_without_a_public_host_are_rejected(raw: str) -> None:
    assert normalise_url(raw) is None


@pytest.mark.parametrize(
    ("host", "domain"),
    [
        ("a.b.example.co.uk", "example.co.uk"),
        ("www.example.com", "example.com"),
        ("user.github.io", "user.github.io"),
    ],
)
def test_registrable_domain_follows_the_public_suffix_list(host: str, domain: str) -> None:
    assert registrable_domain(host) == domain


def test_trailing_sentence_punctuation_is_trimmed() -> None:
    assert trim_url("https://x.org/a).") == "https://x.org/a"
    assert trim_url("https://en.wikipedia.org/wiki/A_(b)") == "https://en.wikipedia.org/wiki/A_(b)"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://t.me/SomeChannel", ("telegram", "tg:somechannel")),
        ("https://t.me/+AbCdEf123", ("telegram", "tg+:AbCdEf123")),
        ("https://telegram.me/joinchat/AbCdEf123", ("telegram", "tg+:AbCdEf123")),
        ("https://t.me/s/somechannel", ("telegram", "tg:somechannel")),
        ("https://discord.gg/AbC12", ("discord", "discord:AbC12")),
        ("https://discord.com/invite/AbC12", ("discord", "discord:AbC12")),
        ("https://discordapp.com/invite/AbC12", ("discord", "discord:AbC12")),
        ("https://wa.me/15550001111", ("messenger", "whatsapp:+15550001111")),
        ("https://kik.me/Someone", ("messenger", "kik:someone")),
        ("https://example.com/invite/x", None),
    ],
)
def test_invites_in_urls(url: str, expected: tuple[str, str] | None) -> None:
    norm = normalise_url(url)
    assert norm is not None
    assert invite_of(norm) == expected


def test_telegram_scheme() -> None:
    assert telegram_scheme("tg://resolve?domain=SomeChan") == "tg:somechan"
    assert telegram_scheme("tg://join?invite=AbC_d") == "tg+:AbC_d"
    assert telegram_scheme("tg://settings") is None


label = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
host = st.tuples(
    st.lists(label, min_size=1, max_size=3), st.sampled_from(["com", "org", "co.uk", "de", "io"])
).map(lambda t: ".".join([*t[0], t[1]]))
segment = st.text(alphabet="abcXYZ019-_.~%", min_size=0, max_size=6)
param = st.tuples(
    st.sampled_from(["id", "q", "page", "lang", "x"]), st.text(alphabet="abc123", max_size=4)
).map("=".join)
tracking = st.tuples(
    st.sampled_from(
        ["utm_source", "utm_campaign", "UTM_Medium", "fbclid", "gclid", "igshid", "si", "ref", "mc_eid"]
    ),
    st.text(alphabet="abc123", max_size=6),
).map("=".join)
urls = st.builds(
    lambda scheme, h, port, segs, params, frag: (
        f"{scheme}://{h}{port}/{'/'.join(segs)}{'?' + '&'.join(params) if params else ''}{frag}"
    ),
    st.sampled_from(["http", "https", "HTTPS", "Http"]),
    host.map(lambda h: "".join(c.upper() if i % 3 == 0 else c for i, c in enumerate(h))),
    st.sampled_from(["", ":443", ":80", ":8443"]),
    st.lists(segment, max_size=3),
    st.lists(param, max_size=3),
    st.sampled_from(["", "#x", "#", "#a/b?c"]),
)


@settings(max_examples=300, deadline=None)
@given(url=urls)
def test_normalisation_is_idempotent(url: str) -> None:
    once = normalise_url(url)
    assert once is not None
    assert normalise_url(once) == once
    assert "#" not in once


@settings(max_examples=300, deadline=None)
@given(url=urls, extra=st.lists(tracking, min_size=1, max_size=3), data=st.data())
def test_tracking_parameters_do_not_change_the_key(url: str, extra: list[str], data: st.DataObject) -> None:
    base, _, frag = url.partition("#")
    path, _, query = base.partition("?")
    params = [p for p in query.split("&") if p]
    for p in extra:
        params.insert(data.draw(st.integers(0, len(params))), p)
    tracked = f"{path}?{'&'.join(params)}" + (f"#{frag}" if frag else "")
    assert normalise_url(tracked) == normalise_url(url)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_normalise_url_never_raises(text: str) -> None:
    result = normalise_url(text)
    assert result is None or result.startswith(("http://", "https://"))
