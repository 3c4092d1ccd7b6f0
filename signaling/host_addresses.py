"""Let one aiortc peer gather host candidates on a loopback address too.

aioice gathers host candidates on every interface address except loopback
(``aioice.ice.get_host_addresses``, looked up as a module global when candidates are
gathered). A desk tried on one machine is reached by the page at 127.0.0.1, so the
lobby's echo peer must be able to offer that address, or the connection test fails
although calls work. :func:`gather_also_on` adds addresses for the peer whose
negotiation runs inside the block, through a context variable: other peers of the
process (and other tasks) are unaffected, and nothing changes when it is not used.
:func:`gather_only_on` does the opposite for the command-line bots (``videodesk bot
--loopback``): their peers gather on the given addresses and no others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from ipaddress import IPv6Address, ip_address

import aioice.ice

_EXTRA: ContextVar[tuple[str, ...]] = ContextVar("videodesk_extra_host_addresses", default=())
_ONLY: ContextVar[tuple[str, ...] | None] = ContextVar(
    "videodesk_only_host_addresses", default=None
)
_delegate: Callable[[bool, bool], list[str]] = aioice.ice.get_host_addresses


def _wanted(address: str, use_ipv4: bool, use_ipv6: bool) -> bool:
    return use_ipv6 if isinstance(ip_address(address), IPv6Address) else use_ipv4


def _host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    only = _ONLY.get()
    if only is not None:
        return [a for a in only if _wanted(a, use_ipv4, use_ipv6)]
    addresses = list(_delegate(use_ipv4, use_ipv6))
    for extra in _EXTRA.get():
        if extra not in addresses and _wanted(extra, use_ipv4, use_ipv6):
            addresses.append(extra)
    return addresses


def _install() -> None:
    """Put the hook in place (again, if something replaced it since: a test's patch)."""
    global _delegate
    current = aioice.ice.get_host_addresses
    if current is not _host_addresses:
        _delegate = current
        aioice.ice.get_host_addresses = _host_addresses


@contextmanager
def gather_also_on(addresses: tuple[str, ...]) -> Iterator[None]:
    """Candidates gathered by code running in this block also use ``addresses`` (loopback
    ones: aioice already has every other address of the machine)."""
    loopback = tuple(a for a in addresses if ip_address(a).is_loopback)
    if not loopback:
        yield
        return
    _install()
    token = _EXTRA.set(loopback)
    try:
        yield
    finally:
        _EXTRA.reset(token)


@contextmanager
def gather_only_on(addresses: tuple[str, ...]) -> Iterator[None]:
    """Candidates gathered by code running in this block use ``addresses`` and no others."""
    _install()
    token = _ONLY.set(addresses)
    try:
        yield
    finally:
        _ONLY.reset(token)
