"""The action table: every key kind, no action from an empty key, and MinHash-LSH near-duplicate keys."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.factories import EPOCH, make_media_ref, make_post
from tests.unit.detectors.world import corpus

from cordon.detectors import actions
from cordon.model import MediaLink, Platform

P1 = "900001"
P2 = "900002"
P3 = "900003"
P4 = "900004"
P5 = "900005"
T1 = "900006"
T2 = "900007"
T3 = "900008"
N1 = "900009"
N2 = "900010"
N3 = "900011"
N4 = "900012"
LONG = "the community garden opens on saturday with free seedlings for every neighbour who comes along early"


def _keys(con: duckdb.DuckDBPyConnection, kind: str) -> dict[str, set[str]]:
    """post id -> keys of that kind."""
    out: dict[str, set[str]] = {}
    for post_id, key in con.execute("SELECT post_id, key FROM action WHERE kind = ?", [kind]).fetchall():
        out.setdefault(post_id, set()).add(key)
    return out


def test_every_kind_and_no_action_from_an_empty_key() -> None:
    ref = make_media_ref()
    orig = make_post(text="", hashtags=())
    posts = [
        make_post(
            id=P1,
            text=f"  {LONG}\n ",
            hashtags=("Garden", "garden", ""),
            urls=("https://a.example/x?y=1", "https://a.example/x?y=1", ""),
            media=(ref,),
        ),
        make_post(id=P2, text="", hashtags=(), urls=(), reply_to_post_id=orig.id),
        make_post(id=P3, text="", hashtags=(), urls=("https://skipped.example/",), reblog_of_post_id=orig.id),
        make_post(id=P4, text="", hashtags=(), urls=(), reply_to_post_id=""),
        make_post(id=P5, text="short text", hashtags=(), urls=(), card_url="https://WWW.Card.example:8080/a"),
    ]
    link = MediaLink(Platform.MASTODON, ref.id, "ab" * 32, "test")
    with corpus(posts=[orig, *posts], media_links=[link]) as con:
        con.execute("INSERT INTO media_hashes VALUES (?, 'pdq', 0, 'f0f0', 100, NULL)", ["ab" * 32])
        actions.build_actions(con, actions.ActionConfig(near_text_shared_only=False))
        assert _keys(con, "url") == {
            P1: {"https://a.example/x?y=1"},
            P5: {"https://WWW.Card.example:8080/a"},
        }
        assert _keys(con, "domain") == {P1: {"a.example"}, P5: {"card.example"}}
        assert _keys(con, "hashtag") == {P1: {"garden"}}
        assert _keys(con, "reply") == {P2: {orig.id}}
        assert _keys(con, "reblog") == {P3: {orig.id}}  # the reblog's URL is not counted again
        assert set(_keys(con, "text")) == {P1}  # "short text" is below min_text_chars
        assert _keys(con, "media") == {P1: {"sha256:" + "ab" * 32, "pdq:f0f0"}}
        assert set(_keys(con, "near_text")) == {P1}
        assert con.execute("SELECT count(*) FROM action WHERE coalesce(key, '') = ''").fetchall() == [(0,)]
        # a URL twice in one post is one action
        assert con.execute(
            "SELECT count(*) FROM action WHERE kind = 'url' AND post_id = ?", [P1]
        ).fetchall() == [(1,)]


def test_exact_text_ignores_whitespace_only() -> None:
    posts = [
        make_post(id=T1, text=LONG, hashtags=()),
        make_post(id=T2, text=LONG.replace(" ", "  \n", 3), hashtags=()),
        make_post(id=T3, text=LONG.upper(), hashtags=()),
    ]
    with corpus(posts=posts) as con:
        actions.build_actions(con, actions.ActionConfig(kinds=(actions.TEXT,)))
        keys = _keys(con, "text")
    assert keys[T1] == keys[T2] != keys[T3]


def test_near_duplicates_share_a_band_and_unrelated_texts_do_not() -> None:
    other = "quarterly figures for the regional rail network show more passengers on weekday evening services"
    posts = [
        make_post(id=N1, text=LONG, hashtags=()),
        make_post(id=N2, text=LONG.replace("free", "free!"), hashtags=()),  # same words after tokenising
        make_post(id=N3, text=LONG + " and stay", hashtags=()),  # 15 of 17 shingles shared
        make_post(id=N4, text=other, hashtags=()),
    ]
    with corpus(posts=posts) as con:
        actions.build_actions(
            con, actions.ActionConfig(kinds=(actions.NEAR_TEXT,), near_text_shared_only=False)
        )
        keys = _keys(con, "near_text")
    assert keys[N1] == keys[N2] and len(keys[N1]) == 8
    assert keys[N1] & keys[N3]
    assert not keys[N1] & keys[N4]


def test_near_text_keys_of_one_account_only_are_not_recorded() -> None:
    other = "quarterly figures for the regional rail network show more passengers on weekday evening services"
    posts = [
        make_post(id=N1, account_id="alice", text=LONG, hashtags=()),
        make_post(id=N2, account_id="alice", text=LONG, hashtags=()),  # the same account again: pairs no one
        make_post(id=N3, account_id="bob", text=other, hashtags=()),
        make_post(
            id=N4, account_id="carol", text=other + " today", hashtags=()
        ),  # shares some bands with bob
    ]
    with corpus(posts=posts) as con:
        actions.build_actions(
            con, actions.ActionConfig(kinds=(actions.NEAR_TEXT,), near_text_shared_only=False)
        )
        every = _keys(con, "near_text")
        actions.build_actions(con, actions.ActionConfig(kinds=(actions.NEAR_TEXT,), batch_posts=1))
        shared = _keys(con, "near_text")
    assert every[N1] == every[N2] and len(every[N1]) == 8
    common = every[N3] & every[N4]
    assert common and common != every[N3]
    # batches of one post: a key is kept by what all batches together share
    assert shared == {N3: common, N4: common}


def test_time_window_and_platform_filter() -> None:
    posts = [
        make_post(id=f"{800000 + i}", created_at=EPOCH + timedelta(days=i), hashtags=("tag",), text="")
        for i in range(4)
    ]
    with corpus(posts=posts) as con:
        config = actions.ActionConfig(
            kinds=(actions.HASHTAG,), start=EPOCH + timedelta(days=1), end=EPOCH + timedelta(days=3)
        )
        actions.build_actions(con, config)
        assert set(_keys(con, "hashtag")) == {"800001", "800002"}
        actions.build_actions(con, actions.ActionConfig(kinds=(actions.HASHTAG,), platform="bluesky"))
        assert _keys(con, "hashtag") == {}


sets = st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=30)


@settings(max_examples=100, deadline=None)
@given(a=sets, b=sets)
def test_minhash_is_a_min_over_the_set(a: list[int], b: list[int]) -> None:
    """sig(A) ignores order and duplicates, and sig(A ∪ B) = min(sig(A), sig(B)) per permutation."""
    values = np.array(a + a[::-1] + b + a + b, dtype=np.uint64)
    n_a, n_b = len(a), len(b)
    offsets = np.array([0, 2 * n_a, 2 * n_a + n_b, 3 * n_a + 2 * n_b])  # sets: A+A, B, A∪B
    sig = actions.minhash_signatures(values, offsets, 16, seed=7)
    alone = actions.minhash_signatures(np.array(a, dtype=np.uint64), np.array([0, n_a]), 16, seed=7)
    assert (sig[0] == alone[0]).all()
    assert (sig[2] == np.minimum(sig[0], sig[1])).all()


def test_minhash_estimates_jaccard() -> None:
    rng = np.random.default_rng(3)
    base = rng.integers(0, 2**63, size=400, dtype=np.uint64)
    other = np.concatenate([base[:300], rng.integers(0, 2**63, size=100, dtype=np.uint64)])  # J = 300/500
    values = np.concatenate([base, other])
    sig = actions.minhash_signatures(values, np.array([0, 400, 800]), 512, seed=1)
    assert abs((sig[0] == sig[1]).mean() - 0.6) < 0.07
    bands = actions.band_keys(sig, 8, 4)
    assert bands.shape == (2, 8)
    assert (
        (bands[0] == bands[1]) == (sig[0, :32].reshape(8, 4) == sig[1, :32].reshape(8, 4)).all(axis=1)
    ).all()


_SPACING = ["", " ", "  ", "\t", "\n", " \r\n ", "\f"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_SPACING), st.sampled_from(["alpha", "beta", "gamma", "délta"])),
                min_size=8, max_size=14), st.sampled_from(_SPACING))  # fmt: skip
def test_text_key_is_md5_of_the_text_with_whitespace_runs_as_one_space(
    parts: list[tuple[str, str]], tail: str
) -> None:
    text = "".join(space + word for space, word in parts) + tail
    with corpus(posts=[make_post(id=T1, text=text, hashtags=())]) as con:
        actions.build_actions(con, actions.ActionConfig(kinds=(actions.TEXT,)))
        keys = _keys(con, "text")
        # every text through the regexp (what the fast path skips for texts it would not change)
        (expected,) = con.execute(
            "SELECT md5(trim(regexp_replace(?, '\\s+', ' ', 'g')))", [text]
        ).fetchone() or (None,)
    collapsed = " ".join(text.replace("\f", " ").split())
    if len(collapsed) >= 40:
        assert keys[T1] == {expected}
    else:
        assert T1 not in keys


def test_shingle_starts_of_lists_short_and_long() -> None:
    offsets = np.array([0, 2, 5, 5, 9])  # lists of 2, 3, 0 and 4 words
    starts, per_list = actions.shingle_starts(offsets, 3)
    assert per_list.tolist() == [0, 1, 0, 2]
    assert starts.tolist() == [2, 5, 6]


def _restated_shingle_hash(word_hashes: list[int]) -> int:
    """`actions.shingle_hashes` of one shingle, in plain integers mod 2**64."""
    mask = (1 << 64) - 1
    h = word_hashes[0]
    for w in word_hashes[1:]:
        h = ((h * 0x9E3779B97F4A7C15) & mask) ^ w
    h ^= h >> 31
    h = (h * 0xFF51AFD7ED558CCD) & mask
    return h ^ (h >> 29)


def test_near_text_keys_are_minhash_bands_of_duckdb_hashed_words() -> None:
    """The vectorised path against a plain restatement: each post's words hashed by DuckDB one by one, each
    3-shingle's word hashes folded in plain integers, MinHash per post, band keys, `b<band>:<key>`."""
    texts = {
        N1: LONG,
        N2: LONG.replace("free", "Free,  free!"),
        N3: "Ünïcode wörds, digits 2024 and under_scores: " + LONG,
        N4: "supercalifragilisticexpialidocious ---- antidisestablishment",  # two words
        P1: "short",
    }
    # batches of two posts; every key, shared or not
    config = actions.ActionConfig(kinds=(actions.NEAR_TEXT,), batch_posts=2, near_text_shared_only=False)
    with corpus(posts=[make_post(id=i, text=t, hashtags=()) for i, t in texts.items()]) as con:
        actions.build_actions(con, config)
        keys = _keys(con, "near_text")
        expected: dict[str, set[str]] = {}
        for post_id, text in texts.items():
            (words,) = con.execute(
                "SELECT list_filter(string_split_regex(lower(?), '[^[:alnum:]_]+'), lambda w: w <> '')",
                [text],
            ).fetchone() or ([],)
            if len(text) < config.min_text_chars or len(words) < 3:
                continue
            word_hashes = [int(con.execute("SELECT hash(?)", [w]).fetchone()[0]) for w in words]  # type: ignore[index]
            shingles = [_restated_shingle_hash(word_hashes[i : i + 3]) for i in range(len(words) - 2)]
            sig = actions.minhash_signatures(
                np.array(shingles, np.uint64), np.array([0, len(shingles)]), 32, config.seed
            )
            bands = actions.band_keys(sig, 8, 4)[0]
            expected[post_id] = {f"b{b}:{int(k)}" for b, k in enumerate(bands)}
    assert set(expected) == {N1, N2, N3}  # N4 has two words, P1 is too short
    assert keys == expected


@given(st.lists(st.integers(0, 5), min_size=3, max_size=40))
def test_shingle_hashes_are_equal_exactly_for_equal_word_sequences(words: list[int]) -> None:
    word_hashes = np.array([(w * 0x1234567 + 99) & ((1 << 64) - 1) for w in words], dtype=np.uint64)
    starts = np.arange(len(words) - 2)
    got = actions.shingle_hashes(word_hashes, starts, 3).tolist()
    assert got == [_restated_shingle_hash([int(x) for x in word_hashes[i : i + 3]]) for i in starts]
    by_sequence: dict[tuple[int, ...], int] = {}
    for i, h in zip(starts, got, strict=True):
        by_sequence.setdefault(tuple(words[i : i + 3]), h)
    # the same three words in the same order give the same value, and different sequences different ones
    assert len(set(by_sequence.values())) == len(by_sequence)
    assert all(by_sequence[tuple(words[i : i + 3])] == h for i, h in zip(starts, got, strict=True))


@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=60))
def test_shared_rows_against_a_plain_count(rows: list[tuple[int, int, int]]) -> None:
    """A row's band key is kept when another account has the same key in the same band."""
    keys = np.array([[k0, k1] for _, k0, k1 in rows], dtype=np.uint64)
    accounts = np.array([a for a, _, _ in rows], dtype=np.int64)
    got = actions.shared_rows(keys, accounts)
    for i, (a, *ks) in enumerate(rows):
        for band, key in enumerate(ks):
            others = {b for b, *kb in rows if kb[band] == key and b != a}
            assert got[i, band] == bool(others), (i, band)


def test_minhash_in_threads_equals_one_thread() -> None:
    rng = np.random.default_rng(5)
    values = rng.integers(0, 2**63, size=250_000, dtype=np.uint64)  # above the size that takes threads
    offsets = np.array([0, *np.sort(rng.choice(np.arange(1, 250_000), 999, replace=False)), 250_000])
    one = actions.minhash_signatures(values, offsets, 32, seed=4, threads=1)
    two = actions.minhash_signatures(values, offsets, 32, seed=4, threads=2)
    three = actions.minhash_signatures(values, offsets, 32, seed=4, threads=3)
    assert one.shape == (1000, 32)
    assert (one == two).all() and (one == three).all()
