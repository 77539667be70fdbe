"""The co-action engine: the bucketed self-join equals a brute-force band join; IDF and hot-key caps; findings."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from datetime import timedelta

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.factories import EPOCH, make_post
from tests.unit.detectors.world import corpus

from cordon.detectors import actions, coaction
from cordon.detectors.base import Window
from cordon.model import Platform

_US = 1_000_000
Action = tuple[str, str, str, str, int]  # account, post_id, kind, key, ts (seconds)


def _load(con: duckdb.DuckDBPyConnection, rows: list[Action]) -> None:
    table = pa.table(
        {
            "platform": ["mastodon"] * len(rows),
            "account": [r[0] for r in rows],
            "post_id": [r[1] for r in rows],
            "kind": [r[2] for r in rows],
            "key": [r[3] for r in rows],
            "ts": pa.array([r[4] * _US for r in rows], pa.int64()),
        }
    )
    con.register("_rows", table)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {actions.ACTION_TABLE} AS SELECT * FROM _rows")
    con.unregister("_rows")


def _brute_force(rows: list[Action], window_s: int) -> dict[tuple[str, str, str], set[str]]:
    """Every pair of actions compared: the naive band join the engine must equal."""
    shared: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for x, y in itertools.combinations(rows, 2):
        if x[2] == y[2] and x[3] == y[3] and x[0] != y[0] and abs(x[4] - y[4]) <= window_s:
            a, b = sorted((x[0], y[0]))
            shared[(a, b, x[2])].add(x[3])
    return shared


def _pairs(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str, str], tuple[float, int, list[str]]]:
    rows = con.execute(f"SELECT a, b, kind, weight, n_keys, pivots FROM {coaction.PAIRS_TABLE}").fetchall()
    return {(a, b, k): (w, n, p) for a, b, k, w, n, p in rows}


action_rows = st.lists(
    st.tuples(
        st.sampled_from([f"acc{i}" for i in range(8)]),
        st.integers(0, 10_000).map(lambda i: f"p{i}"),
        st.sampled_from(["url", "hashtag"]),
        st.sampled_from(["k1", "k2", "k3", "k4"]),
        st.integers(0, 400),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(rows=action_rows, window_s=st.sampled_from([0, 1, 7, 60]))
def test_bucketed_join_equals_brute_force(rows: list[Action], window_s: int) -> None:
    with duckdb.connect() as con:
        _load(con, rows)
        coaction.coaction_pairs(con, coaction.CoactionConfig(window_s=window_s, max_key_share=1.0))
        got = _pairs(con)
    expected = _brute_force(rows, window_s)
    assert {k: n for k, (_, n, _) in got.items()} == {k: len(v) for k, v in expected.items()}
    n_accounts = len({r[0] for r in rows})
    users: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in rows:
        users[(r[2], r[3])].add(r[0])
    for (a, b, kind), keys in expected.items():
        idf = sum(math.log(n_accounts / len(users[(kind, k)])) for k in keys)
        assert math.isclose(got[(a, b, kind)][0], idf, abs_tol=1e-9)


def test_pairs_across_a_bucket_boundary_and_at_exactly_w() -> None:
    # W = 60: bucket edges at 60, 120. 119 and 121 are in adjacent buckets; 0 and 60 are exactly W apart.
    rows: list[Action] = [
        ("a", "p1", "url", "k", 119),
        ("b", "p2", "url", "k", 121),
        ("c", "p3", "url", "m", 0),
        ("d", "p4", "url", "m", 60),
        ("e", "p5", "url", "n", 0),
        ("f", "p6", "url", "n", 61),
    ]
    with duckdb.connect() as con:
        _load(con, rows)
        coaction.coaction_pairs(con, coaction.CoactionConfig(window_s=60, max_key_share=1.0))
        assert set(_pairs(con)) == {("a", "b", "url"), ("c", "d", "url")}


def test_rare_keys_outweigh_common_ones_and_hot_keys_connect_no_one() -> None:
    rows: list[Action] = [(f"fan{i}", f"f{i}", "hashtag", "trending", i) for i in range(30)]
    rows += [("x", "px", "hashtag", "trending", 1), ("y", "py", "hashtag", "trending", 2)]
    rows += [("x", "qx", "url", "rare", 5), ("y", "qy", "url", "rare", 6)]
    rows += [("fan0", "c1", "url", "common", 0), ("fan1", "c2", "url", "common", 0)]
    rows += [("fan2", "c3", "url", "common", 0), ("fan3", "c4", "url", "common", 0)]
    with duckdb.connect() as con:
        _load(con, rows)
        coaction.coaction_pairs(con, coaction.CoactionConfig(window_s=60, max_key_accounts=10))
        pairs = _pairs(con)
    # N = 32 accounts (30 fans, x, y); "trending" is used by all 32 > cap of 10: dropped
    assert not any(kind == "hashtag" for _, _, kind in pairs)
    rare = pairs[("x", "y", "url")][0]
    common = pairs[("fan0", "fan1", "url")][0]
    assert math.isclose(rare, math.log(32 / 2)) and math.isclose(common, math.log(32 / 4))
    assert rare > common
    assert pairs[("x", "y", "url")][2] == ["rare"]


def test_toolkit_edges_are_directed_per_post_counts() -> None:
    # a posts the link twice near b's single post: the toolkit counts a's posts -> (a, b, 2), (b, a, 1)
    rows: list[Action] = [
        ("a", "p1", "url", "k", 0),
        ("a", "p2", "url", "k", 10),
        ("b", "p3", "url", "k", 5),
    ]
    with duckdb.connect() as con:
        _load(con, rows)
        edges = sorted(coaction.toolkit_edges(con, "url", 60).to_pylist(), key=lambda e: e["user_1"])
        loops = sorted(
            coaction.toolkit_edges(con, "url", 60, 2, loops=True).to_pylist(), key=lambda e: e["user_2"]
        )
    assert edges == [{"user_1": "a", "user_2": "b", "weight": 2}, {"user_1": "b", "user_2": "a", "weight": 1}]
    # a's two posts pair with each other (not with themselves): a self-loop of weight 2
    assert loops == [{"user_1": "a", "user_2": "a", "weight": 2}, {"user_1": "a", "user_2": "b", "weight": 2}]


def test_detect_reports_coordinated_pairs_with_pivots() -> None:
    net = ["n1", "n2", "n3"]
    posts = []
    for k in range(4):  # four rare links, each posted by the whole network within seconds
        for i, acc in enumerate(net):
            posts.append(
                make_post(
                    account_id=acc,
                    created_at=EPOCH + timedelta(hours=k, seconds=5 * i),
                    urls=(f"https://promo{k}.example/x",),
                    text="",
                    hashtags=(),
                )
            )
    # bystanders: each posts a link of its own at the same times, and one shares a single link once
    for i in range(20):
        posts.append(make_post(account_id=f"o{i}", created_at=EPOCH, urls=(f"https://own{i}.example/",)))
    posts.append(make_post(account_id="o0", created_at=EPOCH, urls=("https://promo0.example/x",)))
    config = coaction.DetectConfig(
        actions=actions.ActionConfig(kinds=(actions.URL,)),
        coaction=coaction.CoactionConfig(window_s=60, min_finding_weight=4.0, min_finding_keys=2),
    )
    with corpus(posts=posts) as con:
        findings = list(coaction.detect(con, Window(Platform.MASTODON), config))
        kept = con.execute(f"SELECT count(*) FROM {coaction.PAIRS_TABLE}").fetchall()[0][0]
    pairs = {frozenset(s.id for s in f.subjects) for f in findings}
    assert pairs == {frozenset(p) for p in itertools.combinations(net, 2)}
    assert kept == 6  # the three network pairs, and o0 with each of them on one link
    for f in findings:
        assert f.evidence[0].kind == "co-url"
        assert "https://promo1.example/x" in f.evidence[0].detail
        assert f.score == f.evidence[0].weight
    assert len({f.id for f in findings}) == 3


def test_toolkit_edges_count_distinct_posts_when_a_pair_meets_many_times() -> None:
    """Three posts of a meet two of b's, on two links: (a, b) has twelve rows over three posts of a, (b, a)
    twelve over b's two. The weights are distinct posts, as in the toolkit, whatever the number of rows."""
    rows: list[Action] = [
        *(("a", f"pa{i}", "url", k, 10 * i) for i in range(3) for k in ("k1", "k2")),
        *(("b", f"pb{i}", "url", k, 5 + 10 * i) for i in range(2) for k in ("k1", "k2")),
        ("c", "pc", "url", "k1", 1_000),  # out of everyone's window
    ]
    with duckdb.connect() as con:
        _load(con, rows)
        edges = coaction.toolkit_edges(con, "url", 60).to_pylist()
        strong = coaction.toolkit_edges(con, "url", 60, 3).to_pylist()
        loops = coaction.toolkit_edges(con, "url", 60, loops=True).to_pylist()
    assert sorted(edges, key=lambda e: e["user_1"]) == [
        {"user_1": "a", "user_2": "b", "weight": 3},
        {"user_1": "b", "user_2": "a", "weight": 2},
    ]
    assert strong == [{"user_1": "a", "user_2": "b", "weight": 3}]
    # each of a's posts meets another of a's posts, on both links: a self-loop over a's three posts
    assert {"user_1": "a", "user_2": "a", "weight": 3} in loops
    assert {"user_1": "b", "user_2": "b", "weight": 2} in loops


def test_config_refuses_fewer_than_two_pivots() -> None:
    with pytest.raises(ValueError, match="n_pivots"):
        coaction.CoactionConfig(n_pivots=1)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 400)), max_size=40),
    st.integers(0, 120),
    st.sampled_from([2.0**61, 150.0]),
)
def test_window_pairs_equal_every_pair_within_the_window(
    actions_: list[tuple[int, int]], window: int, line_limit: float
) -> None:
    # a line limit of 150 cuts the keys' time line into several pieces: the answer must not change
    rows = sorted(actions_)
    keys = np.array([k for k, _ in rows], dtype=np.int64)
    ts = np.array([t for _, t in rows], dtype=np.int64)
    first = np.ones(len(rows), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    original = coaction._LINE_LIMIT
    coaction._LINE_LIMIT = line_limit
    try:
        i, j = coaction._window_pairs(ts, first, window)
    finally:
        coaction._LINE_LIMIT = original
    got = sorted(zip(i.tolist(), j.tolist(), strict=True))
    want = [
        (x, y)
        for x, y in itertools.combinations(range(len(rows)), 2)
        if keys[x] == keys[y] and abs(int(ts[x]) - int(ts[y])) <= window
    ]
    assert got == want
