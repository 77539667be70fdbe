"""`cordon hash`, `cordon bank import|list|export|diff`, `cordon match`, `cordon doctor` end to end.

Inputs are benign procedural images and Meta's PDQ reference photographs. Every expected hash is computed
independently of cordon's pipeline: hashlib for exact hashes, `pdqhash.compute` on pixels decoded by Pillow.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pdqhash
import pytest
from PIL import Image
from typer.testing import CliRunner

from cordon.cli.main import app
from cordon.signals.media import canary as canary_module
from cordon.signals.media import matcher as matcher_module
from cordon.signals.media.bank_formats import EntryColumns

runner = CliRunner()
PDQ_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "vectors" / "pdq"
BRIDGE = PDQ_DIR / "reg-test-input" / "dih" / "bridge-1-original.jpg"


def _procedural(seed: int, side: int = 320) -> Image.Image:
    """A 10x10 grid of random colours, smoothly interpolated: benign and rich enough for PDQ quality 100."""
    rng = np.random.default_rng(seed)
    small = Image.fromarray(rng.integers(0, 256, (10, 10, 3), dtype=np.uint8))
    return small.resize((side, side), Image.Resampling.BICUBIC)


def _save(image: Image.Image, path: Path, fmt: str = "PNG", **params: object) -> Path:
    image.save(path, fmt, **params)
    return path


def _reference_pdq(path: Path) -> str:
    """pdqhash on the pixels Pillow decodes, converted to RGB: no cordon code involved."""
    pixels = np.asarray(Image.open(path).convert("RGB"))
    bits, _quality = pdqhash.compute(pixels)
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()


def _bits(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def _invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


# --- cordon hash ---------------------------------------------------------------------------------------------


def test_hash_prints_the_reference_hashes_of_each_file(tmp_path: Path) -> None:
    images = [_save(_procedural(seed), tmp_path / f"p{seed}.png") for seed in range(3)]
    code, out, _ = _invoke("hash", "--no-progress", *map(str, images))
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 3
    for path, line in zip(images, lines, strict=True):
        fields = dict(f.split("=", 1) for f in line.split("\t")[1:])
        assert line.split("\t")[0] == str(path)
        assert fields["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert fields["md5"] == hashlib.md5(path.read_bytes()).hexdigest()
        assert fields["pdq"] == _reference_pdq(path)  # 320 px: the fast path does not resize


def test_hash_json_full_mode_equals_the_reference_on_a_photograph() -> None:
    code, out, _ = _invoke("hash", "--json", "--mode", "full", "--no-progress", str(BRIDGE))
    assert code == 0
    record = json.loads(out)
    assert record["pdq"] == _reference_pdq(BRIDGE)
    assert record["sha1"] == hashlib.sha1(BRIDGE.read_bytes()).hexdigest()
    assert record["kind"] == "image" and record["low_quality"] is False
    # the default (fast) mode decodes a reduced image and lands within a few bits of it
    code, out, _ = _invoke("hash", "--json", "--no-progress", str(BRIDGE))
    assert _bits(json.loads(out)["pdq"], record["pdq"]) <= 8


VPDQ_DIR = PDQ_DIR.parent / "vpdq"


def test_hash_prints_every_frame_of_a_video_and_of_an_animation(tmp_path: Path) -> None:
    pytest.importorskip("vpdq")
    video = VPDQ_DIR / "videos" / "doorknob-hd-no-bar.mp4"
    reference = (VPDQ_DIR / "hashes" / "doorknob-hd-no-bar.txt").read_text().split()
    frames = [_procedural(seed, side=96) for seed in range(4)]
    gif = tmp_path / "anim.gif"
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], duration=100)
    code, out, _ = _invoke("hash", "--json", "--no-progress", str(video), str(gif))
    assert code == 0
    video_record, gif_record = map(json.loads, out.splitlines())
    assert video_record["kind"] == "video"
    assert video_record["frame_count"] == len(reference)
    assert [f["frame"] for f in video_record["frames"]] == [int(r.split(",")[0]) for r in reference]
    assert video_record["sha256"] == hashlib.sha256(video.read_bytes()).hexdigest()
    assert gif_record["frame_count"] == 4
    assert gif_record["frames"][0]["pdq"] == gif_record["pdq"]
    assert [f["timestamp_s"] for f in gif_record["frames"]] == pytest.approx([0.0, 0.1, 0.2, 0.3])


def test_low_quality_images_are_printed_and_flagged(tmp_path: Path) -> None:
    flat = _save(Image.new("RGB", (200, 200), (90, 90, 90)), tmp_path / "flat.png")
    code, out, _ = _invoke("hash", "--no-progress", str(flat))
    assert code == 0
    assert out.rstrip().endswith("low-quality")


def test_bad_files_each_get_an_error_and_the_others_are_hashed(tmp_path: Path) -> None:
    good = _save(_procedural(5), tmp_path / "good.png")
    jpeg = io.BytesIO()
    _procedural(6).save(jpeg, "JPEG", quality=90)
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(jpeg.getvalue()[: len(jpeg.getvalue()) // 2])
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.txt"
    text.write_text("not an image\n" * 20)
    bomb = _save(Image.new("1", (30_000, 30_000)), tmp_path / "bomb.png")  # 900 MP declared, a few KB on disk
    missing = tmp_path / "missing.png"
    files = [truncated, empty, good, text, bomb, missing, tmp_path]
    code, out, err = _invoke("hash", "--no-progress", "--workers", "2", *map(str, files))
    assert code == 3
    assert out.strip().split("\t")[0] == str(good)
    expected = {
        truncated: "truncated or corrupt",
        empty: "empty file",
        text: "not an image format",
        bomb: "decompression bomb",
        missing: "cannot read the file",
        tmp_path: "is a directory",
    }
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == len(expected)
    for path, reason in expected.items():
        assert any(line.startswith(f"error: {path}:") and reason in line for line in errors), (path, errors)


# --- cordon bank ---------------------------------------------------------------------------------------------


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Path]:
    """Files and a bank CSV: `known` is banked by PDQ, `exact` by MD5, `other` is not banked."""
    known = _save(_procedural(11), tmp_path / "known.png")
    exact = _save(_procedural(12), tmp_path / "exact.png")
    other = _save(_procedural(13), tmp_path / "other.png")
    copy = _save(Image.open(known).convert("RGB"), tmp_path / "known-copy.jpg", "JPEG", quality=60)
    csv = tmp_path / "list.csv"
    md5 = hashlib.md5(exact.read_bytes()).hexdigest()
    csv.write_text(
        f"id,pdq,md5,category,note\ntok-1,{_reference_pdq(known)},,,synthetic tagA1\ntok-2,,{md5},spam,\n",
        encoding="utf-8",
    )
    return {
        "known": known,
        "exact": exact,
        "other": other,
        "copy": copy,
        "csv": csv,
        "banks": tmp_path / "banks",
    }


def test_bank_import_list_export_and_diff(world: dict[str, Path], tmp_path: Path) -> None:
    banks = str(world["banks"])
    code, out, _ = _invoke("bank", "import", str(world["csv"]), "--name", "cs", "--category", "child-safety",
                           "--banks", banks)  # fmt: skip
    assert code == 0 and "cs v1: 2 entries (+2 -0)" in out
    code, out, _ = _invoke("bank", "list", "--banks", banks)
    assert code == 0
    assert out.split("\t")[:4] == ["cs", "child-safety", "threshold=31", "v1"]
    exported = tmp_path / "export.csv"
    code, _, _ = _invoke("bank", "export", "cs", "--out", str(exported), "--banks", banks)
    assert code == 0
    rows = exported.read_text(encoding="utf-8").splitlines()
    assert rows[0] == "id,pdq,md5,sha1,sha256,vpdq,category,note"
    assert {r.split(",")[0] for r in rows[1:]} == {"tok-1", "tok-2"}
    assert "tok-1," + _reference_pdq(world["known"]) in rows[1] + rows[2]
    # version 2 drops tok-2 and adds tok-3; the diff names exactly those
    sha = hashlib.sha256(world["other"].read_bytes()).hexdigest()
    v2 = tmp_path / "v2.csv"
    v2.write_text(
        rows[0] + "\n" + next(r for r in rows if r.startswith("tok-1")) + "\n" + f"tok-3,,,,{sha},,spam,\n"
    )
    code, out, _ = _invoke("bank", "import", str(v2), "--name", "cs", "--threshold", "20", "--banks", banks)
    assert code == 0 and "cs v2: 2 entries (+1 -1)" in out
    code, out, err = _invoke("bank", "diff", "cs", "1", "2", "--banks", banks)
    assert code == 0
    assert [line.split("\t")[0] for line in out.splitlines()] == ["- tok-2", "+ tok-3"]
    assert "+1 -1" in err
    # re-importing the export of v1 gives back v1's entries: the diff from v1 is empty
    code, _, _ = _invoke("bank", "import", str(exported), "--name", "cs", "--banks", banks)
    code, out, _ = _invoke("bank", "diff", "cs", "1", "3", "--banks", banks)
    assert code == 0 and out == ""


def test_bank_import_refuses_a_bad_file_naming_line_and_column(
    world: dict[str, Path], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,pdq\nx,not-hex\n", encoding="utf-8")
    code, _, err = _invoke("bank", "import", str(bad), "--name", "b", "--category", "spam",
                           "--banks", str(world["banks"]))  # fmt: skip
    assert code == 2
    assert f"{bad}:2, field 'pdq'" in err
    code, _, err = _invoke("bank", "list", "--banks", str(world["banks"]))
    assert "no banks" in err  # nothing was imported


# --- cordon match --------------------------------------------------------------------------------------------


def _import(world: dict[str, Path]) -> None:
    code, _, err = _invoke("bank", "import", str(world["csv"]), "--name", "cs", "--category", "child-safety",
                           "--banks", str(world["banks"]))  # fmt: skip
    assert code == 0, err


def test_match_reports_bank_version_entry_and_distance(world: dict[str, Path]) -> None:
    _import(world)
    files = [world["copy"], world["exact"], world["other"]]
    code, out, err = _invoke("match", "--json", "--banks", str(world["banks"]), *map(str, files))
    assert code == 1  # something matched
    records = {Path(r["file"]).name: r for r in map(json.loads, out.splitlines())}
    (copy_match,) = records["known-copy.jpg"]["matches"]
    expected_distance = _bits(_reference_pdq(world["copy"]), _reference_pdq(world["known"]))
    assert 0 < expected_distance <= 31
    assert copy_match == {"bank": "cs", "version": 1, "entry": "tok-1", "algo": "pdq",
                          "distance": expected_distance, "category": "child-safety"}  # fmt: skip
    (exact_match,) = records["exact.png"]["matches"]
    assert (exact_match["entry"], exact_match["algo"], exact_match["distance"], exact_match["category"]) == (
        "tok-2", "md5", 0, "spam",
    )  # fmt: skip
    assert records["other.png"]["matches"] == []
    assert "3 files, 2 matched, 0 failed" in err


def test_match_without_hits_exits_zero_and_unknown_banks_exit_two(world: dict[str, Path]) -> None:
    _import(world)
    code, out, _ = _invoke("match", "--banks", str(world["banks"]), str(world["other"]))
    assert (code, out) == (0, "")
    code, _, err = _invoke("match", "--bank", "nope", "--banks", str(world["banks"]), str(world["other"]))
    assert code == 2 and "no bank named nope" in err


def test_match_refuses_to_answer_when_the_canary_fails(
    world: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _import(world)
    monkeypatch.setattr(matcher_module, "hamming_index", _empty_index)
    code, out, err = _invoke("match", "--banks", str(world["banks"]), str(world["other"]))
    assert code == 4 and out == ""
    assert "CANARY FAILED" in err


# --- cordon doctor -------------------------------------------------------------------------------------------


class _EmptyIndex:
    """An index that silently finds nothing: the failure a canary exists for."""

    def range_search(self, queries: np.ndarray, radius: int) -> matcher_module.RangeResult:
        empty = np.zeros(0, dtype=np.int64)
        return matcher_module.RangeResult(empty, empty, empty)


def _empty_index(hashes: np.ndarray, radius: int) -> _EmptyIndex:
    return _EmptyIndex()


def test_doctor_passes_on_a_working_installation(world: dict[str, Path], tmp_path: Path) -> None:
    _import(world)
    metrics = tmp_path / "metrics" / "cordon.prom"
    code, out, _ = _invoke("doctor", "--banks", str(world["banks"]), "--metrics-file", str(metrics))
    assert code == 0
    assert "canary: ok (distance 0" in out
    assert "cs v1 child-safety threshold=31" in out
    assert "cordon_canary_healthy 1" in metrics.read_text().splitlines()


def test_doctor_fails_when_the_index_finds_nothing(
    world: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _import(world)
    monkeypatch.setattr(matcher_module, "hamming_index", _empty_index)
    code, _, err = _invoke("doctor", "--banks", str(world["banks"]))
    assert code == 1
    assert "CANARY FAILED" in err and "PDQ did not match" in err


def test_doctor_fails_when_the_index_factory_returns_nothing(
    world: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(matcher_module, "hamming_index", lambda hashes, radius: None)
    code, _, err = _invoke("doctor", "--banks", str(world["banks"]))
    assert code == 1
    assert "CANARY FAILED" in err and "AttributeError" in err


def test_doctor_fails_when_the_loaded_banks_miss_the_canary(
    world: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = canary_module.canary_bank

    def without_pdq_entry() -> tuple[object, EntryColumns]:
        bank, columns = real()
        kept = [e for e in columns.entries(bank.name) if e.algo != "pdq"]
        return bank, EntryColumns.from_entries(kept)

    monkeypatch.setattr("cordon.app.matching.canary_bank", without_pdq_entry)
    code, _, err = _invoke("doctor", "--banks", str(world["banks"]))
    assert code == 1
    assert "PDQ did not match" in err
    assert "exact SHA-256" not in err  # the SHA-256 entry is still there and still matches


def test_doctor_on_a_schedule_writes_the_failure_to_the_metrics(
    world: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    metrics = tmp_path / "cordon.prom"
    code, out, _ = _invoke("doctor", "--banks", str(world["banks"]), "--every", "0.01", "--checks", "2",
                           "--metrics-file", str(metrics))  # fmt: skip
    assert code == 0
    assert out.splitlines() == ["canary ok (1 checks, 0 failed)", "canary ok (2 checks, 0 failed)"]
    monkeypatch.setattr(matcher_module, "hamming_index", _empty_index)
    code, _, err = _invoke("doctor", "--banks", str(world["banks"]), "--every", "0.01", "--checks", "2",
                           "--metrics-file", str(metrics))  # fmt: skip
    assert code == 1
    assert err.count("FAIL: CANARY FAILED") == 2
    lines = metrics.read_text().splitlines()
    assert "cordon_canary_healthy 0" in lines
    assert "cordon_canary_failures_total 2" in lines
