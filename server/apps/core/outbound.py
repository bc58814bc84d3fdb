"""The one guard on requests the platform sends to URLs its users give (forwarding webhooks, stream-filter webhooks):
only http and https, no credentials in the URL, and only public addresses, so a user cannot make the platform reach
its own network (loopback, private ranges, link-local cloud metadata at 169.254.169.254, …).

Two checks, one rule (``address_refusal``):

- **At save time**, ``outbound_url_check`` reads the URL as written: its scheme, its credentials, and a host that
  is an address in any form a resolver takes (``127.1``, ``2130706433``, ``0x7f.0.0.1``, ``[::ffff:127.0.0.1]``) or
  a ``localhost`` name. A name is not resolved then: what it resolves to may change. The services call it, and
  ``OutboundURLField`` (``core/api/fields.py``, ``core/forms.py``) is it as a field's validator, so a refused URL's
  400 or form error says why.
- **At send time**, ``outbound_post`` resolves the host itself, refuses the request when any address is not
  public, and connects to an address it checked, so a name that resolves to a public address at one moment and to
  a private one the next (DNS rebinding) is refused, never reached. Redirects are not followed, and proxies from
  the environment are not used (the check must see the address the connection goes to).

``OUTBOUND_ALLOWED_NETWORKS`` (a list of networks, CIDR) lets addresses in those networks through both checks: a
development machine's receiver on a loopback port, the tests' receivers on ``127.0.0.1``.
"""

from __future__ import annotations

import ipaddress
import socket
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection

from server.apps.core.errors import ApplicationError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

SCHEMES = ("http", "https")
PUBLIC_ONLY = "outbound requests go to public addresses only"
# IPv6 ranges that carry an IPv4 address in their last 32 bits: IPv4-compatible (::/96) and NAT64 (64:ff9b::/96).
_EMBEDDING_IPV4 = (ipaddress.ip_network("::/96"), ipaddress.ip_network("64:ff9b::/96"))


class OutboundRefusedError(ApplicationError):
    """A URL or an address the platform will not send to; the message says why. Refused at save time it is a 400;
    at send time a failed delivery that no retry will change."""


@cache
def _allowed_networks(networks: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(network, strict=False) for network in networks)


def _is_allowed(address: IPAddress) -> bool:
    networks = _allowed_networks(tuple(settings.OUTBOUND_ALLOWED_NETWORKS))
    return any(address.version == network.version and address in network for network in networks)


def _embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    if address.version == 4:
        return []
    embedded = [address.sixtofour] if address.sixtofour else []
    if any(address in network for network in _EMBEDDING_IPV4) and int(address) > 1:
        embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return embedded


def _kind(address: IPAddress) -> str | None:
    """What makes ``address`` not public, or None for a public address."""
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address (where cloud metadata services answer)"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "not a public address"
    return None


def address_refusal(address: IPAddress) -> str | None:
    """Why the platform will not send to ``address`` (a text for people), or None when it may. An IPv4 address in
    IPv6 clothing (``::ffff:10.0.0.1``, 6to4, NAT64) is judged by the IPv4 address it carries too."""
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for candidate in (address, *_embedded_ipv4(address)):
        if _is_allowed(candidate):
            continue
        kind = _kind(candidate)
        if kind is not None:
            return f"{address} is {kind}" if candidate == address else f"{address} carries {candidate}, {kind}"
    return None


def _literal_address(host: str) -> IPAddress | None:
    """The address ``host`` names when it is an address in any form a resolver takes (``inet_aton``'s decimal,
    octal, hexadecimal and short forms included), else None."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def outbound_url_check(url: str, *, field: str = "url") -> None:
    """Refuse (``OutboundRefusedError``, its ``extra`` naming ``field``) a URL the platform must not send to, as
    far as the URL alone tells (the host's addresses are checked again when sending)."""

    def refuse(reason: str) -> OutboundRefusedError:
        message = f"URL {url[:200]!r}: {reason}." if url else f"A URL is needed: {reason}."
        return OutboundRefusedError(message, {field: [message]})

    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".")
        port = parts.port
    except ValueError as exc:
        raise refuse(f"not a URL ({exc})") from None
    if parts.scheme.lower() not in SCHEMES:
        raise refuse("only http and https URLs are sent to")
    if parts.username is not None or parts.password is not None:
        raise refuse("credentials do not go in the URL (they would be shown to every reader and in error logs)")
    if not host or port == 0:
        raise refuse("the URL has no host" if not host else "port 0 is no port")
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise refuse("the host is not a valid name") from None
    address = _literal_address(ascii_host)
    if address is None and (ascii_host == "localhost" or ascii_host.endswith(".localhost")):
        address = ipaddress.IPv4Address("127.0.0.1")
    reason = address_refusal(address) if address is not None else None
    if reason:
        raise refuse(f"{reason}; {PUBLIC_ONLY}")
    try:
        URLValidator(schemes=list(SCHEMES))(url)
    except ValidationError:
        raise refuse("not a valid URL") from None


def validate_outbound_url(value: str) -> None:
    """``outbound_url_check`` as a field validator (the API's and the dashboard's ``OutboundURLField``)."""
    try:
        outbound_url_check(value)
    except OutboundRefusedError as exc:
        raise ValidationError(exc.message, code="outbound") from None


def resolve(host: str, port: int) -> list[tuple[socket.AddressFamily, IPAddress]]:
    """``host``'s addresses for a TCP connection, as the system resolver gives them."""
    answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [(family, ipaddress.ip_address(str(sockaddr[0]).split("%")[0])) for family, _, _, _, sockaddr in answers]


def _checked_addresses(host: str, port: int) -> list[IPAddress]:
    addresses = list(dict.fromkeys(address for _family, address in resolve(host, port)))
    for address in addresses:
        reason = address_refusal(address)
        if reason:
            resolved = "" if str(address) == host else f" resolves to {address}:"
            raise OutboundRefusedError(f"refused: {host}{resolved} {reason}; {PUBLIC_ONLY}")
    return addresses


class _CheckedConnectionMixin:
    """Resolves the host, refuses it unless every address is public, and connects to those checked addresses (the
    host name still goes in the Host header and the TLS server name)."""

    def _new_conn(self) -> socket.socket:
        conn: Any = self  # an urllib3 connection, by the classes below
        try:
            addresses = _checked_addresses(conn._dns_host, conn.port)
        except socket.gaierror as exc:
            raise NameResolutionError(conn.host, conn, exc) from exc
        error: Exception | None = None
        for address in addresses:
            try:
                return connection.create_connection(
                    (str(address), conn.port),
                    conn.timeout,
                    source_address=conn.source_address,
                    socket_options=conn.socket_options,
                )
            except TimeoutError as exc:
                error = ConnectTimeoutError(conn, f"Connection to {conn.host} timed out.")
                error.__cause__ = exc
            except OSError as exc:
                error = NewConnectionError(conn, f"Failed to establish a new connection: {exc}")
                error.__cause__ = exc
        raise error or NewConnectionError(conn, "the host has no address")


class _CheckedHTTPConnection(_CheckedConnectionMixin, HTTPConnection):
    pass


class _CheckedHTTPSConnection(_CheckedConnectionMixin, HTTPSConnection):
    pass


class _CheckedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _CheckedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


class _CheckedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _CheckedHTTPConnectionPool,
            "https": _CheckedHTTPSConnectionPool,
        }


def outbound_post(url: str, *, data: bytes, headers: dict[str, str], timeout: float) -> requests.Response:
    """POST ``data`` to a user's ``url`` through the guard: ``OutboundRefusedError`` when the URL or an address its
    host resolves to is refused, ``requests.RequestException`` when the request fails. A redirect is answered as
    it is (a 3xx), never followed."""
    outbound_url_check(url)
    with requests.Session() as session:
        session.trust_env = False
        adapter = _CheckedAdapter()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session.post(url, data=data, headers=headers, timeout=timeout, allow_redirects=False)
