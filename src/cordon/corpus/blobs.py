"""Content-addressed media bytes: `<root>/ab/cd/<sha256>`, written once, atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from cordon.errors import StoreError


class BlobStore:
    """Media bytes stored under their SHA-256; storing the same bytes twice writes nothing."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise StoreError(f"blob id {sha256!r} is not a lower-case hex SHA-256; pass the media's sha256")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, sha256: str, data: bytes) -> Path:
        """Store `data` under `sha256` (the caller computed it) and return the path."""
        target = self.path_for(sha256)
        if target.exists():
            return target
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, target)
        except OSError as exc:
            raise StoreError(f"cannot write media blob {sha256} under {self.root}: {exc}") from exc
        return target

    def get(self, sha256: str) -> bytes:
        try:
            return self.path_for(sha256).read_bytes()
        except OSError as exc:
            raise StoreError(f"media blob {sha256} is not stored under {self.root}: {exc}") from exc
