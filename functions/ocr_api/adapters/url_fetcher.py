"""Downloading an image by URL (and posting a job's callback), safely, from inside a cloud account.

Only http and https. Every address the host name resolves to must be public, in every form an
IPv6 address can carry an IPv4 one, checked again after each redirect, and the connection goes
to the address that was checked (no second DNS answer in between). A host that does not resolve
and one that resolves to an internal address get the same answer, so the check cannot be used to
learn which internal names exist. The whole download (connecting, the status line and headers,
the body, every redirect) ends at one deadline kept by a clock, not by the timeout of each read.
The body is streamed up to a size cap, and nothing of the caller's is forwarded: no cookies, no
credentials, no headers but our own. Private networks can be allowed explicitly (tests, private
deployments).
"""

from __future__ import annotations

import http.client
import ipaddress
import math
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

from ocr_api.errors import DownloadFailed, ImageTooManyBytes, InvalidRequest

_REDIRECTS = {301, 302, 303, 307, 308}
_CHUNK = 64 * 1024
# What may stand in a request target as it is: RFC 3986's reserved characters, and '%' so
# that an address already percent-encoded is sent unchanged.
_URL_SAFE = "/?:@!$&'()*+,;=%[]"
USER_AGENT = "ocr-api/0.1 (+image download for text recognition)"
# What the messages call the address: an image's, or a job's callback.
IMAGE_URL = "image URL"

# IPv6 ranges that carry an IPv4 address in their last 32 bits: IPv4-compatible (::a.b.c.d),
# IPv4-mapped (::ffff:a.b.c.d), SIIT's IPv4-translated (::ffff:0:a.b.c.d) and NAT64's
# well-known prefix (64:ff9b::a.b.c.d). Each is judged by the IPv4 address it carries.
_CARRYING_IPV4 = tuple(
    ipaddress.ip_network(network)
    for network in (
        "::/96",
        "::ffff:0:0/96",
        "::ffff:0:0:0/96",
        "64:ff9b::/96",
    )
)
# Never fetched, whatever they carry: NAT64 for local use and the deprecated site-local range,
# which Python's is_global does not count as internal.
_NEVER_FETCHED = tuple(ipaddress.ip_network(network) for network in ("64:ff9b:1::/48", "fec0::/10"))
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Name look-ups, which may outlive the download that asked: a few at once per instance (a
# request reads at most a few images at a time), the rest wait their turn within their deadline.
_resolver = ThreadPoolExecutor(max_workers=4, thread_name_prefix="url-lookup")


@dataclass(frozen=True)
class FetchLimits:
    max_bytes: int
    connect_timeout: float = 3.0
    total_timeout: float = 10.0
    max_redirects: int = 3


class UrlFetcher:
    def __init__(
        self,
        limits: FetchLimits,
        allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = (),
        noun: str = IMAGE_URL,
    ) -> None:
        self.limits = limits
        self.allowed_networks = allowed_networks
        self.noun = noun
        self._tls = ssl.create_default_context()

    def fetch(self, url: str, deadline: float | None = None, referer: str | None = None) -> bytes:
        """The bytes at ``url``, downloaded by ``deadline`` (a ``time.monotonic()`` instant) or
        within the download limit, whichever comes first."""
        deadline = min(time.monotonic() + self.limits.total_timeout, math.inf if deadline is None else deadline)
        for _ in range(self.limits.max_redirects + 1):
            status, location, body = self._get(url, deadline, referer)
            if status not in _REDIRECTS:
                return body
            if not location:
                raise DownloadFailed(f"the image URL answered HTTP {status} without a Location")
            url = urljoin(url, location)
        raise DownloadFailed(f"the image URL redirected more than {self.limits.max_redirects} times")

    def check(self, url: str, deadline: float, https_only: bool = False) -> None:
        """That ``url`` may be reached: ``InvalidRequest`` when it is malformed, not https where
        ``https_only`` (unless its host is in the allowed networks), or not a public address."""
        parts = _parse(url, self.noun)
        if https_only and parts.scheme != "https" and not self._in_allowed_network(parts.hostname):
            raise InvalidRequest(f"the {self.noun} must start with https://")
        self._checked_address(parts.hostname, parts.port or 443, deadline)

    def post(self, url: str, body: bytes, headers: dict[str, str], deadline: float) -> int:
        """POSTs ``body`` to ``url`` (checked as a download is; redirects not followed) by
        ``deadline``; the answer's status. ``DownloadFailed`` when no answer came."""
        deadline = min(time.monotonic() + self.limits.total_timeout, deadline)
        parts, connection, watchdog = self._connected(url, deadline)
        path = quote((parts.path or "/") + ("?" + parts.query if parts.query else ""), safe=_URL_SAFE)
        try:
            connection.request("POST", path, body=body, headers={"User-Agent": USER_AGENT, **headers})
            connection.pinned_socket.settimeout(max(0.05, deadline - time.monotonic()))
            response = connection.getresponse()
            response.read(_CHUNK)  # an answer's body is not ours to keep
            return response.status
        except (OSError, http.client.HTTPException) as err:
            if connection.aborted:
                raise DownloadFailed(f"the {self.noun} did not answer in the time allowed") from None
            raise DownloadFailed(_network_failure(err, self.noun)) from None
        finally:
            watchdog.cancel()
            connection.close()

    def _get(self, url: str, deadline: float, referer: str | None) -> tuple[int, str | None, bytes]:
        parts, connection, watchdog = self._connected(url, deadline)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        # Clients write addresses as they type them: spaces, control and non-ASCII characters go
        # out percent-encoded (as UTF-8), as browsers send them; a request line holds none.
        path = quote(path, safe=_URL_SAFE)
        headers = {"User-Agent": USER_AGENT, "Accept": "image/*,application/pdf;q=0.9,*/*;q=0.5"}
        if referer:
            # A header holds neither line breaks nor non-Latin-1 text: encoded like the address.
            headers["Referer"] = quote(referer, safe=_URL_SAFE + "#")
        try:
            connection.request("GET", path, headers=headers)
            # Connected: waiting for the answer may take what is left of the whole time.
            connection.pinned_socket.settimeout(max(0.05, deadline - time.monotonic()))
            response = connection.getresponse()
            if response.status in _REDIRECTS:
                return response.status, response.getheader("Location"), b""
            if response.status != 200:
                raise DownloadFailed(f"the image URL answered HTTP {response.status}")
            return response.status, None, self._read_body(response, connection, deadline)
        except (OSError, http.client.HTTPException) as err:
            if connection.aborted:
                raise DownloadFailed("the image download took longer than allowed") from None
            raise DownloadFailed(_network_failure(err, self.noun)) from None
        finally:
            watchdog.cancel()
            connection.close()

    def _connected(self, url: str, deadline: float):
        """The URL's parts, a connection to its checked address, and the watchdog that cuts
        that connection at ``deadline`` (started: the caller cancels it)."""
        parts = _parse(url, self.noun)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = self._checked_address(parts.hostname, port, deadline)
        connection = self._connection(parts.scheme, parts.hostname, port, address, deadline)
        # Every socket timeout restarts with each byte a server sends; the watchdog does not.
        watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), connection.abort)
        watchdog.daemon = True
        watchdog.start()
        return parts, connection, watchdog

    def _read_body(
        self, response: http.client.HTTPResponse, connection: _PinnedHTTPConnection, deadline: float
    ) -> bytes:
        declared = response.getheader("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.limits.max_bytes:
            raise ImageTooManyBytes(
                f"the image at the URL is {declared} bytes; the limit is {self.limits.max_bytes} bytes"
            )
        chunks, size = [], 0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise DownloadFailed("the image download took longer than allowed")
            # Each read may block only for what is left of the whole download's time.
            connection.pinned_socket.settimeout(left)
            chunk = response.read1(_CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > self.limits.max_bytes:
                raise ImageTooManyBytes(f"the image at the URL is over the limit of {self.limits.max_bytes} bytes")
            chunks.append(chunk)
        # The watchdog's cut ends the stream as a closing server would: a part of an image is
        # no image, and not the client's fault.
        if connection.aborted:
            raise DownloadFailed("the image download took longer than allowed")
        if declared and declared.isdigit() and size < int(declared):
            raise DownloadFailed(f"the image URL's server sent {size} of the {declared} bytes it announced")
        return b"".join(chunks)

    def _checked_address(self, host: str, port: int, deadline: float) -> str:
        refusal = InvalidRequest(
            f"the {self.noun}'s host {host} cannot be reached: it does not resolve to a public address"
        )
        # getaddrinfo cannot be interrupted: it runs on a thread of its own, and the download
        # stops waiting for it at the deadline (the thread ends when the resolver gives up).
        lookup = _resolver.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
        try:
            answers = lookup.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            lookup.cancel()
            raise DownloadFailed(f"the {self.noun}'s host could not be looked up in the time allowed") from None
        except UnicodeError:
            raise refusal from None
        except socket.gaierror as err:
            if err.errno == socket.EAI_AGAIN:
                raise DownloadFailed(f"the {self.noun}'s host could not be looked up; try again") from None
            raise refusal from None
        addresses = [answer[4][0] for answer in answers]
        if not addresses or not all(self._allowed(ipaddress.ip_address(a.split("%")[0])) for a in addresses):
            raise refusal
        return addresses[0]

    def _in_allowed_network(self, host: str) -> bool:
        """Whether ``host`` is an address of a network allowed explicitly (tests, private
        deployments), where plain http is accepted too."""
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any((_carried_ipv4(address) or address) in network for network in self.allowed_networks)

    def _allowed(self, address: IpAddress) -> bool:
        address = _carried_ipv4(address) or address
        if any(address in network for network in self.allowed_networks):
            return True
        return is_public(address)

    def _connection(self, scheme: str, host: str, port: int, address: str, deadline: float):
        timeout = min(self.limits.connect_timeout, max(0.05, deadline - time.monotonic()))
        if scheme == "https":
            return _PinnedHTTPSConnection(host, port, address, timeout, self._tls)
        return _PinnedHTTPConnection(host, port, address, timeout)


def is_public(address: IpAddress) -> bool:
    """Whether an address is on the public internet, judging IPv6 forms by the IPv4 they carry."""
    carried = _carried_ipv4(address)
    if carried is not None:
        return is_public(carried)
    if address.version == 6 and any(address in network for network in _NEVER_FETCHED):
        return False
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_unspecified)


def _carried_ipv4(address: IpAddress) -> ipaddress.IPv4Address | None:
    if address.version == 4:
        return None
    if any(address in network for network in _CARRYING_IPV4):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


class _Abortable:
    """A connection the watchdog can cut from another thread, whatever it is waiting for."""

    aborted = False
    _raw_socket: socket.socket | None = None

    def abort(self) -> None:
        self.aborted = True
        self._cut()

    def _connected(self, sock: socket.socket) -> socket.socket:
        self._raw_socket = sock
        if self.aborted:  # the deadline passed while connecting
            self._cut()
        return sock

    def _cut(self) -> None:
        if self._raw_socket is not None:
            try:
                self._raw_socket.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed


class _PinnedHTTPConnection(_Abortable, http.client.HTTPConnection):
    """Connects to the address that was checked, while speaking to ``host`` by name."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = self._connected(socket.create_connection((self._address, self.port), self.timeout))
        # http.client drops self.sock once a "Connection: close" response owns it.
        self.pinned_socket = self.sock


class _PinnedHTTPSConnection(_Abortable, http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float, context: ssl.SSLContext):
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._tls_context = context

    def connect(self) -> None:
        sock = self._connected(socket.create_connection((self._address, self.port), self.timeout))
        self.sock = self._tls_context.wrap_socket(sock, server_hostname=self.host)
        self.pinned_socket = self.sock


def _parse(url: str, noun: str):
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise InvalidRequest(f"the {noun} is malformed") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidRequest(f"the {noun} must start with http:// or https://")
    if not parts.hostname:
        raise InvalidRequest(f"the {noun} has no host")
    if parts.username or parts.password:
        raise InvalidRequest(f"the {noun} must not carry a user name or password")
    return parts


def _network_failure(err: Exception, noun: str) -> str:
    if isinstance(err, TimeoutError):
        return "the image download took longer than allowed" if noun == IMAGE_URL else f"the {noun} timed out"
    if isinstance(err, ssl.SSLError):
        return f"the {noun}'s TLS certificate or handshake failed"
    if isinstance(err, ConnectionRefusedError):
        return f"the {noun}'s server refused the connection"
    return "the image could not be downloaded from the URL" if noun == IMAGE_URL else f"the {noun} could not be reached"
