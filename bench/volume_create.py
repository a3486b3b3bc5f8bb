"""Create → Running with a new 1 GiB volume: Dockyard's API vs the same steps by hand.

Dockyard: ``POST /v1/containers?run=true`` with ``mounts: [{"size": 1, ...}]``,
then wait for ``Running``. Raw: what an operator would do for an equally sized,
enforced volume: a sparse 1 GiB file, ``mkfs.ext4``, a loop mount, a ``local``
engine volume binding it, then docker-py create + start. The two alternate,
``--rounds`` times each; nothing is timed while cleaning up. Needs root.

    python -m bench.volume_create --rounds 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import docker

from bench.clients import CPU, DOCKER_URL, IMAGE, MEMORY_MIB, MICROVERSION, ApiClient, BenchError
from bench.service import DockyardService

COMMAND = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
GIB = 1024**3


def dockyard_once(client: ApiClient) -> float:
    body = {
        "image": IMAGE,
        "command": COMMAND,
        "memory": MEMORY_MIB,
        "cpu": CPU,
        "mounts": [{"size": 1, "destination": "/data"}],
    }
    began = time.perf_counter()
    response = client.session.post(f"{client.url}/v1/containers?run=true", json=body, timeout=60)
    if response.status_code != 202:
        raise BenchError(f"create answered {response.status_code}: {response.text[:300]}")
    uuid_ = str(response.json()["uuid"])
    client.wait_for(uuid_, "Running")
    took = time.perf_counter() - began
    client.delete_and_wait(uuid_)
    return took


def raw_once(api: docker.APIClient, root: Path) -> float:
    name = f"bench-vol-{uuid.uuid4().hex[:12]}"
    image, mountpoint = root / f"{name}.img", root / name
    began = time.perf_counter()
    with open(image, "xb") as handle:
        handle.truncate(GIB)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "0", "-E", "nodiscard", str(image)], check=True)
    mountpoint.mkdir()
    subprocess.run(["mount", "-o", "loop,nosuid,nodev", str(image), str(mountpoint)], check=True)
    api.create_volume(
        name, driver="local", driver_opts={"type": "none", "o": "bind", "device": str(mountpoint)}
    )
    host_config = api.create_host_config(
        mem_limit=MEMORY_MIB * 2**20,
        memswap_limit=MEMORY_MIB * 2**20,
        nano_cpus=int(CPU * 1e9),
        binds={name: {"bind": "/data", "mode": "rw"}},
    )
    created = api.create_container(IMAGE, command=COMMAND, host_config=host_config)
    api.start(created["Id"])
    took = time.perf_counter() - began
    api.remove_container(created["Id"], force=True)
    api.remove_volume(name)
    subprocess.run(["umount", str(mountpoint)], check=True)
    mountpoint.rmdir()
    image.unlink()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-vol-") as tmp:
        root = Path(tmp)
        service = DockyardService.new(root / "service")
        service.start()
        client = ApiClient(service.url)
        client.session.headers["OpenStack-API-Version"] = MICROVERSION
        api = docker.APIClient(base_url=DOCKER_URL, timeout=120)
        raw_root = root / "raw"
        raw_root.mkdir()
        try:
            dockyard_once(client)  # warm-up: the image check, first connections
            raw_once(api, raw_root)
            ours: list[float] = []
            theirs: list[float] = []
            for _ in range(args.rounds):
                ours.append(dockyard_once(client))
                theirs.append(raw_once(api, raw_root))
        finally:
            service.stop()
            api.close()
    result = {
        "rounds": args.rounds,
        "dockyard_s": ours,
        "raw_s": theirs,
        "dockyard_median_s": statistics.median(ours),
        "raw_median_s": statistics.median(theirs),
        "ratio": statistics.median(ours) / statistics.median(theirs),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    (args.out / f"volume-create-{stamp}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
