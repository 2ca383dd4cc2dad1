"""``dockpy save``/``dockpy load`` end to end, and with the real peer tools where they are installed.

The peers (skopeo, umoci, podman, docker) are started by the tests themselves;
a test whose tool is missing skips and says which. Podman runs with its own
``--root``/``--runroot`` (vfs storage: no mounts left behind) and a temporary
CONTAINERS_CONF whose ulimits fit this machine's hard limits, so the host's
podman storage is never touched. Docker is a dockerd the session starts
(``docker_daemon`` in tests/conftest.py, everything under a temp dir).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import run_dockpy
from tests.peer_isolation import remove_cgroup_tree, with_private_var_lib
from tests.store_listing import store_listing

IMAGE = "localhost/busybox:1"
PROBE = "hello-from-dockpy"


def requires_tool(name: str):
    return pytest.mark.skipif(shutil.which(name) is None, reason=f"{name} is not installed")


def dockpy_in(root: Path, *args: str, **kwargs):
    return run_dockpy("--root", str(root), *args, **kwargs)


def run_tool(*command: str, env: dict | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} exited {result.returncode}:\n{result.stderr}")
    return result


def manifest_digest(root: Path, reference: str) -> str:
    (summary,) = json.loads(dockpy_in(root, "images", reference, "--format", "json", check=True).stdout)
    return summary["Digest"]


def image_id(root: Path, reference: str) -> str:
    (summary,) = json.loads(dockpy_in(root, "images", reference, "--format", "json", check=True).stdout)
    return summary["Id"]


@pytest.fixture(scope="module")
def source_root(busybox_tar, tmp_path_factory) -> Path:
    """A root holding the busybox rootfs as ``localhost/busybox:1``, imported once for the module."""
    root = tmp_path_factory.mktemp("save-source") / "root"
    dockpy_in(root, "import", str(busybox_tar), IMAGE, check=True)
    return root


@pytest.fixture(scope="module")
def archives(source_root, tmp_path_factory) -> dict[str, Path]:
    """dockpy's archives of the image: OCI tar, docker tar, gzip OCI layout directory."""
    out = tmp_path_factory.mktemp("archives")
    paths = {"oci": out / "oci.tar", "docker": out / "docker.tar", "oci-gzip-dir": out / "layout"}
    dockpy_in(source_root, "save", "--format", "oci", "-o", str(paths["oci"]), IMAGE, check=True)
    dockpy_in(source_root, "save", "-o", str(paths["docker"]), IMAGE, check=True)
    dockpy_in(source_root, "save", "--compression", "gzip", "-o", f"{paths['oci-gzip-dir']}/", IMAGE, check=True)
    return paths


# -- dockpy to dockpy -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["oci", "oci-gzip-dir"])
def test_an_oci_round_trip_keeps_the_manifest_digest_unless_recompressed(kind, archives, source_root, tmp_path):
    result = dockpy_in(tmp_path / "root", "load", "-i", str(archives[kind]), check=True)
    assert result.stdout == f"Loaded image: {IMAGE}\n"
    assert image_id(tmp_path / "root", IMAGE) == image_id(source_root, IMAGE)
    same_manifest = manifest_digest(tmp_path / "root", IMAGE) == manifest_digest(source_root, IMAGE)
    assert same_manifest is (kind == "oci")


def test_a_docker_round_trip_keeps_the_image_id(archives, source_root, tmp_path):
    dockpy_in(tmp_path / "root", "load", "-i", str(archives["docker"]), check=True)
    assert image_id(tmp_path / "root", IMAGE) == image_id(source_root, IMAGE)


def test_save_to_standard_output_and_load_from_standard_input(source_root, tmp_path):
    saved = subprocess.run([sys.executable, "-m", "dockpy", "--root", str(source_root), "save", "--format", "oci", IMAGE],
                           capture_output=True, check=True)
    result = dockpy_in(tmp_path / "root", "load", input=saved.stdout, check=True)
    assert result.stdout == f"Loaded image: {IMAGE}\n"
    assert manifest_digest(tmp_path / "root", IMAGE) == manifest_digest(source_root, IMAGE)


def test_a_corrupt_archive_is_one_error_line_exit_125_and_changes_nothing(archives, source_root, tmp_path):
    corrupt = bytearray(archives["oci"].read_bytes())
    corrupt[len(corrupt) // 2] ^= 0xFF
    (tmp_path / "corrupt.tar").write_bytes(bytes(corrupt))
    root = tmp_path / "root"
    dockpy_in(root, "load", "-i", str(archives["docker"]), check=True)
    before = store_listing(root)
    result = dockpy_in(root, "load", "-i", str(tmp_path / "corrupt.tar"))
    assert result.returncode == 125
    assert result.stderr.startswith("dockpy: error: ") and len(result.stderr.strip().splitlines()) == 1
    assert store_listing(root) == before


def test_a_docker_archive_refuses_a_layout_directory(source_root, tmp_path):
    result = dockpy_in(source_root, "save", "--format", "docker", "-o", f"{tmp_path}/out/", IMAGE)
    assert result.returncode == 125 and "not a directory" in result.stderr


def test_loading_a_directory_that_is_no_layout_names_what_it_lacks_without_reading_it(tmp_path):
    directory = tmp_path / "not-a-layout"
    (directory / "sub").mkdir(parents=True)
    (directory / "sub" / "link").symlink_to("/etc/passwd")
    result = dockpy_in(tmp_path / "root", "load", "-i", str(directory))
    assert result.returncode == 125
    assert result.stderr.splitlines() == [
        f"dockpy: error: {directory}: not an image archive: it has neither index.json (OCI layout) "
        "nor manifest.json (docker archive)",
    ]


def test_loading_a_file_that_is_no_tar_names_the_file(tmp_path):
    (tmp_path / "notes.txt").write_text("hello\n" * 200)
    result = dockpy_in(tmp_path / "root", "load", "-i", str(tmp_path / "notes.txt"))
    assert result.returncode == 125
    assert result.stderr.splitlines() == [
        f"dockpy: error: {tmp_path / 'notes.txt'}: not a tar archive: its first 512 bytes are no tar header "
        "(bad checksum)",
    ]


def test_saving_a_missing_image_writes_no_file(source_root, tmp_path):
    result = dockpy_in(source_root, "save", "-o", str(tmp_path / "out.tar"), IMAGE, "missing:1")
    assert result.returncode == 125 and "no such" in result.stderr
    assert list(tmp_path.iterdir()) == []


# -- skopeo ------------------------------------------------------------------------------------------

def skopeo(*args: str) -> subprocess.CompletedProcess:
    return run_tool(*with_private_var_lib(["skopeo", *args]))



@requires_tool("skopeo")
def test_skopeo_inspects_dockpys_oci_archive(archives, source_root):
    inspected = json.loads(skopeo("inspect", f"oci-archive:{archives['oci']}").stdout)
    assert inspected["Digest"] == manifest_digest(source_root, IMAGE)


@requires_tool("skopeo")
def test_skopeo_inspects_dockpys_docker_archive(archives, source_root):
    inspected = json.loads(skopeo("inspect", "--config", f"docker-archive:{archives['docker']}").stdout)
    assert inspected["rootfs"]["diff_ids"] and inspected["os"] == "linux"


@requires_tool("skopeo")
def test_skopeo_copies_dockpys_oci_archive_to_a_layout_dockpy_loads(archives, source_root, tmp_path):
    skopeo("copy", f"oci-archive:{archives['oci']}", f"oci:{tmp_path / 'layout'}:1")
    result = dockpy_in(tmp_path / "root", "load", "-i", str(tmp_path / "layout"), check=True)
    # skopeo's ref.name is a bare tag, which names no repository: the image is loaded untagged.
    assert result.stdout == f"Loaded image ID: {image_id(source_root, IMAGE)}\n"


@requires_tool("skopeo")
@pytest.mark.parametrize("transport", ["docker-archive", "oci-archive"])
def test_dockpy_loads_what_skopeo_copy_writes(transport, archives, source_root, tmp_path):
    target = tmp_path / "copy.tar"
    skopeo("copy", f"oci:{archives['oci-gzip-dir']}:1", f"{transport}:{target}:localhost/copied:2")
    result = dockpy_in(tmp_path / "root", "load", "-i", str(target), check=True)
    assert result.stdout == "Loaded image: localhost/copied:2\n"
    assert image_id(tmp_path / "root", "localhost/copied:2") == image_id(source_root, IMAGE)


# -- umoci -------------------------------------------------------------------------------------------


@requires_tool("umoci")
def test_umoci_unpacks_dockpys_gzip_layout(archives, tmp_path):
    rootless = [] if os.geteuid() == 0 else ["--rootless"]
    run_tool("umoci", "unpack", *rootless, "--image", f"{archives['oci-gzip-dir']}:1", str(tmp_path / "bundle"))
    assert (tmp_path / "bundle" / "rootfs" / "bin" / "busybox").is_file()
    assert (tmp_path / "bundle" / "config.json").is_file()


# -- podman ------------------------------------------------------------------------------------------


@pytest.fixture
def podman():
    """``podman`` with private storage and a containers.conf whose ulimits fit this VM (peers/05-configure.sh).

    Its directory is short (podman refuses a runroot path over 50 characters) and removed afterwards.
    """
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed")
    with tempfile.TemporaryDirectory(prefix="dockpy-podman-") as directory:
        yield from _private_podman(Path(directory))


def _private_podman(tmp_path: Path):
    conf = tmp_path / "containers.conf"
    nofile = min(_hard_limit("-Hn"), 1 << 20)
    conf.write_text(
        "[containers]\n"
        f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc=32768:32768"]\n'
        "[engine]\n"
        f'runtime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "none"\ntmp_dir = "{tmp_path}/tmp"\n'
    )
    # Its containers and their conmon go under a cgroup parent of this fixture's, not the host's libpod_parent.
    cgroup_parent = f"dockpy-test-podman-{os.getpid()}"
    base = with_private_var_lib(["podman", "--root", str(tmp_path / "root"), "--runroot", str(tmp_path / "run"),
                                 "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs"])

    def podman_command(*args: str, timeout: int = 120) -> subprocess.CompletedProcess:
        return run_tool(*base, *_with_cgroup_parent(args, cgroup_parent), env={"CONTAINERS_CONF": str(conf)},
                        timeout=timeout)

    try:
        yield podman_command
    finally:
        subprocess.run([*base, "rmi", "--all", "--force"], capture_output=True,
                       env={**os.environ, "CONTAINERS_CONF": str(conf)})
        remove_cgroup_tree(cgroup_parent)


def _with_cgroup_parent(args: tuple, parent: str) -> tuple:
    return (args[0], "--cgroup-parent", f"/{parent}", *args[1:]) if args[0] in ("run", "create") else args


def _hard_limit(flag: str) -> int:
    value = subprocess.run(["sh", "-c", f"ulimit {flag}"], capture_output=True, text=True).stdout.strip()
    return 1 << 20 if value == "unlimited" else int(value)


def test_podman_loads_and_runs_a_dockpy_docker_archive(podman, archives):
    assert f"Loaded image: {IMAGE}" in podman("load", "-i", str(archives["docker"])).stdout
    result = podman("run", "--rm", "--network", "none", IMAGE, "echo", PROBE)
    assert result.stdout.strip() == PROBE


def test_podman_loads_a_dockpy_zstd_oci_archive(podman, archives, source_root):
    assert "Loaded image" in podman("load", "-i", str(archives["oci"])).stdout
    inspected = json.loads(podman("image", "inspect", IMAGE).stdout)[0]
    assert inspected["Id"] == image_id(source_root, IMAGE).removeprefix("sha256:")


@pytest.mark.parametrize("archive_format, loaded_from", [("oci-archive", "oci"), ("docker-archive", "docker")])
def test_dockpy_loads_what_podman_save_writes(archive_format, loaded_from, podman, archives, source_root, tmp_path):
    # Podman keeps the config bytes (the image id) only when it needs no conversion between docker and OCI.
    podman("load", "-i", str(archives[loaded_from]))
    podman("save", "--format", archive_format, "-o", str(tmp_path / "podman.tar"), IMAGE)
    result = dockpy_in(tmp_path / "root", "load", "-i", str(tmp_path / "podman.tar"), check=True)
    assert result.stdout == f"Loaded image: {IMAGE}\n"
    assert image_id(tmp_path / "root", IMAGE) == image_id(source_root, IMAGE)


# -- docker ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def docker_loaded(docker_daemon, archives) -> subprocess.CompletedProcess:
    """``docker load`` of dockpy's docker archive into the session's dockerd; the image is removed afterwards."""
    result = run_tool(*docker_daemon.command, "load", "-i", str(archives["docker"]))
    yield result
    subprocess.run([*docker_daemon.command, "rmi", IMAGE], capture_output=True)


def dockpy_inspect(root: Path, reference: str) -> dict:
    (document,) = json.loads(dockpy_in(root, "inspect", reference, check=True).stdout)
    return document


def test_docker_loads_a_dockpy_docker_archive(docker_loaded, docker_daemon, source_root):
    assert f"Loaded image: {IMAGE}" in docker_loaded.stdout
    inspected = json.loads(run_tool(*docker_daemon.command, "image", "inspect", IMAGE).stdout)[0]
    source = dockpy_inspect(source_root, IMAGE)
    assert inspected["Id"] == source["Id"]
    assert inspected["RootFS"]["Layers"] == source["RootFS"]["Layers"]


def test_dockpy_loads_what_docker_save_writes(docker_loaded, docker_daemon, source_root, tmp_path):
    run_tool(*docker_daemon.command, "save", "-o", str(tmp_path / "docker.tar"), IMAGE)
    result = dockpy_in(tmp_path / "root", "load", "-i", str(tmp_path / "docker.tar"), check=True)
    assert result.stdout == f"Loaded image: {IMAGE}\n"
    loaded, source = dockpy_inspect(tmp_path / "root", IMAGE), dockpy_inspect(source_root, IMAGE)
    assert (loaded["Id"], loaded["Config"], loaded["RootFS"]) == (source["Id"], source["Config"], source["RootFS"])
