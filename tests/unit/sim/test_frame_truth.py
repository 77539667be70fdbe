"""Post columns (ragged gathers, dropping and sorting rows keep targets pointing right) and truth.json I/O."""

from __future__ import annotations

from pathlib import Path

import msgspec
import numpy as np
import pytest

from cordon.errors import ConfigError
from cordon.sim.frame import POPULAR, REPLY, PostFrame, Ragged
from cordon.sim.truth import SCHEMA, Evasion, FloodedTag, Truth, read_truth, write_truth


def test_ragged_take_and_concat_gather_the_right_rows() -> None:
    col = Ragged.from_lists([[1, 2], [], [3], [4, 5, 6]])
    taken = col.take(np.array([3, 0, 1]))
    rows = [taken.values[taken.offsets[i] : taken.offsets[i + 1]].tolist() for i in range(3)]
    assert rows == [[4, 5, 6], [1, 2], []]
    both = Ragged.concat([col, Ragged.from_lists([[7]])])
    assert both.lengths.tolist() == [2, 0, 1, 3, 1]
    assert Ragged.from_pairs(np.array([0, 0, 2]), np.array([5, 5, 1]), 3).lengths.tolist() == [1, 0, 1]


def _frame() -> PostFrame:
    # row 0 original at t=30, row 1 replies to row 0 at t=40, row 2 original at t=10, row 3 replies to row 2
    return PostFrame.build(
        ts=np.array([30, 40, 10, 20]), author=np.array([0, 1, 2, 3]), source=0,
        kind=np.array([0, REPLY, 0, REPLY]), target=np.array([-1, 0, -1, 2]),
        tags=Ragged.from_lists([[1], [2], [3], [4]]),
    )  # fmt: skip


def test_sorting_renumbers_targets_and_moves_ragged_columns() -> None:
    out = _frame().sorted_by_time()
    assert out.ts.tolist() == [10, 20, 30, 40]
    assert out.target.tolist() == [-1, 0, -1, 2]
    assert out.tags.values.tolist() == [3, 4, 1, 2]


def test_keep_remaps_targets_and_reopens_targets_of_dropped_rows() -> None:
    out = _frame().keep(np.array([False, True, True, True]))
    assert out.ts.tolist() == [40, 10, 20]
    assert out.target.tolist() == [-1, -1, 1]  # row 1 lost its target (row 0 was dropped)
    assert out.target_mode[0] == POPULAR


def _truth() -> Truth:
    return Truth(
        schema=SCHEMA, seed=1, scale=0.1, params={"posts": 10_000, "swarm_mean": 24.0, "end": "2024"},
        platform="mastodon", posts=10, accounts=5, network_accounts=["2", "3"],
        network_roles={"2": "poster", "3": "evader"}, hacked_accounts=[], evasions=[Evasion("3", "2")],
        suspended_accounts=["2"], flooded_hashtags=[FloodedTag("tagA1", "coded")],
        decoy_accounts={"marketing": ["4"]}, organic_burst_tags=["tagB2"], marketing_domain="xq.shop",
        crypto_wallet="w", bank_media=["a"], network_media_matching=["b"], novel_network_media=["c"],
    )  # fmt: skip


def test_truth_round_trips_with_identical_bytes(tmp_path: Path) -> None:
    truth = _truth()
    write_truth(tmp_path / "t1.json", truth)
    back = read_truth(tmp_path / "t1.json")
    assert back == truth
    write_truth(tmp_path / "t2.json", back)
    assert (tmp_path / "t1.json").read_bytes() == (tmp_path / "t2.json").read_bytes()


def test_truth_with_another_schema_or_a_bad_field_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "truth.json"
    path.write_bytes(msgspec.json.encode(msgspec.structs.replace(_truth(), schema="other/9")))
    with pytest.raises(ConfigError, match="other/9"):
        read_truth(path)
    raw = msgspec.json.decode(msgspec.json.encode(_truth()))
    raw["flooded_hashtags"] = [{"tag": "x", "kind": "bogus"}]
    path.write_bytes(msgspec.json.encode(raw))
    with pytest.raises(ConfigError, match="flooded_hashtags"):
        read_truth(path)
    with pytest.raises(ConfigError, match="no such truth file"):
        read_truth(tmp_path / "missing.json")
