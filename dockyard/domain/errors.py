"""The error hierarchy. Each class carries an HTTP status and a stable wire code.

The wire code is the Zun-compatible slug rendered after ``container.`` in error
bodies; it also identifies the class when an error crosses RPC.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar


def _slug(name: str) -> str:
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", name)
    return "-".join(w.lower() for w in words)


class DockyardError(Exception):
    """Base error: an unexpected failure (500)."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = ""
    #: Whether ``detail`` may be shown to the client. Server-side failures carry
    #: internals (engine messages, socket paths) and are shown only as a reference.
    public: ClassVar[bool] = False
    registry: ClassVar[dict[str, type[DockyardError]]] = {}

    def __init__(self, detail: str, **fields: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields = fields

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "code" not in cls.__dict__:
            cls.code = _slug(cls.__name__)
        DockyardError.registry[cls.__name__] = cls

    def to_wire(self) -> dict[str, Any]:
        return {"type": type(self).__name__, "detail": self.detail, "fields": self.fields}

    @staticmethod
    def from_wire(data: dict[str, Any]) -> DockyardError:
        cls = DockyardError.registry.get(str(data.get("type")), DockyardError)
        err = cls.__new__(cls)
        DockyardError.__init__(err, str(data.get("detail", "")), **dict(data.get("fields") or {}))
        return err


class ClientError(DockyardError):
    """The request cannot be served as sent: the detail is for the client."""

    public = True


class InvalidInput(ClientError):
    status = 400
    code = "invalid-value"


class SchemaValidationError(InvalidInput):
    code = "schema-validation-error"


class InvalidParamInVersion(InvalidInput):
    code = "invalid-param-in-version"


class InvalidParameterValue(InvalidInput):
    code = "invalid-parameter-value"


class InvalidImage(InvalidInput):
    """The image reference is malformed or the image cannot be had."""

    code = "image-not-found"


class InvalidIpForSubnet(InvalidInput):
    """A fixed IP that is not a usable address of the subnet it was asked on."""

    code = "invalid-ip-for-subnet"


class InvalidRequest(InvalidInput):
    """A well-formed request that cannot apply to this object (Zun's ``Invalid``)."""

    code = "invalid"


class NoInteractiveFlag(InvalidInput):
    """Attach to a container created without ``interactive``."""

    code = "no-interactive-flag"


class RegistryAuthFailed(InvalidImage):
    """The image's registry refused the credentials given (or wants some)."""

    code = "registry-auth-failed"


class Base64Exception(InvalidInput):
    """A value that must be base64 is not."""

    code = "base-64-exception"


class VolumeUnsupported(InvalidInput):
    """A volume this host (or deployment) cannot provide as asked, e.g. its size unenforceable."""

    code = "volume-unsupported"


class ValidationFailed(InvalidInput):
    """A value outside what this deployment is configured for (Zun's ``ValidationError``)."""

    code = "validation-error"


class Unauthorized(ClientError):
    status = 401
    code = "unauthorized"


class Forbidden(ClientError):
    status = 403
    code = "policy-not-authorized"


class OverQuota(Forbidden):
    """Granting the request would pass one of the project's quotas."""

    code = "over-quota"


class NotFound(ClientError):
    status = 404
    code = "resource-not-found"


class ContainerNotFound(NotFound):
    code = "container-not-found"


class RegistryNotFound(NotFound):
    code = "registry-not-found"


class NetworkNotFound(NotFound):
    code = "network-not-found"


class PortNotFound(NotFound):
    code = "port-not-found"


class SubnetNotFound(NotFound):
    code = "subnet-not-found"


class SecurityGroupNotFound(NotFound):
    code = "security-group-not-found"


class SecurityGroupRuleNotFound(NotFound):
    code = "security-group-rule-not-found"


class VolumeNotFound(NotFound):
    code = "volume-not-found"


class RequestedHostNotFound(NotFound):
    code = "requested-host-not-found"


class HostNotFound(NotFound):
    code = "compute-node-not-found"


class ServiceNotFound(NotFound):
    code = "zun-service-not-found"


class ImageNotFound(NotFound):
    """No image record with that uuid (404 rather than Zun's 400: api-other §17.2)."""

    code = "image-not-found"


class NotAcceptable(ClientError):
    status = 406


class Conflict(ClientError):
    status = 409
    code = "conflict"


class InvalidState(Conflict):
    code = "invalid-state-exception"


class IdempotencyKeyConflict(Conflict):
    """An Idempotency-Key sent again with another request, or whose container is gone."""

    code = "idempotency-key-conflict"


class IpAddressAlreadyAllocated(Conflict):
    """A fixed IP asked for that a port (or the subnet's gateway) already holds."""

    code = "ip-address-already-allocated"


class IpAddressGenerationFailure(Conflict):
    """No free address is left in the subnet's allocation pools."""

    code = "ip-address-generation-failure"


class NetworkInUse(Conflict):
    """A network that still has containers (or ports) on it."""

    code = "network-in-use"


class ImageAlreadyExists(Conflict):
    code = "image-already-exists"


class ImageInUse(Conflict):
    code = "image-in-use"


class SubnetInUse(Conflict):
    """A subnet that ports still hold addresses in."""

    code = "subnet-in-use"


class MacAddressInUse(Conflict):
    code = "mac-address-in-use"


class PortInUse(Conflict):
    """A port bound to a container, which only the container may give back."""

    code = "port-in-use"


class SecurityGroupInUse(Conflict):
    """A security group that ports are members of, or that other groups' rules name."""

    code = "security-group-in-use"


class SecurityGroupRuleExists(Conflict):
    """A rule that allows exactly what a rule of the group already allows."""

    code = "security-group-rule-exists"


class VolumeInUse(Conflict):
    """A volume still attached to (or used by) a container."""

    code = "volume-in-use"


class UnsupportedMediaType(ClientError):
    status = 415


class PayloadTooLarge(ClientError):
    """More data than this service moves in one request (a body, an archive)."""

    status = 413


class TooManyRequests(ClientError):
    """Refused for now (e.g. too many failed logins); ``fields['retry_after']`` in seconds."""

    status = 429
    code = "too-many-requests"


class Unavailable(DockyardError):
    """A dependency (runtime, agent, worker pool) cannot serve the request now."""

    status = 503


class ServiceBusy(Unavailable):
    """An agent cannot take work now (saturated, shutting down, unreachable)."""

    public = True


class DatabaseUnavailable(Unavailable):
    """The database refused or dropped the connection (restarting, out of connections)."""

    public = True


class BrokerUnavailable(Unavailable):
    """The message broker refused the connection for longer than the send retries."""

    public = True


class NoValidHost(Unavailable):
    public = True


class DriverError(DockyardError):
    """The runtime refused or failed an operation in a way the user cannot fix."""

    status = 502


class RegistryUnreachable(InvalidInput):
    """A search named a registry that could not be talked to: the client can act on that
    (another registry, or later), and it is not a fault of this service (400)."""

    code = "registry-unreachable"

    public = True
