"""The Dockerfile front end: parsing, as BuildKit parses, into immutable values.

    >>> from dockpy.dockerfile import parse_dockerfile, dump_moby
    >>> dockerfile = parse_dockerfile(b"FROM scratch\\nCOPY --chown=1:1 a /b\\n")
    >>> dockerfile.instructions[1].flags
    ('--chown=1:1',)
    >>> print(dump_moby(dockerfile), end="")
    (from "scratch")
    (copy ["--chown=1:1"] "a" "/b")

Importing this package is cheap: lark is loaded by the first parse.
"""

from dockpy.dockerfile.ast import INSTRUCTIONS, Directives, Dockerfile, Heredoc, Instruction
from dockpy.dockerfile.dump import dump_json, dump_moby, instruction_to_json
from dockpy.dockerfile.parser import load_dockerfile, parse_dockerfile

__all__ = [
    "INSTRUCTIONS",
    "Directives",
    "Dockerfile",
    "Heredoc",
    "Instruction",
    "dump_json",
    "dump_moby",
    "instruction_to_json",
    "load_dockerfile",
    "parse_dockerfile",
]
