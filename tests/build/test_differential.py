"""The same Dockerfiles built by buildah and by dockpy give the same files and the same config.

Both start from the same busybox files (``localhost/busybox:latest``, made
from dockpy's busybox template in each tool's own storage). Compared: every
path's type, permission bits, owner, content and link target, and the config
fields Env, Cmd, Entrypoint, WorkingDir, User, ExposedPorts, Labels, Volumes.
Times are not compared (each tool stamps its own). Known differences, where
dockpy does what BuildKit does: buildah leaves the /etc files it mounts
during RUN (hostname, hosts, resolv.conf) in the image, creates the
directory of a VOLUME (BuildKit does not), creates a WORKDIR only when a
later step uses it (BuildKit and dockpy always do), and labels its images
with ``io.buildah.version``.
"""

import shutil
import subprocess
import textwrap

import pytest

from dockpy.image.base_images import find_base_image
from dockpy.image.store import ImageStore
from tests.build.buildah import BASE, Buildah, describe_tree
from tests.build.conftest import image_files

pytestmark = pytest.mark.skipif(shutil.which("buildah") is None, reason="buildah is not installed")

BUILDAH_LEFTOVERS = ("/etc/hostname", "/etc/hosts", "/etc/resolv.conf", "/run", "/data")
BUILDAH_LABEL = "io.buildah.version"
CONFIG_FIELDS = ("Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Labels", "Volumes")

CASES = {
    "copy-rules": """
        FROM localhost/busybox:latest
        WORKDIR /app
        COPY src/ ./src/
        COPY src ./flat
        COPY *.txt /texts/
        COPY notes.txt /etc/
        COPY notes.txt renamed.txt
        COPY --chmod=0640 notes.txt /secret/notes
        COPY --chown=1000:1000 src /owned
    """,
    "metadata": """
        FROM localhost/busybox:latest
        ENV A=1 B="two words"
        ENV C=$A-$B
        LABEL org.example.name="demo" version=1
        EXPOSE 80 53/udp
        VOLUME ["/data"]
        USER nobody
        WORKDIR /srv
        RUN true
        ENTRYPOINT ["/bin/sh", "-c"]
        CMD ["echo hi"]
    """,
    "run-changes": """
        FROM localhost/busybox:latest
        RUN mkdir -p /opt/tool && echo v1 > /opt/tool/version && ln -s /opt/tool/version /opt/current
        RUN rm /etc/group && chmod 0700 /opt/tool && chown 7:7 /opt/tool/version
        RUN echo appended >> /etc/passwd
    """,
    "multi-stage": """
        FROM localhost/busybox:latest AS build
        RUN mkdir /out && echo built > /out/result && echo extra > /out/extra
        FROM localhost/busybox:latest
        COPY --from=build /out/result /result
        COPY --from=build /out/ /all/
    """,
}
CONTEXT_FILES = {"src/a.py": "a\n", "src/pkg/b.py": "b\n", "notes.txt": "notes\n", "readme.txt": "readme\n"}


@pytest.fixture(scope="module")
def buildah(tmp_path_factory):
    tool = Buildah(tmp_path_factory.mktemp("buildah"))
    try:
        tool.make_base_image()
    except (AssertionError, subprocess.CalledProcessError) as error:
        tool.close()
        pytest.skip(f"buildah cannot make the base image here: {error}")
    yield tool
    tool.close()


@pytest.mark.parametrize("case", sorted(CASES))
def test_buildah_and_dockpy_build_the_same_image(case, buildah, build):
    with ImageStore(build.root) as store:
        store.add_revision(BASE, find_base_image(store, "busybox", epoch=None), operation="tag")
    result, _ = build(textwrap.dedent(CASES[case]).lstrip(), CONTEXT_FILES)
    buildah.build(build.context, f"localhost/diff-{case}")
    theirs = {path: entry for path, entry in buildah.tree(f"localhost/diff-{case}").items()
              if path not in BUILDAH_LEFTOVERS}
    assert describe_tree(image_files(build.root, result.image)) == theirs
    their_config = buildah.config(f"localhost/diff-{case}")
    their_config["Labels"] = {k: v for k, v in (their_config.get("Labels") or {}).items() if k != BUILDAH_LABEL}
    mine = result.image.config.config.to_json()
    assert {k: mine.get(k) or None for k in CONFIG_FIELDS} == {k: their_config.get(k) or None for k in CONFIG_FIELDS}
