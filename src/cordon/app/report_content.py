"""What a CyberTipline report says about a case, read from its verified preservation package (the records as
captured, the media copies and hashes) and the state store (actions taken, logged reveals): nothing is taken
from the live corpus, so the report matches the evidence kept for it.

Mapping (docs/ncmec.md): incident = the network's first post; web pages = the case's posts; reported persons =
the members (ESP id, service, handle, display name, profile URL, bio, creation date, hijacked, disabled by the
platform or by cordon, earlier CyberTipline reports naming them, the case as their group, role and evidence);
files = the media copied into the package, bank matches first, each with its hashes, URL, when and how
visibly it was posted, whether a reviewer revealed it, and the match or review that flagged it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path, PurePosixPath

import msgspec
from lxml import etree
from sqlalchemy import select

from cordon.app.dossier import Dossier
from cordon.errors import ResponseError
from cordon.respond.reports.cybertip import (
    INCIDENT_TYPES,
    ContactPerson,
    CyberTipReport,
    Disabled,
    FileHash,
    ReportedAccount,
    ReportFile,
    ReportingPerson,
)
from cordon.respond.state.store import StateStore, utc
from cordon.respond.state.tables import ActionRow, MediaViewRow, ReportRow

DISABLING = frozenset({"suspend", "disable"})  # platform moderation actions that take an account down
PUBLIC = frozenset({"public", "unlisted"})  # post visibilities anyone could see
NOT_PUBLIC = frozenset({"private", "direct", "followers", "mentioned"})


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
    contact_first_name: str = ""  # whom law enforcement contacts, if not the reporting person
    contact_last_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
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
    timeout_s: float = 60.0  # per request to NCMEC

    def contact(self) -> ContactPerson | None:
        fields = (self.contact_first_name, self.contact_last_name, self.contact_email, self.contact_phone)
        return ContactPerson(*fields) if any(fields) else None


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
    captured = list(_jsonl(records / "posts.jsonl"))  # every post of the members
    posts = [p for p in captured if _str(p, "id") in case_posts or not case_posts]
    first = min((t for p in posts if (t := _time(p.get("created_at"))) is not None), default=None)
    if first is None and dossier.timeline:
        first = datetime.combine(dossier.timeline[0].day, time(), tzinfo=UTC)
    disabled = _disabled(store, case.id, records / "moderation.jsonl", settings.users_notified)
    prior = _prior_reports(store)
    members = []
    for m in case.members[: settings.max_accounts]:
        acc = accounts.get(m.account_id, {})
        evidence = "; ".join(f"{e.kind}: {e.detail}" for e in m.evidence[:5])
        service = settings.esp_service or str(m.platform)
        members.append(ReportedAccount(
            esp_identifier=m.account_id, esp_service=service,
            screen_name=_str(acc, "acct") or _str(acc, "handle"), display_name=_str(acc, "display_name"),
            profile_url=_str(acc, "url"), bio=_str(acc, "bio")[:4000],
            compromised=True if m.role == "hijacked" else None, disabled=disabled.get(m.account_id),
            additional_info=f"role in the network: {m.role}. Evidence: {evidence}"[:4000],
            created_at=_time(acc.get("created_at")), prior_reports=prior.get((service, m.account_id), ()),
            group_identifier=f"cordon network case {case.id}",
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
        legal_url=settings.legal_url, additional_info=summary, contact=settings.contact(),
    )  # fmt: skip
    return ReportContent(report, _files(store, dossier, package, captured, settings.max_files))


def _disabled(store: StateStore, case_id: str, moderation: Path, users_notified: bool) -> dict[str, Disabled]:
    """Members taken down for good: suspended for real by a network action of this case (users notified as the
    settings say), or suspended or disabled by the platform as its captured moderation history shows (whether
    the user was told is not recorded there). Account id -> the earliest."""
    out: dict[str, Disabled] = {}

    def keep(account: str, d: Disabled) -> None:
        if account and (account not in out or d.at < out[account].at):
            out[account] = d

    for row in _jsonl(moderation):
        at = _time(row.get("created_at"))
        if at is not None and _str(row, "action") in DISABLING:
            keep(_str(row, "account_id"), Disabled(at))
    with store.session() as s:
        rows = s.scalars(select(ActionRow).where(
            ActionRow.case_id == case_id, ActionRow.kind == "suspend", ActionRow.dry_run.is_(False),
            ActionRow.status == "done",
        ))  # fmt: skip
        for r in rows:
            keep(r.target.split(":")[-1], Disabled(utc(r.at), users_notified))
    return out


def _prior_reports(store: StateStore) -> dict[tuple[str, str], tuple[str, ...]]:
    """(ESP service, ESP identifier) -> NCMEC ids of the finished CyberTipline reports that named the account."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    out: dict[tuple[str, str], list[str]] = {}
    with store.session() as s:
        rows = s.execute(select(ReportRow.external_id, ReportRow.body).where(
            ReportRow.kind == "ncmec", ReportRow.status == "finished", ReportRow.external_id != "",
        )).all()  # fmt: skip
    for external_id, body in rows:
        if not external_id.isdigit():
            continue
        try:
            doc = etree.fromstring(body.encode(), parser=parser)
        except etree.XMLSyntaxError:
            continue
        for el in doc.iterfind("personOrUserReported"):
            key = ((el.findtext("espService") or "").strip(), (el.findtext("espIdentifier") or "").strip())
            out.setdefault(key, []).append(external_id)
    return {k: tuple(sorted(set(v), key=int)) for k, v in out.items()}


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
    carried = _carrying_posts(package / "records", posts)  # posts: every captured post of the members
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
        carriers = carried.get(sha, [])
        seen = {_str(p, "visibility") for p in carriers}
        details = ReportFile(
            file_name=sha, original_file_name=PurePosixPath(url).name if url else "", location=url,
            uploaded_at=min((t for p in carriers if (t := _time(p.get("created_at"))) is not None), default=None),
            viewed_by_esp=sha in viewed,
            publicly_available=True if seen & PUBLIC else (False if seen and seen <= NOT_PUBLIC else None),
            hashes=hashes, additional_info=tuple(why),
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


def _carrying_posts(records: Path, posts: list[dict[str, object]]) -> dict[str, list[dict[str, object]]]:
    """sha256 -> the captured posts whose attachments resolved to it (avatars carry no post)."""
    by_id = {_str(p, "id"): p for p in posts}
    post_of = {_str(a, "id"): _str(a, "post_id") for a in _jsonl(records / "attachments.jsonl")}
    out: dict[str, list[dict[str, object]]] = {}
    for link in _jsonl(records / "media_links.jsonl"):
        post = by_id.get(post_of.get(_str(link, "ref_id"), ""))
        if post is not None:
            out.setdefault(_str(link, "sha256"), []).append(post)
    return out
