"""HTML to plain text for post content and bios (Mastodon, ActivityPub).

Fast path: a few regular expressions handle the small HTML subset that Mastodon emits (<p>, <br>, <a>, <span>).
Anything else falls back to selectolax's HTML5 parser.
"""

from __future__ import annotations

import html
import re

from selectolax.lexbor import LexborHTMLParser

_SIMPLE_TAGS = re.compile(r"</?(?:p|br|a|span)\b[^>]*>", re.IGNORECASE)
_ANY_TAG = re.compile(r"<[^>]*>")
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_P_BREAK = re.compile(r"</p>\s*<p[^>]*>", re.IGNORECASE)
_BLOCK_BREAK = re.compile(r"</(?:p|div|li|h[1-6]|blockquote|pre)>", re.IGNORECASE)


def html_to_text(markup: str) -> str:
    """Readable plain text of `markup`: paragraphs split by a blank line, <br> as newline, entities decoded.

    Mastodon hides parts of long link texts in `<span class="invisible">` (and `"ellipsis"`); removing the
    span tags keeps their text, so that a displayed URL comes out whole.
    """
    if "<" not in markup:
        return html.unescape(markup) if "&" in markup else markup
    text = _P_BREAK.sub("\n\n", markup)
    if "<br" in text or "<BR" in text:
        text = _BR.sub("\n", text)
    stripped = _SIMPLE_TAGS.sub("", text)
    if "<" in stripped and _ANY_TAG.search(stripped):
        return _fallback(text)
    return (html.unescape(stripped) if "&" in stripped else stripped).strip()


def _fallback(markup: str) -> str:
    """Full parser for markup beyond Mastodon's subset (lists, headings, scripts...)."""
    markup = _BLOCK_BREAK.sub(lambda m: m.group(0) + "\n\n", markup)
    tree = LexborHTMLParser(markup)
    for node in tree.css("script, style"):
        node.decompose()
    body = tree.body
    raw = body.text(deep=True, separator="") if body is not None else tree.text(deep=True, separator="")
    return re.sub(r"\n{3,}", "\n\n", raw).strip()
