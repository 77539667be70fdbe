"""html_to_text: Mastodon's HTML subset (fast path) and anything else (parser fallback).

Generated HTML is built from a small tree whose plain text is known by construction; the expected text is
assembled from that tree, never from html_to_text itself.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cordon.connectors.html_text import html_texts, html_to_text

# words may hold characters HTML must escape, entities-looking text and non-ASCII; no surrogates
_word = st.text(
    alphabet=st.sampled_from(list("abcXYZ019 &<>\"';#@é€😀"))
    | st.characters(exclude_categories=("Cs", "Cc")),
    min_size=1,
    max_size=8,
)


@dataclass(frozen=True)
class Fragment:
    markup: str
    text: str


def _escaped(word: str) -> Fragment:
    return Fragment(html.escape(word, quote=False), word)


@st.composite
def _inline(draw: st.DrawFn, extra_tags: bool) -> Fragment:
    """A run of text, links, spans (Mastodon hides URL parts in `invisible` spans) and <br>s."""
    parts: list[Fragment] = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(
            st.sampled_from(["text", "link", "span", "br", "mention", *(["b", "em"] if extra_tags else [])])
        )
        word = _escaped(draw(_word))
        if kind == "text":
            parts.append(word)
        elif kind == "link":
            parts.append(
                Fragment(
                    f'<a href="https://example.org/x" rel="nofollow noopener" target="_blank">'
                    f'<span class="invisible">https://</span><span class="">{word.markup}</span></a>',
                    f"https://{word.text}",
                )
            )
        elif kind == "span":
            parts.append(Fragment(f'<span class="ellipsis">{word.markup}</span>', word.text))
        elif kind == "mention":
            parts.append(
                Fragment(
                    f'<span class="h-card"><a href="https://s.example/@u" class="u-url mention">@<span>'
                    f"{word.markup}</span></a></span>",
                    f"@{word.text}",
                )
            )
        elif kind == "br":
            parts.append(Fragment(draw(st.sampled_from(["<br>", "<br/>", "<br />", "<BR>"])), "\n"))
        else:
            parts.append(Fragment(f"<{kind}>{word.markup}</{kind}>", word.text))
    return Fragment("".join(p.markup for p in parts), "".join(p.text for p in parts))


@st.composite
def _document(draw: st.DrawFn, extra_tags: bool = False) -> Fragment:
    paragraphs = draw(st.lists(_inline(extra_tags), min_size=1, max_size=4))
    markup = "".join(f"<p>{p.markup}</p>" for p in paragraphs)
    return Fragment(markup, "\n\n".join(p.text for p in paragraphs))


def _norm(text: str) -> str:
    return text.strip()


@settings(max_examples=200, deadline=None)
@given(doc=_document())
def test_mastodon_subset(doc: Fragment) -> None:
    assert html_to_text(doc.markup) == _norm(doc.text)


@settings(max_examples=150, deadline=None)
@given(doc=_document(extra_tags=True))
def test_other_inline_tags_fall_back_to_the_parser_with_the_same_text(doc: Fragment) -> None:
    got = html_to_text(doc.markup)
    # the HTML5 parser may normalise whitespace at the edges of paragraphs; the words and their order stay
    assert got.split() == _norm(doc.text).split()


@settings(max_examples=300, deadline=None)
@given(markup=st.text(max_size=200))
def test_any_text_never_raises(markup: str) -> None:
    assert isinstance(html_to_text(markup), str)


@settings(max_examples=100, deadline=None)
@given(text=st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="<&"), max_size=60))
def test_plain_text_is_left_alone(text: str) -> None:
    assert html_to_text(text) == text


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("<p>one</p><p>two</p>", "one\n\ntwo"),
        ("<p>a<br>b<br />c</p>", "a\nb\nc"),
        ("<p>x &amp; y &lt;3 &#39;q&#39;</p>", "x & y <3 'q'"),
        ("&lt;p&gt;shown literally&lt;/p&gt;", "<p>shown literally</p>"),
        ("<p>5 &lt; 6</p>", "5 < 6"),
        ("<ul><li>one</li><li>two</li></ul>", "one\n\ntwo"),
        ("<p>hi</p><script>alert(1)</script><style>p{}</style>", "hi"),
        ("<h1>title</h1><blockquote>quoted</blockquote>", "title\n\nquoted"),
        ("<p>a</p>\n<p>b</p>", "a\n\nb"),
        ("<P CLASS='x'>UP</P><P>low</P>", "UP\n\nlow"),
        ("", ""),
    ],
)
def test_examples(markup: str, expected: str) -> None:
    assert html_to_text(markup) == expected


# -- a whole column at once --------------------------------------------------------------------------------
_markup = st.one_of(
    _document().map(lambda d: d.markup),
    _document(extra_tags=True).map(lambda d: d.markup),
    st.text(max_size=60),  # anything: stray '<', '&', unclosed tags, NUL characters
    st.sampled_from(["", "plain", "&amp", "a &", "<p", "<a href='x'", "<br", "x\x00y", "<p>a\x00b</p>"]),
)


@settings(max_examples=300, deadline=None)
@given(markups=st.lists(_markup, max_size=12))
def test_a_column_gives_each_markup_its_own_text(markups: list[str]) -> None:
    """html_texts joins the column and runs each expression once: every markup must still come out as it
    does alone, whatever its neighbours hold (an unclosed tag or entity never reaches into the next one)."""
    assert html_texts(markups) == [html_to_text(m) for m in markups]


def test_a_column_of_mastodon_markup() -> None:
    markups = [
        "<p>one</p><p>two</p>",
        "plain &amp; untouched ",  # no tag: unescaped, not stripped
        "<p>x<br>y</p>",
        "<ul><li>parser</li></ul>",  # beyond the subset: through the parser
        "",
        "<p>5 &lt; 6</p>",
    ]
    assert html_texts(markups) == ["one\n\ntwo", "plain & untouched ", "x\ny", "parser", "", "5 < 6"]


@pytest.mark.parametrize("br", ["<br>", "<BR>", "<Br>", "<bR />"])
def test_br_in_any_case_is_a_newline(br: str) -> None:
    assert html_to_text(f"<p>a{br}b</p>") == "a\nb"
