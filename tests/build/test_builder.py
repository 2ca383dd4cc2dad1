"""Whole builds: the cache, tags and revisions, failures that leave the store unchanged, reproducibility."""

import hashlib
import http.server
import os
import threading
import time

import pytest

from dockpy.build.cache import BuildCache
from dockpy.build.progress import BuildWarning, StepCached, StepMissed
from dockpy.errors import BuildError, DockerfileError, DockpyError, IntegrityError, NotFoundError
from dockpy.image.store import ImageStore
from dockpy.layers.snapshots import Kind, Snapshotter
from tests.build.conftest import image_files

APP = "FROM busybox\nWORKDIR /app\nCOPY app/ ./\nCOPY README /README\n"
APP_FILES = {"app/main.py": "print(1)\n", "app/util.py": "x = 1\n", "README": "readme\n"}


def test_a_rebuild_of_an_unchanged_context_hits_every_step_and_gives_the_same_image(build):
    first, _ = build(APP, APP_FILES)
    second, events = build(APP)
    assert second.image.id == first.image.id
    assert len(events.of(StepCached)) == 3 and not events.of(StepMissed)


def test_a_changed_file_misses_its_copy_and_the_miss_names_the_file(build):
    build(APP, APP_FILES)
    _, events = build(APP, {"app/main.py": "print(2)\n"})
    reasons = [event.reason for event in events.of(StepMissed)]
    assert reasons == ["COPY: app/main.py changed", "the layers below it changed"]


def test_an_added_file_is_named_in_the_miss(build):
    build(APP, APP_FILES)
    _, events = build(APP, {"app/new.py": ""})
    assert events.of(StepMissed)[0].reason == "COPY: app/new.py added"


def test_touching_a_file_without_changing_it_keeps_the_cache(build):
    first, _ = build(APP, APP_FILES)
    later = time.time() + 100
    os.utime(build.context / "app/main.py", (later, later))
    second, events = build(APP)
    assert not events.of(StepMissed)
    assert second.image.id == first.image.id


def test_a_mode_change_misses_the_cache(build):
    build(APP, APP_FILES)
    os.chmod(build.context / "README", 0o600)
    _, events = build(APP)
    assert [e.reason for e in events.of(StepMissed)] == ["COPY: source metadata changed"]


def test_no_cache_runs_every_step(build):
    build(APP, APP_FILES)
    _, events = build(APP, no_cache=True)
    assert [e.reason for e in events.of(StepMissed)] == ["--no-cache"] * 3


def test_a_changed_instruction_misses_with_that_reason(build):
    build(APP, APP_FILES)
    _, events = build(APP.replace("/README", "/README.txt"))
    assert [e.reason for e in events.of(StepMissed)] == ["the instruction changed"]


def test_tags_get_a_build_revision_each_time_the_image_changes(build):
    build(APP, APP_FILES, tags=("app:1", "app:latest"))
    build(APP, tags=("app:latest",))
    build(APP, {"README": "new\n"}, tags=("app:latest",))
    with ImageStore(build.root) as store:
        log = store.log("app:latest")
        assert [r.operation for r in log] == ["build", "build"]
        assert store.resolve("app:1").id == log[-1].image_id


def test_cli_labels_are_added_to_the_image(build):
    result, _ = build("FROM busybox\nLABEL a=1\n", labels={"b": "2", "a": "override"})
    assert result.image.config.config.labels == {"a": "override", "b": "2"}


def _store_state(root):
    with ImageStore(root) as store, Snapshotter(root) as snapshotter:
        BuildCache(store.db)  # its tables exist even if no build got that far
        revisions = store.db.execute("SELECT count(*) FROM revisions").fetchone()[0]
        cache = store.db.execute("SELECT count(*) FROM build_cache").fetchone()[0]
        active = [s.name for s in snapshotter.walk() if s.kind != Kind.COMMITTED]
        return revisions, cache, active


def test_a_failed_step_leaves_no_tag_no_snapshot_and_no_cache_entry(build):
    build("FROM busybox\nCOPY a /a\n", {"a": "x"})
    before = _store_state(build.root)
    with pytest.raises(DockpyError, match="unable to find user nobody-here"):
        build("FROM busybox\nCOPY a /a\nCOPY --chown=nobody-here a /b\n", tags=("t:1",))
    assert _store_state(build.root) == before
    with ImageStore(build.root) as store, pytest.raises(NotFoundError):
        store.resolve("t:1")


def test_an_unknown_instruction_fails_before_any_step_runs(build):
    with pytest.raises(DockerfileError, match="Dockerfile:3: unknown instruction: COPPY"):
        build("FROM busybox\nCOPY a /a\nCOPPY a /b\n", {"a": "x"})
    assert _store_state(build.root)[1] == 0


def test_an_unknown_base_image_names_the_line(build):
    with pytest.raises(DockerfileError, match="Dockerfile:1: no such image: nosuchimage"):
        build("FROM nosuchimage\n")


def test_an_unknown_base_image_hints_at_pull_and_the_templates(build):
    """dockpy never pulls on its own: a user coming from Docker must learn that from the error."""
    with pytest.raises(DockerfileError) as raised:
        build("FROM alpine:3.19\n")
    assert "dockpy pull alpine:3.19" in raised.value.hint and "busybox" in raised.value.hint


def test_a_from_that_expands_to_nothing_names_the_line_as_buildkit_does(build):
    with pytest.raises(DockerfileError, match=r"Dockerfile:2: base name \(\$\{image\}\) should not be blank"):
        build("ARG image\nFROM ${image}\n")


def test_a_bad_base_reference_names_the_line(build):
    with pytest.raises(DockerfileError, match="Dockerfile:1: invalid reference format 'Bad:1'"):
        build("FROM Bad:1\n")


def test_from_an_earlier_stage_continues_its_layers(build):
    result, _ = build("FROM busybox AS base\nCOPY a /a\nFROM base\nCOPY b /b\n", {"a": "a", "b": "b"})
    files = image_files(build.root, result.image)
    assert (files / "a").is_file() and (files / "b").is_file()


def test_target_builds_the_named_stage(build):
    result, events = build("FROM busybox AS one\nCOPY a /one\nFROM busybox\nCOPY a /two\n", {"a": "x"},
                           target="one")
    assert (image_files(build.root, result.image) / "one").is_file()
    assert len(events.of(StepMissed)) == 1


def test_onbuild_triggers_of_the_base_run_after_from(build):
    build("FROM busybox\nONBUILD COPY a /from-trigger\n", {"a": "x"}, tags=("parent:1",))
    result, _ = build("FROM parent:1\nCOPY a /own\n")
    files = image_files(build.root, result.image)
    assert (files / "from-trigger").is_file() and (files / "own").is_file()
    assert result.image.config.config.on_build is None


def test_source_date_epoch_gives_the_same_image_id_in_two_roots(build, busybox_root, tmp_path):

    from dockpy.root import StorageRoot

    other = StorageRoot(tmp_path / "other-root").create()
    epoch = 1_700_000_000
    (build.context / "a").write_text("x")
    first, _ = build("FROM scratch\nCOPY a /a\nENV X=1\nCMD [\"/a\"]\n", source_date_epoch=epoch)
    time.sleep(1.1)
    os.utime(build.context / "a")  # a new mtime: clamped to the epoch, so the layer stays the same
    second, _ = build("FROM scratch\nCOPY a /a\nENV X=1\nCMD [\"/a\"]\n", root=other, source_date_epoch=epoch)
    assert second.image.id == first.image.id


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def http_server(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    (served / "tool.sh").write_text("#!/bin/sh\necho tool\n")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: _Handler(*a, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", served
    server.shutdown()


def test_add_fetches_a_url_and_verifies_its_checksum(build, http_server):
    url, served = http_server
    digest = hashlib.sha256((served / "tool.sh").read_bytes()).hexdigest()
    result, _ = build(f"FROM busybox\nADD --checksum=sha256:{digest} {url}/tool.sh /opt/\n")
    path = image_files(build.root, result.image) / "opt/tool.sh"
    assert path.read_text() == "#!/bin/sh\necho tool\n"
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)


def test_add_with_a_wrong_checksum_fails_and_stores_nothing(build, http_server):
    url, _ = http_server
    with pytest.raises(IntegrityError, match=r"Dockerfile:2: ADD .*/tool.sh: checksum mismatch"):
        build(f"FROM busybox\nADD --checksum=sha256:{'0' * 64} {url}/tool.sh /opt/\n")
    assert not [p for p in os.listdir(build.root.tmp) if p.startswith("build-download-")]


def test_a_url_that_cannot_be_fetched_names_the_line(build, http_server):
    url, _ = http_server
    with pytest.raises(BuildError, match=r"Dockerfile:2: ADD .*/missing.sh: the server answered 404"):
        build(f"FROM busybox\nADD {url}/missing.sh /opt/\n")


def test_a_copy_to_a_new_path_reuses_its_layer_when_only_the_layers_below_changed(build):
    dockerfile = "FROM busybox\nCOPY small /small\nCOPY big.bin /data/big.bin\n"
    first, _ = build(dockerfile, {"small": "1", "big.bin": "b" * 100_000})
    second, events = build(dockerfile, {"small": "2"})
    assert [e.reason for e in events.of(StepMissed)] == ["COPY: small changed", "the layers below it changed"]
    assert second.image.layers[-1] == first.image.layers[-1]
    files = image_files(build.root, second.image)
    assert (files / "small").read_text() == "2" and (files / "data/big.bin").stat().st_size == 100_000


def test_a_copy_below_an_existing_directory_keeps_that_directorys_owner_and_mode(build):
    result, _ = build("FROM busybox\nRUN mkdir -m 0710 /private && chown 5:6 /private\nCOPY f /private/sub/f\n",
                      {"f": "x"})
    st = os.stat(image_files(build.root, result.image) / "private")
    assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o710, 5, 6)


def test_cache_to_and_cache_from_carry_the_cache_in_an_image(build):
    build(APP, APP_FILES, cache_to="app-cache:1")
    with ImageStore(build.root) as store:  # as if on another machine: the cache image, no cache index
        store.db.execute("DELETE FROM build_cache")
        store.db.execute("DELETE FROM build_step_inputs")
    _, cold = build(APP, no_cache=False, cache_from=("nosuch:1",))
    assert [e.message for e in cold.of(BuildWarning)] == ["--cache-from nosuch:1: no such image, building without it"]
    assert len(cold.of(StepMissed)) == 3
    with ImageStore(build.root) as store:
        store.db.execute("DELETE FROM build_cache")
    _, warm = build(APP, cache_from=("app-cache:1",))
    assert len(warm.of(StepCached)) == 3 and not warm.of(StepMissed)
