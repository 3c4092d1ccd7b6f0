"""The OpenAPI document: it validates, the app serves it, and schemathesis, sending generated
requests to a live desk, finds no 5xx and no response that differs from the document."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from server.api.openapi import document
from tests.conftest import TEST_SECRET
from tests.support.desk_group import DeskGroup
from tests.support.processes import ServerProcess

SCHEMA = schemathesis.openapi.from_dict(document())
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_the_document_is_valid_openapi() -> None:
    validate(document())


@pytest.fixture(scope="module")
def live(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A desk process and an admin token for it (module-wide: schemathesis tests are sync)."""
    desk = "oa"
    env = {
        "REDIS_URL": redis_url,
        "VIDEODESK_SECRET": TEST_SECRET,
        "VIDEODESK_DESK": desk,
        "HOME": str(tmp_path_factory.mktemp("home")),
    }
    process = ServerProcess("openapi", env)
    process.start()
    token = DeskGroup.mint_for(desk, "admin")
    try:
        yield process.url, token
    finally:
        process.terminate()


def test_the_app_serves_the_document(live: tuple[str, str]) -> None:
    import json
    import urllib.request

    with urllib.request.urlopen(live[0] + "/api/v1/openapi.json", timeout=5) as response:
        assert json.loads(response.read()) == json.loads(json.dumps(document()))


@SCHEMA.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_answers_as_documented(case: Any, live: tuple[str, str]) -> None:
    url, token = live
    case.call_and_validate(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS, timeout=10
    )
