"""Media fetching from a local directory and from a loopback HTTP server, within limits."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from cordon.connectors.media_fetch import MediaFetcher, local_file_name
from cordon.errors import MediaError

PNG_LIKE = b"\x89PNG\r\n\x1a\n" + bytes(range(200))


@pytest.fixture
def fetcher() -> Iterator[MediaFetcher]:
    instance = MediaFetcher(allow_http=True, max_bytes=1000, timeout_s=1.0)
    yield instance
    instance.close()


def test_local_file_by_last_path_segment(tmp_path: Path) -> None:
    (tmp_path / "abc.png").write_bytes(PNG_LIKE)
    fetched = MediaFetcher(media_dir=tmp_path).fetch("https://files.example/m/x/abc.png?v=1", record_id="m1")
    assert fetched.data == PNG_LIKE
    assert fetched.source == str(tmp_path / "abc.png")


def test_missing_local_file_names_file_and_record(tmp_path: Path) -> None:
    with pytest.raises(MediaError) as info:
        MediaFetcher(media_dir=tmp_path).fetch("https://files.example/m/gone.png", record_id="m7")
    assert info.value.record_id == "m7"
    assert "gone.png" in str(info.value)
    assert "not found" in info.value.reason


def test_oversize_local_file(tmp_path: Path) -> None:
    (tmp_path / "big.png").write_bytes(b"x" * 2000)
    with pytest.raises(MediaError, match="over the limit"):
        MediaFetcher(media_dir=tmp_path, max_bytes=1000).fetch("https://f.example/big.png", record_id="m1")


def test_no_http_unless_allowed() -> None:
    with pytest.raises(MediaError, match="--fetch"):
        MediaFetcher().fetch("http://127.0.0.1:9/never.png", record_id="m1")


@pytest.mark.parametrize("url", ["../../etc/passwd", "https://f.example/", "https://f.example/a/.."])
def test_unsafe_or_empty_names_are_refused(url: str) -> None:
    assert local_file_name(url) in {"", "passwd"}


def _long_way(url: str) -> str:
    """local_file_name as it was before its fast path: urlsplit, the path's name, unquoted."""
    try:
        name = unquote(PurePosixPath(urlsplit(url).path).name)
    except ValueError:
        return "<raises>"
    return "" if name in {"", ".", ".."} or "/" in name or "\\" in name else name


def _name_or_raises(url: str) -> str:
    try:
        return local_file_name(url)
    except ValueError:
        return "<raises>"


_URL_PARTS = st.sampled_from(["https://", "http://", "h.example", "/", "//", ".", "..", "a", "b.jpg", "%2F", "%41",
                              "?", "#", "x=1", "\\", " ", "\t", "[", "]", ":443", "@", ";p", "\n", "é"])  # fmt: skip


@given(st.lists(_URL_PARTS, max_size=12).map("".join))
def test_the_fast_path_gives_the_names_urlsplit_gives(url: str) -> None:
    assert _name_or_raises(url) == _long_way(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://sim.example/system/media_attachments/files/112/0/original/1bba05.jpg",
        "https://h.example",
        "https://h.example/",
        "https:///x.jpg",
        "https://h.example/a/.",
        "https://h.example/a%2Fb.jpg",
        "https://[::1/x.jpg",
        "http://h.example/x.jpg?size=2#f",
    ],
)
def test_the_fast_path_on_typical_and_edge_urls(url: str) -> None:
    assert _name_or_raises(url) == _long_way(url)


def test_http_ok(httpserver: HTTPServer, fetcher: MediaFetcher) -> None:
    httpserver.expect_request("/media/ok.png").respond_with_data(PNG_LIKE, content_type="image/png")
    fetched = fetcher.fetch(httpserver.url_for("/media/ok.png"), record_id="m1")
    assert fetched.data == PNG_LIKE
    assert fetched.mime == "image/png"


def test_http_404(httpserver: HTTPServer, fetcher: MediaFetcher) -> None:
    httpserver.expect_request("/media/none.png").respond_with_data("no", status=404)
    with pytest.raises(MediaError, match="HTTP 404") as info:
        fetcher.fetch(httpserver.url_for("/media/none.png"), record_id="m2")
    assert info.value.source.endswith("/media/none.png")


def test_http_oversize_declared(httpserver: HTTPServer, fetcher: MediaFetcher) -> None:
    httpserver.expect_request("/big").respond_with_data(b"x" * 5000)
    with pytest.raises(MediaError, match="over the limit"):
        fetcher.fetch(httpserver.url_for("/big"), record_id="m3")


def test_http_oversize_streamed_without_length(httpserver: HTTPServer, fetcher: MediaFetcher) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(50):
            yield b"y" * 100

    httpserver.expect_request("/stream").respond_with_response(Response(chunks(), direct_passthrough=True))
    with pytest.raises(MediaError, match="over the limit"):
        fetcher.fetch(httpserver.url_for("/stream"), record_id="m4")


def test_http_slow_times_out(httpserver: HTTPServer) -> None:
    def slow(_: Request) -> Response:
        time.sleep(1.2)
        return Response(b"late")

    httpserver.expect_request("/slow").respond_with_handler(slow)
    fetcher = MediaFetcher(allow_http=True, timeout_s=0.3)
    started = time.monotonic()
    with pytest.raises(MediaError, match="not fetched within"):
        fetcher.fetch(httpserver.url_for("/slow"), record_id="m5")
    assert time.monotonic() - started < 1.0
    fetcher.close()
    time.sleep(max(0.0, started + 1.3 - time.monotonic()))  # the one-thread test server is busy until then


def test_redirect_to_non_http_is_refused(httpserver: HTTPServer, fetcher: MediaFetcher) -> None:
    httpserver.expect_request("/r").respond_with_data(
        "", status=302, headers={"Location": "file:///etc/passwd"}
    )
    with pytest.raises(MediaError, match="not http"):
        fetcher.fetch(httpserver.url_for("/r"), record_id="m6")


def test_redirect_to_http_is_followed(httpserver: HTTPServer, fetcher: MediaFetcher) -> None:
    httpserver.expect_request("/r2").respond_with_data("", status=302, headers={"Location": "/final.png"})
    httpserver.expect_request("/final.png").respond_with_data(PNG_LIKE)
    assert fetcher.fetch(httpserver.url_for("/r2"), record_id="m7").data == PNG_LIKE
