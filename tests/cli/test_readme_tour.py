"""The README's tour, run command by command exactly as written (in a fresh root, from the repository's top)."""

import shlex

import pytest

from tests.conftest import REPO, requires_root

README_REGISTRY = "localhost:5000"


def tour_lines() -> list[str]:
    """The command lines of the README's ``## A tour`` shell block, comments included."""
    section = (REPO / "README.md").read_text().split("## A tour", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.startswith("dockpy ")]


def comment_of(line: str) -> str:
    return line.partition("  # ")[2].strip()


@requires_root
def test_every_tour_command_works_as_written(dockpy, build_root, registry_address, monkeypatch):
    """The kvm line is left to tests/runtime/kvm (a microVM boot is slow where KVM is unusable)."""
    monkeypatch.chdir(REPO)
    for line in tour_lines():
        if "--isolation kvm" in line:
            continue
        words = shlex.split(line.replace(README_REGISTRY, registry_address), comments=True)
        result = dockpy(*words[1:])
        assert result.returncode == 0, f"{line}\n{result.stderr}"
        if words[1] == "diff":
            assert result.stdout.splitlines() == comment_of(line).split(", ")


def test_the_tour_reads_the_example_and_pushes_to_the_registry_it_names():
    """What the test above substitutes or skips is really in the tour, so the test cannot pass vacuously."""
    lines = tour_lines()
    assert any("build -t site examples" in line for line in lines)
    assert any(f"push --tls-verify=false {README_REGISTRY}/" in line for line in lines)
    assert sum(line.startswith("dockpy diff ") for line in lines) == 1
