"""Keep aiortc's ICE traffic on loopback in tests.

aioice leaves 127.0.0.1 out of its host candidates, and the machine's other addresses
are not test targets, so tests replace ``aioice.ice.get_host_addresses`` (looked up as a
module global when candidates are gathered) with one that offers 127.0.0.1 only.

Use the ``loopback_ice`` fixture in a test module with::

    from tests.support.loopback import loopback_ice  # noqa: F401

or :func:`loopback_host_addresses` as a context manager outside pytest.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

import aioice.ice
import pytest

LOOPBACK = "127.0.0.1"


def loopback_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    """Stand-in for ``aioice.ice.get_host_addresses``: IPv4 loopback only."""
    return [LOOPBACK] if use_ipv4 else []


@contextmanager
def loopback_host_addresses() -> Iterator[None]:
    """Make aioice gather host candidates on 127.0.0.1 only while the block runs."""
    with mock.patch.object(aioice.ice, "get_host_addresses", loopback_addresses):
        yield


@pytest.fixture
def loopback_ice() -> Iterator[None]:
    """aioice gathers host candidates on 127.0.0.1 only during the test."""
    with loopback_host_addresses():
        yield
