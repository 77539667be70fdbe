"""Network expansion, numbered and vectorised, against a plain reference of the same definition: dicts and
loops over the ties, the same walk in igraph, the same cut, corroboration and strongest ties."""

from __future__ import annotations

from collections import defaultdict

import igraph as ig
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.detectors.test_expansion import Row, _table

from cordon.detectors import expansion
from cordon.detectors.expansion import ExpansionConfig, Member, Tie

_NAMES = ["a1", "a2", "b", "b10", "b9", "c", "Zed", "é", "s1", "s2"]
# sums of a few of these are the same in any order, so the reference's pair weights are DuckDB's to the bit
_WEIGHTS = [0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 1.38596, 1.38594, 0.49996]
_LAYERS = ["interaction", "co-reply", "co-url", "shared-media", "evasion"]
_PIVOTS = st.lists(st.sampled_from(["k1", "k2", "k3", "reply:7"]), max_size=3, unique=True)

_rows = st.lists(
    st.tuples(
        st.sampled_from(_NAMES),
        st.sampled_from(_NAMES),
        st.sampled_from(_LAYERS),
        st.sampled_from(_WEIGHTS),
        _PIVOTS,
    ),
    max_size=40,
)


def _reference(rows: list[Row], seeds: list[str], config: ExpansionConfig) -> tuple[Member, ...]:
    ties = [(min(r[0], r[1]), max(r[0], r[1]), r[2], r[3], tuple(r[4])) for r in rows]
    if not seeds or not ties:
        return ()
    total: dict[tuple[str, str], float] = defaultdict(float)
    for a, b, _, weight, _ in ties:
        total[a, b] += weight
    g = {pair: round(w, 9) for pair, w in total.items() if w >= config.min_edge_weight}
    near = set(seeds)
    for _ in range(config.hops):
        near |= {x for a, b in g for x in (a, b) if a in near or b in near}
    strength: dict[str, float] = defaultdict(float)
    for (a, b), w in g.items():
        strength[a] += w
        strength[b] += w
    sub = sorted((a, b, w) for (a, b), w in g.items() if a in near and b in near)
    names = sorted({x for a, b, _ in sub for x in (a, b)} | set(seeds))
    index = {n: i for i, n in enumerate(names)}
    graph = ig.Graph(n=len(names), edges=[(index[a], index[b]) for a, b, _ in sub], directed=False)
    graph.es["weight"] = [w for _, _, w in sub]
    seed_idx = [index[s] for s in seeds]
    scores = graph.personalized_pagerank(
        damping=config.damping, reset_vertices=seed_idx, weights="weight" if sub else None
    )
    norm = [s / max(round(strength[n], 9), 1.0) for s, n in zip(scores, names, strict=True)]
    seed_level = sorted(norm[i] for i in seed_idx)[len(seed_idx) // 2] or 1e-12
    relative = {n: v / seed_level for n, v in zip(names, norm, strict=True)}
    candidates = {n for n, r in relative.items() if n in seeds or r >= config.min_relative_score}
    detail = sorted(
        (t for t in ties if t[0] in near and t[1] in near and (t[0] in candidates or t[1] in candidates)),
        key=lambda t: (-t[3], t[0], t[1], t[2], t[4]),
    )
    ties_of: dict[str, list[Tie]] = defaultdict(list)
    for a, b, layer, weight, pivots in detail:
        tie = Tie(a, b, layer, round(weight, 4), pivots)
        ties_of[a].append(tie)
        ties_of[b].append(tie)
    accepted, frontier = set(seeds), list(seeds)
    while frontier:
        name = frontier.pop()
        for tie in ties_of[name]:
            floor = config.min_interaction_weight if tie.layer == "interaction" else config.min_edge_weight
            if tie.weight < floor or (tie.layer.startswith("co-") and len(tie.pivots) < 2):
                continue
            other = tie.b if tie.a == name else tie.a
            if other in candidates and other not in accepted:
                accepted.add(other)
                frontier.append(other)
    members = [Member(n, round(relative[n], 6), n in seeds, tuple(ties_of[n][:5])) for n in accepted]
    return tuple(sorted(members, key=lambda m: (-m.score, m.account_id)))


@settings(max_examples=150, deadline=None)
@given(
    rows=_rows,
    seeds=st.lists(st.sampled_from(["s1", "s2", "a1", "lone"]), min_size=1, max_size=3, unique=True),
    hops=st.integers(1, 3),
    min_relative_score=st.sampled_from([0.0, 0.15, 0.5]),
)
def test_expand_equals_the_plain_reference(
    rows: list[Row], seeds: list[str], hops: int, min_relative_score: float
) -> None:
    config = ExpansionConfig(hops=hops, min_relative_score=min_relative_score)
    assert expansion.expand(_table(rows), seeds, config) == _reference(rows, seeds, config)


@given(
    weights=st.lists(st.floats(0.0, 3.0, allow_nan=False) | st.sampled_from(_WEIGHTS), max_size=30),
    floor=st.sampled_from([0.5, 1.386, 1.0, 0.00005]),
)
def test_rounded_at_least_is_pythons_round(weights: list[float], floor: float) -> None:
    # weights right at the rounding edge of the floor too
    weights += [floor - 0.00005, floor + 0.00005, floor - 0.000049999, floor - 0.0000500001]
    w = np.array(weights, dtype=np.float64)
    got = expansion._rounded_at_least(w, np.full(len(w), floor))
    assert got.tolist() == [round(x, 4) >= floor for x in weights]
