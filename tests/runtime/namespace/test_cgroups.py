"""Finding each controller on v1, v2 and hybrid hosts; limits and usage of a container's cgroup."""

import os

import pytest

from dockpy.errors import ContainerSetupError
from dockpy.runtime.namespace import cgroups
from dockpy.runtime.spec import Resources
from tests.conftest import requires_root

HYBRID_MOUNTINFO = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""
HYBRID_PROC_CGROUPS = """\
#subsys_name\thierarchy\tnum_cgroups\tenabled
cpu\t1\t1\t1
cpuacct\t1\t1\t1
memory\t4\t39\t1
pids\t8\t1\t1
hugetlb\t0\t1\t1
"""
V2_MOUNTINFO = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
V2_PROC_CGROUPS = "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t0\t1\t1\nmemory\t0\t1\t1\npids\t0\t1\t1\n"


def layout_from(tmp_path, mountinfo, proc_cgroups, unified_controllers=""):
    (tmp_path / "mountinfo").write_text(mountinfo)
    (tmp_path / "cgroups").write_text(proc_cgroups)
    layout = cgroups.detect_layout(str(tmp_path / "mountinfo"), str(tmp_path / "cgroups"))
    # cgroup.controllers is read from the real mount point; substitute the test's own.
    return cgroups.CgroupLayout(layout.v1, layout.unified, frozenset(unified_controllers.split()))


def test_a_hybrid_host_uses_its_v1_hierarchies_and_ignores_named_ones(tmp_path):
    layout = layout_from(tmp_path, HYBRID_MOUNTINFO, HYBRID_PROC_CGROUPS, "hugetlb")
    assert layout.hierarchy_of("memory") == ("/sys/fs/cgroup/memory", 1)
    assert layout.hierarchy_of("cpuacct") == ("/sys/fs/cgroup/cpu,cpuacct", 1)
    assert "systemd" not in layout.v1 and "name=systemd" not in layout.v1


def test_a_controller_missing_from_v1_is_taken_from_v2_when_it_is_there(tmp_path):
    layout = layout_from(tmp_path, HYBRID_MOUNTINFO, HYBRID_PROC_CGROUPS, "hugetlb io")
    assert layout.hierarchy_of("blkio") == ("/sys/fs/cgroup/unified", 2)
    assert layout.hierarchy_of("devices") is None


def test_a_pure_v2_host_has_every_controller_in_the_unified_hierarchy(tmp_path):
    layout = layout_from(tmp_path, V2_MOUNTINFO, V2_PROC_CGROUPS, "cpu memory pids io")
    assert layout.v1 == {}
    assert layout.hierarchy_of("memory") == ("/sys/fs/cgroup", 2)
    assert layout.hierarchy_of("cpuacct") == ("/sys/fs/cgroup", 2)


def test_a_container_cgroup_sits_under_the_parent_in_each_hierarchy(tmp_path):
    layout = layout_from(tmp_path, HYBRID_MOUNTINFO, HYBRID_PROC_CGROUPS)
    cgroup = cgroups.container_cgroup(layout, "dockpy", "abc")
    assert cgroup.directories["memory"] == ("/sys/fs/cgroup/memory/dockpy/abc", 1)
    assert len(cgroup.unique_directories) == 3  # cpu and cpuacct share one


@requires_root
def test_limits_are_written_to_this_hosts_cgroup_files(cgroup_parent):
    layout = cgroups.detect_layout()
    cgroup = cgroups.create_cgroup(layout, cgroup_parent, "limits", Resources(64 << 20, 0.5, 20))
    try:
        memory = cgroup.file_path("memory", "memory.limit_in_bytes", "memory.max")
        pids = cgroup.file_path("pids", "pids.max", "pids.max")
        assert open(memory).read().strip() == str(64 << 20)
        assert open(pids).read().strip() == "20"
        cpu_dir, version = cgroup.directories["cpu"]
        quota = open(os.path.join(cpu_dir, "cpu.cfs_quota_us" if version == 1 else "cpu.max")).read().split()[0]
        assert quota == "50000"
    finally:
        cgroup.remove()
    assert not os.path.exists(memory)


@requires_root
def test_usage_of_an_empty_cgroup_reads_zero_pids(cgroup_parent):
    cgroup = cgroups.create_cgroup(cgroups.detect_layout(), cgroup_parent, "usage", Resources())
    try:
        usage = cgroup.usage()
        assert usage.pids == 0 and usage.memory_limit_bytes is None
    finally:
        cgroup.remove()



def test_this_process_cgroup_is_found_in_a_v1_hierarchy_dockpy_uses(tmp_path):
    layout = layout_from(tmp_path, HYBRID_MOUNTINFO, HYBRID_PROC_CGROUPS, "hugetlb")
    (tmp_path / "self-cgroup").write_text("9:name=systemd:/user.slice\n8:pids:/user.slice/session-1\n0::/user.slice\n")
    assert cgroups.own_procs_file(layout, str(tmp_path / "self-cgroup")) == "/sys/fs/cgroup/pids/user.slice/session-1/cgroup.procs"


def test_on_a_v2_host_this_process_cgroup_is_in_the_unified_hierarchy(tmp_path):
    layout = layout_from(tmp_path, V2_MOUNTINFO, V2_PROC_CGROUPS, "cpu memory pids")
    (tmp_path / "self-cgroup").write_text("0::/user.slice/session-1.scope\n")
    assert cgroups.own_procs_file(layout, str(tmp_path / "self-cgroup")) == "/sys/fs/cgroup/user.slice/session-1.scope/cgroup.procs"


@requires_root
def test_the_warm_up_move_keeps_this_process_in_its_own_cgroups():
    before = open("/proc/self/cgroup").read()
    own_procs = cgroups.own_procs_file(cgroups.detect_layout())
    with open(own_procs, "w") as procs:  # what the warm-up thread writes
        procs.write(str(os.getpid()))
    assert open("/proc/self/cgroup").read() == before


@requires_root
def test_a_device_rule_the_kernel_refuses_is_named_with_its_file(cgroup_parent):
    cgroup = cgroups.create_cgroup(cgroups.detect_layout(), cgroup_parent, "rules", Resources())
    allow = cgroup.file_path("devices", "devices.allow", "")
    try:
        if allow is None or cgroup.directories["devices"][1] != 1:
            pytest.skip("this host has no v1 devices controller")
        with pytest.raises(ContainerSetupError, match=f"write 'x 1:3 rwm' to {allow}: Invalid argument"):
            cgroups._write_each(allow, ("c 1:3 rwm", "x 1:3 rwm", "c 1:5 rwm"))
    finally:
        cgroup.remove()
