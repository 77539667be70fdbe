"""Hashtag keys: case, NFKC, zero-width and Cyrillic/Greek look-alikes collapse; genuine words survive."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cordon.signals.entities import normalise_hashtag
from cordon.signals.entities.hashtags import confusable_table


@pytest.mark.parametrize(
    ("tag", "key"),
    [
        ("#Tag", "tag"),
        ("#ＴＡＧ", "tag"),  # full-width, NFKC
        ("#t\u200ba\u200dg", "tag"),  # zero-width space and joiner
        ("#t\u0430g", "tag"),  # Cyrillic small a
        # Cyrillic capitals TE, A, GHE: GHE has no Latin look-alike, so this is a Cyrillic word and stays one
        ("#\u0422\u0410\u0413", "\u0442\u0430\u0433"),
        ("#\u0440\u043e\u0440", "pop"),  # all-Cyrillic spelling of a Latin word (er, o, er)
        ("#\u0397ello", "hello"),  # Greek capital Eta in a Latin word: H, not eta -> n
        ("#привет", "привет"),  # a genuine Russian word is not mangled
        ("#Straße", "strasse"),  # case-fold, not lower
        ("＃tag", "tag"),
    ],
)
def test_examples(tag: str, key: str) -> None:
    assert normalise_hashtag(tag) == key


def test_table_is_cyrillic_and_greek_to_latin() -> None:
    table = confusable_table()
    assert table[ord("\u0430")] == "a"  # Cyrillic a
    assert table[ord("\u03bf")] == "o"  # Greek omicron
    assert table[ord("\u0391")] == "a"  # Greek capital Alpha
    assert all(unicodedata.name(chr(cp)).startswith(("CYRILLIC", "GREEK")) for cp in table)
    assert all(v.isascii() and v.islower() and len(v) == 1 for v in table.values())


def _lookalikes() -> dict[str, list[str]]:
    """Latin letter -> Cyrillic/Greek characters that look like it and are stable under NFKC + case-fold."""
    out: dict[str, list[str]] = {}
    for cp, latin in confusable_table().items():
        ch = chr(cp)
        if unicodedata.normalize("NFKC", ch) == ch and ch.casefold() == ch:
            out.setdefault(latin, []).append(ch)
    return out


LOOKALIKES = _lookalikes()
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]


@settings(max_examples=300, deadline=None)
@given(word=st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12), data=st.data())
def test_confusable_and_case_invariance(word: str, data: st.DataObject) -> None:
    disguised = ""
    for ch in word:
        choice = data.draw(st.integers(0, 3))
        if choice == 0 and ch in LOOKALIKES:
            disguised += data.draw(st.sampled_from(LOOKALIKES[ch]))
        elif choice == 1:
            disguised += ch.upper()
        elif choice == 2:
            disguised += ch + data.draw(st.sampled_from(INVISIBLE))
        else:
            disguised += ch
    assert normalise_hashtag("#" + disguised) == word


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=30))
def test_idempotent_on_any_text(text: str) -> None:
    once = normalise_hashtag(text)
    assert normalise_hashtag(once) == once
