"""``dockpy builder prune`` from the command line."""

import json

def test_builder_prune_of_an_empty_root_reports_nothing_reclaimed(storage_root, dockpy):
    result = dockpy("builder", "prune", "-f", check=True)
    assert result.stdout.splitlines() == ["Deleted 0 build cache entries and 0 cache mounts",
                                          "Total reclaimed space: 0B"]

def test_builder_prune_reports_as_json(storage_root, dockpy):
    report = json.loads(dockpy("builder", "prune", "--format", "json", check=True).stdout)
    assert report == {"CacheEntriesDeleted": 0, "CacheMountsDeleted": 0, "CacheMountsInUse": 0, "SpaceReclaimed": 0}
