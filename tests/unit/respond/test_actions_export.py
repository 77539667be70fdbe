"""Police and hotline exports: a zip whose signed manifest covers every file, with the preservation package
inside; media withheld by hash unless asked for; any change, addition or foreign key is caught."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cordon.errors import ResponseError
from cordon.respond.evidence import CapturedFile, MediaItem, SigningKey, preserve
from cordon.respond.export import build_export, verify_export

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _noise(seed: int) -> bytes:
    out = io.BytesIO()
    pixels = np.random.default_rng(seed).integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
    Image.fromarray(pixels, "RGB").save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def package(tmp_path: Path) -> tuple[Path, SigningKey, dict[str, bytes]]:
    key = SigningKey.load_or_create(tmp_path / "keys" / "k.pem")
    media = {}
    items = []
    for seed in range(2):
        data = _noise(seed)
        sha = hashlib.sha256(data).hexdigest()
        (tmp_path / sha).write_bytes(data)
        media[sha] = data
        items.append(
            MediaItem(sha, hashlib.md5(data).hexdigest(), hashlib.sha1(data).hexdigest(), str(tmp_path / sha))
        )
    pkg = preserve(tmp_path / "evidence", "case-e1", b'{"case": "case-e1"}', [CapturedFile("posts.jsonl", b'{"id": "1"}\n')],
                   items, mode="copies", key=key, now=NOW)  # fmt: skip
    return pkg.path, key, media


def _export(
    tmp_path: Path, pkg: Path, key: SigningKey, include_media: bool = False, name: str = "x.zip"
) -> Path:
    files = [CapturedFile("events.jsonl", b'{"kind": "confirm"}\n'), CapturedFile("audit.jsonl", b"{}\n")]
    build_export(tmp_path / name, case_id="case-e1", recipient="hotline", files=files, package=pkg,
                 include_media=include_media, key=key, now=NOW)  # fmt: skip
    return tmp_path / name


def test_export_verifies_and_withholds_media_by_hash(
    tmp_path: Path, package: tuple[Path, SigningKey, dict[str, bytes]]
) -> None:
    pkg, key, media = package
    out = _export(tmp_path, pkg, key)
    assert verify_export(out, key.public).ok
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
        assert zf.read("evidence/manifest.json") == (pkg / "manifest.json").read_bytes()
    assert {
        "case/events.jsonl",
        "evidence/dossier.json",
        "evidence/records/posts.jsonl",
        "public-key.pem",
    } <= names
    assert not any("media/" in n for n in names)
    assert {w["sha256"] for w in manifest["withheld"]} == set(media)
    assert manifest["media_included"] is False
    listed = {f["path"]: f["sha256"] for f in manifest["files"]}
    with zipfile.ZipFile(out) as zf:
        for name, digest in listed.items():
            assert hashlib.sha256(zf.read(name)).hexdigest() == digest


def test_media_included_on_request(
    tmp_path: Path, package: tuple[Path, SigningKey, dict[str, bytes]]
) -> None:
    pkg, key, media = package
    out = _export(tmp_path, pkg, key, include_media=True)
    assert verify_export(out, key.public).ok
    with zipfile.ZipFile(out) as zf:
        for sha, data in media.items():
            assert zf.read(f"evidence/media/{sha}") == data


def _rewrite(src: Path, dst: Path, change: str) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if change == "edit" and info.filename == "case/events.jsonl":
                data = b'{"kind": "dismiss"}\n'
            if change == "drop" and info.filename == "evidence/records/posts.jsonl":
                continue
            zout.writestr(info, data)
        if change == "add":
            zout.writestr("case/extra.txt", b"added later")


@pytest.mark.parametrize("change", ["edit", "drop", "add"])
def test_changes_are_caught(
    tmp_path: Path, package: tuple[Path, SigningKey, dict[str, bytes]], change: str
) -> None:
    pkg, key, _ = package
    out = _export(tmp_path, pkg, key)
    changed = tmp_path / f"{change}.zip"
    _rewrite(out, changed, change)
    verdict = verify_export(changed, key.public)
    assert not verdict.ok and verdict.problems


def test_another_key_and_a_tampered_package_are_caught(
    tmp_path: Path, package: tuple[Path, SigningKey, dict[str, bytes]]
) -> None:
    pkg, key, _ = package
    other = SigningKey.load_or_create(tmp_path / "keys" / "other.pem")
    assert not verify_export(_export(tmp_path, pkg, key), other.public).ok
    bad = tmp_path / "bad-package"
    shutil.copytree(pkg, bad)
    (bad / "records" / "posts.jsonl").write_bytes(
        b'{"id": "2"}\n'
    )  # the package no longer matches its manifest
    verdict = verify_export(_export(tmp_path, bad, key, name="bad.zip"), key.public)
    assert not verdict.ok and any("differs from the preserved file" in p for p in verdict.problems)


def test_refusals(tmp_path: Path, package: tuple[Path, SigningKey, dict[str, bytes]]) -> None:
    pkg, key, _ = package
    out = _export(tmp_path, pkg, key)
    with pytest.raises(ResponseError, match="never overwritten"):
        _export(tmp_path, pkg, key)
    with pytest.raises(ResponseError, match="relative path"):
        build_export(tmp_path / "y.zip", case_id="c", recipient="police", files=[CapturedFile("../escape", b"")],
                     package=pkg, include_media=False, key=key, now=NOW)  # fmt: skip
    with pytest.raises(ResponseError, match="recipient"):
        build_export(tmp_path / "z.zip", case_id="c", recipient="press", files=[], package=pkg,
                     include_media=False, key=key, now=NOW)  # fmt: skip
    assert not (tmp_path / "y.zip").exists() and out.exists()
    assert not list(tmp_path.glob(".export-*"))  # no half-written file left behind
