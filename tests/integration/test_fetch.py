"""Downloading image URLs: the address check in every form, and one deadline for the whole
download, whatever the server does."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time

import pytest

from ocr_api.adapters.url_fetcher import FetchLimits, UrlFetcher, is_public
from ocr_api.errors import DownloadFailed, InvalidRequest

LOOPBACK = (ipaddress.ip_network("127.0.0.1/32"),)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        # IPv4-compatible, IPv4-mapped, IPv4-translated (SIIT) and NAT64 forms of internal IPv4.
        "::127.0.0.1",
        "::10.0.0.1",
        "::169.254.169.254",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "::ffff:0:127.0.0.1",
        "::ffff:0:10.0.0.1",
        "64:ff9b::127.0.0.1",
        "64:ff9b::a9fe:a9fe",
        # NAT64 for local use and site-local: refused whatever they carry.
        "64:ff9b:1::1.1.1.1",
        "64:ff9b:1::",
        "fec0::1",
        "fec0::8.8.8.8",
        # 6to4 of a private IPv4.
        "2002:a00:1::1",
        "2002:7f00:1::",
    ],
)
def test_internal_addresses_in_every_form_are_not_public(address):
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "1.1.1.1",
        "2606:4700:4700::1111",
        "::ffff:8.8.8.8",
        "64:ff9b::8.8.8.8",
        "2002:808:808::1",
    ],
)
def test_public_addresses_in_every_form_are_public(address):
    assert is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("host", ["[::ffff:127.0.0.1]", "[::127.0.0.1]", "[::ffff:0:127.0.0.1]", "[64:ff9b::7f00:1]"])
def test_an_ipv6_literal_carrying_loopback_is_refused_before_connecting(image_server, host):
    port = image_server.base_url.rsplit(":", 1)[1]
    before = len(image_server.requests)
    with pytest.raises(InvalidRequest, match="does not resolve to a public address"):
        UrlFetcher(FetchLimits(max_bytes=10**6)).fetch(f"http://{host}:{port}/phototest.tif")
    assert len(image_server.requests) == before


def test_a_name_that_does_not_resolve_and_an_internal_one_get_the_same_answer(image_server):
    fetcher = UrlFetcher(FetchLimits(max_bytes=10**6))
    answers = []
    for url in ("http://no-such-host.invalid/a.png", "http://localhost/a.png"):
        with pytest.raises(InvalidRequest) as refused:
            fetcher.fetch(url)
        answers.append(refused.value.description.replace("no-such-host.invalid", "HOST").replace("localhost", "HOST"))
    assert answers[0] == answers[1]


@pytest.mark.parametrize("path", ["/trickle-headers", "/endless-continue"])
def test_a_server_that_keeps_sending_slowly_is_cut_off_at_the_deadline(image_server, path):
    # Each byte comes well inside any per-read timeout; only a clock for the whole download stops it.
    fetcher = UrlFetcher(FetchLimits(max_bytes=10**6, total_timeout=2.0), LOOPBACK)
    with pytest.raises(DownloadFailed, match="took longer than allowed"):
        fetcher.fetch(image_server.url(path))


@pytest.mark.parametrize("path", ["/trickle-body", "/trickle-body-unsized"])
def test_a_body_cut_off_at_the_deadline_is_a_failed_download_not_an_image(image_server, path):
    fetcher = UrlFetcher(FetchLimits(max_bytes=10**7, total_timeout=2.0), LOOPBACK)
    with pytest.raises(DownloadFailed, match="took longer than allowed"):
        fetcher.fetch(image_server.url(path))


def test_a_body_shorter_than_announced_is_a_failed_download(image_server):
    fetcher = UrlFetcher(FetchLimits(max_bytes=10**7), LOOPBACK)
    with pytest.raises(DownloadFailed, match="it announced"):
        fetcher.fetch(image_server.url("/short-body"))


def test_a_name_look_up_that_stalls_ends_at_the_deadline(image_server, monkeypatch):
    # A resolver that answers only when the test lets it: the download must not wait for it.
    release = threading.Event()
    real_lookup = socket.getaddrinfo

    def stalled_lookup(*args, **kwargs):
        release.wait(30)
        return real_lookup(*args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", stalled_lookup)
    fetcher = UrlFetcher(FetchLimits(max_bytes=10**7), LOOPBACK)
    try:
        with pytest.raises(DownloadFailed, match="could not be looked up in the time allowed"):
            fetcher.fetch(image_server.url("/phototest.tif"), deadline=time.monotonic() + 0.5)
        assert not release.is_set()
    finally:
        release.set()


def test_an_allowed_network_is_fetched(image_server):
    data = UrlFetcher(FetchLimits(max_bytes=10**7), LOOPBACK).fetch(image_server.url("/phototest.tif"))
    assert data[:2] in (b"II", b"MM")
