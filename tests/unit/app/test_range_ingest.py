"""RepeatFilter: a row is left out only when the run already sent its key in the very same form."""

from __future__ import annotations

import pyarrow as pa

from cordon.app.range_ingest import RepeatFilter


def _accounts(*rows: tuple[str, str, str]) -> pa.Table:
    return pa.table(
        {
            "platform": [p for p, _, _ in rows],
            "id": [i for _, i, _ in rows],
            "bio": [b for _, _, b in rows],
        }
    )


def _ids(table: pa.Table) -> list[tuple[str, str]]:
    return list(zip(table.column("id").to_pylist(), table.column("bio").to_pylist(), strict=True))


def test_repeats_are_dropped_and_every_change_is_kept() -> None:
    f = RepeatFilter()
    first = f.new_or_changed(_accounts(("m", "1", "a"), ("m", "2", "b")))
    assert _ids(first) == [("1", "a"), ("2", "b")]
    again = f.new_or_changed(_accounts(("m", "1", "a"), ("m", "2", "c"), ("m", "3", "d")))
    assert _ids(again) == [("2", "c"), ("3", "d")]  # 1 unchanged; 2 changed; 3 new
    back = f.new_or_changed(_accounts(("m", "2", "b"), ("m", "2", "b"), ("x", "1", "a")))
    # 2 went back to an older form: that is a change (the store holds "c"); another platform's "1" too
    assert _ids(back) == [("2", "b"), ("1", "a")]
    f.close()


def test_a_key_forgotten_past_the_limit_is_sent_again_never_lost() -> None:
    f = RepeatFilter(remember=2)
    rows = [("m", str(n), "same") for n in range(6)]
    assert f.new_or_changed(_accounts(*rows)).num_rows == 6
    assert f.new_or_changed(_accounts(*rows[-1:])).num_rows == 0  # still remembered
    assert f.new_or_changed(_accounts(*rows[:1])).num_rows == 1  # forgotten: sent again (harmless)
    f.close()
