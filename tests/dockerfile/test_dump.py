"""The two dumps: BuildKit's moby format and the JSON of DESIGN.md §5."""

from dockpy.dockerfile import dump_json, dump_moby, parse_dockerfile

DESIGN_KEYS = ["instruction", "flags", "args", "json", "start_line", "end_line", "heredocs", "onbuild"]


def test_moby_dump_lower_cases_keywords_and_quotes_like_go():
    dockerfile = parse_dockerfile('FROM x\nCOPY --chown="a b" ["src file", "/d"]\nONBUILD RUN --network=none a\n')
    assert dump_moby(dockerfile) == (
        '(from "x")\n(copy ["--chown=a b"] "src file" "/d")\n(onbuild (run ["--network=none"] "a"))\n'
    )


def test_json_dump_has_exactly_the_design_shape():
    [instruction] = dump_json(parse_dockerfile("RUN --mount=type=cache,target=/c <<EOF\nmake\nEOF\n"))
    assert list(instruction) == DESIGN_KEYS
    assert instruction == {
        "instruction": "RUN",
        "flags": ["--mount=type=cache,target=/c"],
        "args": ["<<EOF"],
        "json": False,
        "start_line": 1,
        "end_line": 3,
        "heredocs": [{"name": "EOF", "content": "make\n", "expand": True, "chomp": False}],
        "onbuild": None,
    }


def test_json_dump_nests_onbuild_instructions():
    [instruction] = dump_json(parse_dockerfile('ONBUILD CMD ["a"]'))
    assert instruction["args"] == [] and list(instruction["onbuild"]) == DESIGN_KEYS
    assert (instruction["onbuild"]["instruction"], instruction["onbuild"]["json"]) == ("CMD", True)
