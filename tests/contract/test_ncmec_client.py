"""The CyberTipline client against a loopback fake built from NCMEC's documentation: the whole flow (submit,
upload, fileinfo, finish), retract, the MD5 check, documented error codes, and transcripts that keep no
credentials and no file bytes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from cordon.errors import ConfigError
from cordon.respond.reports.client import CyberTipClient, CyberTipError
from cordon.respond.reports.cybertip import (
    INCIDENT_TYPES,
    CyberTipReport,
    FileHash,
    ReportFile,
    ReportingPerson,
    file_details_xml,
    report_xml,
)
from tests.fakes.ncmec import PASSWORD, USER, FakeNcmec, running_fake

REPORT = report_xml(CyberTipReport(INCIDENT_TYPES[0], datetime(2024, 5, 16, tzinfo=UTC),
                                   ReportingPerson("Ada", "Lovelace", "ts@social.example")))  # fmt: skip
DATA = b"benign stand-in bytes, not an image"


@pytest.fixture
def fake() -> Iterator[FakeNcmec]:
    with running_fake() as f:
        yield f


@pytest.fixture
def client(fake: FakeNcmec) -> Iterator[CyberTipClient]:
    with CyberTipClient(fake.url, USER, PASSWORD, retries=0) as c:
        yield c


def test_submit_upload_fileinfo_finish(fake: FakeNcmec, client: CyberTipClient) -> None:
    assert client.status().startswith(f"Remote User : {USER}")
    report_id = client.submit(REPORT)
    file_id = client.upload(report_id, "item.png", DATA)
    md5 = hashlib.md5(DATA, usedforsecurity=False).hexdigest()
    details = file_details_xml(report_id, file_id, ReportFile("item.png", hashes=(FileHash("MD5", md5),)))
    client.fileinfo(details)
    assert client.finish(report_id) == (file_id,)
    stored = fake.reports[report_id]
    assert stored.status == "finished" and stored.xml == REPORT
    assert stored.files[file_id].md5 == md5 and stored.files[file_id].details == details
    assert [(e.method, e.path, e.code) for e in client.transcript] == [
        ("GET", "/status", 0), ("POST", "/submit", 0), ("POST", "/upload", 0), ("POST", "/fileinfo", 0),
        ("POST", "/finish", 0),
    ]  # fmt: skip
    text = repr(client.transcript)
    assert PASSWORD not in text and DATA.decode() not in text  # no credentials, no bytes
    assert md5 in client.transcript[2].request and all(e.request_id for e in client.transcript)
    with pytest.raises(CyberTipError, match="5102") as err:  # a finished report takes no more files
        client.upload(report_id, "late.png", DATA)
    assert err.value.code == 5102


def test_md5_mismatch_is_an_error(fake: FakeNcmec, client: CyberTipClient) -> None:
    fake.corrupt_md5 = True
    report_id = client.submit(REPORT)
    with pytest.raises(CyberTipError, match="did not arrive whole"):
        client.upload(report_id, "item.png", DATA)


def test_retract_is_idempotent_and_final(fake: FakeNcmec, client: CyberTipClient) -> None:
    report_id = client.submit(REPORT)
    client.retract(report_id)
    client.retract(report_id)  # 5101 already retracted counts as done
    assert fake.reports[report_id].status == "retracted"
    with pytest.raises(CyberTipError, match="5101"):
        client.finish(report_id)


def test_documented_error_codes(fake: FakeNcmec) -> None:
    with CyberTipClient(fake.url, USER, "wrong", retries=0) as bad:
        with pytest.raises(CyberTipError, match="2000") as err:
            bad.status()
        assert err.value.http_status == 401
    with CyberTipClient(fake.url, USER, PASSWORD, retries=0) as client:
        with pytest.raises(CyberTipError, match="4100") as err:
            client.submit(
                REPORT.replace(b"<incidentType>", b"<incidentKind>").replace(
                    b"</incidentType>", b"</incidentKind>"
                )
            )
        assert err.value.code == 4100
        with pytest.raises(CyberTipError, match="4110"):
            client.submit(b"<report>")
        with pytest.raises(CyberTipError, match="5001"):
            client.finish("999")
        report_id = client.submit(REPORT)
        with pytest.raises(CyberTipError, match="5002"):
            client.fileinfo(file_details_xml(report_id, "nope", ReportFile("x.png")))


def test_credentials_from_named_environment_variables(
    fake: FakeNcmec, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("T_NCMEC_USER", USER)
    monkeypatch.delenv("T_NCMEC_PASS", raising=False)
    with pytest.raises(ConfigError, match=r"\$T_NCMEC_PASS") as err:
        CyberTipClient.from_env(fake.url, "T_NCMEC_USER", "T_NCMEC_PASS")
    assert "T_NCMEC_USER" not in str(err.value)  # only what is missing is named
    monkeypatch.setenv("T_NCMEC_PASS", PASSWORD)
    with CyberTipClient.from_env(fake.url, "T_NCMEC_USER", "T_NCMEC_PASS", retries=0) as client:
        assert PASSWORD not in repr(client)
        assert client.status().startswith(f"Remote User : {USER}")


def test_plain_http_only_to_loopback() -> None:
    with pytest.raises(Exception, match="HTTPS only"):
        CyberTipClient("http://report.example/ispws", USER, PASSWORD)


def test_unreachable_server_is_a_clear_error() -> None:
    with CyberTipClient("http://127.0.0.1:9/ispws", USER, PASSWORD, retries=1, timeout_s=1) as client:
        with pytest.raises(CyberTipError, match="did not answer"):
            client.status()
        assert len(client.transcript) == 2  # /status is safe: retried once
        with pytest.raises(CyberTipError, match="did not answer"):
            client.submit(REPORT)
        assert len(client.transcript) == 3  # a report is never submitted twice
