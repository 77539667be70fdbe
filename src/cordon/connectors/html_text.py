"""HTML to plain text for post content and bios (Mastodon, ActivityPub).

Fast path: a few regular expressions handle the small HTML subset that Mastodon emits (<p>, <br>, <a>, <span>).
Anything else falls back to selectolax's HTML5 parser. `html_texts` does a whole column at once: the markups
are joined by NUL, each expression runs once over the joined text (none of them matches across a NUL), and
the result is split again, with the same text for each markup as `html_to_text` gives it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from selectolax.lexbor import LexborHTMLParser

# `[^>\x00]` instead of `[^>]`: the same within one markup (which holds no NUL), and never across two joined
_SIMPLE_TAGS = re.compile(r"</?(?:p|br|a|span)\b[^>\x00]*>", re.IGNORECASE)
_ANY_TAG = re.compile(r"<[^>\x00]*>")
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_P_BREAK = re.compile(r"</p>\s*<p[^>\x00]*>", re.IGNORECASE)
_BLOCK_BREAK = re.compile(r"</(?:p|div|li|h[1-6]|blockquote|pre)>", re.IGNORECASE)
_SEP = "\x00"


def html_to_text(markup: str) -> str:
    """Readable plain text of `markup`: paragraphs split by a blank line, <br> as newline, entities decoded.

    Mastodon hides parts of long link texts in `<span class="invisible">` (and `"ellipsis"`); removing the
    span tags keeps their text, so that a displayed URL comes out whole.
    """
    if "<" not in markup:
        return html.unescape(markup) if "&" in markup else markup
    text = _BR.sub("\n", _P_BREAK.sub("\n\n", markup))
    stripped = _SIMPLE_TAGS.sub("", text)
    if "<" in stripped and _ANY_TAG.search(stripped):
        return _fallback(text)
    return (html.unescape(stripped) if "&" in stripped else stripped).strip()


def html_texts(markups: Sequence[str]) -> list[str]:
    """`[html_to_text(m) for m in markups]`, computed over the joined column."""
    joined = _SEP.join(markups)
    if len(markups) < 2 or joined.count(_SEP) != len(markups) - 1:  # a markup holds a NUL itself
        return [html_to_text(m) for m in markups]
    odd: list[int] = []
    if "<" in joined:
        stripped = _SIMPLE_TAGS.sub("", _BR.sub("\n", _P_BREAK.sub("\n\n", joined)))
        if "<" in stripped:  # tags beyond the subset: those markups go through the parser, one by one
            odd = sorted({stripped.count(_SEP, 0, m.start()) for m in _ANY_TAG.finditer(stripped)})
    else:
        stripped = joined
    if "&" in stripped:
        # an entity never holds a NUL, and unescape keeps what follows a name it recognises: the NULs stay
        stripped = html.unescape(stripped)
    parts = stripped.split(_SEP)
    out = [p.strip() if "<" in m else p for p, m in zip(parts, markups, strict=True)]
    for i in odd:
        out[i] = html_to_text(markups[i])
    return out


def _fallback(markup: str) -> str:
    """Full parser for markup beyond Mastodon's subset (lists, headings, scripts...)."""
    markup = _BLOCK_BREAK.sub(lambda m: m.group(0) + "\n\n", markup)
    tree = LexborHTMLParser(markup)
    for node in tree.css("script, style"):
        node.decompose()
    body = tree.body
    raw = body.text(deep=True, separator="") if body is not None else tree.text(deep=True, separator="")
    return re.sub(r"\n{3,}", "\n\n", raw).strip()
