"""The regular expressions of entity extraction: per group, a cheap RE2 row trigger and a candidate regex.

Why triggers: most posts carry no entity at all. A group's trigger runs in Arrow's RE2 over the whole
batch in C and selects the rows that could hold one of its candidates (it may over-select, never
under-select); only those rows go through the group's candidate regex, one alternation compiled once
whose named groups say what each candidate is. Validation (checksums, public suffixes, digit counts)
then runs on candidates only.

Why four groups (links, wallets, contacts, hashtags) and not one alternation: Python's ``re`` tries every
alternative at every position, so one 12-way alternation over a row costs the sum of all of them even
when the row only holds a hashtag. Measured on the benchmark mix, splitting by group, each scanning only
its own triggered rows, was several times faster than one combined pass over the union of the rows.
A side effect, wanted: a wallet inside a URL path (an explorer link) is found as a wallet too.

Rows are joined with ``SEP`` for the candidate pass; ``SEP`` is excluded from every character class that
could run across it, so no candidate spans two rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SEP = "\x00"

_CUR_CODES = "usdt|usdc|usd|eur|gbp|jpy|cad|aud|chf|rub|inr|btc|eth|xmr|ltc"
_LABELS = "kik|snapchat|snap|sc|whatsapp|wa|session|telegram|tg"

_URL_CHARS = r"[^\s<>\"'`\x00]"
_HOST = r"(?:[^\W_](?:[\w\-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63}"
_AMOUNT = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_TAG_CHARS = r"[\w\u200b-\u200f\u2060\ufe0f]"


@dataclass(frozen=True, slots=True)
class PatternGroup:
    """One candidate regex and the RE2 trigger that selects the rows it can match anything in."""

    name: str
    trigger: str  # RE2 syntax (Arrow); may over-select rows, never under-select
    candidates: re.Pattern[str]


def _alternation(parts: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(parts))


LINKS = PatternGroup(
    "links",
    r"://|[\pL\pN]\.\pL{2}",
    _alternation(
        [
            rf"(?P<url>(?i:https?://){_URL_CHARS}+)",
            rf"(?P<tg>(?i:tg://){_URL_CHARS}+)",
            rf"(?P<email>(?<![\w.+\-@])[A-Za-z0-9][A-Za-z0-9._%+\-]{{0,63}}@{_HOST}(?![\w\-@]))",
            rf"(?P<bare>(?<![\w@.\-/:])(?P<host>{_HOST})(?![\w\-@])(?::\d{{1,5}})?(?:[/?]{_URL_CHARS}*)?)",
        ]
    ),
)

WALLETS = PatternGroup(
    "wallets",
    r"[1-9A-HJ-NP-Za-km-z]{26}|0[xX][0-9a-fA-F]{40}|05[0-9a-fA-F]{64}|\b(?:bc|BC|ltc|LTC)1[a-zA-Z0-9]{6}",
    _alternation(
        [
            r"(?P<eth>\b0[xX][0-9a-fA-F]{40}\b)",
            r"(?P<session>\b05[0-9a-fA-F]{64}\b)",
            r"(?P<segwit>\b(?:bc|BC|ltc|LTC)1[a-zA-Z0-9]{6,87}\b)",
            r"(?P<b58>\b[1-9A-HJ-NP-Za-km-z]{26,35}\b|\b[48][1-9A-HJ-NP-Za-km-z]{94}\b)",
        ]
    ),
)

CONTACTS = PatternGroup(
    "contacts",
    "|".join(
        [
            r"[$€£¥₿₽₹+]",
            rf"(?i)\d\s?(?:{_CUR_CODES}|bucks|dollars?|euros?)",
            rf"(?i)(?:{_CUR_CODES})\s?\d",
            r"\b00[1-9]",
            rf"(?i)\b(?:{_LABELS})(?:\s*[:=]|\s+@)",
        ]
    ),
    _alternation(
        [
            rf"(?P<label>\b(?i:{_LABELS})(?:\s*[:=]\s*|\s+(?=@))"
            r"(?P<handle>\+?\d[\d \t().\-]{6,22}\d(?!\d)|@?[\w.\-]{2,66}(?![\w.\-/@])))",
            r"(?P<phone>(?<![\w+])(?:\+|\b00)[1-9]\d{0,3}(?:[ \t.\-]?\(?\d{1,5}\)?){1,6}(?!\w))",
            rf"(?P<price>(?P<sym>[$€£¥₿₽₹])[ \t]?(?P<amt>{_AMOUNT})(?!\w)"
            rf"|\b(?P<amt2>{_AMOUNT})[ \t]?(?:(?P<code>(?i:{_CUR_CODES}|bucks|dollars?|euros?))\b|(?P<sym2>[$€£¥₽₹]))"
            rf"|\b(?P<code2>(?i:{_CUR_CODES}))[ \t]?(?P<amt3>{_AMOUNT})(?!\w))",
        ]
    ),
)

HASHTAGS = PatternGroup(
    "hashtags",
    r"[#＃]",
    _alternation([rf"(?P<tag>(?<![\w#&/])[#＃](?={_TAG_CHARS}*[^\W\d_]){_TAG_CHARS}{{1,139}})"]),
)

GROUPS = (LINKS, WALLETS, CONTACTS, HASHTAGS)
