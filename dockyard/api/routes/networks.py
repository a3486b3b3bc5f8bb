"""``/v1/networks`` (api-other §14): Zun's records of engine networks, create and delete.

With the local driver a network is realised on a host's engine when a container
there needs it, so create only checks the network and answers its record, and
delete refuses (409) while containers use the network. The network itself is
managed through ``/v2.0``.
"""

from __future__ import annotations

from werkzeug.wrappers import Response

from dockyard.api.request import ApiRequest, empty_response, json_response
from dockyard.api.routes.table import RouteTable
from dockyard.api.schemas import networks as schemas
from dockyard.api.schemas.validation import validate
from dockyard.api.views import networks as views
from dockyard.domain.errors import InvalidInput

TABLE = RouteTable()
ROUTES = TABLE.routes


@TABLE.add("POST", "/v1/networks")
def create(req: ApiRequest) -> Response:
    req.authorize("network:create")
    body = req.merged()
    validate(schemas.CREATE, body)
    network_id = body.get("neutron_net_id")
    if not network_id:
        raise InvalidInput("'neutron_net_id' names the network to wrap; it is required.")
    network = req.services.networks.engine_network(req.ctx, str(network_id))
    return json_response(views.network(network, req.ctx))


@TABLE.add("DELETE", "/v1/networks/<network_id>", min_version=(1, 27))
def delete(req: ApiRequest, network_id: str) -> Response:
    req.authorize("network:delete")
    req.services.networks.drop_engine_network(req.ctx, network_id)
    return empty_response()
