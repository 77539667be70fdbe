"""A case's ties come out in the order cases.json promises: strongest first, then by a, b and layer."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from cordon.app.dossier import GraphTie
from cordon.app.network import _graph_ties
from cordon.detectors.expansion import TIE_SCHEMA

_names = st.sampled_from(["a1", "a2", "b1", "Zed", "é", "10", "9"])
_tie = st.tuples(
    _names,
    _names,
    st.sampled_from(["reply", "url", "evasion"]),
    st.sampled_from([0.5, 1.0, 1.0000001, 1.0000004, 2.25, 1 / 3]),
)


@given(st.lists(_tie, max_size=40))
def test_graph_ties_sort_like_the_plain_python_order(rows: list[tuple[str, str, str, float]]) -> None:
    table = pa.table(
        {
            "a": [r[0] for r in rows],
            "b": [r[1] for r in rows],
            "layer": [r[2] for r in rows],
            "weight": [r[3] for r in rows],
            "pivots": [[] for _ in rows],
        },
        schema=TIE_SCHEMA,
    )
    expected = sorted(
        (GraphTie(a, b, layer, round(w, 6)) for a, b, layer, w in rows),
        key=lambda t: (-t.weight, t.a, t.b, t.layer),
    )
    assert list(_graph_ties(table)) == expected
