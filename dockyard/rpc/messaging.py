"""The oslo.messaging transport: ComputeAPI and ControlAPI over a broker (RabbitMQ).

The only module that imports oslo.messaging. Arguments and results travel as the
JSON forms of ``codec``; a call's reply is ``{"result": ...}`` or ``{"error":
DockyardError.to_wire()}``, so a remote ``DockyardError`` is raised again here as
the same class. Agents listen on ``<compute_topic>.<host>``; conductors on
``<conductor_topic>`` (any one of them answers). Servers run oslo.messaging's
threading executor; nothing is monkey-patched.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import oslo_messaging
from oslo_config import cfg

from dockyard.domain.container_request import PullPolicy
from dockyard.domain.errors import BrokerUnavailable, DockyardError, ServiceBusy, Unavailable
from dockyard.domain.firewall import HostFirewall
from dockyard.domain.host_agent import HostAgent
from dockyard.domain.image_records import ImageRecord
from dockyard.domain.models import (
    Archive,
    Container,
    ExecResult,
    LogOptions,
    ProcessTable,
    StatsSnapshot,
)
from dockyard.domain.networks import HostNetwork
from dockyard.domain.registries import RegistryAuth
from dockyard.domain.volumes import HostVolumes
from dockyard.observability.context import RequestScope, bound, current
from dockyard.observability.metrics import RPC_ERRORS
from dockyard.rpc import codec
from dockyard.rpc.api import ComputeAPIEndpoint, ControlAPI
from dockyard.rpc.messages import (
    VERSION,
    CommitContainer,
    ContainerOperation,
    ContainerReport,
    CreateContainer,
    EventReport,
    HostImages,
    HostReport,
    ImageReport,
    PullImage,
    RebuildContainer,
    ResizeContainer,
)

LOG = logging.getLogger(__name__)

COMPUTE = codec.signatures(ComputeAPIEndpoint)
CONTROL = codec.signatures(ControlAPI)
#: ComputeAPI methods sent without waiting: the agent reports their outcome through ControlAPI.
COMPUTE_CASTS = frozenset(
    {"create", "operate", "resize", "rebuild", "pull_image", "networks_changed"}
)
#: ControlAPI methods sent without waiting: the report ending an operation that succeeded.
CONTROL_CASTS = frozenset({"settle"})
#: Seconds a conductor keeps retrying a cast report while the database is unavailable
#: (an agent waits as long for a call: see dockyard.compute.patient_control).
CAST_PATIENCE = 120.0


def _global_only_opts() -> list[tuple[str, list[cfg.Opt]]]:
    """Options oslo.messaging registers only on ``cfg.CONF`` yet reads from any conf it is given."""
    found = []
    try:
        from oslo_messaging._metrics import client as metrics

        found.append(("oslo_messaging_metrics", list(metrics.oslo_messaging_metrics)))
    except ImportError:
        pass
    try:
        from oslo_messaging._tracing import client as tracing

        found.append(("oslo_messaging_tracing", list(tracing.oslo_messaging_tracing)))
    except ImportError:
        pass
    return found


@dataclass(frozen=True)
class BrokerSettings:
    """Where the broker is and how Dockyard uses it (built by ``cmd`` from [rpc])."""

    transport_url: str
    exchange: str = "dockyard"
    compute_topic: str = "dockyard-compute"
    conductor_topic: str = "dockyard-conductor"
    call_timeout: int = 60
    send_retries: int = 3
    #: Files oslo.messaging reads its own sections from ([oslo_messaging_rabbit]...).
    config_files: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"BrokerSettings(exchange={self.exchange!r})"


class Broker:
    """A connection pool to the broker, with oslo.messaging's options read from our files.

    oslo.messaging gets a ConfigOpts of its own, loaded from the same files, so its
    options ([oslo_messaging_rabbit]...) never collide with Dockyard's.
    """

    def __init__(self, config: BrokerSettings) -> None:
        self.config = config
        conf = cfg.ConfigOpts()
        for group, opts in _global_only_opts():
            conf.register_opts(opts, group=group)
        conf([], project="dockyard", default_config_files=list(config.config_files))
        self.transport = oslo_messaging.get_rpc_transport(conf, url=config.transport_url)

    def target(self, topic: str, server: str | None = None) -> Any:
        return oslo_messaging.Target(
            exchange=self.config.exchange, topic=topic, server=server, version=VERSION
        )

    def client(self, topic: str) -> Any:
        return oslo_messaging.get_rpc_client(
            self.transport,
            self.target(topic),
            timeout=self.config.call_timeout,
            retry=self.config.send_retries,
            # Publish as mandatory: a message no queue would take fails at once.
            transport_options=oslo_messaging.TransportOptions(at_least_once=True),
        )

    def close(self) -> None:
        self.transport.cleanup()


# -- clients ---------------------------------------------------------------------


class _Client:
    def __init__(
        self,
        broker: Broker,
        topic: str,
        methods: Mapping[str, codec.Signature],
        casts: frozenset[str],
    ) -> None:
        self.broker = broker
        self.methods = methods
        self.casts = casts
        self._rpc = broker.client(topic)

    def send(self, name: str, server: str | None, peer: str, **args: Any) -> Any:
        sig = self.methods[name]
        wire = codec.encode_args(sig, args)
        rpc = self._rpc.prepare(server=server) if server else self._rpc
        # The request this is sent for travels in the message's context, so the peer's
        # log lines (and audit records) name it.
        scope = current()
        ctxt = scope.as_dict() if scope else {}
        try:
            if name in self.casts:
                rpc.cast(ctxt, name, **wire)
                return None
            reply = rpc.call(ctxt, name, **wire)
        except Exception as exc:
            RPC_ERRORS.labels(name, _error_kind(exc)).inc()
            raise self._failure(exc, name, peer) from exc
        try:
            return codec.unwrap(sig, reply)
        except codec.WireFormatError as exc:
            RPC_ERRORS.labels(name, "malformed_reply").inc()
            raise DockyardError(f"{peer} sent a malformed reply to {name}: {exc}") from exc

    def _failure(self, exc: Exception, name: str, peer: str) -> DockyardError:
        """The domain error a client sees for a call that failed in the transport."""
        if isinstance(exc, oslo_messaging.MessagingTimeout):
            timeout = self.broker.config.call_timeout
            return ServiceBusy(f"{peer} did not answer {name} within {timeout} s.")
        if isinstance(exc, oslo_messaging.MessageUndeliverable):
            return ServiceBusy(f"{peer} is not listening (no agent or service registered).")
        if isinstance(exc, oslo_messaging.MessageDeliveryFailure):
            # Clients learn what to do; the broker's address stays in the log.
            LOG.warning("RPC %s to %s failed: %s", name, peer, exc)
            return BrokerUnavailable("The message broker is unavailable; try again shortly.")
        if isinstance(exc, oslo_messaging.RemoteError):
            return DockyardError(f"{name} failed in {peer}: {exc.exc_type}: {exc.value}")
        if isinstance(exc, oslo_messaging.MessagingException):
            return Unavailable(f"RPC {name} to {peer} failed: {exc}")
        # While the broker restarts, kombu and amqp raise their own errors (and
        # plain socket ones) past oslo.messaging: to a client that is an outage.
        LOG.warning("RPC %s to %s failed in the transport", name, peer, exc_info=exc)
        return BrokerUnavailable("The message broker is unavailable; try again shortly.")


def _error_kind(exc: Exception) -> str:
    """The metric label of a failed call: one of a few fixed kinds."""
    if isinstance(exc, oslo_messaging.MessagingTimeout):
        return "timeout"
    if isinstance(exc, oslo_messaging.MessageUndeliverable):
        return "undeliverable"
    if isinstance(exc, oslo_messaging.MessageDeliveryFailure):
        return "delivery"
    if isinstance(exc, oslo_messaging.RemoteError):
        return "remote"
    if isinstance(exc, oslo_messaging.MessagingException):
        return "messaging"
    return "transport"


class MessagingComputeAPI:
    """``ComputeAPI`` over the broker: each call goes to the agent serving ``host``."""

    def __init__(self, broker: Broker) -> None:
        self._client = _Client(broker, broker.config.compute_topic, COMPUTE, COMPUTE_CASTS)

    def _send(self, name: str, host: str, **args: Any) -> Any:
        return self._client.send(name, host, f"The agent of host {host}", **args)

    def create(self, host: str, message: CreateContainer) -> None:
        self._send("create", host, message=message)

    def operate(self, host: str, message: ContainerOperation) -> None:
        self._send("operate", host, message=message)

    def check_image(
        self, host: str, image: str, pull_policy: PullPolicy, auth: RegistryAuth | None
    ) -> None:
        self._send("check_image", host, image=image, pull_policy=pull_policy, auth=auth)

    def logs(self, host: str, uuid: str, options: LogOptions) -> str:
        result: str = self._send("logs", host, uuid=uuid, options=options)
        return result

    def execute(self, host: str, uuid: str, command: Sequence[str]) -> ExecResult:
        result: ExecResult = self._send("execute", host, uuid=uuid, command=command)
        return result

    def update_limits(self, host: str, uuid: str, cpu: float, memory_mib: int) -> None:
        self._send("update_limits", host, uuid=uuid, cpu=cpu, memory_mib=memory_mib)

    def resize(self, host: str, message: ResizeContainer) -> None:
        self._send("resize", host, message=message)

    def rebuild(self, host: str, message: RebuildContainer) -> None:
        self._send("rebuild", host, message=message)

    def commit(self, host: str, message: CommitContainer) -> str:
        result: str = self._send("commit", host, message=message)
        return result

    def top(self, host: str, uuid: str, ps_args: str | None) -> ProcessTable:
        result: ProcessTable = self._send("top", host, uuid=uuid, ps_args=ps_args)
        return result

    def stats(self, host: str, uuid: str) -> StatsSnapshot:
        result: StatsSnapshot = self._send("stats", host, uuid=uuid)
        return result

    def get_archive(self, host: str, uuid: str, path: str) -> Archive:
        result: Archive = self._send("get_archive", host, uuid=uuid, path=path)
        return result

    def put_archive(self, host: str, uuid: str, path: str, data: bytes) -> None:
        self._send("put_archive", host, uuid=uuid, path=path, data=data)

    def exec_session(self, host: str, uuid: str, command: Sequence[str], tty: bool) -> str:
        result: str = self._send("exec_session", host, uuid=uuid, command=command, tty=tty)
        return result

    def exec_resize(self, host: str, uuid: str, exec_id: str, height: int, width: int) -> None:
        self._send("exec_resize", host, uuid=uuid, exec_id=exec_id, height=height, width=width)

    def resize_tty(self, host: str, uuid: str, height: int, width: int) -> None:
        self._send("resize_tty", host, uuid=uuid, height=height, width=width)

    def pull_image(self, host: str, message: PullImage) -> None:
        self._send("pull_image", host, message=message)

    def remove_image(self, host: str, reference: str) -> None:
        self._send("remove_image", host, reference=reference)

    def search_images(
        self, host: str, term: str, exact: bool, auth: RegistryAuth | None
    ) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._send(
            "search_images", host, term=term, exact=exact, auth=auth
        )
        return result

    def apply_firewall(self, host: str, firewall: HostFirewall) -> None:
        self._send("apply_firewall", host, firewall=firewall)

    def networks_changed(self, host: str) -> None:
        self._send("networks_changed", host)


class MessagingControlAPI:
    """``ControlAPI`` over the broker: agents' reports, answered by any conductor.

    Every method but ``settle`` is a call, so a report is applied before the agent
    sends the next, and a refused report (or a ``Conflict`` from ``resize_claim``)
    reaches the agent. ``settle`` is a cast: the agent sends nothing about the same
    container until it is applied (the next operation comes through the API, which
    admits it only once the record shows the previous one ended).
    """

    def __init__(self, broker: Broker) -> None:
        self._client = _Client(broker, broker.config.conductor_topic, CONTROL, CONTROL_CASTS)

    def _send(self, name: str, **args: Any) -> Any:
        return self._client.send(name, None, "The conductor", **args)

    def report(self, message: ContainerReport) -> bool:
        return bool(self._send("report", message=message))

    def settle(self, message: ContainerReport) -> None:
        self._send("settle", message=message)

    def record_event(self, message: EventReport) -> None:
        self._send("record_event", message=message)

    def container_removed(self, uuid: str) -> None:
        self._send("container_removed", uuid=uuid)

    def report_host(self, message: HostReport) -> None:
        self._send("report_host", message=message)

    def resize_claim(self, uuid: str, cpu: float, memory_mib: int) -> bool:
        return bool(self._send("resize_claim", uuid=uuid, cpu=cpu, memory_mib=memory_mib))

    def containers_on_host(self, host: str) -> list[Container]:
        result: list[Container] = self._send("containers_on_host", host=host)
        return result

    def container(self, uuid: str) -> Container | None:
        result: Container | None = self._send("container", uuid=uuid)
        return result

    def spend_console_token(self, token: str, uuid: str, exec_id: str | None) -> bool:
        return bool(self._send("spend_console_token", token=token, uuid=uuid, exec_id=exec_id))

    def installation(self) -> str:
        return str(self._send("installation"))

    def claim_host(self, agent: HostAgent, stale_after: float) -> HostAgent | None:
        holder: HostAgent | None = self._send("claim_host", agent=agent, stale_after=stale_after)
        return holder

    def release_host(self, agent: HostAgent) -> None:
        self._send("release_host", agent=agent)

    def report_image(self, message: ImageReport) -> bool:
        return bool(self._send("report_image", message=message))

    def sync_images(self, message: HostImages) -> None:
        self._send("sync_images", message=message)

    def image_records(self, host: str) -> list[ImageRecord]:
        result: list[ImageRecord] = self._send("image_records", host=host)
        return result

    def host_networks(self, host: str) -> list[HostNetwork]:
        result: list[HostNetwork] = self._send("host_networks", host=host)
        return result

    def host_firewall(self, host: str) -> HostFirewall:
        result: HostFirewall = self._send("host_firewall", host=host)
        return result

    def host_volumes(self, host: str) -> HostVolumes:
        result: HostVolumes = self._send("host_volumes", host=host)
        return result

    def volumes_removed(self, host: str, volume_ids: list[str]) -> None:
        self._send("volumes_removed", host=host, volume_ids=volume_ids)

    def network_detached(self, uuid: str, network_id: str) -> None:
        self._send("network_detached", uuid=uuid, network_id=network_id)


# -- servers ---------------------------------------------------------------------


class _Endpoint:
    """Exposes ``target``'s methods to oslo.messaging's dispatcher, decoding and encoding."""

    def __init__(
        self,
        target: object,
        methods: Mapping[str, codec.Signature],
        casts: frozenset[str],
        label: str,
        patience: float = 0.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._target = target
        self._methods = methods
        self._casts = casts
        self._label = label
        #: Seconds a cast is retried while its target raises ``Unavailable``: nobody
        #: waits for its outcome to retry it.
        self._patience = patience
        self._sleep = sleep
        self._clock = clock
        #: The protocol version served: the dispatcher refuses calls of another major.
        self.target = oslo_messaging.Target(version=VERSION)
        for name in methods:
            setattr(self, name, functools.partial(self._dispatch, name))

    def _dispatch(self, name: str, ctxt: Any, **wire: Any) -> Any:
        scope = RequestScope.from_dict(ctxt) if isinstance(ctxt, dict) else None
        with bound(scope):
            return self._serve(name, **wire)

    def _serve(self, name: str, **wire: Any) -> Any:
        sig = self._methods[name]
        try:
            args = codec.decode_args(sig, wire)
            if name in self._casts:
                self._patiently(name, lambda: getattr(self._target, name)(*args))
                return None
            return codec.reply(getattr(self._target, name)(*args))
        except codec.WireFormatError as exc:
            error = DockyardError(f"{self._label} got a malformed {name}: {exc}")
        except DockyardError as exc:
            error = exc
        except Exception as exc:
            LOG.exception("%s: %s crashed", self._label, name)
            error = DockyardError(f"{name} crashed in {self._label}: {type(exc).__name__}: {exc}")
        if name in self._casts:
            LOG.warning("%s: %s failed: %s", self._label, name, error.detail)
            return None
        return codec.reply_error(error)

    def _patiently(self, name: str, apply: Callable[[], object]) -> None:
        """Apply a cast, retrying with backoff while its target is unavailable."""
        deadline = self._clock() + self._patience
        delay = 0.5
        while True:
            try:
                apply()
                return
            except Unavailable as exc:
                if self._clock() + delay > deadline:
                    raise
                LOG.warning("%s: %s failed (%s); retrying in %.1f s", self._label, name, exc, delay)
                self._sleep(delay)
                delay = min(delay * 2, 10.0)


class Server:
    """A running oslo.messaging RPC server."""

    def __init__(self, rpc_server: Any) -> None:
        self._server = rpc_server

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        """Stop taking messages and wait for the handlers in flight."""
        self._server.stop()
        self._server.wait()


def _server(broker: Broker, topic: str, server: str, endpoint: _Endpoint) -> Server:
    rpc_server = oslo_messaging.get_rpc_server(
        broker.transport,
        broker.target(topic, server),
        [endpoint],
        access_policy=oslo_messaging.DefaultRPCAccessPolicy,
    )
    if getattr(rpc_server, "executor_type", "threading") != "threading":
        raise RuntimeError("oslo.messaging chose a non-threading executor (is eventlet patched?)")
    return Server(rpc_server)


def compute_server(broker: Broker, host: str, agent: ComputeAPIEndpoint) -> Server:
    """A server delivering ``<compute_topic>.<host>`` to ``agent``; call ``start()``."""
    endpoint = _Endpoint(agent, COMPUTE, COMPUTE_CASTS, f"agent {host}")
    return _server(broker, broker.config.compute_topic, host, endpoint)


def control_server(broker: Broker, name: str, control: ControlAPI) -> Server:
    """A server delivering ``<conductor_topic>`` (and ``.<name>``) to ``control``."""
    endpoint = _Endpoint(control, CONTROL, CONTROL_CASTS, f"conductor {name}", CAST_PATIENCE)
    return _server(broker, broker.config.conductor_topic, name, endpoint)
