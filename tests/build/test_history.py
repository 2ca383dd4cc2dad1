from dockpy.build.history import go_port_set, go_string_slice, healthcheck_created_by, run_created_by
from dockpy.image.oci import Healthcheck


def test_go_formats_of_slices_and_port_sets():
    assert go_string_slice(["a", 'b "c"']) == '["a" "b \\"c\\""]'
    assert go_port_set(["443/tcp", "80/tcp"]) == "map[443/tcp:{} 80/tcp:{}]"


def test_run_history_is_prefixed_with_the_build_args_in_effect():
    assert run_created_by(["/bin/sh", "-c", "make"], ["V=1", "W="]) == "RUN |2 V=1 W= /bin/sh -c make"
    assert run_created_by(["make"], []) == "RUN make"


def test_healthcheck_history_is_gos_struct_formatting():
    check = Healthcheck(test=("CMD", "true"), interval=90_000_000_000, retries=3)
    assert healthcheck_created_by(check) == 'HEALTHCHECK &{["CMD" "true"] "1m30s" "0s" "0s" "0s" \'\\x03\'}'
