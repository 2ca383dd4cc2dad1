"""The spec both backends execute survives its JSON form (a container's config.json)."""

import json

from dockpy.runtime.spec import (
    ContainerSpec, Process, Resources, RootFilesystem, Rlimit, TmpfsMount, VolumeMount, spec_from_json, spec_to_json,
)


def test_a_spec_round_trips_through_json():
    spec = ContainerSpec(
        id="c1",
        rootfs=RootFilesystem(("/l2", "/l1"), "/u", "/w", "/m", read_only=True),
        process=Process(("sh", "-c", "true"), env=("A=1",), rlimits=(Rlimit("RLIMIT_NOFILE", 10, 20),),
                        additional_groups=("wheel", "4242")),
        hostname="h",
        volumes=(VolumeMount("/src", "/dst", True),),
        resources=Resources(memory_bytes=1 << 30, cpus=0.5, pids_limit=10),
        init=True,
        tmpfs=(TmpfsMount("/run", ("rw", "size=1m")),),
    )
    assert spec_from_json(json.loads(json.dumps(spec_to_json(spec)))) == spec
