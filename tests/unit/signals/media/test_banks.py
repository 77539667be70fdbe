"""Bank files (CSV, ThreatExchange, HMA) and the versioned bank store."""

from __future__ import annotations

import io
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cordon.errors import BankError
from cordon.model import BankCategory, BankEntry, HashAlgo
from cordon.signals.media.bank_formats import (
    BankFileError,
    BankFormat,
    EntryColumns,
    read_bank_file,
    read_csv,
    write_csv,
)
from cordon.signals.media.banks import BankStore, ImportMode, default_banks_dir

LENGTH = {HashAlgo.PDQ: 64, HashAlgo.MD5: 32, HashAlgo.SHA1: 40, HashAlgo.SHA256: 64}
PDQ_A = "f" * 16 + "0" * 48
MD5_A = "0123456789abcdef" * 2


def _hex(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789abcdef", min_size=n, max_size=n)


@st.composite
def entries(draw: st.DrawFn) -> list[BankEntry]:
    out: list[BankEntry] = []
    ids = draw(
        st.lists(
            st.text(string.ascii_letters + string.digits + "-_:", min_size=1, max_size=12),
            unique=True,
            max_size=8,
        )
    )
    for entry_id in ids:
        algos = draw(st.lists(st.sampled_from(list(LENGTH)), min_size=1, max_size=4, unique=True))
        category = draw(st.sampled_from(list(BankCategory)))
        note = draw(st.text(max_size=20).filter(lambda s: "\x00" not in s))
        for algo in algos:
            out.append(BankEntry("b", entry_id, algo, draw(_hex(LENGTH[algo])), category, note))
    return out


def _key(entries_: tuple[BankEntry, ...] | list[BankEntry]) -> set[tuple[str, str, str, str, str]]:
    return {(e.entry_id, str(e.algo), e.value, str(e.category), e.note) for e in entries_}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(original=entries())
def test_csv_round_trip_keeps_every_entry(original: list[BankEntry], tmp_path: Path) -> None:
    path = tmp_path / "bank.csv"
    write_csv(EntryColumns.from_entries(original), path)
    back = read_csv(path, category=BankCategory.OTHER)
    assert _key(back.entries("b")) == _key(original)


def test_csv_without_ids_gets_ids_from_the_first_hash_and_the_default_category(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text(f"MD5,PDQ,note\n{MD5_A.upper()},{PDQ_A}, spaced \n", encoding="utf-8")
    got = read_csv(path, category=BankCategory.CHILD_SAFETY).entries("b")
    # one row with two hashes: two entries sharing the id made from the first hash column (pdq)
    assert {(e.entry_id, e.algo, e.value) for e in got} == {
        (f"pdq:{PDQ_A}", HashAlgo.PDQ, PDQ_A),
        (f"pdq:{PDQ_A}", HashAlgo.MD5, MD5_A),
    }
    assert {e.category for e in got} == {BankCategory.CHILD_SAFETY}
    assert {e.note for e in got} == {" spaced "}


def test_bad_rows_are_named_by_line_and_column_and_nothing_is_read(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "id,pdq,md5,category,note\n"
        f'a,{PDQ_A},,spam,"a note\nover two lines"\n'  # lines 2-3: fine
        "b,xyz,,,\n"  # line 4: bad pdq
        f"c,,{MD5_A},nonsense,\n"  # line 5: bad category
        "d,,,,\n",  # line 6: no hash
        encoding="utf-8",
    )
    with pytest.raises(BankFileError) as caught:
        read_csv(path, category=BankCategory.SPAM)
    problems = [(p.line, p.field) for p in caught.value.problems]
    assert problems == [(4, "pdq"), (5, "category"), (6, "pdq|md5")]
    assert f"{path}:4, field 'pdq'" in str(caught.value)


def test_header_without_a_hash_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nohash.csv"
    path.write_text("id,note\nx,y\n", encoding="utf-8")
    with pytest.raises(BankError, match="at least one hash column"):
        read_csv(path, category=BankCategory.SPAM)


def test_threatexchange_dataset_csv_keeps_media_signals_and_skips_others(tmp_path: Path) -> None:
    path = tmp_path / "collab.csv"
    path.write_text(
        "signal_type,signal_str,collab,category,tags\n"
        f"pdq,{PDQ_A},Sample Collab,ADVERSE,tag1 tag2\n"
        f"video_md5,{MD5_A},Sample Collab,ADVERSE,\n"
        "url,example.invalid/x,Sample Collab,ADVERSE,\n",
        encoding="utf-8",
    )
    got = read_bank_file(path, BankFormat.TE, category=BankCategory.SPAM)
    assert got.skipped == 1
    assert {(e.algo, e.value) for e in got.entries("b")} == {(HashAlgo.PDQ, PDQ_A), (HashAlgo.MD5, MD5_A)}
    assert "tags=tag1 tag2" in next(e.note for e in got.entries("b") if e.algo is HashAlgo.PDQ)


def test_te_state_file_and_hma_serialisation_take_the_type_from_the_file_name(tmp_path: Path) -> None:
    te = tmp_path / "simple.HASH_PDQ.te"
    te.write_text(f"{PDQ_A},1234,2021-01-01,tagA\n", encoding="utf-8")
    hma = tmp_path / "hma" / "simple.HASH_MD5.te"
    hma.parent.mkdir()
    hma.write_text(f"{MD5_A},ind-77,1234,2021-01-01,tagB tagC\n", encoding="utf-8")
    (te_entry,) = read_bank_file(te, BankFormat.TE, category=BankCategory.SPAM).entries("b")
    assert (te_entry.entry_id, te_entry.algo, te_entry.note) == ("te-descriptor:1234", HashAlgo.PDQ, "tagA")
    (hma_entry,) = read_bank_file(hma, BankFormat.HMA, category=BankCategory.SPAM).entries("b")
    assert (hma_entry.entry_id, hma_entry.algo, hma_entry.note) == ("ind-77", HashAlgo.MD5, "tagB tagC")
    unknown = tmp_path / "hashes.te"
    unknown.write_text(f"{PDQ_A},1,x,y\n", encoding="utf-8")
    with pytest.raises(BankError, match="signal type"):
        read_bank_file(unknown, BankFormat.TE, category=BankCategory.SPAM)


def _cols(*rows: tuple[str, HashAlgo, str]) -> EntryColumns:
    return EntryColumns.from_entries(BankEntry("b", i, a, v, BankCategory.SPAM, "") for i, a, v in rows)


def test_each_import_is_a_new_version_and_versions_diff(tmp_path: Path) -> None:
    store = BankStore(tmp_path / "banks")
    v1 = store.import_entries(
        "spam", _cols(("a", HashAlgo.PDQ, PDQ_A), ("b", HashAlgo.MD5, MD5_A)), category=BankCategory.SPAM
    )
    v2 = store.import_entries("spam", _cols(("a", HashAlgo.PDQ, PDQ_A), ("c", HashAlgo.MD5, "1" * 32)))
    assert (v1.version, v1.entries, v1.added) == (1, 2, 2)
    assert (v2.version, v2.entries, v2.added, v2.removed) == (2, 2, 1, 1)
    diff = store.diff("spam", 1, 2)
    assert [e.entry_id for e in diff.added.entries("spam")] == ["c"]
    assert [e.entry_id for e in diff.removed.entries("spam")] == ["b"]
    # version 1 is still readable as it was
    assert {e.entry_id for e in store.entries("spam", 1).entries("spam")} == {"a", "b"}
    assert store.bank("spam").version == 2
    assert store.bank("spam").threshold == 31
    with pytest.raises(BankError, match="no version 3"):
        store.entries("spam", 3)


def test_update_mode_keeps_old_entries_replaces_by_id_and_deletes(tmp_path: Path) -> None:
    store = BankStore(tmp_path)
    store.import_entries(
        "n", _cols(("a", HashAlgo.MD5, MD5_A), ("b", HashAlgo.MD5, "2" * 32)), category=BankCategory.SPAM
    )
    store.import_entries("n", _cols(("a", HashAlgo.MD5, "3" * 32)), mode=ImportMode.UPDATE, removed_ids=["b"])
    store.import_entries("n", _cols(("z", HashAlgo.MD5, "4" * 32)), mode=ImportMode.UPDATE)
    assert {(e.entry_id, e.value) for e in store.entries("n").entries("n")} == {
        ("a", "3" * 32),
        ("z", "4" * 32),
    }


def test_categories_cannot_be_mixed_and_new_banks_need_one(tmp_path: Path) -> None:
    store = BankStore(tmp_path)
    with pytest.raises(BankError, match="give its category"):
        store.import_entries("x", _cols(("a", HashAlgo.MD5, MD5_A)))
    store.import_entries("x", _cols(("a", HashAlgo.MD5, MD5_A)), category=BankCategory.SPAM)
    with pytest.raises(BankError, match="mix categories"):
        store.import_entries("x", _cols(("a", HashAlgo.MD5, MD5_A)), category=BankCategory.SAFELIST)
    with pytest.raises(BankError, match="no bank named 'y'"):
        store.bank("y")
    assert [b.name for b in store.banks()] == ["x"]


def test_banks_dir_defaults_to_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CORDON_BANKS", str(tmp_path / "env-banks"))
    assert default_banks_dir() == tmp_path / "env-banks"
    monkeypatch.delenv("CORDON_BANKS")
    assert default_banks_dir().parts[-3:] == ("share", "cordon", "banks")


def test_write_csv_to_a_stream_groups_hashes_of_one_id_on_one_row() -> None:
    out = io.StringIO()
    rows = write_csv(_cols(("a", HashAlgo.PDQ, PDQ_A), ("a", HashAlgo.MD5, MD5_A)), out)
    assert rows == 1
    header, line = out.getvalue().split("\r\n")[:2]
    assert header.startswith("id,pdq,md5,sha1,sha256")
    assert line.startswith(f"a,{PDQ_A},{MD5_A},")
