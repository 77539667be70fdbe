"""vPDQ conformance with Meta's reference hashes, video matching by frame share, and bad video input.

The reference rule is vPDQ's own regression test: the same number of frames, and every frame that both sides
hash with quality >= 50 within 31 bits (exclusive). Hashes are compared for both engines: Meta's `vpdq`
package and the PyAV + pdqhash fallback.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cordon.errors import HashError
from cordon.model import Bank, BankCategory, BankEntry, HashAlgo, MediaHash, MediaKind
from cordon.signals.media.bank_formats import EntryColumns
from cordon.signals.media.hashing import HashedMedia, hash_many, hash_media
from cordon.signals.media.matcher import Matcher
from cordon.signals.media.video import hash_video, video_match

pytest.importorskip("vpdq")
av = pytest.importorskip("av")


VPDQ_DIR = Path(__file__).resolve().parents[4].parent / "shared" / "vectors" / "vpdq"
VIDEOS = sorted((VPDQ_DIR / "videos").glob("*.mp4"))
REFERENCE_DISTANCE = 31  # exclusive, as vPDQ's regression test compares
REFERENCE_QUALITY = 50
VARIANTS = {"native": None, "128x128": (128, 128)}


@dataclass(frozen=True, slots=True)
class RefFrame:
    frame: int
    quality: int
    value: str
    timestamp_s: float


def _reference(stem: str, variant: str) -> list[RefFrame]:
    suffix = "" if variant == "native" else f"-{variant}"
    rows = (VPDQ_DIR / "hashes" / f"{stem}{suffix}.txt").read_text(encoding="utf-8").split()
    out = []
    for row in rows:
        frame, quality, value, timestamp = row.split(",")
        out.append(RefFrame(int(frame), int(quality), value, float(timestamp)))
    return out


def _as_hashes(stem: str, frames: list[RefFrame]) -> list[MediaHash]:
    return [
        MediaHash(sha256=stem, algo=HashAlgo.VPDQ, value=f.value, quality=f.quality, frame=f.frame)
        for f in frames
    ]


@cache
def _ours(path: Path, variant: str, engine: str) -> tuple[MediaHash, ...]:
    return hash_video(path, downsample=VARIANTS[variant], engine=engine)


def _distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def _assert_conforms(ours: tuple[MediaHash, ...], reference: list[RefFrame]) -> None:
    assert len(ours) == len(reference)
    assert [h.frame for h in ours] == [r.frame for r in reference]
    assert all(
        abs((h.timestamp_s or 0.0) - r.timestamp_s) < 0.001 for h, r in zip(ours, reference, strict=True)
    )
    compared = [
        _distance(h.value, r.value)
        for h, r in zip(ours, reference, strict=True)
        if (h.quality or 0) >= REFERENCE_QUALITY and r.quality >= REFERENCE_QUALITY
    ]
    assert len(compared) >= len(reference) // 2  # the rule is not passed by comparing nothing
    assert max(compared) < REFERENCE_DISTANCE, sorted(compared)[-5:]


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("video", VIDEOS, ids=lambda p: p.stem)
def test_vpdq_engine_agrees_with_the_reference(video: Path, variant: str) -> None:
    ours = _ours(video, variant, "vpdq")
    _assert_conforms(ours, _reference(video.stem, variant))
    assert {h.sha256 for h in ours} == {hashlib.sha256(video.read_bytes()).hexdigest()}
    assert {h.algo for h in ours} == {HashAlgo.VPDQ}


@pytest.mark.parametrize(
    "video",
    [v for v in VIDEOS if v.stem.startswith(("pattern", "doorknob"))],  # the short ones: PyAV is slower
    ids=lambda p: p.stem,
)
def test_pyav_engine_agrees_with_the_reference(video: Path) -> None:
    _assert_conforms(_ours(video, "native", "pyav"), _reference(video.stem, "native"))


def test_low_quality_frames_are_kept_and_flagged_like_the_reference() -> None:
    video = VPDQ_DIR / "videos" / "doorknob-hd-no-bar.mp4"
    ours = _ours(video, "native", "vpdq")
    reference = _reference(video.stem, "native")
    low_ours = [h.frame for h in ours if (h.quality or 0) < REFERENCE_QUALITY]
    low_reference = [r.frame for r in reference if r.quality < REFERENCE_QUALITY]
    assert low_ours == low_reference
    assert low_ours  # this clip has dark frames: the check above compares something


def test_seconds_per_hash_keeps_one_frame_per_interval_in_both_engines() -> None:
    video = VPDQ_DIR / "videos" / "pattern-sd-grey-bar.mp4"
    duration = _reference(video.stem, "native")[-1].timestamp_s
    by_vpdq = hash_video(video, seconds_per_hash=1.0, engine="vpdq")
    by_pyav = hash_video(video, seconds_per_hash=1.0, engine="pyav")
    assert len(by_vpdq) == int(duration) + 1
    assert [h.frame for h in by_pyav] == [h.frame for h in by_vpdq]


def test_video_match_agrees_with_python_threatexchange() -> None:
    brute = pytest.importorskip("threatexchange.extensions.vpdq.vpdq_brute_matcher")
    util = pytest.importorskip("threatexchange.extensions.vpdq.vpdq_util")
    stems = [v.stem for v in VIDEOS]
    for query in stems:
        for target in stems:
            # every 10th query frame, every 5th target frame: partial shares; pytx's O(n*m) loop stays quick
            q_ref, t_ref = _reference(query, "native")[::10], _reference(target, "native")[::5]
            ours = video_match(_as_hashes(query, q_ref), _as_hashes(target, t_ref))
            theirs = brute.match_VPDQ_hash_brute(
                [util.VpdqCompactFeature(f.value, f.quality, f.timestamp_s) for f in q_ref],
                [util.VpdqCompactFeature(f.value, f.quality, f.timestamp_s) for f in t_ref],
                REFERENCE_QUALITY,
                util.VPDQ_DISTANCE_THRESHOLD,
            )
            assert ours[0] * 100 == pytest.approx(theirs.query_match_percent), (query, target)
            assert ours[1] * 100 == pytest.approx(theirs.compared_match_percent), (query, target)


def _video_bank() -> tuple[Bank, EntryColumns]:
    """Meta's reference hashes of two clips as bank videos (their frames share one entry id each)."""
    bank = Bank(name="clips", category=BankCategory.SPAM, threshold=31, version=3)
    entries = [
        BankEntry("clips", entry_id, HashAlgo.VPDQ, f.value, BankCategory.SPAM)
        for entry_id, stem in (
            ("clip-chair", "chair-22-sd-grey-bar"),
            ("clip-pattern", "pattern-sd-grey-bar"),
        )
        for f in _reference(stem, "native")
        if f.quality >= REFERENCE_QUALITY
    ]
    return bank, EntryColumns.from_entries(entries)


def _video_matches(matcher: Matcher, hashed: HashedMedia) -> set[str]:
    return {m.entry_id for m in matcher.match_media([hashed]) if m.algo is HashAlgo.VPDQ}


def test_other_edits_of_a_bank_clip_match_it_and_nothing_else() -> None:
    matcher = Matcher([_video_bank()])
    logo = hash_media(VPDQ_DIR / "videos" / "chair-22-with-small-logo-bar.mp4")
    assert logo.kind is MediaKind.VIDEO
    assert _video_matches(matcher, logo) == {"clip-chair"}
    (video_match_,) = [vm for vm in matcher.match_videos(logo.matchable) if vm.match.entry_id == "clip-chair"]
    assert video_match_.query_share >= 0.8
    assert video_match_.match.bank_version == 3
    assert _video_matches(
        matcher, hash_media(VPDQ_DIR / "videos" / "pattern-sd-with-small-logo-bar.mp4")
    ) == {"clip-pattern"}
    assert _video_matches(matcher, hash_media(VPDQ_DIR / "videos" / "doorknob-hd-no-bar.mp4")) == set()


def test_an_animated_gif_cut_from_a_bank_clip_matches_by_frame_share() -> None:
    frames = []
    with av.open(str(VPDQ_DIR / "videos" / "pattern-sd-grey-bar.mp4")) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i % 10 == 0:
                frames.append(frame.to_image().resize((240, 180)))
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=330)  # GIF counts 10 ms
    hashed = hash_media(out.getvalue(), name="clip.gif")
    assert hashed.kind is MediaKind.IMAGE
    pdq, *per_frame = hashed.perceptual
    assert pdq.algo is HashAlgo.PDQ
    assert [h.frame for h in per_frame] == list(range(len(frames)))
    assert per_frame[2].timestamp_s == pytest.approx(0.66)
    assert per_frame[0].value == pdq.value  # the first frame is the image's PDQ
    assert _video_matches(Matcher([_video_bank()]), hashed) == {"clip-pattern"}


def _audio_only(path: Path) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=44100)
        silence = np.zeros((1, 1024), dtype=np.float32)
        for i in range(10):
            frame = av.AudioFrame.from_ndarray(silence, format="fltp", layout="mono")
            frame.sample_rate = 44100
            frame.pts = i * 1024
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def test_bad_videos_give_one_clear_error_each_and_the_batch_goes_on(tmp_path: Path) -> None:
    good = VPDQ_DIR / "videos" / "pattern-sd-grey-bar.mp4"
    data = good.read_bytes()
    header_only = tmp_path / "header-only.mp4"
    header_only.write_bytes(data[:2000])
    fake = tmp_path / "fake.mp4"
    fake.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    sources = [_audio_only(tmp_path / "audio.mp4"), header_only, good, fake, empty]
    results = hash_many(sources, workers=2, progress=False)
    errors = {s.name: str(r) for s, r in zip(sources, results, strict=True) if isinstance(r, HashError)}
    assert set(errors) == {"audio.mp4", "header-only.mp4", "fake.mp4", "empty.mp4"}
    assert "has no video stream (streams: audio)" in errors["audio.mp4"]
    assert "not a readable video" in errors["header-only.mp4"]
    assert "not a readable video" in errors["fake.mp4"]
    assert "empty file" in errors["empty.mp4"]
    assert all(str(tmp_path) in message for message in errors.values())
    hashed = results[2]
    assert isinstance(hashed, HashedMedia)
    assert len(hashed.perceptual) == len(_reference(good.stem, "native"))


def test_a_truncated_video_keeps_the_frames_that_decode(tmp_path: Path) -> None:
    good = VPDQ_DIR / "videos" / "pattern-sd-grey-bar.mp4"
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    hashed = hash_video(cut)
    reference = _reference(good.stem, "native")
    assert 0 < len(hashed) < len(reference)
    prefix = reference[: len(hashed)]
    assert max(_distance(h.value, r.value) for h, r in zip(hashed, prefix, strict=True)) < REFERENCE_DISTANCE
    with pytest.raises(HashError, match=r"cut\.mp4"):
        hash_video(cut, engine="vpdq")  # Meta's package refuses the whole file


def test_unknown_engine_is_refused() -> None:
    with pytest.raises(HashError, match="unknown video engine"):
        hash_video(VIDEOS[0], engine="gstreamer")


def test_animation_frames_can_be_skipped_for_still_image_rules() -> None:
    frames = [Image.effect_noise((64, 48), 40 + 10 * i).convert("RGB") for i in range(3)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100)
    assert len(hash_media(out.getvalue()).perceptual) == 4
    assert [h.algo for h in hash_media(out.getvalue(), animation_frames=False).perceptual] == [HashAlgo.PDQ]
