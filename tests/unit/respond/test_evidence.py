"""Preservation packages: signed manifests over content-addressed copies; any change is caught on verify."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cordon.errors import ResponseError
from cordon.respond.evidence import CapturedFile, MediaItem, SigningKey, preserve, verify_package

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _media(tmp_path: Path, payload: bytes) -> MediaItem:
    src = tmp_path / "src.bin"
    src.write_bytes(payload)  # benign stand-in bytes
    return MediaItem(hashlib.sha256(payload).hexdigest(), hashlib.md5(payload).hexdigest(),
                     hashlib.sha1(payload).hexdigest(), str(src), "https://files.example/m/1.png")  # fmt: skip


def _package(tmp_path: Path, mode: str = "copies") -> tuple[Path, SigningKey]:
    key = SigningKey.load_or_create(tmp_path / "keys" / "evidence.pem")
    pkg = preserve(
        tmp_path / "evidence", "case-1", b'{"case": "case-1"}',
        [CapturedFile("posts.jsonl", b'{"id": "1"}\n'), CapturedFile("accounts.jsonl", b'{"id": "a"}\n')],
        [_media(tmp_path, b"not an image, a benign stand-in")], mode=mode, key=key, now=NOW,
    )  # fmt: skip
    return pkg.path, key


def test_copies_package_verifies_and_lists_every_file(tmp_path: Path) -> None:
    path, key = _package(tmp_path)
    manifest = json.loads((path / "manifest.json").read_text())
    listed = {f["path"] for f in manifest["files"]}
    sha = hashlib.sha256(b"not an image, a benign stand-in").hexdigest()
    assert listed == {
        "dossier.json",
        "records/posts.jsonl",
        "records/accounts.jsonl",
        f"media/{sha}",
        "media.jsonl",
    }
    assert json.loads((path / "media.jsonl").read_text())["copied"] is True
    assert manifest["key_id"] == key.key_id and manifest["mode"] == "copies"
    assert verify_package(path, key.public).ok


def test_hashes_mode_keeps_no_bytes(tmp_path: Path) -> None:
    path, key = _package(tmp_path, mode="hashes")
    assert not (path / "media").exists()
    line = json.loads((path / "media.jsonl").read_text())
    assert line["copied"] is False
    assert line["url"] == "https://files.example/m/1.png" and len(line["md5"]) == 32
    assert verify_package(path, key.public).ok


def test_copies_mode_keeps_items_without_bytes_by_hash(tmp_path: Path) -> None:
    key = SigningKey.load_or_create(tmp_path / "keys" / "evidence.pem")
    held = _media(tmp_path, b"held bytes, a benign stand-in")
    gone = MediaItem(hashlib.sha256(b"never stored").hexdigest(), "", "", "", "https://files.example/m/2.png")
    pkg = preserve(tmp_path / "evidence", "case-2", b"{}", [], [held, gone], mode="copies", key=key, now=NOW)
    assert sorted(p.name for p in (pkg.path / "media").iterdir()) == [held.sha256]
    lines = [json.loads(x) for x in (pkg.path / "media.jsonl").read_text().splitlines()]
    assert {(x["sha256"], x["copied"]) for x in lines} == {(held.sha256, True), (gone.sha256, False)}
    assert verify_package(pkg.path, key.public).ok


@pytest.mark.parametrize("tamper", ["edit", "add", "remove", "manifest", "other-key"])
def test_tampering_is_detected(tmp_path: Path, tamper: str) -> None:
    path, key = _package(tmp_path)
    public = key.public
    if tamper == "edit":
        (path / "records" / "posts.jsonl").write_bytes(b'{"id": "2"}\n')
    elif tamper == "add":
        (path / "records" / "extra.jsonl").write_bytes(b"{}\n")
    elif tamper == "remove":
        (path / "dossier.json").unlink()
    elif tamper == "manifest":
        text = (path / "manifest.json").read_text().replace("case-1", "case-2")
        (path / "manifest.json").write_text(text)
    else:
        public = Ed25519PrivateKey.generate().public_key()
    verdict = verify_package(path, public)
    assert not verdict.ok and verdict.problems


def test_key_is_reused_and_private(tmp_path: Path) -> None:
    first = SigningKey.load_or_create(tmp_path / "k.pem")
    again = SigningKey.load_or_create(tmp_path / "k.pem")
    assert first.key_id == again.key_id
    assert (tmp_path / "k.pem").stat().st_mode & 0o077 == 0


def test_media_that_changed_since_hashing_is_refused(tmp_path: Path) -> None:
    item = _media(tmp_path, b"original")
    Path(item.source).write_bytes(b"changed")
    key = SigningKey.load_or_create(tmp_path / "k.pem")
    with pytest.raises(ResponseError, match="no longer match"):
        preserve(tmp_path / "ev", "case-1", b"{}", [], [item], mode="copies", key=key, now=NOW)
