"""The remote build cache: a build in one root pushes its cache; a fresh root reuses it without running RUN."""

import http.server
import shutil
import threading

import pytest

from tests.conftest import requires_root

DOCKERFILE = """\
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "wget", "-q", "-O", "/ran", "http://127.0.0.1:{port}/hit"]
"""


class HitCounter(http.server.BaseHTTPRequestHandler):
    """Counts GET /hit: each one is a RUN step that really executed."""

    hits = 0

    def do_GET(self):
        type(self).hits += 1
        body = b"executed\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def hit_counter():
    HitCounter.hits = 0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HitCounter)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@requires_root
@pytest.mark.skipif(shutil.which("busybox") is None, reason="busybox-static is not installed")
def test_a_fresh_root_reuses_the_registry_cache_without_running_run(registry_address, hit_counter, tmp_path, dockpy):
    context = tmp_path / "context"
    context.mkdir()
    shutil.copy(shutil.which("busybox"), context / "busybox")
    (context / "Dockerfile").write_text(DOCKERFILE.format(port=hit_counter))
    cache = f"registry://{registry_address}/ci/app-cache:main"

    first = dockpy("--root", str(tmp_path / "machine-a"), "build", "--progress", "plain",
                   "--cache-to", cache, "-t", "app:1", str(context))
    assert first.returncode == 0, first.stderr
    assert HitCounter.hits == 1

    second = dockpy("--root", str(tmp_path / "machine-b"), "build", "--progress", "plain",
                    "--cache-from", cache, "-t", "app:1", str(context))
    assert second.returncode == 0, second.stderr
    assert HitCounter.hits == 1, "the RUN step executed again in the fresh root"
    ran = dockpy("--root", str(tmp_path / "machine-b"), "run", "--rm", "app:1", "/bin/busybox", "cat", "/ran")
    assert ran.stdout == "executed\n", ran.stderr


def test_a_missing_remote_cache_is_a_warning(registry_address, tmp_path, dockpy):
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM scratch\nLABEL a=b\n")
    result = dockpy("--root", str(tmp_path / "root"), "build", "--progress", "plain",
                    "--cache-from", f"registry://{registry_address}/ci/none:1", str(context))
    assert result.returncode == 0, result.stderr
    assert "no such image, building without it" in result.stderr + result.stdout
