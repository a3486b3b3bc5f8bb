"""The message broker the cloud-shape processes (and an all-in-one over a broker) share."""

from __future__ import annotations

from oslo_config import cfg

from dockyard.config import rpc
from dockyard.rpc.messaging import Broker, BrokerSettings


def open_broker(conf: cfg.ConfigOpts) -> Broker:
    view = rpc.view(conf)
    return Broker(
        BrokerSettings(
            transport_url=view.transport_url,
            exchange=view.exchange,
            compute_topic=view.compute_topic,
            conductor_topic=view.conductor_topic,
            call_timeout=view.call_timeout,
            send_retries=view.send_retries,
            config_files=view.config_files,
        )
    )
