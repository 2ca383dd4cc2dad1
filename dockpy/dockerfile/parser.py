"""Parsing a Dockerfile: text in, a Dockerfile (ast.py) out, nothing executed.

The pipeline, as in BuildKit's parser loop:

1. lines.py decodes the text and reads the parser directives (directives.py);
2. it assembles the next logical line (continuations, comments);
3. grammar.py parses that line with the lark grammar into an Instruction;
4. if the instruction can have heredocs (RUN, COPY, ADD in shell form, also
   under ONBUILD), heredoc.py finds the ``<<NAME`` words and lines.py reads
   their bodies from the following lines;
5. repeat from 2 until the end of the file.

Every error is a DockerfileError naming file, line and column and showing the
offending line.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from dockpy.dockerfile.arguments import ArgumentError
from dockpy.dockerfile.ast import Dockerfile, Heredoc, Instruction
from dockpy.dockerfile.directives import read_directives
from dockpy.dockerfile.gostrings import GO_WHITESPACE
from dockpy.dockerfile.heredoc import HeredocMarker, HeredocSyntaxError, find_heredoc_markers
from dockpy.dockerfile.lines import LogicalLine, SourceLines, decode_dockerfile
from dockpy.errors import InvalidInputError, NotFoundError

# The instructions whose shell form may open heredocs, and ONBUILD, which may wrap one.
HEREDOC_INSTRUCTIONS = frozenset({"RUN", "COPY", "ADD"})


def parse_dockerfile(source: bytes | str, *, filename: str = "Dockerfile") -> Dockerfile:
    """Parse Dockerfile text exactly as BuildKit's parser does.

    ``filename`` only names the file in error messages. Raises DockerfileError.
    """
    lines = SourceLines(decode_dockerfile(source, filename), filename)
    directives = read_directives(lines)
    instructions, warnings = [], []
    while (logical := lines.next_logical_line(directives.escape)) is not None:
        instruction = _parse_instruction(logical, directives.escape, lines)
        instructions.append(instruction)
        if logical.has_empty_continuation:
            warnings.append(f"{filename}:{logical.start_line}: empty continuation line in {instruction.name}")
    if not instructions:
        # Located at the last line, as BuildKit does; an empty file has no line to show.
        raise lines.error("file with no instructions", lines.lines_read or None)
    return Dockerfile(
        filename=filename,
        directives=directives,
        instructions=tuple(instructions),
        start_line=instructions[0].start_line,
        end_line=instructions[-1].end_line,
        warnings=tuple(warnings),
    )


def load_dockerfile(path: str | Path) -> Dockerfile:
    """Read and parse the Dockerfile at ``path``; errors name the path as given."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise NotFoundError(
            f"{path}: no such file", hint="Name the Dockerfile with -f FILE, or give the directory that holds it."
        ) from None
    except OSError as error:
        raise InvalidInputError(f"{path}: cannot read the Dockerfile: {error.strerror}") from None
    return parse_dockerfile(data, filename=str(path))


def _parse_instruction(logical: LogicalLine, escape: str, lines: SourceLines) -> Instruction:
    # lark is imported here, on first parse, so importing dockpy stays cheap.
    from dockpy.dockerfile.grammar import parse_instruction_line

    text = logical.text.strip(GO_WHITESPACE)
    indent = len(logical.text) - len(logical.text.lstrip(GO_WHITESPACE))
    try:
        instruction = parse_instruction_line(text, escape, logical.start_line, logical.end_line)
    except ArgumentError as error:
        raise lines.error(error.message, *logical.locate(indent + error.offset)) from None
    return _with_heredocs(instruction, logical, lines)


def _with_heredocs(instruction: Instruction, logical: LogicalLine, lines: SourceLines) -> Instruction:
    """The instruction with the bodies of the heredocs it opens, read from the next lines."""
    if not _can_open_heredocs(instruction) or "<<" not in logical.text:
        return instruction
    try:
        markers = find_heredoc_markers(logical.text)
    except HeredocSyntaxError as error:
        raise lines.error(str(error), logical.start_line) from None
    if not markers:
        return instruction
    heredocs = tuple(_read_heredoc(marker, logical, lines) for marker in markers)
    end_line = lines.lines_read
    nested = instruction.onbuild and replace(instruction.onbuild, heredocs=heredocs, end_line=end_line)
    return replace(instruction, heredocs=heredocs, end_line=end_line, onbuild=nested)


def _can_open_heredocs(instruction: Instruction) -> bool:
    target = instruction.onbuild if instruction.onbuild is not None else instruction
    return target.name in HEREDOC_INSTRUCTIONS and not target.json_form


def _read_heredoc(marker: HeredocMarker, logical: LogicalLine, lines: SourceLines) -> Heredoc:
    content = lines.read_heredoc_body(marker.name, marker.chomp)
    if content is None:
        raise lines.error(f"unterminated heredoc {marker.name!r}", logical.start_line)
    return Heredoc(name=marker.name, content=content, expand=marker.expand, chomp=marker.chomp, fd=marker.fd)
