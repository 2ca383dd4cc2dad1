"""Docker-style generated container names (``adjective_scientist``)."""

from __future__ import annotations

import os

from dockpy.errors import ConflictError

ADJECTIVES = (
    "admiring", "bold", "brave", "clever", "eager", "elegant", "focused", "gallant", "happy", "jolly",
    "keen", "modest", "nifty", "quirky", "serene", "stoic", "tender", "upbeat", "vibrant", "zealous",
)
SCIENTISTS = (
    "babbage", "curie", "darwin", "euler", "fermat", "galois", "hopper", "kepler", "lovelace", "meitner",
    "noether", "pascal", "ritchie", "shannon", "thompson", "torvalds", "turing", "wozniak", "yalow", "zuse",
)


def generate_name(taken) -> str:
    """A free ``adjective_scientist`` name; a number is appended after collisions, as Docker does."""
    for attempt in range(100):
        adjective, scientist, number = os.urandom(3)
        name = f"{ADJECTIVES[adjective % len(ADJECTIVES)]}_{SCIENTISTS[scientist % len(SCIENTISTS)]}"
        if attempt > 10:
            name += str(number)
        if not taken(name):
            return name
    raise ConflictError("could not find a free container name", hint="Name the container with --name.")
