"""Error bodies (spec §3): shape, code, title and detail, and no leaked internals."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from dockyard.api import errors
from dockyard.api.versions import UnsupportedVersion
from dockyard.domain import errors as E

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def only(body: dict[str, Any]) -> dict[str, Any]:
    assert set(body) == {"errors"}
    assert len(body["errors"]) == 1
    item = body["errors"][0]
    assert set(item) == {"request_id", "code", "status", "title", "detail", "links"}
    assert item["request_id"] == ""
    assert item["links"] == []
    return dict(item)


CLIENT_ERRORS = [
    (E.InvalidInput("bad limit"), 400, "invalid-value"),
    (E.SchemaValidationError("x is required"), 400, "schema-validation-error"),
    (E.InvalidParamInVersion("auto_remove needs 1.3"), 400, "invalid-param-in-version"),
    (E.InvalidParameterValue("bad sort_key"), 400, "invalid-parameter-value"),
    (E.InvalidImage("image: 'X' is not valid", field="image"), 400, "image-not-found"),
    (E.InvalidRequest("not attached"), 400, "invalid"),
    (E.Forbidden("policy denies"), 403, "policy-not-authorized"),
    (E.NotFound("no such action"), 404, "resource-not-found"),
    (E.ContainerNotFound("Container x could not be found."), 404, "container-not-found"),
    (E.RequestedHostNotFound("no host h"), 404, "requested-host-not-found"),
    (E.Conflict("name is ambiguous"), 409, "conflict"),
    (E.InvalidState("Cannot stop container x in Stopped state."), 409, "invalid-state-exception"),
]


@pytest.mark.parametrize(
    ("exc", "status", "slug"), CLIENT_ERRORS, ids=[type(e).__name__ for e, _, _ in CLIENT_ERRORS]
)
def test_client_errors(exc: E.DockyardError, status: int, slug: str) -> None:
    code, body = errors.from_domain(exc)

    item = only(body)
    assert code == status
    assert item["status"] == status
    assert item["code"] == f"container.{slug}"
    assert item["title"] == exc.detail
    assert item["detail"] == exc.detail


class Base64DataInvalid(E.InvalidInput):
    """A class without an explicit code (its name is unique in the error registry)."""


def test_a_derived_slug_reaches_the_body() -> None:
    _, body = errors.from_domain(Base64DataInvalid("data is not base64"))

    assert only(body)["code"] == "container.base-64-data-invalid"


def test_not_acceptable_has_its_slug_and_a_phrase_title() -> None:
    status, body = errors.from_domain(E.NotAcceptable("Invalid value for header: 'x'."))

    item = only(body)
    assert status == 406
    assert item["code"] == "container.not-acceptable"
    assert item["title"] == "Not Acceptable"
    assert item["detail"] == "Invalid value for header: 'x'."


def test_unsupported_microversion() -> None:
    status, body = errors.from_domain(UnsupportedVersion((1, 41)))

    item = only(body)
    assert status == 406
    assert item["status"] == 406
    assert item["code"] == "container.unsupported-version"
    assert item["title"] == "Requested microversion is unsupported"
    assert "1.41" in item["detail"]
    assert "[container 1.1, container 1.40]" in item["detail"]


def test_unsupported_media_type() -> None:
    status, body = errors.from_domain(E.UnsupportedMediaType("use application/json"))

    item = only(body)
    assert status == 415
    assert item["code"] == "container.unsupported-media-type"


def _assert_opaque_500(status: int, body: dict[str, Any], secret: str) -> str:
    item = only(body)
    assert status == 500
    assert item["status"] == 500
    assert item["code"] == "container.internal-server-error"
    assert item["title"] == "Internal Server Error"
    assert secret not in item["detail"]
    match = UUID.search(item["detail"])
    assert match is not None, item["detail"]
    return match.group(0)


def test_unexpected_exception(caplog: pytest.LogCaptureFixture) -> None:
    secret = "password=hunter2 at /srv/dockyard/db.py:42"

    with caplog.at_level(logging.ERROR, logger="dockyard.api.errors"):
        status, body = errors.from_unexpected(KeyError(secret))

    correlation = _assert_opaque_500(status, body, secret)
    # The correlation id is logged server-side, with the exception.
    record = next(r for r in caplog.records if correlation in r.getMessage())
    assert record.exc_info is not None and secret in str(record.exc_info[1])


def test_each_unexpected_error_gets_its_own_correlation_id() -> None:
    first = only(errors.from_unexpected(RuntimeError("x"))[1])["detail"]
    second = only(errors.from_unexpected(RuntimeError("x"))[1])["detail"]

    assert UUID.findall(first) != UUID.findall(second)


def test_the_base_domain_error_is_treated_as_unexpected() -> None:
    secret = "sqlite3.OperationalError: database is locked"

    status, body = errors.from_domain(E.DockyardError(secret))

    _assert_opaque_500(status, body, secret)


SERVER_ERRORS = [
    (E.DriverError("Docker Engine error (500): mount /var/lib/secret denied"), "Bad Gateway"),
    (E.Unavailable("Docker Engine unreachable: /var/run/docker.sock"), "Service Unavailable"),
    (E.NoValidHost("There are not enough hosts available (node-1: cpu)."), "Service Unavailable"),
    (E.ServiceBusy("The agent of host node-1 is busy; try again shortly."), "Service Unavailable"),
]
#: The code of each: the class's slug when its detail is shown, the phrase's otherwise.
SERVER_CODES = {
    "DriverError": "container.bad-gateway",
    "Unavailable": "container.service-unavailable",
    "NoValidHost": "container.no-valid-host",
    "ServiceBusy": "container.service-busy",
}
#: Server-side errors whose message Dockyard wrote itself, with nothing internal in it: a
#: person can act on "no host has room" or "the agent is busy", so it is shown.
PUBLIC = (E.NoValidHost, E.ServiceBusy)
SERVER_IDS = [type(e).__name__ for e, _ in SERVER_ERRORS]


@pytest.mark.parametrize(("exc", "phrase"), SERVER_ERRORS, ids=SERVER_IDS)
def test_server_side_domain_errors_have_a_code(exc: E.DockyardError, phrase: str) -> None:
    """Unlike Zun (spec §3.2: ``container.`` and nothing after it), every 5xx names a code."""
    status, body = errors.from_domain(exc)

    item = only(body)
    assert status == item["status"] == exc.status
    assert item["code"] == SERVER_CODES[type(exc).__name__]


@pytest.mark.parametrize(("exc", "phrase"), SERVER_ERRORS, ids=SERVER_IDS)
def test_server_side_domain_errors_have_the_phrase_as_title(
    exc: E.DockyardError, phrase: str
) -> None:
    """Spec §3.2: status >= 500 -> title is the HTTP reason phrase, detail is opaque."""
    _, body = errors.from_domain(exc)

    item = only(body)
    assert item["title"] == phrase
    if isinstance(exc, PUBLIC):
        assert item["detail"] == exc.detail
    else:
        assert exc.detail not in item["detail"]
        assert UUID.search(item["detail"])


def test_from_http() -> None:
    status, body = errors.from_http(405, "The method is not allowed for the requested URL.")

    item = only(body)
    assert status == 405
    assert item["code"] == "container.method-not-allowed"
    assert item["title"] == "Method Not Allowed"
    assert item["detail"] == "The method is not allowed for the requested URL."
    assert only(errors.from_http(404, "nope")[1])["title"] == "Not Found"
