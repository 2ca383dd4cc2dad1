"""Printing a parsed Dockerfile: BuildKit's AST dump, and dockpy's JSON.

``dump_moby`` writes exactly what BuildKit's parser test data expects (its
``result`` files): one ``(keyword ["flag" ...] "arg" ...)`` line per
instruction, strings quoted as Go's strconv.Quote does. Comments, directives,
heredoc bodies and line numbers are not part of it.

``dump_json`` gives one object per instruction, the shape of DESIGN.md §5.
"""

from __future__ import annotations

from dockpy.dockerfile.ast import Dockerfile, Heredoc, Instruction
from dockpy.dockerfile.gostrings import go_quote, go_trim_space, replace_invalid_bytes


def dump_moby(dockerfile: Dockerfile) -> str:
    """BuildKit's dump of the parse tree, ending with one newline."""
    text = "".join(f"({_moby_instruction(instruction)})\n" for instruction in dockerfile.instructions)
    return go_trim_space(text) + "\n"


def _moby_instruction(instruction: Instruction) -> str:
    # Go lower-cases rune by rune, and writes the keyword unquoted.
    parts = [replace_invalid_bytes(instruction.keyword.lower())]
    if instruction.flags:
        parts.append("[" + " ".join(go_quote(flag) for flag in instruction.flags) + "]")
    parts.extend(go_quote(argument) for argument in instruction.args)
    if instruction.onbuild is not None:
        parts.append(f"({_moby_instruction(instruction.onbuild)})")
    return go_trim_space(" ".join(parts))


def dump_json(dockerfile: Dockerfile) -> list[dict]:
    """One JSON-ready object per instruction, in file order."""
    return [instruction_to_json(instruction) for instruction in dockerfile.instructions]


def instruction_to_json(instruction: Instruction) -> dict:
    """``{"instruction": "RUN", "flags": [...], "args": [...], "json": false, ...}``."""
    return {
        "instruction": instruction.name,
        "flags": list(instruction.flags),
        "args": list(instruction.args),
        "json": instruction.json_form,
        "start_line": instruction.start_line,
        "end_line": instruction.end_line,
        "heredocs": [_heredoc_to_json(heredoc) for heredoc in instruction.heredocs],
        "onbuild": instruction_to_json(instruction.onbuild) if instruction.onbuild is not None else None,
    }


def _heredoc_to_json(heredoc: Heredoc) -> dict:
    return {"name": heredoc.name, "content": heredoc.content, "expand": heredoc.expand, "chomp": heredoc.chomp}
