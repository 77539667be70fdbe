"""What a CyberTipline report says about a case, read from its verified preservation package (the records as
captured, the media copies and hashes) and the state store (actions taken, logged reveals): nothing is taken
from the live corpus, so the report matches the evidence kept for it.

Mapping (docs/ncmec.md): incident = the network's first post; web pages = the case's posts; reported persons =
the members (ESP id, service, handle, display name, profile URL, bio, hijacked, suspended by cordon, role and
evidence); files = the media copied into the package, bank matches first, each with its hashes, URL, whether a
reviewer revealed it, and the match or review that flagged it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path, PurePosixPath

import msgspec
from sqlalchemy import select

from cordon.app.dossier import Dossier
from cordon.errors import ResponseError
from cordon.respond.reports.cybertip import (
    INCIDENT_TYPES,
    CyberTipReport,
    Disabled,
    FileHash,
    ReportedAccount,
    ReportFile,
    ReportingPerson,
)
from cordon.respond.state.store import StateStore, utc
from cordon.respond.state.tables import ActionRow, MediaViewRow


class NcmecSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The operator's NCMEC set-up. Credentials come from the environment variables named here."""

    base_url: str = "https://exttest.cybertip.org/ispws"  # production: https://report.cybertip.org/ispws
    username_env: str = "CORDON_NCMEC_USERNAME"
    password_env: str = "CORDON_NCMEC_PASSWORD"
    xsd: str = ""  # NCMEC's schema, downloaded from https://report.cybertip.org/ispws/xsd
    first_name: str = ""  # the reporting person at the ESP
    last_name: str = ""
    email: str = ""
    phone: str = ""
    platform: str = ""  # the application, e.g. "Mastodon"
    esp_service: str = ""  # e.g. "Mastodon (social.example)"
    company_template: str = ""
    terms_of_service: str = ""
    legal_url: str = ""
    incident_type: str = INCIDENT_TYPES[0]
    four_eyes: bool = True  # the approver must not be the person who drafted the report
    max_accounts: int = 1000
    max_urls: int = 500
    max_files: int = 200
    users_notified: bool = True  # suspended accounts were told (Mastodon e-mails its statement of reasons)


@dataclass(frozen=True, slots=True)
class PlannedFile:
    """A file to upload: its bytes in the package, and what /fileinfo will say about it."""

    sha256: str
    path: Path
    details: ReportFile


@dataclass(frozen=True, slots=True)
class ReportContent:
    report: CyberTipReport
    files: tuple[PlannedFile, ...]


def _jsonl(path: Path) -> Iterator[dict[str, object]]:
    if path.is_file():
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)


def _time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return utc(datetime.fromisoformat(value))
    except ValueError:
        return None


def _str(row: dict[str, object], key: str) -> str:
    value = row.get(key)
    return value if isinstance(value, str) else ""


def build_content(
    store: StateStore,
    dossier: Dossier,
    package: Path,
    settings: NcmecSettings,
    *,
    now: datetime | None = None,
) -> ReportContent:
    case = dossier.case
    records = package / "records"
    accounts = {_str(r, "id"): r for r in _jsonl(records / "accounts.jsonl")}
    case_posts = set(case.post_ids)
    posts = [p for p in _jsonl(records / "posts.jsonl") if _str(p, "id") in case_posts or not case_posts]
    first = min((t for p in posts if (t := _time(p.get("created_at"))) is not None), default=None)
    if first is None and dossier.timeline:
        first = datetime.combine(dossier.timeline[0].day, time(), tzinfo=UTC)
    suspended = _suspensions(store, case.id)
    members = []
    for m in case.members[: settings.max_accounts]:
        acc = accounts.get(m.account_id, {})
        evidence = "; ".join(f"{e.kind}: {e.detail}" for e in m.evidence[:5])
        members.append(ReportedAccount(
            esp_identifier=m.account_id, esp_service=settings.esp_service or str(m.platform),
            screen_name=_str(acc, "acct") or _str(acc, "handle"), display_name=_str(acc, "display_name"),
            profile_url=_str(acc, "url"), bio=_str(acc, "bio")[:4000],
            compromised=True if m.role == "hijacked" else None,
            disabled=Disabled(suspended[m.account_id], settings.users_notified) if m.account_id in suspended else None,
            additional_info=f"role in the network: {m.role}. Evidence: {evidence}"[:4000],
        ))  # fmt: skip
    left_out = len(case.members) - len(members)
    summary = (
        f"cordon network case {case.id} ({case.label}, score {case.score:.2f}): {len(case.members)} accounts "
        f"acting together{'' if not left_out else f' ({left_out} more not listed here)'}; "
        f"{len(dossier.suppress_tags)} flooded hashtags; {len(dossier.evasion)} ban-evasion links; "
        f"shared entities: {', '.join(e.value for e in dossier.entities[:10]) or 'none'}."
    )
    report = CyberTipReport(
        incident_type=settings.incident_type, incident_at=first or (now or datetime.now(UTC)),
        reporter=ReportingPerson(settings.first_name, settings.last_name, settings.email, settings.phone),
        platform=settings.platform,
        incident_description="the time of the network's first post in the case" if first else "",
        urls=tuple(sorted({u for p in posts if (u := _str(p, "url"))}))[: settings.max_urls],
        third_party_hosted=False if posts else None, accounts=tuple(members),
        company_template=settings.company_template, terms_of_service=settings.terms_of_service,
        legal_url=settings.legal_url, additional_info=summary,
    )  # fmt: skip
    return ReportContent(report, _files(store, dossier, package, posts, settings.max_files))


def _suspensions(store: StateStore, case_id: str) -> dict[str, datetime]:
    """Members suspended for real by a network action of this case: account id -> when."""
    with store.session() as s:
        rows = s.scalars(select(ActionRow).where(
            ActionRow.case_id == case_id, ActionRow.kind == "suspend", ActionRow.dry_run.is_(False),
            ActionRow.status == "done",
        ))  # fmt: skip
        out: dict[str, datetime] = {}
        for r in rows:
            account = r.target.split(":")[-1]
            out[account] = min(out.get(account, utc(r.at)), utc(r.at))
        return out


def _files(
    store: StateStore, dossier: Dossier, package: Path, posts: list[dict[str, object]], limit: int
) -> tuple[PlannedFile, ...]:
    matches: dict[str, list[str]] = {}
    for m in _jsonl(package / "records" / "matches.jsonl"):
        matches.setdefault(_str(m, "sha256"), []).append(
            f"matched hash list {_str(m, 'bank')} v{m.get('bank_version')} entry {_str(m, 'entry_id')} "
            f"({_str(m, 'algo')} distance {m.get('distance')}, category {_str(m, 'category')})"
        )
    queued = {q.sha256 for q in dossier.media_queue}
    with store.session() as s:
        viewed = set(s.scalars(select(MediaViewRow.sha256).where(MediaViewRow.case_id == dossier.case.id)))
    posted = min((t for p in posts if (t := _time(p.get("created_at"))) is not None), default=None)
    planned = []
    for row in _jsonl(package / "media.jsonl"):
        sha = _str(row, "sha256")
        path = package / "media" / sha
        if row.get("copied") is not True or not path.is_file():
            continue
        url = _str(row, "url")
        why = matches.get(sha) or (
            ["no hash-list match: posted inside the network, queued for review as possible new material"]
            if sha in queued else ["posted by a member of the network"]
        )  # fmt: skip
        hashes = tuple(FileHash(k, v) for k, v in (("MD5", _str(row, "md5")), ("SHA1", _str(row, "sha1")),
                                                   ("SHA256", sha)) if v)  # fmt: skip
        details = ReportFile(
            file_name=sha, original_file_name=PurePosixPath(url).name if url else "", location=url,
            uploaded_at=posted, viewed_by_esp=sha in viewed, publicly_available=None, hashes=hashes,
            additional_info=tuple(why),
        )  # fmt: skip
        planned.append(PlannedFile(sha, path, details))
    planned.sort(key=lambda f: (f.sha256 not in matches, f.sha256 not in queued, f.sha256))
    if len(planned) > limit:
        planned = planned[:limit]
    if not planned and (matches or queued):
        raise ResponseError(
            f"case {dossier.case.id}: the preservation package holds no media copies to upload; preserve the "
            "case in 'copies' mode with the media bytes reachable"
        )
    return tuple(planned)
