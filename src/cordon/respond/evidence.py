"""Evidence preservation: a package per case, written before any action, with a signed manifest.

Layout of a package directory:
    dossier.json           the case as cordon saw it (members, evidence, graph ties, timeline)
    records/*.jsonl        the post and account records as captured
    media/<sha256>         content-addressed copies of the media whose bytes cordon holds (mode "copies")
    media.jsonl            every item's hashes and URL, and whether it was copied (an item whose bytes were never
                           stored, e.g. seen only by URL, is kept by hash in either mode)
    manifest.json          every file above with its SHA-256 and size, the case id, the mode, the key id, the time
    manifest.sig           Ed25519 signature of manifest.json's exact bytes (hex)
The package id is the SHA-256 of manifest.json. `verify_package` re-hashes every file, checks that no file was
added or removed, and checks the signature with the public key.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from cordon.errors import ResponseError

MANIFEST, SIGNATURE = "manifest.json", "manifest.sig"


@dataclass(frozen=True, slots=True)
class CapturedFile:
    """A record file captured for the package (relative path inside it, and its bytes)."""

    name: str
    data: bytes


@dataclass(frozen=True, slots=True)
class MediaItem:
    sha256: str
    md5: str
    sha1: str
    source: str  # a local path to the bytes ("" when only the URI is known)
    url: str = ""


@dataclass(frozen=True, slots=True)
class ManifestFile:
    path: str
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class Package:
    id: str  # SHA-256 of manifest.json
    case_id: str
    mode: str
    path: Path
    key_id: str
    files: tuple[ManifestFile, ...]


@dataclass(frozen=True, slots=True)
class PackageVerdict:
    ok: bool
    problems: tuple[str, ...]


class SigningKey:
    """The Ed25519 key that signs manifests, kept as a PEM file (created on first use, mode 0600)."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.key_id = hashlib.sha256(raw).hexdigest()[:16]

    @classmethod
    def load_or_create(cls, path: Path) -> SigningKey:
        if path.exists():
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise ResponseError(f"{path}: not an Ed25519 private key; move it away to create a new one")
            return cls(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        return cls(key)

    @property
    def public(self) -> Ed25519PublicKey:
        return self._private.public_key()

    def public_pem(self) -> bytes:
        return self.public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, data: bytes) -> bytes:
        return self._private.sign(data)


def _sha256_file(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def preserve(
    out_dir: Path,
    case_id: str,
    dossier: bytes,
    records: Sequence[CapturedFile],
    media: Sequence[MediaItem],
    *,
    mode: str,
    key: SigningKey,
    now: datetime,
) -> Package:
    """Write and sign a preservation package for `case_id` under `out_dir`; returns it (never overwrites)."""
    if mode not in ("copies", "hashes"):
        raise ResponseError(
            f"preservation mode {mode!r}: choose 'copies' (content-addressed files) or 'hashes'"
        )
    pkg = out_dir / case_id / now.strftime("%Y%m%dT%H%M%S%fZ")
    if pkg.exists():
        raise ResponseError(f"{pkg} already exists; a preservation package is never overwritten")
    (pkg / "records").mkdir(parents=True)
    (pkg / "dossier.json").write_bytes(dossier)
    for rec in records:
        target = (pkg / "records" / rec.name).resolve()
        if target.parent != (pkg / "records").resolve():
            raise ResponseError(f"record file name {rec.name!r} must be a plain file name")
        target.write_bytes(rec.data)
    copied: set[str] = set()
    if mode == "copies":  # copies of every item whose bytes are held; the others by hash and URL below
        (pkg / "media").mkdir()
        for item in media:
            if not item.source or not Path(item.source).is_file():
                continue
            copy = pkg / "media" / item.sha256
            shutil.copyfile(item.source, copy)
            if _sha256_file(copy)[0] != item.sha256:
                raise ResponseError(
                    f"media {item.sha256}: the bytes at {item.source} no longer match their hash"
                )
            copied.add(item.sha256)
    lines = [
        json.dumps({"sha256": m.sha256, "md5": m.md5, "sha1": m.sha1, "url": m.url, "copied": m.sha256 in copied},
                   sort_keys=True)
        for m in media
    ]  # fmt: skip
    (pkg / "media.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    files = tuple(
        ManifestFile(str(p.relative_to(pkg)), *_sha256_file(p)) for p in sorted(pkg.rglob("*")) if p.is_file()
    )
    manifest = json.dumps(
        {
            "case_id": case_id,
            "created_at": now.isoformat(),
            "mode": mode,
            "key_id": key.key_id,
            "files": [{"path": f.path, "sha256": f.sha256, "size": f.size} for f in files],
        },
        sort_keys=True,
        indent=1,
    ).encode()
    (pkg / MANIFEST).write_bytes(manifest)
    (pkg / SIGNATURE).write_text(key.sign(manifest).hex() + "\n", encoding="ascii")
    return Package(hashlib.sha256(manifest).hexdigest(), case_id, mode, pkg, key.key_id, files)


def verify_package(pkg: Path, public: Ed25519PublicKey) -> PackageVerdict:
    """Check the signature, every file's hash and size, and that the package holds exactly the listed files."""
    problems: list[str] = []
    try:
        manifest = (pkg / MANIFEST).read_bytes()
        signature = bytes.fromhex((pkg / SIGNATURE).read_text(encoding="ascii").strip())
    except (OSError, ValueError) as exc:
        return PackageVerdict(False, (f"manifest or signature unreadable: {exc}",))
    try:
        public.verify(signature, manifest)
    except InvalidSignature:
        problems.append("signature does not match manifest.json (manifest altered or wrong key)")
    listed = {f["path"]: f for f in json.loads(manifest)["files"]}
    present = {str(p.relative_to(pkg)) for p in pkg.rglob("*") if p.is_file()} - {MANIFEST, SIGNATURE}
    problems += [f"{p}: not in the manifest (added after signing)" for p in sorted(present - set(listed))]
    problems += [f"{p}: listed but missing" for p in sorted(set(listed) - present)]
    for path in sorted(present & set(listed)):
        digest, size = _sha256_file(pkg / path)
        if digest != listed[path]["sha256"] or size != listed[path]["size"]:
            problems.append(f"{path}: content changed since signing")
    return PackageVerdict(not problems, tuple(problems))
