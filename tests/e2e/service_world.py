"""A small, benign world for the review service's tests: dossiers built directly (no analyze run), procedural
noise images as the media (stored content-addressed), and one user per role plus a multi-role operator.

Nothing here is abusive: every image is random noise; account ids, tags and entities are synthetic tokens.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
from PIL import Image

from cordon.app.dossier import (
    DayCount,
    Dossier,
    EvasionLink,
    GraphTie,
    QueuedMedia,
    SharedEntity,
    SuppressTag,
)
from cordon.app.service import Service, ServiceSettings
from cordon.corpus import BlobStore
from cordon.model import Case, CaseLabel, CaseMember, EvidenceItem, Platform, Subject
from cordon.respond.access import Role

PASSWORD = "correct horse battery staple"
OPERATOR = "ops"  # reviewer + reporter + approver: walks a case from review to report
OPERATOR_ROLES = (Role.REVIEWER, Role.REPORTER, Role.APPROVER)


def noise_png(seed: int, side: int = 96) -> bytes:
    """A benign stand-in image: coloured uniform noise with a bright square, deterministic per seed."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(side, side, 3), dtype=np.uint8)
    pixels[side // 4 : side // 2, side // 4 : side // 2] = 255
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, format="PNG")
    return out.getvalue()


def make_dossier(
    case_id: str,
    *,
    label: CaseLabel = CaseLabel.CHILD_SAFETY,
    members: int = 6,
    media: tuple[str, ...] = (),
    matched: str | None = None,
    last_day: date = date(2024, 5, 20),
    score: float = 0.8,
) -> Dossier:
    """A network case: a poster (matched media when `matched`), amplifiers, one evader; `media` is queued."""
    ids = [f"{case_id}-acct{i}" for i in range(members)]
    evidence_poster = (
        EvidenceItem(
            "hash-match",
            "posted media matching bank entry tagA1 (distance 4)",
            refs=(Subject("post", f"{case_id}-post0", Platform.MASTODON), Subject("media", matched)),
        ),
    ) if matched else (EvidenceItem("co-action", "co-posted with the network"),)  # fmt: skip
    roles = ["poster", *["amplifier"] * (members - 2), "evader"]
    follower = (
        EvidenceItem("co-reply", f"replied within minutes to {ids[0]}", refs=(Subject("account", ids[0]),)),
    )
    case_members = tuple(
        CaseMember(a, Platform.MASTODON, r, evidence_poster if r == "poster" else follower)
        for a, r in zip(ids, roles, strict=True)
    )
    case = Case(
        id=case_id, label=label, score=score, members=case_members, finding_ids=(f"f-{case_id}",),
        post_ids=(f"{case_id}-post0",), entities=("xq-folder.example",), hashtags=("tagA1",),
    )  # fmt: skip
    first = last_day - timedelta(days=4)
    return Dossier(
        case=case,
        suppress_tags=(SuppressTag("tagA1", False, 40, 44, "burst of 40 posts by the network"),),
        entities=(SharedEntity("domain", "xq-folder.example", min(3, members), 9),),
        evasion=(EvasionLink(ids[-1], ids[0], 0.9, "same bio and avatar as a suspended member"),),
        media_queue=tuple(
            QueuedMedia(sha, 10.0 - i, 3, 2, f"{first.isoformat()}T10:00:00+00:00")
            for i, sha in enumerate(media)
        ),
        ties=tuple(GraphTie(ids[0], b, "co-reply", 2.0) for b in ids[1:]),
        timeline=tuple(DayCount(first + timedelta(days=k), 5 + k, 1 if k == 0 else 0) for k in range(5)),
    )


@dataclass(frozen=True, slots=True)
class World:
    service: Service
    cases: tuple[Dossier, ...]
    media: dict[str, bytes]  # sha256 -> bytes of every stored media item
    blobs: Path


def settings_for_tests(state_url: str, tmp_path: Path, **overrides: object) -> ServiceSettings:
    """Settings for tests: plain-HTTP cookies and cheap argon2 parameters (the algorithm is the same)."""
    base = {
        "state_url": state_url, "blobs": str(tmp_path / "blobs"), "evidence_dir": str(tmp_path / "evidence"),
        "exports_dir": str(tmp_path / "exports"),
        "signing_key": str(tmp_path / "keys" / "ed25519.pem"), "secure_cookies": False,
        "argon2_time_cost": 1, "argon2_memory_kib": 8192,
    }  # fmt: skip
    base.update(overrides)
    return ServiceSettings(**base)  # type: ignore[arg-type]


def build_world(state_url: str, tmp_path: Path, **overrides: object) -> World:
    """Three cases (child-safety with media, a smaller older child-safety one, a spam one) and the users."""
    settings = settings_for_tests(state_url, tmp_path, **overrides)
    blobs = BlobStore(Path(settings.blobs))
    media: dict[str, bytes] = {}
    for seed in range(4):
        data = noise_png(seed)
        sha = hashlib.sha256(data).hexdigest()
        blobs.put(sha, data)
        media[sha] = data
    shas = tuple(media)
    unstored = hashlib.sha256(b"hash known, bytes never stored").hexdigest()
    cases = (
        make_dossier("case-00000000000000a1", members=8, media=(shas[0], shas[1], unstored), matched=shas[2]),
        make_dossier("case-00000000000000b2", members=4, media=(shas[3],), last_day=date(2024, 3, 1)),
        make_dossier("case-00000000000000c3", label=CaseLabel.COORDINATED_SPAM, members=30, score=0.95),
    )
    service = Service(settings)
    for role in Role:
        service.access.add_user("test-setup", str(role), PASSWORD, [role])
    service.access.add_user("test-setup", OPERATOR, PASSWORD, OPERATOR_ROLES)
    from cordon.app.reporting import AnalysisMeta, CasesDocument  # noqa: PLC0415

    meta = AnalysisMeta("synthetic", "bank.csv", datetime(2024, 5, 21, tzinfo=UTC), 100, 50, 4, 1, 0.1)
    service.import_document(CasesDocument("cordon.cases/1", meta, cases), "test-setup")
    return World(service, cases, media, Path(settings.blobs))
