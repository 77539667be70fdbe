"""CyberTipline report XML: typed inputs, the `<report>` and `<fileDetails>` documents in the schema's element
order, and validation against NCMEC's XSD (https://report.cybertip.org/ispws/xsd; its path is a setting).

Only what cordon knows goes in: the incident (type, platform, time), the web pages (the network's posts), the
reporting ESP's person and contact person, every reported account (ESP identifier and service, screen name,
display name, profile URL, bio, IP capture events where the platform has them, prior CyberTipline reports, the
network as its group, when it was created and disabled), and per uploaded file its name, location, hashes,
upload IP, whether the ESP viewed it, and the hash match or review that flagged it. Nothing is guessed: an
unknown field stays out. `validate(xml, xsd)` checks a document against NCMEC's schema.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from lxml import etree

from cordon.errors import ResponseError

INCIDENT_TYPES = (
    "Child Pornography (possession, manufacture, and distribution)",
    "Child Sex Trafficking",
    "Child Sex Tourism",
    "Child Sexual Molestation",
    "Misleading Domain Name",
    "Misleading Words or Digital Images on the Internet",
    "Online Enticement of Children for Sexual Acts",
    "Unsolicited Obscene Material Sent to a Child",
)
REPORT_ANNOTATIONS = ("sextortion", "csamSolicitation", "minorToMinorInteraction", "spam",
                      "sadisticOnlineExploitation")  # fmt: skip
FILE_ANNOTATIONS = ("animeDrawingVirtualHentai", "potentialMeme", "viral", "possibleSelfProduction",
                    "physicalHarm", "violenceGore", "bestiality", "liveStreaming", "infant", "generativeAi")  # fmt: skip
IP_EVENTS = ("Login", "Registration", "Purchase", "Upload", "Other", "Unknown")
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = "https://report.cybertip.org/ispws/xsd"


class ReportInputError(ResponseError):
    """A report input is missing a field NCMEC requires, or holds a value the schema does not allow."""


@dataclass(frozen=True, slots=True)
class ReportingPerson:
    """The ESP's person who files the report (NCMEC requires a name and an e-mail address)."""

    first_name: str
    last_name: str
    email: str
    phone: str = ""


@dataclass(frozen=True, slots=True)
class ContactPerson:
    """Whom law enforcement should contact about the report, if not the reporting person (an e-mail or a
    phone number is needed)."""

    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""


@dataclass(frozen=True, slots=True)
class Disabled:
    """When the ESP disabled an account (e.g. suspended by a network action); `user_notified` None: not known.
    `reenabled_at` only for a temporary disabling."""

    at: datetime
    user_notified: bool | None = None
    notified_at: datetime | None = None
    reenabled_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class IpCapture:
    """An IP address the platform recorded for an account or an upload (cordon's public sources have none; a
    platform operator's own exports may)."""

    ip: str
    event: str = ""  # one of IP_EVENTS
    at: datetime | None = None
    possible_proxy: bool | None = None
    port: int | None = None


@dataclass(frozen=True, slots=True)
class ReportedAccount:
    esp_identifier: str  # the platform's account id
    esp_service: str  # e.g. "Mastodon (social.example)"
    screen_name: str = ""
    display_name: str = ""
    profile_url: str = ""
    bio: str = ""
    compromised: bool | None = None  # a hijacked established account
    disabled: Disabled | None = None  # permanently
    additional_info: str = ""  # the account's role in the network and the evidence for it
    created_at: datetime | None = None  # no element for it in the schema: heads additionalInfo
    ips: tuple[IpCapture, ...] = ()
    prior_reports: tuple[str, ...] = ()  # NCMEC report ids of earlier CyberTipline reports naming the account
    group_identifier: str = ""  # the organised group the ESP believes the account belongs to (the network)
    temporarily_disabled: Disabled | None = None


@dataclass(frozen=True, slots=True)
class CyberTipReport:
    incident_type: str
    incident_at: datetime  # when the incident took place (the network's first post)
    reporter: ReportingPerson
    platform: str = ""  # the application where it happened
    escalate: str = ""  # the reason for high priority (immediate risk to a child), else empty
    annotations: frozenset[str] = frozenset()  # of REPORT_ANNOTATIONS
    incident_description: str = ""
    urls: tuple[str, ...] = ()  # the web pages of the incident (the network's posts)
    third_party_hosted: bool | None = None
    accounts: tuple[ReportedAccount, ...] = ()
    company_template: str = ""
    terms_of_service: str = ""
    legal_url: str = ""
    additional_info: str = ""
    contact: ContactPerson | None = None


@dataclass(frozen=True, slots=True)
class FileHash:
    kind: str  # "MD5", "SHA1", "SHA256", "PDQ"
    value: str


@dataclass(frozen=True, slots=True)
class ReportFile:
    """What the report says about one uploaded file (sent to /fileinfo after the upload)."""

    file_name: str
    original_file_name: str = ""
    location: str = ""  # the URL it was seen at
    uploaded_at: datetime | None = None  # when it was posted to the platform
    viewed_by_esp: bool | None = None  # did a person at the ESP look at it (a logged reveal)
    exif_viewed_by_esp: bool | None = None
    publicly_available: bool | None = None
    relevance: str = "Reported"  # or "Supplemental Reported"
    annotations: frozenset[str] = frozenset()  # of FILE_ANNOTATIONS
    hashes: tuple[FileHash, ...] = ()
    additional_info: tuple[str, ...] = field(default=())
    upload_ip: IpCapture | None = None  # where the file was uploaded from, where the platform recorded it


def _iso(dt: datetime, what: str) -> str:
    if dt.tzinfo is None:
        raise ReportInputError(f"{what}: a date-time needs a time zone (NCMEC requires +hh:mm or Z)")
    return dt.isoformat()


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, tag, attrs)
    if text is not None:
        el.text = text
    return el


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _root(tag: str) -> etree._Element:
    root = etree.Element(tag, nsmap={"xsi": XSI})
    root.set(f"{{{XSI}}}noNamespaceSchemaLocation", SCHEMA_LOCATION)
    return root


def _check(report: CyberTipReport) -> None:
    r = report.reporter
    for name, value in (("reporter.first_name", r.first_name), ("reporter.last_name", r.last_name),
                        ("reporter.email", r.email)):  # fmt: skip
        if not value.strip():
            raise ReportInputError(
                f"report: {name} is empty; NCMEC needs the reporting person's name and e-mail"
            )
    if "@" not in r.email:
        raise ReportInputError(f"report: reporter.email {r.email!r} is not an e-mail address")
    if report.incident_type not in INCIDENT_TYPES:
        raise ReportInputError(f"report: incident_type {report.incident_type!r} is not one of NCMEC's types")
    unknown = report.annotations - set(REPORT_ANNOTATIONS)
    if unknown:
        raise ReportInputError(f"report: annotations {sorted(unknown)} are not NCMEC report annotations")
    c = report.contact
    if c is not None:
        if not c.email.strip() and not c.phone.strip():
            raise ReportInputError("report: contact needs an e-mail address or a phone number")
        if c.email and "@" not in c.email:
            raise ReportInputError(f"report: contact.email {c.email!r} is not an e-mail address")
    for i, a in enumerate(report.accounts):
        if not a.esp_identifier.strip():
            raise ReportInputError(f"report: accounts[{i}].esp_identifier is empty")
        for j, ip in enumerate(a.ips):
            _check_ip(ip, f"report: accounts[{i}].ips[{j}]")
        for ref in a.prior_reports:
            if not ref.isdigit():
                raise ReportInputError(
                    f"report: accounts[{i}].prior_reports {ref!r} is not a numeric CyberTipline report id"
                )
        if a.disabled is not None and a.disabled.reenabled_at is not None:
            raise ReportInputError(
                f"report: accounts[{i}].disabled.reenabled_at is set: a re-enabled account was disabled "
                "temporarily (use temporarily_disabled)"
            )


def _check_ip(ip: IpCapture, what: str) -> None:
    try:
        ipaddress.ip_address(ip.ip)
    except ValueError as exc:
        raise ReportInputError(f"{what}.ip {ip.ip!r} is not an IP address") from exc
    if ip.event and ip.event not in IP_EVENTS:
        raise ReportInputError(f"{what}.event {ip.event!r} is not one of {', '.join(IP_EVENTS)}")
    if ip.port is not None and not 0 <= ip.port <= 65535:
        raise ReportInputError(f"{what}.port {ip.port} is not a port number")


def _ip(parent: etree._Element, ip: IpCapture, what: str) -> None:
    el = _sub(parent, "ipCaptureEvent")
    _sub(el, "ipAddress", ip.ip)
    if ip.event:
        _sub(el, "eventName", ip.event)
    if ip.at is not None:
        _sub(el, "dateTime", _iso(ip.at, f"{what}: ip {ip.ip} at"))
    if ip.possible_proxy is not None:
        _sub(el, "possibleProxy", _bool(ip.possible_proxy))
    if ip.port is not None:
        _sub(el, "port", str(ip.port))


def report_xml(report: CyberTipReport) -> bytes:
    """The `<report>` document (UTF-8), elements in the schema's order."""
    _check(report)
    root = _root("report")
    summary = _sub(root, "incidentSummary")
    _sub(summary, "incidentType", report.incident_type)
    if report.platform:
        _sub(summary, "platform", report.platform)
    if report.escalate:
        _sub(summary, "escalateToHighPriority", report.escalate)
    if report.annotations:
        notes = _sub(summary, "reportAnnotations")
        for name in REPORT_ANNOTATIONS:
            if name in report.annotations:
                _sub(notes, name, "true")
    _sub(summary, "incidentDateTime", _iso(report.incident_at, "report.incident_at"))
    if report.incident_description:
        _sub(summary, "incidentDateTimeDescription", report.incident_description)
    if report.urls:
        page = _sub(_sub(root, "internetDetails"), "webPageIncident")
        if report.third_party_hosted is not None:
            page.set("thirdPartyHostedContent", _bool(report.third_party_hosted))
        for url in report.urls:
            _sub(page, "url", url)
    reporter = _sub(root, "reporter")
    person = _sub(reporter, "reportingPerson")
    _sub(person, "firstName", report.reporter.first_name)
    _sub(person, "lastName", report.reporter.last_name)
    if report.reporter.phone:
        _sub(person, "phone", report.reporter.phone)
    _sub(person, "email", report.reporter.email)
    if report.contact is not None:
        contact = _sub(reporter, "contactPerson")
        for tag, value in (("firstName", report.contact.first_name), ("lastName", report.contact.last_name),
                           ("phone", report.contact.phone), ("email", report.contact.email)):  # fmt: skip
            if value:
                _sub(contact, tag, value)
    if report.company_template:
        _sub(reporter, "companyTemplate", report.company_template)
    if report.terms_of_service:
        _sub(reporter, "termsOfService", report.terms_of_service)
    if report.legal_url:
        _sub(reporter, "legalURL", report.legal_url)
    for a in report.accounts:
        _account(_sub(root, "personOrUserReported"), a)
    if report.additional_info:
        _sub(root, "additionalInfo", report.additional_info)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _account(el: etree._Element, a: ReportedAccount) -> None:
    _sub(el, "espIdentifier", a.esp_identifier)
    if a.esp_service:
        _sub(el, "espService", a.esp_service)
    if a.compromised is not None:
        _sub(el, "compromisedAccount", _bool(a.compromised))
    if a.screen_name:
        _sub(el, "screenName", a.screen_name)
    if a.display_name:
        _sub(el, "displayName", a.display_name)
    if a.profile_url:
        _sub(el, "profileUrl", a.profile_url)
    if a.bio:
        _sub(el, "profileBio", a.bio)
    what = f"account {a.esp_identifier}"
    for ip in a.ips:
        _ip(el, ip, what)
    for ref in a.prior_reports:
        _sub(el, "priorCTReports", ref)
    if a.group_identifier:
        _sub(el, "groupIdentifier", a.group_identifier)
    for tag, d in (("accountTemporarilyDisabled", a.temporarily_disabled),
                   ("accountPermanentlyDisabled", a.disabled)):  # fmt: skip
        if d is None:
            continue
        attrs = {"disabledDate": _iso(d.at, f"{what}: disabled at")}
        if d.user_notified is not None:
            attrs["userNotified"] = _bool(d.user_notified)
        if d.notified_at is not None:
            attrs["userNotifiedDate"] = _iso(d.notified_at, f"{what}: notified_at")
        if d.reenabled_at is not None:
            attrs["reenabledDate"] = _iso(d.reenabled_at, f"{what}: reenabled_at")
        _sub(el, tag, "true", **attrs)
    info = [f"Account created {_iso(a.created_at, f'{what}: created_at')}."] if a.created_at else []
    info += [a.additional_info] if a.additional_info else []
    if info:
        _sub(el, "additionalInfo", " ".join(info))


def file_details_xml(report_id: str, file_id: str, f: ReportFile) -> bytes:
    """The `<fileDetails>` document for /fileinfo, elements in the schema's order."""
    if not report_id.isdigit():
        raise ReportInputError(f"file details: report id {report_id!r} is not NCMEC's numeric report id")
    if f.relevance not in ("Reported", "Supplemental Reported"):
        raise ReportInputError(
            f"file {f.file_name}: relevance {f.relevance!r} is not Reported or Supplemental Reported"
        )
    unknown = f.annotations - set(FILE_ANNOTATIONS)
    if unknown:
        raise ReportInputError(
            f"file {f.file_name}: annotations {sorted(unknown)} are not NCMEC file annotations"
        )
    if f.upload_ip is not None:
        _check_ip(f.upload_ip, f"file {f.file_name}: upload_ip")
    root = _root("fileDetails")
    _sub(root, "reportId", report_id)
    _sub(root, "fileId", file_id)
    _sub(root, "fileName", f.file_name)
    if f.original_file_name:
        _sub(root, "originalFileName", f.original_file_name)
    if f.uploaded_at is not None:
        _sub(root, "uploadedToEspTimestamp", _iso(f.uploaded_at, f"file {f.file_name}: uploaded_at"))
    if f.location:
        _sub(root, "locationOfFile", f.location)
    for tag, value in (("fileViewedByEsp", f.viewed_by_esp), ("exifViewedByEsp", f.exif_viewed_by_esp),
                       ("publiclyAvailable", f.publicly_available)):  # fmt: skip
        if value is not None:
            _sub(root, tag, _bool(value))
    _sub(root, "fileRelevance", f.relevance)
    if f.annotations:
        notes = _sub(root, "fileAnnotations")
        for name in FILE_ANNOTATIONS:
            if name in f.annotations:
                _sub(notes, name, "true")
    for h in f.hashes:
        _sub(root, "originalFileHash", h.value, hashType=h.kind)
    if f.upload_ip is not None:
        _ip(root, f.upload_ip, f"file {f.file_name}")
    for info in f.additional_info:
        _sub(root, "additionalInfo", info)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


class Schema:
    """NCMEC's XSD, loaded once; `errors(xml)` lists what the schema rejects (empty: valid)."""

    def __init__(self, path: Path) -> None:
        try:
            self._schema = etree.XMLSchema(etree.parse(str(path), parser=_parser()))
        except (OSError, etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
            raise ReportInputError(f"{path}: not a readable CyberTipline XSD ({exc})") from exc

    def errors(self, xml: bytes) -> list[str]:
        try:
            doc = etree.fromstring(xml, parser=_parser())
        except etree.XMLSyntaxError as exc:
            return [f"not well-formed XML: {exc}"]
        if self._schema.validate(doc):
            return []
        return [f"line {e.line}: {e.message}" for e in self._schema.error_log]


@lru_cache(maxsize=4)
def _schema(path: str) -> Schema:
    return Schema(Path(path))


def validate(xml: bytes, xsd: Path | str) -> list[str]:
    """What NCMEC's XSD at `xsd` (a setting; NCMEC publishes it at https://report.cybertip.org/ispws/xsd)
    rejects in `xml`, one message per problem; empty when the document is valid. The schema is loaded once."""
    return _schema(str(Path(xsd).resolve())).errors(xml)


def _parser() -> etree.XMLParser:
    """No DTDs, no entities, no network: the XML parsed here may come from outside."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
