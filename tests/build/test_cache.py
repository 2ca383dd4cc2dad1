from dockpy.build.cache import BuildCache, CachedLayer, StepInputs, explain_miss
from dockpy.image import catalog
from dockpy.layers.digests import DiffID, Digest
from dockpy.metadata import open_database

DIGEST = Digest("sha256:" + "a" * 64)


def test_the_key_ignores_the_per_file_listing_but_not_the_sources_digest():
    one = StepInputs("p", "COPY", {"d": 1}, sources="s1", files={"a": "1"})
    assert one.key() == StepInputs("p", "COPY", {"d": 1}, sources="s1", files={"a": "2"}).key()
    assert one.key() != StepInputs("p", "COPY", {"d": 1}, sources="s2").key()
    assert one.key() != StepInputs("q", "COPY", {"d": 1}, sources="s1").key()


def test_an_entry_and_its_gc_root_are_recorded_together(storage_root):
    connection = catalog.open_catalog(storage_root)
    cache = BuildCache(connection)
    layer = CachedLayer(DiffID(DIGEST), DIGEST, 10, "application/vnd.oci.image.layer.v1.tar+zstd", 1.0, "snap")
    cache.record("k", layer)
    assert cache.lookup("k") == layer
    assert ("cache:k", "blob", DIGEST) in catalog.roots(connection)
    cache.forget("k")
    assert cache.lookup("k") is None and not catalog.roots(connection)


def test_misses_are_explained_by_what_changed():
    base = StepInputs("p", "COPY", {}, {"V": "1"}, "s", {"app/a.py": "1", "app/b.py": "1"})
    assert explain_miss("COPY", None, base, False) == "not built before"
    assert explain_miss("COPY", base, base, True) == "--no-cache"
    assert explain_miss("COPY", base, StepInputs("q", "COPY", {}, {"V": "1"}, "s"), False) == \
        "the layers below it changed"
    assert explain_miss("COPY", base, StepInputs("p", "COPY", {}, {"V": "2"}, "s", base.files), False) == \
        "build arg V changed"
    changed = StepInputs("p", "COPY", {}, {"V": "1"}, "t", {"app/a.py": "2", "app/c.py": "1"})
    assert explain_miss("COPY", base, changed, False) == "COPY: app/a.py changed; app/c.py added; app/b.py removed"


def test_previous_inputs_are_remembered_per_slot(storage_root):
    cache = BuildCache(open_database(storage_root))
    inputs = StepInputs("p", "RUN", {"args": ["a"]})
    cache.remember_inputs({"slot": inputs})
    assert cache.previous_inputs("slot") == inputs
