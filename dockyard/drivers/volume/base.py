"""The volume interfaces: records and attachments (control side), data on a host (host side).

A volume backend has two halves, because agents hold no database access:

- ``VolumeDriver`` runs beside the database (API, conductor). It keeps the
  volume records, resolves a create's ``mounts``, counts volume GiB in the
  project's ``disk`` quota, records which container holds which volume and
  refuses what would break one (deleting a volume in use, attaching it twice).
- ``VolumeHost`` runs in the agent of each host. It makes a volume's data
  exist on the host (``realise``), exposes it to the engine as a named volume
  that containers mount by name, and removes it.

The ``local`` backend keeps Dockyard records and, on each host, one sparse
file per volume holding an ext4 filesystem of exactly the volume's size,
loop-mounted (``dockyard.drivers.volume.local``). Its data lives on one host:
a container using an existing volume is placed on that volume's host.

A ``cinder`` backend is designed here, not built. It would use the same two
interfaces, calling a cloud's block-storage v3 API with a service user:

- control side: ``create`` → ``POST /v3/{project_id}/volumes`` with
  ``{"volume": {"size": <GiB>, "name": ...}}``, then ``GET`` the volume until
  its ``status`` is ``available`` (``error`` → ``DriverError``); ``find`` → ``GET
  /v3/{project_id}/volumes/{id}``, else ``GET .../volumes?name=<name>`` (Cinder
  names are not unique: several → ``Conflict``); ``delete`` → ``DELETE
  /v3/{project_id}/volumes/{id}`` after checking it has no attachment (Cinder
  answers 400 for a volume that is not ``available``/``error``; the driver
  reports ``VolumeInUse`` 409 instead). Cinder keeps its own ``gigabytes``
  quota (it answers 413 when it is passed); the driver would report that as
  ``OverQuota``, and Dockyard's ``disk`` quota would still count the GiB.
- attachments (the attachments API, microversion 3.27 or later; 3.44 for
  ``os-complete``): ``attach`` → ``POST /v3/{project_id}/attachments`` with
  ``{"attachment": {"volume_uuid": ..., "instance_uuid": <container id>,
  "connector": <the host's connector>}}``, whose answer carries the
  ``connection_info``; once the host has connected it, ``POST
  .../attachments/{id}/action`` with ``{"os-complete": null}`` marks the
  volume ``in-use``. ``detach`` → ``DELETE /v3/{project_id}/attachments/{id}``
  (the volume returns to ``available`` when no attachment is left).
- host side: the connector is what os-brick's
  ``os_brick.initiator.connector.get_connector_properties(root_helper, my_ip,
  multipath, enforce_multipath)`` reports for the host (sent from the agent to
  the control side, which passes it in the attachment create); ``realise``
  builds ``InitiatorConnector.factory(protocol, root_helper)`` for the
  ``driver_volume_type`` of the attachment's ``connection_info`` and calls
  ``connect_volume`` with that connection information; the answer's ``path``
  is the block device. It formats that device only when the control side says
  Dockyard just created the volume and never formatted it (a flag in the
  volume's metadata, ``POST /v3/{project_id}/volumes/{id}/metadata``, set
  after the first ``mkfs``), mounts it at a per-volume directory and exposes
  that directory to the engine exactly as the local host side does.
  ``remove`` unmounts it and calls ``disconnect_volume`` with the same
  connection information and the ``connect_volume`` answer. The
  ``HostVolume`` it receives would then also carry the ``connection_info``.

The block-storage API's methods would map the same way: ``create_available``
→ the same ``POST`` (the volume needs no home host, any host reaching the backend
can connect it); ``discard`` → the attachment check, then the ``DELETE``;
``list_volumes``/``list_all_volumes`` → ``GET /v3/{project_id}/volumes/detail``
(``all_tenants=1`` for all); ``get`` → ``GET .../volumes/{id}``; ``describe`` →
``PUT .../volumes/{id}`` with the name and description. With this backend the
all-in-one would not serve its own ``/volume/v3``: the cloud's Cinder is in the
cloud's catalog.

Every value crossing between the halves is a ``domain`` dataclass, so it can
travel in an RPC message. Errors are domain errors: ``InvalidInput`` (400),
``VolumeUnsupported`` (400: this host cannot provide the volume as asked),
``OverQuota`` (403), ``VolumeNotFound`` (404), ``VolumeInUse`` and other
``Conflict`` subclasses (409), ``Unavailable`` (503) when the backend cannot be
reached, ``DriverError`` (502) for any other backend failure.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

from dockyard.domain.volumes import HostVolume, Volume, VolumeAttachment


@dataclass(frozen=True)
class RealisedVolume:
    """A volume as one host holds it, and which of its parts exist (for reconciling)."""

    volume_id: str
    #: The engine volume's name containers mount ("" when the engine has none).
    engine_name: str
    #: Size of the backing store in bytes (0 when it is gone).
    size_bytes: int
    #: Whether the filesystem is mounted where the engine volume points.
    mounted: bool
    #: Runtime ids of the containers (started or only created) that use it.
    containers: tuple[str, ...] = ()


class VolumeDriver(abc.ABC):
    """Volumes as records, their attachments and quota: the control side.

    Every method taking ``project_id`` sees only that project's volumes;
    another project's volume is ``VolumeNotFound`` (its existence is private).
    """

    @abc.abstractmethod
    def create(
        self, project_id: str, size_gib: int, name: str = "", *, auto_remove: bool = False
    ) -> Volume:
        """Record a new volume (``creating`` until a host realises it).

        ``size_gib`` and ``name`` are checked as ``domain.volumes.new_volume``
        does (400). The GiB count in the project's ``disk`` quota, beside its
        containers' disk: passing it → ``OverQuota`` and nothing recorded.
        ``auto_remove`` marks a volume made by a create's ``size``, deleted
        with its container.
        """

    @abc.abstractmethod
    def find(self, project_id: str, name_or_id: str) -> Volume:
        """The project's volume by id, else by name: missing → ``VolumeNotFound``;
        a name that several of the project's volumes share → ``Conflict``."""

    @abc.abstractmethod
    def list_volumes(self, project_id: str) -> tuple[Volume, ...]:
        """The project's volumes, oldest first."""

    @abc.abstractmethod
    def placed(self, volume_id: str, host: str) -> Volume:
        """Record that ``host`` realised the volume: it lives there and is ``available``.

        A volume already placed on another host → ``Conflict`` (local data
        does not move).
        """

    @abc.abstractmethod
    def attach(self, project_id: str, volume_id: str, attachment: VolumeAttachment) -> Volume:
        """Record that ``attachment.container_id`` holds the volume; it becomes ``in-use``.

        Refused as ``domain.volumes.ensure_attachable`` does: another project's
        → 404, held by another container → ``VolumeInUse`` (409), not
        ``available`` or on another host → 409. Idempotent for the same
        container: a retry returns the volume unchanged.
        """

    @abc.abstractmethod
    def held_by(self, container_id: str) -> tuple[Volume, ...]:
        """The volumes the container holds (what its delete detaches, or removes)."""

    @abc.abstractmethod
    def detach(self, volume_id: str, container_id: str) -> None:
        """Forget that the container holds the volume (``available`` again when no one does).

        Not attached, or the volume gone → success (detaching twice succeeds).
        """

    @abc.abstractmethod
    def delete(self, project_id: str, volume_id: str) -> Volume:
        """Mark the project's volume ``deleting`` and return it, for its host to remove.

        Held by a container → ``VolumeInUse`` (409) and nothing changed. The
        record goes once the host has removed the data (``forget``), and with
        it the GiB from the project's ``disk`` usage.
        """

    @abc.abstractmethod
    def forget(self, volume_id: str) -> None:
        """Drop the record of a volume whose data its host removed. Absent → success."""

    @abc.abstractmethod
    def volumes_for_host(self, host: str) -> tuple[HostVolume, ...]:
        """Every volume placed on ``host`` and not being deleted.

        The host's agent keeps these realised (mounted again after a reboot).
        """

    @abc.abstractmethod
    def deleting_on_host(self, host: str) -> tuple[str, ...]:
        """Ids of the volumes placed on ``host`` that are being deleted.

        The host's agent removes their data, then the record is ``forget``-ed.
        Data without any record is reported, never removed: a record says
        when data may go.
        """

    # The block-storage API's requests (``dockyard.api.block_storage``).

    @abc.abstractmethod
    def create_available(
        self, project_id: str, size_gib: int, name: str = "", description: str = ""
    ) -> Volume:
        """Record a volume no container holds yet: ``available`` at once, on no host.

        Checked and counted in ``disk`` as ``create``. Its data is made on the
        host of the first container that mounts it (``attach`` places it there).
        """

    @abc.abstractmethod
    def discard(self, project_id: str, volume_id: str) -> Volume:
        """Delete the project's volume (by id) as a block-storage delete asks.

        Refused as ``delete`` is (404, 409 while held). A volume whose data no
        host holds yet is gone at once; one placed on a host is ``deleting``
        until that host has removed its data. Returns the volume as it was marked.
        """

    @abc.abstractmethod
    def list_all_volumes(self) -> tuple[Volume, ...]:
        """Every project's volumes, oldest first (for an admin)."""

    @abc.abstractmethod
    def get(self, volume_id: str) -> Volume:
        """Any project's volume by id (for an admin); missing → ``VolumeNotFound``."""

    @abc.abstractmethod
    def describe(self, volume_id: str, name: str, description: str) -> Volume:
        """Give the volume (by id, found by the caller) a new name and description.

        The name is checked as ``create`` checks it (400); a volume being deleted may
        still be renamed (its record goes anyway).
        """


class VolumeHost(abc.ABC):
    """Volume data on one host, exposed to its engine: the host side.

    Everything it makes is labelled (engine volumes) or kept under a directory
    of its installation and host (files, mount points), and it never changes
    anything else.
    """

    @abc.abstractmethod
    def check(self) -> None:
        """Refuse with ``VolumeUnsupported`` (400), naming the reason, when this host
        cannot provide volumes of an enforced size; success otherwise.

        Callers check before making anything, so a create that needs a volume
        is refused on such a host as ``disk`` is on a host whose storage
        driver cannot limit it.
        """

    @abc.abstractmethod
    def realise(self, volume: HostVolume) -> RealisedVolume:
        """Make the volume's data exist, mounted and exposed as an engine volume.

        Idempotent and safe to call after a crash or a reboot: data that exists
        is never formatted again (a new volume is formatted once, before it is
        ever visible), a filesystem not mounted is mounted, an engine volume
        of this installation and host is reused. A backing store of another
        size than asked → ``Conflict``; an engine volume of that name that is
        not this installation's and host's → ``Conflict``.
        """

    @abc.abstractmethod
    def remove(self, volume_id: str) -> None:
        """Remove the volume's engine volume, filesystem and data.

        Used by any container (started or not) → ``VolumeInUse`` (409) and
        nothing removed. Absent → success. An engine volume of that name that
        is not this installation's and host's is left alone.
        """

    @abc.abstractmethod
    def realised(self) -> tuple[RealisedVolume, ...]:
        """The volumes of this installation and host, whole or partly made (for reconciling)."""


def engine_volume_name(volume_id: str) -> str:
    """The engine volume's name for a Dockyard volume (what containers mount)."""
    return f"dockyard-volume-{volume_id}"
