"""Fetch a user-supplied URL without letting it reach private networks (SSRF guard).

Every hop is checked before it is sent: the scheme (http/https only), the host (``localhost`` and names under
``.localhost`` are refused outright), and *every* address the host resolves to (IPv4 and IPv6, including
IPv4-mapped, IPv4-compatible, 6to4, Teredo and NAT64 forms of an IPv4 address). Loopback, private,
link-local, shared (CGNAT), multicast, reserved, unspecified and cloud-metadata addresses are refused. The
connection is then pinned to the checked address (the URL's host becomes the IP; ``Host`` and TLS SNI keep
the name), so a second DNS answer cannot swap in another address. Redirects are followed by hand, each
target checked the same way. Bodies are streamed with a byte cap and a content-type check.

``allow_hosts`` names hosts (exact names or IP literals) the user explicitly trusts: they skip the address
check, but a redirect *from* them to anywhere else is checked like any other hop.

Used by the client for images of models that cannot take URLs; the gateway reuses it.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urljoin

import httpx

from vidgate.errors import TransportError
from vidgate.net.steps import Resolve, Steps, open_stream, read_chunk

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

_METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean ... instance metadata
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "100.100.100.200",  # Alibaba Cloud metadata
        "168.63.129.16",  # Azure wire server (a public-range address)
        "192.0.0.192",  # Oracle Cloud metadata
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_REDIRECTS = (301, 302, 303, 307, 308)


class FetchRefused(Exception):
    """The URL (or a redirect from it) points where vidgate will not go. Nothing was sent to that address."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


class FetchFailed(Exception):
    """The URL was allowed but could not be fetched (network error, HTTP error, too large, wrong type)."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


@dataclass(frozen=True)
class FetchPolicy:
    """What may be fetched. ``allow_hosts`` are exact host names or IP literals, compared case-insensitively."""

    allow_hosts: frozenset[str] = field(default_factory=frozenset)
    max_redirects: int = 3
    timeout: float = 30.0
    user_agent: str = "vidgate-fetch/1"

    @classmethod
    def allowing(cls, hosts: Iterable[str] = (), **kwargs: float | int | str) -> FetchPolicy:
        return cls(allow_hosts=frozenset(_norm_host(h) for h in hosts), **kwargs)  # type: ignore[arg-type]

    def allows(self, host: str) -> bool:
        return _norm_host(host) in self.allow_hosts


@dataclass(frozen=True)
class Fetched:
    url: str  # the final URL after redirects
    data: bytes
    content_type: str | None


def _norm_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def forbidden_reason(ip: IPAddress) -> str | None:
    """Why an address must not be fetched from, or None when it is a public unicast address."""
    if ip in _METADATA:
        return "a cloud metadata address"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.is_loopback:
            return "a loopback address"
        if ip.is_unspecified:
            return "the unspecified address"
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            inner = forbidden_reason(embedded)
            return f"an IPv6 form of {embedded} ({inner})" if inner else None
        if ip in _NAT64_LOCAL:
            return "a local-use NAT64 address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_private:
        return "a private-network address"
    if ip.is_reserved:
        return "a reserved address"
    if not ip.is_global:
        return "not a public address (shared, documentation or special-purpose range)"
    return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        server, client = ip.teredo
        return client if forbidden_reason(client) else server
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if int(ip) < 2**32:  # IPv4-compatible ::a.b.c.d (deprecated, still routed by some stacks)
        return ipaddress.IPv4Address(int(ip))
    return None


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (IPv4 and IPv6)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    out: list[str] = []
    for info in infos:
        addr = str(info[4][0]).split("%", 1)[0]  # drop an IPv6 zone id
        if addr not in out:
            out.append(addr)
    return out


@dataclass(frozen=True)
class Hop:
    """One checked request target: the URL as given and the address to connect to."""

    url: httpx.URL
    address: str


def _target(url: str) -> tuple[httpx.URL, str, int]:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise FetchRefused(url, f"not a valid URL ({exc})") from None
    if parsed.scheme not in ("http", "https"):
        raise FetchRefused(url, f"scheme {parsed.scheme!r} is not fetched (only http and https)")
    if not parsed.host:
        raise FetchRefused(url, "the URL has no host")
    if parsed.userinfo:
        raise FetchRefused(url, "URLs with a user name or password are not fetched")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return parsed, _norm_host(parsed.host), port


def check_resolved(url: str, host: str, addresses: list[str], policy: FetchPolicy) -> str:
    """The address to connect to, after checking every address the host resolved to."""
    if not addresses:
        raise FetchFailed(url, f"the host {host} did not resolve to any address")
    parsed = [ipaddress.ip_address(a) for a in addresses]
    if not policy.allows(host):
        for ip in parsed:
            reason = forbidden_reason(ip)
            if reason:
                where = f"{host} is" if _literal(host) else f"{host} resolves to {ip}, which is"
                raise FetchRefused(url, f"{where} {reason}")
    return str(parsed[0])


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def _precheck(url: str, policy: FetchPolicy) -> tuple[httpx.URL, str, int, str | None]:
    parsed, host, port = _target(url)
    if not policy.allows(host) and (host == "localhost" or host.endswith(".localhost")):
        raise FetchRefused(url, f"{host} is a loopback name")
    return parsed, host, port, _literal(host)


def resolve_hop(url: str, policy: FetchPolicy, resolver: Resolver = system_resolver) -> Hop:
    """Check one URL (blocking DNS) and return where to connect."""
    steps = hop_steps(url, policy)
    try:
        effect = next(steps)
        while True:
            assert isinstance(effect, Resolve)
            try:
                addresses = resolver(effect.host, effect.port)
            except OSError as exc:
                effect = steps.throw(exc)
            else:
                effect = steps.send(addresses)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


def hop_steps(url: str, policy: FetchPolicy) -> Steps[Hop]:
    """Check one URL: its shape, then every address its host resolves to; where to connect."""
    parsed, host, port, literal = _precheck(url, policy)
    try:
        addresses = [literal] if literal else (yield Resolve(host, port))
    except OSError as exc:
        raise FetchFailed(url, f"cannot resolve {host}: {exc}") from None
    return Hop(parsed, check_resolved(url, host, addresses, policy))


def pinned_request(hop: Hop, policy: FetchPolicy) -> httpx.Request:
    """A GET to the checked address, with the original name in ``Host`` and in TLS SNI / certificate checks."""
    url = hop.url
    host_header = url.netloc.decode("ascii")
    if url.userinfo:
        host_header = host_header.split("@", 1)[1]
    headers = {"Host": host_header, "User-Agent": policy.user_agent, "Accept": "image/*"}
    extensions: dict[str, object] = {"timeout": httpx.Timeout(policy.timeout).as_dict()}
    if url.scheme == "https":
        extensions["sni_hostname"] = url.host
    return httpx.Request("GET", url.copy_with(host=hop.address), headers=headers, extensions=extensions)


def _redirect(current: str, response: httpx.Response) -> str | None:
    if response.status_code not in _REDIRECTS:
        return None
    location: str | None = response.headers.get("location")
    if not location:
        raise FetchFailed(current, f"HTTP {response.status_code} redirect without a Location header")
    return str(urljoin(current, location))


def _check_head(url: str, response: httpx.Response, max_bytes: int | None, accept: tuple[str, ...]) -> str | None:
    if not response.is_success:
        raise FetchFailed(url, f"HTTP {response.status_code}")
    ctype = response.headers.get("content-type")
    mime = ctype.split(";", 1)[0].strip().lower() if ctype else None
    if accept and mime is not None and not any(mime.startswith(a) for a in accept):
        raise FetchFailed(url, f"content type {mime!r} is not an image (allowed: {', '.join(accept)})")
    length = response.headers.get("content-length")
    if max_bytes is not None and length and length.isdigit() and int(length) > max_bytes:
        raise FetchFailed(url, f"{int(length)} bytes is over the {max_bytes}-byte limit")
    return mime


class _Body:
    def __init__(self, url: str, max_bytes: int | None) -> None:
        self.url = url
        self.max_bytes = max_bytes
        self.parts: list[bytes] = []
        self.size = 0

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.max_bytes is not None and self.size > self.max_bytes:
            raise FetchFailed(self.url, f"more than {self.max_bytes} bytes (the model's limit); stopped reading")
        self.parts.append(chunk)


DEFAULT_ACCEPT = ("image/", "application/octet-stream", "binary/octet-stream")


def fetch(
    url: str, policy: FetchPolicy, *, max_bytes: int | None, accept: tuple[str, ...] = DEFAULT_ACCEPT
) -> Steps[Fetched]:
    """Fetch ``url`` through the guard: every hop checked, the connection pinned, the body capped."""
    current = url
    for hop_no in range(policy.max_redirects + 1):
        try:
            hop = yield from hop_steps(current, policy)
        except FetchRefused as exc:
            raise _redirected(url, current, hop_no, exc) from None
        try:
            response = yield from open_stream(pinned_request(hop, policy), guarded=True)
            nxt = _redirect(current, response)
            if nxt is not None:
                current = nxt
                continue
            mime = _check_head(current, response, max_bytes, accept)
            body = _Body(current, max_bytes)
            while chunk := (yield from read_chunk()):
                body.add(chunk)
            return Fetched(current, b"".join(body.parts), mime)
        except TransportError as exc:
            raise FetchFailed(current, str(exc)) from None
    raise FetchFailed(url, f"more than {policy.max_redirects} redirects")


def _redirected(url: str, current: str, hop_no: int, exc: FetchRefused) -> FetchRefused:
    if hop_no == 0:
        return exc
    return FetchRefused(url, f"redirected to {current}: {exc.reason}")
