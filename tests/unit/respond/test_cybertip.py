"""Field coverage of the CyberTipline XML: minimal, typical and maximal reports and file details validate
against NCMEC's XSD (the shared copy), the maximal ones carry every field the builder supports, and bad
inputs are refused naming the field."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from cordon.respond.reports.cybertip import (
    FILE_ANNOTATIONS,
    INCIDENT_TYPES,
    REPORT_ANNOTATIONS,
    ContactPerson,
    CyberTipReport,
    Disabled,
    FileHash,
    IpCapture,
    ReportedAccount,
    ReportFile,
    ReportingPerson,
    ReportInputError,
    Schema,
    file_details_xml,
    report_xml,
    validate,
)

XSD = Path(__file__).resolve().parents[3].parent / "shared" / "schemas" / "ncmec" / "cyber_tipline.xsd"
AT = datetime(2024, 5, 16, 8, 0, tzinfo=UTC)
CREATED = datetime(2023, 1, 2, 3, 4, tzinfo=UTC)
ME = ReportingPerson("Ada", "Lovelace", "trust-safety@social.example")


@pytest.fixture(scope="module")
def schema() -> Schema:
    return Schema(XSD)


def minimal() -> CyberTipReport:
    return CyberTipReport(INCIDENT_TYPES[0], AT, ME)


def typical() -> CyberTipReport:
    accounts = tuple(
        ReportedAccount(f"10{i}", "Mastodon (social.example)", f"acct{i}", profile_url=f"https://social.example/@acct{i}",
                        additional_info="amplifier: replied within seconds to the poster's posts")
        for i in range(3)
    )  # fmt: skip
    return CyberTipReport(INCIDENT_TYPES[0], AT, ME, platform="Mastodon",
                          urls=("https://social.example/@acct0/1", "https://social.example/@acct0/2"),
                          accounts=accounts, additional_info="network case case-a1: 3 members")  # fmt: skip


def maximal() -> CyberTipReport:
    poster = ReportedAccount(
        "100", "Mastodon (social.example)", "poster", "Poster Name", "https://social.example/@poster", "a bio",
        compromised=True, disabled=Disabled(AT, True, AT), additional_info="poster: matched bank entry e1",
        created_at=CREATED, ips=(IpCapture("192.0.2.7", "Login", AT, False, 443), IpCapture("2001:db8::1")),
        prior_reports=("4564650",), group_identifier="cordon network case case-a1",
        temporarily_disabled=Disabled(CREATED, False, CREATED, AT),
    )  # fmt: skip
    return CyberTipReport(
        INCIDENT_TYPES[0], AT, replace(ME, phone="+1 555 0100"), platform="Mastodon",
        escalate="ongoing distribution", annotations=frozenset(REPORT_ANNOTATIONS),
        incident_description="time of the network's first post", urls=("https://social.example/@poster/1",),
        third_party_hosted=False, accounts=(poster,), company_template="cordon network report",
        terms_of_service="https://social.example/terms", legal_url="https://social.example/legal",
        additional_info="network case case-a1",
        contact=ContactPerson("Grace", "Hopper", "le-requests@social.example", "+1 555 0101"),
    )  # fmt: skip


def maximal_file() -> ReportFile:
    return ReportFile(
        "9f86d081884c7d65.png", "1.png", "https://social.example/media/1.png", AT, True, False, True,
        "Reported", frozenset(FILE_ANNOTATIONS),
        (FileHash("MD5", "0" * 32), FileHash("SHA256", "1" * 64)), ("matched bank b1 entry e1 at distance 4",),
        IpCapture("198.51.100.4", "Upload", AT),
    )  # fmt: skip


@pytest.mark.parametrize("build", [minimal, typical, maximal])
def test_reports_validate_against_ncmec_schema(schema: Schema, build: object) -> None:
    assert callable(build)
    xml = report_xml(build())
    assert schema.errors(xml) == []


def test_maximal_report_carries_every_supported_field(schema: Schema) -> None:
    doc = etree.fromstring(report_xml(maximal()))
    paths = [
        "incidentSummary/incidentType", "incidentSummary/platform", "incidentSummary/escalateToHighPriority",
        "incidentSummary/incidentDateTime", "incidentSummary/incidentDateTimeDescription",
        "internetDetails/webPageIncident/url", "reporter/reportingPerson/firstName",
        "reporter/reportingPerson/lastName", "reporter/reportingPerson/phone", "reporter/reportingPerson/email",
        "reporter/companyTemplate", "reporter/termsOfService", "reporter/legalURL",
        "personOrUserReported/espIdentifier", "personOrUserReported/espService",
        "personOrUserReported/compromisedAccount", "personOrUserReported/screenName",
        "personOrUserReported/displayName", "personOrUserReported/profileUrl", "personOrUserReported/profileBio",
        "personOrUserReported/accountPermanentlyDisabled", "personOrUserReported/additionalInfo", "additionalInfo",
        "reporter/contactPerson/firstName", "reporter/contactPerson/lastName", "reporter/contactPerson/phone",
        "reporter/contactPerson/email", "personOrUserReported/ipCaptureEvent/ipAddress",
        "personOrUserReported/ipCaptureEvent/eventName", "personOrUserReported/ipCaptureEvent/dateTime",
        "personOrUserReported/ipCaptureEvent/possibleProxy", "personOrUserReported/ipCaptureEvent/port",
        "personOrUserReported/priorCTReports", "personOrUserReported/groupIdentifier",
        "personOrUserReported/accountTemporarilyDisabled",
    ] + [f"incidentSummary/reportAnnotations/{a}" for a in REPORT_ANNOTATIONS]  # fmt: skip
    missing = [p for p in paths if doc.find(p) is None]
    assert missing == []
    assert doc.find("internetDetails/webPageIncident").get("thirdPartyHostedContent") == "false"
    disabled = doc.find("personOrUserReported/accountPermanentlyDisabled")
    assert disabled.get("disabledDate") == AT.isoformat() and disabled.get("userNotified") == "true"
    temporary = doc.find("personOrUserReported/accountTemporarilyDisabled")
    assert temporary.get("reenabledDate") == AT.isoformat() and temporary.get("userNotified") == "false"
    assert [e.findtext("ipAddress") for e in doc.iterfind("personOrUserReported/ipCaptureEvent")] == [
        "192.0.2.7", "2001:db8::1",
    ]  # fmt: skip
    info = doc.findtext("personOrUserReported/additionalInfo") or ""
    assert info.startswith(f"Account created {CREATED.isoformat()}.") and "matched bank entry e1" in info
    assert doc.findtext("reporter/contactPerson/email") == "le-requests@social.example"


def test_validate_takes_the_schema_path() -> None:
    assert validate(report_xml(maximal()), XSD) == []
    assert validate(report_xml(maximal()), str(XSD)) == []  # a path from settings is a string
    broken = report_xml(minimal()).replace(b"<incidentDateTime>", b"<incidentDate>")
    broken = broken.replace(b"</incidentDateTime>", b"</incidentDate>")
    assert any("incidentDate" in e for e in validate(broken, XSD))
    with pytest.raises(ReportInputError, match="not a readable CyberTipline XSD"):
        validate(b"<report/>", XSD.parent / "missing.xsd")


@pytest.mark.parametrize("f", [ReportFile("a.png"), maximal_file()])
def test_file_details_validate_and_carry_every_field(schema: Schema, f: ReportFile) -> None:
    xml = file_details_xml("4564654", "b0754af766b426f2928a02c651ed4b99", f)
    assert schema.errors(xml) == []
    doc = etree.fromstring(xml)
    if f.annotations:
        tags = {c.tag for c in doc}
        assert {"fileName", "originalFileName", "uploadedToEspTimestamp", "locationOfFile", "fileViewedByEsp",
                "exifViewedByEsp", "publiclyAvailable", "fileRelevance", "fileAnnotations", "originalFileHash",
                "ipCaptureEvent", "additionalInfo"} <= tags  # fmt: skip
        assert doc.findtext("ipCaptureEvent/ipAddress") == "198.51.100.4"
        assert doc.findtext("ipCaptureEvent/eventName") == "Upload"
        assert {a.tag for a in doc.find("fileAnnotations")} == set(FILE_ANNOTATIONS)
        assert [h.get("hashType") for h in doc.iterfind("originalFileHash")] == ["MD5", "SHA256"]


def test_the_schema_rejects_what_ncmec_would(schema: Schema) -> None:
    xml = (
        report_xml(minimal())
        .replace(b"<incidentType>", b"<incidentKind>")
        .replace(b"</incidentType>", b"</incidentKind>")
    )
    assert schema.errors(xml) and "incidentKind" in schema.errors(xml)[0]
    assert schema.errors(b"<report><unclosed></report>")[0].startswith("not well-formed XML")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"reporter": ReportingPerson("Ada", "Lovelace", "")}, "reporter.email"),
        ({"reporter": ReportingPerson("", "Lovelace", "a@b.example")}, "reporter.first_name"),
        ({"reporter": ReportingPerson("Ada", "Lovelace", "not-an-address")}, "reporter.email"),
        ({"incident_type": "Something else"}, "incident_type"),
        ({"annotations": frozenset({"made-up"})}, "annotations"),
        ({"incident_at": datetime(2024, 5, 16)}, "incident_at"),
        ({"accounts": (ReportedAccount(" ", "Mastodon"),)}, "accounts[0].esp_identifier"),
        ({"accounts": (ReportedAccount("1", "M", ips=(IpCapture("300.1.2.3"),)),)}, "accounts[0].ips[0].ip"),
        (
            {"accounts": (ReportedAccount("1", "M", ips=(IpCapture("192.0.2.1", "Boot"),)),)},
            "accounts[0].ips[0].event",
        ),
        (
            {"accounts": (ReportedAccount("1", "M", ips=(IpCapture("192.0.2.1", port=70000),)),)},
            "accounts[0].ips[0].port",
        ),
        ({"accounts": (ReportedAccount("1", "M", prior_reports=("CT-1",)),)}, "accounts[0].prior_reports"),
        (
            {"accounts": (ReportedAccount("1", "M", disabled=Disabled(AT, reenabled_at=AT)),)},
            "accounts[0].disabled.reenabled_at",
        ),
        (
            {"accounts": (ReportedAccount("1", "M", created_at=datetime(2024, 1, 1)),)},
            "account 1: created_at",
        ),
        ({"contact": ContactPerson("Grace")}, "contact needs an e-mail"),
        ({"contact": ContactPerson(email="nobody")}, "contact.email"),
    ],
)
def test_bad_inputs_name_the_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(ReportInputError, match=field.replace("[", r"\[").replace("]", r"\]")):
        report_xml(replace(minimal(), **change))  # type: ignore[arg-type]


def test_file_details_refuse_bad_ids_and_values() -> None:
    with pytest.raises(ReportInputError, match="numeric report id"):
        file_details_xml("abc", "f", ReportFile("a.png"))
    with pytest.raises(ReportInputError, match="relevance"):
        file_details_xml("1", "f", ReportFile("a.png", relevance="Important"))
    with pytest.raises(ReportInputError, match=r"file a.png: upload_ip.ip"):
        file_details_xml("1", "f", ReportFile("a.png", upload_ip=IpCapture("not-an-ip")))
