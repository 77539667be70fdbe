"""Network expansion: PPR from the seeds takes in the accounts tied to them and leaves the rest out."""

from __future__ import annotations

import pyarrow as pa

from cordon.detectors import expansion
from cordon.model import Platform

Row = tuple[str, str, str, float, list[str]]


def _table(rows: list[Row]) -> pa.Table:
    """Ties from (account, account, layer, weight, pivots) rows, each pair written a < b."""
    return pa.table(
        {
            "a": [min(r[0], r[1]) for r in rows],
            "b": [max(r[0], r[1]) for r in rows],
            "layer": [r[2] for r in rows],
            "weight": [r[3] for r in rows],
            "pivots": [r[4] for r in rows],
        },
        schema=expansion.TIE_SCHEMA,
    )


def _ties(rows: list[tuple[str, str, str, float]]) -> pa.Table:
    """Ties with one pivot each, named after the layer and the row."""
    return _table([(*r, [f"{r[2]}:{i}"]) for i, r in enumerate(rows)])


def test_tight_group_around_seed_joins_and_loose_acquaintance_does_not() -> None:
    seeds = ["s1", "s2"]
    bots = [f"b{i}" for i in range(10)]
    rows = [(b, s, "interaction", 3.0) for b in bots for s in seeds]  # every bot replies to both posters
    rows += [(b, c, "co-reply", 1.0) for i, b in enumerate(bots) for c in bots[i + 1 :]]
    # a benign community with one weak tie to one bot
    town = [f"t{i}" for i in range(30)]
    rows += [(a, b, "interaction", 2.0) for i, a in enumerate(town) for b in town[i + 1 : i + 4]]
    rows += [("t0", "b0", "interaction", 0.7)]
    members = expansion.expand(_ties(rows), seeds)
    names = {m.account_id for m in members}
    assert names >= set(seeds) | set(bots)
    assert not names & set(town)
    seed_flags = {m.account_id: m.seed for m in members}
    assert seed_flags["s1"] and not seed_flags["b3"]
    member = next(m for m in members if m.account_id == "b3")
    assert member.ties and all("b3" in (t.a, t.b) for t in member.ties)
    findings = list(expansion.member_findings(members, Platform.MASTODON))
    assert {f.subjects[0].id for f in findings} == names - set(seeds)
    assert all(f.evidence for f in findings)


def test_no_seeds_no_members() -> None:
    assert expansion.expand(_ties([("a", "b", "interaction", 1.0)]), []) == ()


def test_audience_of_the_network_stays_out_unless_corroborated() -> None:
    seeds = ["s1", "s2"]
    bots = [f"b{i}" for i in range(6)]
    rows = [(b, s, "interaction", 2.5) for b in bots for s in seeds]  # bots reply post after post
    rows += [(b, c, "co-reply", 1.0) for i, b in enumerate(bots) for c in bots[i + 1 :]]
    # two fans who replied once to each poster, and vouch for each other with a shared burst hashtag
    rows += [(f, s, "interaction", 0.69) for f in ("f1", "f2") for s in seeds]
    rows += [("f1", "f2", "co-hashtag", 3.0)]
    # a third account shares a rare wallet with a seed: corroborated, so it joins on a single tie
    rows += [("w1", "s1", "shared-entity", 2.0)]
    baseline = expansion.expand(_ties(rows), seeds, expansion.ExpansionConfig(min_interaction_weight=0.0))
    assert {"f1", "f2"} <= {m.account_id for m in baseline}  # the walk alone ranks the fans in
    names = {m.account_id for m in expansion.expand(_ties(rows), seeds)}
    assert names >= set(seeds) | set(bots) | {"w1"}
    assert not names & {"f1", "f2"}


def test_a_members_ties_are_the_strongest_in_a_full_order() -> None:
    # s1-b1 twice in the same layer with the same weight (two sources of interaction ties): the order of the
    # two, and so which five are kept, is by pivots, whatever the order of the rows
    seeds = ["s1"]
    rows = [
        ("s1", "b1", "interaction", 2.0, ["reply:9"]),
        ("s1", "b1", "interaction", 2.0, ["mention:3", "reply:3"]),
        *[("b1", f"c{i}", "co-reply", 2.0, [f"url:{i}"]) for i in range(6)],
        ("s1", "b1", "co-media", 5.0, ["sha256:x"]),
    ]
    for order in (rows, rows[::-1]):
        members = {m.account_id: m for m in expansion.expand(_table(order), seeds)}
        assert [(t.b, t.layer, t.pivots) for t in members["b1"].ties] == [
            ("s1", "co-media", ("sha256:x",)),
            ("c0", "co-reply", ("url:0",)),
            ("c1", "co-reply", ("url:1",)),
            ("c2", "co-reply", ("url:2",)),
            ("c3", "co-reply", ("url:3",)),
        ]
        assert [t.pivots for t in members["s1"].ties] == [
            ("sha256:x",),
            ("mention:3", "reply:3"),
            ("reply:9",),
        ]


def test_a_co_action_over_one_key_does_not_corroborate_but_two_keys_do() -> None:
    seeds = ["s1", "s2"]
    bots = [f"b{i}" for i in range(4)]
    rows: list[Row] = [(b, s, "interaction", 2.5, [f"reply:{b}{s}"]) for b in bots for s in seeds]
    # two accounts that each posted alongside both seeds: one on a single popular domain, one on two keys
    rows += [("once", s, "co-domain", 3.0, ["example.org"]) for s in seeds]
    rows += [("twice", s, "co-url", 3.0, ["https://a.example/1", "https://a.example/2"]) for s in seeds]
    # "once" and "twice" have the same weights in the same places, so the walk ranks them alike: only the
    # number of keys behind the tie tells them apart
    names = {m.account_id for m in expansion.expand(_table(rows), seeds)}
    assert names >= set(seeds) | set(bots) | {"twice"}
    assert "once" not in names
