"""Export packages for police and hotlines: one zip with the case, its evidence and a signed manifest.

Layout of the zip:
    README.txt             what the package holds and how to check it
    public-key.pem         the Ed25519 public key that signed manifest.json (and the evidence package)
    manifest.json          every other file with its SHA-256 and size; files withheld (media bytes, unless
                           the recipient is to receive them) with their SHA-256; the evidence package's id
    manifest.sig           Ed25519 signature of manifest.json's exact bytes (hex)
    case/...               the dossier, the case's audit entries, actions, holds and reports
    evidence/...           the preservation package as preserved (its own manifest.json and manifest.sig)
Media bytes go into an export only when asked for (`include_media`): by default the recipient gets their
hashes (in the package's signed manifest and in `withheld`), which is what a hotline needs to match.
`verify_export` checks the signature, every file, that nothing was added, and the embedded package.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from cordon.errors import ResponseError
from cordon.respond.evidence import MANIFEST, SIGNATURE, CapturedFile, PackageVerdict, SigningKey

RECIPIENTS = frozenset({"police", "hotline"})
MAX_ENTRY = 4 * 2**30  # bytes one entry may inflate to when verifying
README = """cordon export package: case {case_id}, for {recipient}, made {created_at}.

Check it before use (Python with the 'cryptography' package, or OpenSSL 3):
  1. manifest.sig is the hex Ed25519 signature of manifest.json by public-key.pem (key id {key_id}):
       xxd -r -p manifest.sig > sig.bin
       openssl pkeyutl -verify -pubin -inkey public-key.pem -rawin -in manifest.json -sigfile sig.bin
  2. every file listed in manifest.json has the SHA-256 and size given there (sha256sum), and no other
     file is in the zip;
  3. evidence/manifest.json is the preservation package's own signed manifest (evidence/manifest.sig, same
     key): files it lists that are not in this zip are listed under "withheld" with the same SHA-256.
Media bytes are withheld unless the manifest says "media_included": true; their hashes are listed.
"""


@dataclass(frozen=True, slots=True)
class ExportResult:
    path: Path
    sha256: str  # of the zip file
    manifest_sha256: str
    files: int
    withheld: int


def _safe_name(name: str) -> str:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not name or "\\" in name or name != str(path):
        raise ResponseError(f"export entry name {name!r} must be a relative path without '..'")
    return name


def build_export(
    out: Path,
    *,
    case_id: str,
    recipient: str,
    files: Sequence[CapturedFile],
    package: Path,
    include_media: bool,
    key: SigningKey,
    now: datetime,
) -> ExportResult:
    """Write the export zip to `out` (never overwriting). `files` go under case/, `package` under evidence/."""
    if recipient not in RECIPIENTS:
        raise ResponseError(f"export recipient {recipient!r}: choose one of {', '.join(sorted(RECIPIENTS))}")
    if out.exists():
        raise ResponseError(f"{out} already exists; an export is never overwritten")
    pkg_manifest = json.loads((package / MANIFEST).read_bytes())
    entries: list[tuple[str, bytes | Path]] = [(f"case/{_safe_name(f.name)}", f.data) for f in files]
    entries += [(f"evidence/{name}", package / name) for name in (MANIFEST, SIGNATURE)]
    withheld = []
    for item in pkg_manifest["files"]:
        name = _safe_name(str(item["path"]))
        if name.startswith("media/") and not include_media:
            withheld.append({"path": f"evidence/{name}", "sha256": item["sha256"], "size": item["size"],
                             "reason": "media bytes withheld; hashes only"})  # fmt: skip
        else:
            entries.append((f"evidence/{name}", package / name))
    listed = []
    stamp = (now.year, now.month, now.day, now.hour, now.minute, now.second)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".export-", suffix=".zip")
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, content in sorted(entries, key=lambda e: e[0]):
                listed.append(_write_entry(zf, zipfile.ZipInfo(name, stamp), content))
            readme = README.format(case_id=case_id, recipient=recipient, created_at=now.isoformat(),
                                   key_id=key.key_id).encode()  # fmt: skip
            for name, data in (("README.txt", readme), ("public-key.pem", key.public_pem())):
                zf.writestr(zipfile.ZipInfo(name, stamp), data, zipfile.ZIP_DEFLATED)
                listed.append({"path": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})
            manifest = json.dumps(
                {
                    "case_id": case_id, "recipient": recipient, "created_at": now.isoformat(),
                    "key_id": key.key_id, "media_included": include_media,
                    "evidence_package": hashlib.sha256((package / MANIFEST).read_bytes()).hexdigest(),
                    "files": sorted(listed, key=lambda f: str(f["path"])), "withheld": withheld,
                },
                sort_keys=True, indent=1,
            ).encode()  # fmt: skip
            zf.writestr(zipfile.ZipInfo(MANIFEST, stamp), manifest, zipfile.ZIP_DEFLATED)
            zf.writestr(zipfile.ZipInfo(SIGNATURE, stamp), key.sign(manifest).hex() + "\n")
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    return ExportResult(out, digest, hashlib.sha256(manifest).hexdigest(), len(listed), len(withheld))


def _write_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, content: bytes | Path) -> dict[str, object]:
    """Stream one entry into the zip (large media never whole in memory), hashing it on the way."""
    info.compress_type = zipfile.ZIP_DEFLATED
    digest, size = hashlib.sha256(), 0
    with zf.open(info, "w", force_zip64=True) as dst:
        source = io.BytesIO(content) if isinstance(content, bytes) else content.open("rb")
        with source:
            for block in iter(lambda: source.read(1 << 20), b""):
                digest.update(block)
                dst.write(block)
                size += len(block)
    return {"path": info.filename, "sha256": digest.hexdigest(), "size": size}


def verify_export(path: Path, public: Ed25519PublicKey) -> PackageVerdict:
    """Check an export zip: signature, every listed file, nothing added, and the embedded evidence package."""
    try:
        with zipfile.ZipFile(path) as zf:
            return _verify_zip(zf, public)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        return PackageVerdict(False, (f"{path}: not a readable export ({exc})",))


def _read(zf: zipfile.ZipFile, name: str) -> bytes:
    info = zf.getinfo(name)
    if info.file_size > MAX_ENTRY:
        raise ValueError(f"{name} inflates to {info.file_size} bytes")
    return zf.read(info)


def _digest(zf: zipfile.ZipFile, name: str) -> str:
    digest = hashlib.sha256()
    with zf.open(name) as src:
        for block in iter(lambda: src.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify_zip(zf: zipfile.ZipFile, public: Ed25519PublicKey) -> PackageVerdict:
    problems: list[str] = []
    names = set(zf.namelist())
    for name in names:
        try:
            _safe_name(name)
        except ResponseError as exc:
            problems.append(str(exc))
    manifest = _read(zf, MANIFEST)
    try:
        public.verify(bytes.fromhex(_read(zf, SIGNATURE).decode("ascii").strip()), manifest)
    except (InvalidSignature, ValueError):
        problems.append("manifest.sig does not match manifest.json (altered, or another key)")
    doc = json.loads(manifest)
    listed = {str(f["path"]): f for f in doc["files"]}
    problems += [
        f"{n}: not in the manifest (added after signing)"
        for n in sorted(names - set(listed) - {MANIFEST, SIGNATURE})
    ]
    for name, item in sorted(listed.items()):
        if name not in names:
            problems.append(f"{name}: listed but missing")
            continue
        if _digest(zf, name) != item["sha256"] or zf.getinfo(name).file_size != item["size"]:
            problems.append(f"{name}: content changed since signing")
    problems += _verify_embedded(zf, doc, names, public)
    return PackageVerdict(not problems, tuple(problems))


def _verify_embedded(
    zf: zipfile.ZipFile, doc: dict[str, object], names: set[str], public: Ed25519PublicKey
) -> list[str]:
    """The evidence package inside: its own signature, and each of its files present or withheld by hash."""
    pkg_name, sig_name = f"evidence/{MANIFEST}", f"evidence/{SIGNATURE}"
    if pkg_name not in names or sig_name not in names:
        return ["evidence/manifest.json or evidence/manifest.sig is missing"]
    pkg_manifest = _read(zf, pkg_name)
    problems = []
    try:
        public.verify(bytes.fromhex(_read(zf, sig_name).decode("ascii").strip()), pkg_manifest)
    except (InvalidSignature, ValueError):
        problems.append("evidence/manifest.sig does not match evidence/manifest.json")
    if hashlib.sha256(pkg_manifest).hexdigest() != doc.get("evidence_package"):
        problems.append("evidence/manifest.json is not the package the export manifest names")
    withheld_raw = doc.get("withheld")
    withheld = (
        {str(w["path"]): str(w["sha256"]) for w in withheld_raw} if isinstance(withheld_raw, list) else {}
    )
    for item in json.loads(pkg_manifest)["files"]:
        name = f"evidence/{item['path']}"
        if name in names:
            if _digest(zf, name) != item["sha256"]:
                problems.append(f"{name}: differs from the preserved file")
        elif withheld.get(name) != item["sha256"]:
            problems.append(f"{name}: neither included nor withheld with its hash")
    return problems


def jsonl(rows: Sequence[dict[str, object]]) -> bytes:
    """JSON Lines (sorted keys) for the case/ files."""
    buf = io.StringIO()
    for row in rows:
        buf.write(json.dumps(row, sort_keys=True, ensure_ascii=False, default=str) + "\n")
    return buf.getvalue().encode()
