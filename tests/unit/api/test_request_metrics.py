"""/metrics and the request histogram: served outside /v1, labelled by route template."""

from __future__ import annotations

from typing import Any

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from werkzeug.test import Client
from werkzeug.wrappers import Response

from dockyard.api.metrics import ROUTE_KEY, RequestMetrics, route_label

UUID = "0b7a3f4e-1111-4c2d-9e3f-000000000001"


def inner(environ: dict[str, Any], start_response: Any) -> Any:
    path = environ["PATH_INFO"]
    if path.startswith("/v1/containers/"):
        environ[ROUTE_KEY] = "/v1/containers/<ident>"
        return Response("{}", status=202)(environ, start_response)
    return Response("not here", status=404)(environ, start_response)


def seen(method: str, route: str, status: str) -> float:
    labels = {"method": method, "route": route, "status": status}
    return REGISTRY.get_sample_value("dockyard_api_request_duration_seconds_count", labels) or 0


def test_requests_are_counted_by_template_not_by_path() -> None:
    client = Client(RequestMetrics(inner))
    before = seen("POST", "/v1/containers/<ident>", "202")
    for n in range(3):
        assert client.post(f"/v1/containers/{UUID[:-1]}{n}/start").status_code == 202
    assert seen("POST", "/v1/containers/<ident>", "202") == before + 3
    exposition = client.get("/metrics").get_data(as_text=True)
    assert UUID[:-1] not in exposition


def test_unmatched_paths_get_a_coarse_label() -> None:
    client = Client(RequestMetrics(inner))
    before = seen("GET", "other", "404"), seen("BREW", "other", "404")
    client.get("/no/such/thing/at/all")
    client.open("/x", method="BREW")
    assert (seen("GET", "other", "404"), seen("BREW", "other", "404")) == (before[0] + 1, 0)
    assert route_label({"PATH_INFO": "/v3/auth/tokens"}) == "/v3/*"
    assert route_label({"PATH_INFO": "/dashboard/app.js"}) == "/dashboard/*"
    assert route_label({"PATH_INFO": "/"}) == "/"


def test_metrics_are_served_in_the_text_format() -> None:
    client = Client(RequestMetrics(inner))
    client.post(f"/v1/containers/{UUID}/stop")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    names = {f.name for f in text_string_to_metric_families(response.get_data(as_text=True))}
    assert {"dockyard_api_request_duration_seconds", "dockyard_containers"} <= names
    assert client.post("/metrics").status_code == 405


def test_metrics_can_be_switched_off() -> None:
    client = Client(RequestMetrics(inner, serve=False))
    response = client.get("/metrics")
    assert response.status_code == 404 and response.get_data() == b"not here"
