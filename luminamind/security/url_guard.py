"""The URL guard: keeps the web tools out of the user's private network (SSRF).

A model that has read a hostile page may ask for ``http://169.254.169.254/latest/meta-data`` or
``http://localhost:6379``. Every URL the web tools touch (the first request and every redirect
hop) goes through `UrlGuard.check`, which:

1. accepts only ``http``/``https`` URLs without credentials (``user:pass@`` would leak into logs
   and lets ``http://public.example@10.0.0.1`` pass a naive host check);
2. parses the host the way browsers do (WHATWG): ``2130706433``, ``0x7f.1``, ``0177.0.0.1`` and
   ``127.1`` are all 127.0.0.1; bracketed IPv6 literals are read too, and an IPv4 address hidden
   in IPv6 (IPv4-mapped ``::ffff:a.b.c.d``, NAT64, 6to4, Teredo) is judged as that IPv4 address;
3. resolves host names and refuses the URL if *any* address is loopback, private, link-local,
   CGNAT (100.64/10), multicast, reserved, unspecified or a cloud-metadata endpoint, unless the
   configured allowlist (``web.allowed_hosts``: host names, ``*.suffix`` wildcards, IPs, CIDRs)
   lets it through;
4. returns the addresses it checked, so the caller connects to exactly those (see
   ``luminamind.tools.web.http``: the connection is pinned; a second DNS answer cannot swap in
   a private address between the check and the connect, i.e. no DNS rebinding).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from luminamind.errors import ToolExecutionError, UrlBlockedError

__all__ = ["GuardedUrl", "IPAddress", "UrlGuard", "blocked_reason", "parse_ip_host"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_SCHEMES = {"http": 80, "https": 443}
_MAX_URL_LENGTH = 8192

# Cloud metadata and host-agent endpoints. Some are link-local or private anyway; 168.63.129.16
# (Azure WireServer) is a public address, so the explicit list matters.
_METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean...
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.169.123",  # AWS time sync
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
        "168.63.129.16",  # Azure WireServer
        "fd00:ec2::254",  # AWS IMDS over IPv6
    )
)
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
# A host whose last label is numeric is an IPv4 address to a browser (WHATWG "ends in a number").
_LAST_LABEL_NUMERIC = re.compile(r"^(0[xX][0-9a-fA-F]*|[0-9]+)$")


@dataclass(frozen=True, slots=True)
class GuardedUrl:
    """A URL the guard let through, with the addresses to connect to.

    Attributes:
        url: the URL to request, normalised (numeric hosts in dotted form, no fragment).
        host: the host as the HTTP stack sees it (lower case, IDNA, IPv6 without brackets).
        port: the port, explicit or the scheme's default.
        addresses: every address the host resolved to, all checked; connect only to these.
    """

    url: str
    host: str
    port: int
    addresses: tuple[IPAddress, ...]


def _parse_ipv4_number(part: str) -> int | None:
    if part.lower().startswith("0x"):
        digits, base = part[2:], 16
    elif len(part) > 1 and part.startswith("0"):
        digits, base = part[1:], 8
    else:
        digits, base = part, 10
    if digits == "":
        return 0  # "0x" alone is zero in the WHATWG parser
    try:
        return int(digits, base)
    except ValueError:
        return None


def _parse_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """Parse ``host`` as the WHATWG URL standard (and inet_aton) read IPv4 hosts, or None."""
    parts = host.split(".")
    if parts and parts[-1] == "":
        parts.pop()  # one trailing dot is allowed: "127.0.0.1."
    if not parts or len(parts) > 4 or not _LAST_LABEL_NUMERIC.match(parts[-1]):
        return None
    numbers = [_parse_ipv4_number(p) for p in parts]
    if any(n is None for n in numbers):
        return None
    values = [n for n in numbers if n is not None]
    # a.b.c.d; a.b.(16 bits); a.(24 bits); (32 bits): the last part fills the remaining bytes.
    if any(v > 255 for v in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        return None
    address = values[-1]
    for i, value in enumerate(values[:-1]):
        address += value << (8 * (3 - i))
    return ipaddress.IPv4Address(address)


def parse_ip_host(host: str) -> IPAddress | None:
    """The IP address a URL host denotes, in any spelling a browser accepts, or None for names.

    Raises:
        UrlBlockedError: the host ends in a number but is not a valid IPv4 address
            (browsers refuse such URLs; resolvers disagree on them).
    """
    bare = host.strip("[]")
    if ":" in bare:
        try:
            return ipaddress.IPv6Address(bare)
        except ValueError:
            raise UrlBlockedError(f"'{host}' is not a valid IPv6 address") from None
    address = _parse_ipv4(bare)
    if address is None:
        labels = bare.rstrip(".").split(".")
        if labels and _LAST_LABEL_NUMERIC.match(labels[-1]):
            raise UrlBlockedError(
                f"host '{host}' ends in a number but is not a valid IPv4 address; "
                "write the address as four decimal numbers (e.g. 93.184.215.14)"
            )
    return address


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address carried inside an IPv6 one (mapped, NAT64, 6to4, Teredo), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64 or ip in _NAT64_LOCAL:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]  # the client's address; the server part is public by design
    return None


def blocked_reason(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public address the tools may reach, or None when it is."""
    if ip in _METADATA:
        return "a cloud metadata address"
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            reason = blocked_reason(inner)
            return f"{reason} ({inner}) inside an IPv6 address" if reason else None
    checks = (
        (ip.is_unspecified, "the unspecified address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT, "a carrier-grade NAT address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
        (not ip.is_global, "not a globally routable address"),
    )
    return next((reason for hit, reason in checks if hit), None)


class UrlGuard:
    """Checks URLs against the rules in the module docstring.

    Args:
        allowed_hosts: host names (``intranet.local``), wildcards (``*.corp.example``), IP
            addresses and CIDRs (``127.0.0.1``, ``10.0.0.0/8``) let through although not public.
        resolve_timeout: seconds to wait for DNS.
    """

    def __init__(self, allowed_hosts: Iterable[str] = (), *, resolve_timeout: float = 10.0) -> None:
        self._names: set[str] = set()
        self._suffixes: list[str] = []
        self._networks: list[_Network] = []
        for entry in (e.strip().lower() for e in allowed_hosts):
            if not entry:
                continue
            if entry.startswith("*."):
                self._suffixes.append(entry[1:])
                continue
            try:
                self._networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                self._names.add(entry.rstrip("."))
        self._resolve_timeout = resolve_timeout

    def _name_allowed(self, host: str) -> bool:
        name = host.rstrip(".")
        return name in self._names or any(name.endswith(s) for s in self._suffixes)

    def _address_allowed(self, ip: IPAddress) -> bool:
        return any(ip.version == net.version and ip in net for net in self._networks)

    def check_syntax(self, url: str) -> tuple[str, str, int, IPAddress | None]:
        """Check scheme, credentials and host spelling, without DNS.

        Returns:
            ``(normalised_url, host, port, ip_or_None)``.

        Raises:
            UrlBlockedError: the URL is malformed or breaks a rule; the message says which.
        """
        if len(url) > _MAX_URL_LENGTH:
            raise UrlBlockedError(f"URL is {len(url)} characters long; the limit is 8192")
        if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
            raise UrlBlockedError(
                "URL contains whitespace or control characters; percent-encode them"
            )
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise UrlBlockedError(f"'{url}' is not a valid URL: {exc}") from None
        scheme = parts.scheme.lower()
        if scheme not in _SCHEMES:
            shown = f"'{parts.scheme}:'" if parts.scheme else "no scheme"
            raise UrlBlockedError(
                f"'{url}' has {shown}; only http:// and https:// URLs can be fetched"
            )
        if "@" in parts.netloc:
            raise UrlBlockedError(
                "URLs with credentials (user:password@host) are refused: "
                f"'{_strip_userinfo(url)}'; pass public URLs only"
            )
        host = (parts.hostname or "").lower()
        if not host:
            raise UrlBlockedError(f"'{url}' has no host")
        if "%" in host or "\\" in host:
            raise UrlBlockedError(f"host '{host}' contains '%' or '\\'; write it plainly")
        ip = parse_ip_host(host)
        if ip is not None:
            host = str(ip)
        else:
            try:
                host = host.encode("idna").decode("ascii")
            except UnicodeError:
                raise UrlBlockedError(f"host '{host}' is not a valid domain name") from None
        netloc = f"[{host}]" if ":" in host else host
        if port is not None:
            netloc += f":{port}"
        normalised = urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
        return normalised, host, port or _SCHEMES[scheme], ip

    async def check(self, url: str) -> GuardedUrl:
        """Check ``url`` and resolve its host; every address must pass.

        Raises:
            UrlBlockedError: the URL breaks a rule or reaches a non-public address.
            ToolExecutionError: the host name does not resolve.
        """
        normalised, host, port, ip = self.check_syntax(url)
        addresses: Sequence[IPAddress] = [ip] if ip is not None else await self._resolve(host, port)
        if ip is None and self._name_allowed(host):
            return GuardedUrl(normalised, host, port, tuple(addresses))
        for address in addresses:
            reason = blocked_reason(address)
            if reason and not self._address_allowed(address):
                via = "" if ip is not None else f" ('{host}' resolves to {address})"
                raise UrlBlockedError(
                    f"refused {url}: {address} is {reason}{via}; the web tools only reach "
                    "public addresses (add the host to web.allowed_hosts to allow it)"
                )
        return GuardedUrl(normalised, host, port, tuple(addresses))

    async def _resolve(self, host: str, port: int) -> list[IPAddress]:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._resolve_timeout):
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except TimeoutError:
            raise ToolExecutionError(
                f"DNS lookup of '{host}' timed out after {self._resolve_timeout:g} s"
            ) from None
        except OSError as exc:
            raise ToolExecutionError(
                f"cannot resolve host '{host}': {exc.strerror or exc}; check the URL"
            ) from None
        found: list[IPAddress] = []
        for info in infos:
            # The scope id ("fe80::1%eth0") is not part of the address we judge.
            address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            if address not in found:
                found.append(address)
        if not found:
            raise ToolExecutionError(f"host '{host}' has no addresses")
        return found


def _strip_userinfo(url: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, ""))
