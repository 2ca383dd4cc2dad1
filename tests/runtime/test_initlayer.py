"""The init layer: one per storage root, shared by every container, installed atomically."""

from pathlib import Path

from dockpy.runtime import initlayer


def test_the_init_layer_holds_the_mount_points(storage_root):
    layer = Path(initlayer.shared_init_layer(storage_root))
    assert sorted(p.name for p in layer.iterdir()) == ["dev", "etc", "proc", "sys"]
    assert sorted(p.name for p in (layer / "etc").iterdir()) == ["hostname", "hosts", "resolv.conf"]
    assert all((layer / "etc" / name).stat().st_size == 0 for name in initlayer.ETC_FILES)


def test_every_container_gets_the_same_init_layer(storage_root):
    assert initlayer.shared_init_layer(storage_root) == initlayer.shared_init_layer(storage_root)


def test_losing_the_race_to_install_it_leaves_the_winners_layer_and_no_leftovers(storage_root):
    layer = Path(initlayer.shared_init_layer(storage_root))
    marker = layer / "proc" / "marker"
    marker.touch()
    initlayer._install_init_layer(storage_root)  # as a second process that found no layer a moment ago
    assert marker.exists()
    assert list(storage_root.tmp.iterdir()) == []
