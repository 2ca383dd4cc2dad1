"""The functions templates call: Go's builtins and Docker's, with Go's results and Go's errors."""

import subprocess
import sys

import pytest

from dockpy.cli.go_functions import FUNCTIONS, HEADER_FUNCTIONS, FunctionError


def call(name: str, *arguments):
    return FUNCTIONS[name](list(arguments))


@pytest.mark.parametrize("arguments, value", [
    ((["a", "b"], 1), "b"),
    (({"k": "v"}, "k"), "v"),
    (({"a": {"b": [7]}}, "a", "b", 0), 7),
    (("ab", 1), 98),  # a string's byte, as Go indexes it
    (({"k": "v"}, "missing"), ""),  # a map of strings gives its zero value
    (({"k": [1]}, "missing"), None),
    ((None, "key"), ""),  # an image without labels: Docker's nil map[string]string
])
def test_index_follows_each_key_in_turn(arguments, value):
    assert call("index", *arguments) == value


@pytest.mark.parametrize("arguments, message", [
    ((["a"], 1), "error calling index: index out of range: 1"),
    ((["a"], "x"), "wrong type for value; expected int; got string"),
    (({"a": 1}, 1), "value has type int; should be string"),
    ((None, 0), "index of untyped nil"),
    ((True, 0), "can't index item of type bool"),
])
def test_index_refuses_what_go_refuses(arguments, message):
    with pytest.raises(FunctionError, match=message):
        call("index", *arguments)


@pytest.mark.parametrize("item, count", [("é", 2), ([1, 2], 2), ({"a": 1}, 1)])
def test_len_counts_a_strings_bytes_and_a_collections_elements(item, count):
    assert call("len", item) == count


def test_len_of_null_is_zero_as_of_dockers_nil_slices_and_maps():
    assert call("len", None) == 0


def test_len_of_a_number_is_an_error():
    with pytest.raises(FunctionError, match="len of type int"):
        call("len", 3)


@pytest.mark.parametrize("name, arguments, result", [
    ("eq", ("a", "b", "a"), True), ("eq", (1, 1.0), True), ("eq", (None, None), True), ("eq", ("a", None), False),
    ("ne", (1, 2), True), ("lt", ("a", "b"), True), ("le", (2, 2), True), ("gt", (3, 2.5), True), ("ge", (1, 2), False),
])
def test_comparisons_take_gos_basic_kinds(name, arguments, result):
    assert call(name, *arguments) is result


@pytest.mark.parametrize("name, arguments, message", [
    ("eq", ("1", 1), "incompatible types for comparison"),
    ("eq", ([1], [1]), "non-comparable type"),
    ("eq", (1,), "missing argument for comparison"),
    ("lt", (True, False), "invalid type for comparison"),
    ("lt", (None, 1), "invalid type for comparison"),
    ("ne", (1,), "wrong number of args for ne: want 2 got 1"),
])
def test_comparisons_refuse_what_go_refuses(name, arguments, message):
    with pytest.raises(FunctionError, match=message):
        call(name, *arguments)


@pytest.mark.parametrize("name", ["gt", "ge"])
def test_gt_and_ge_name_themselves_in_their_errors_as_go_does(name):
    with pytest.raises(FunctionError, match=f"^error calling {name}: incompatible types for comparison$"):
        call(name, "1", 1)


def test_print_spaces_operands_only_between_two_non_strings():
    assert call("print", 1, 2, "a", "b", 3, True) == "1 2ab3 true"


def test_println_spaces_every_operand_and_ends_the_line():
    assert call("println", "a", 1, [2]) == "a 1 [2]\n"


def test_not_negates_gos_truth():
    assert (call("not", ""), call("not", [0])) == (True, False)


@pytest.mark.parametrize("name, arguments, result", [
    ("json", ({"b": "<&>", "a": [1, None]},), '{"b":"<&>","a":[1,null]}'),
    ("join", (["a", "b"], ", "), "a, b"),
    ("split", ("a:b::c", ":"), ["a", "b", "", "c"]),
    ("split", ("ab", ""), ["a", "b"]),
    ("upper", ("web",), "WEB"),
    ("lower", ("WEB",), "web"),
    ("title", ("hello wORLD-x_y",), "Hello WORLD-X_y"),
    ("truncate", ("abcdef", 3), "abc"),
    ("truncate", ("ab", 5), "ab"),
    ("pad", ("ab", 1, 2), " ab  "),
    ("pad", ("", 1, 2), ""),
])
def test_dockers_functions_work_as_in_dockers_templates_package(name, arguments, result):
    assert call(name, *arguments) == result


@pytest.mark.parametrize("name, arguments, message", [
    ("join", ("a b", " "), r"expected \[\]string; got string"),
    ("upper", (1,), "expected string; got int"),
    ("truncate", ("a", 1.5), "expected int; got float64"),
    ("pad", ("a", 10**7, 0), "a count of spaces must be between"),
    ("json", (), "wrong number of args for json: want 1 got 0"),
])
def test_dockers_functions_refuse_wrong_types_and_counts(name, arguments, message):
    with pytest.raises(FunctionError, match=message):
        call(name, *arguments)


def test_header_functions_leave_a_column_name_unchanged_except_pad():
    assert [HEADER_FUNCTIONS[name](["Names", *extra]) for name, extra in
            (("upper", []), ("json", []), ("truncate", [2]), ("split", [":"]), ("pad", [1, 0]))] == \
        ["Names", "Names", "Names", "Names", " Names"]


def test_a_template_imports_fmts_printf_only_when_it_calls_printf_or_pad():
    code = ("import sys\nfrom dockpy.cli.go_template import GoTemplate\n"
            "GoTemplate('{{upper .A}}').render({'A': 'x'})\nprint('dockpy.cli.go_printf' in sys.modules)\n"
            "GoTemplate('{{printf \"%s\" .A}}').render({'A': 'x'})\nprint('dockpy.cli.go_printf' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "True"]
