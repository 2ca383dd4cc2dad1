"""Every error dockpy raises on purpose.

The tree::

    DockpyError                         anything dockpy reports as "dockpy: error: ..." (exit 125)
    ├── InvalidInputError (ValueError)  the user gave something malformed
    │   ├── DockerfileError             a Dockerfile that does not parse; carries file, line, column
    │   ├── ExpansionError              a ${VAR...} word that cannot be expanded
    │   └── InvalidReferenceError       "NAME[:TAG][@REV]" or a digest that does not parse
    ├── NotFoundError (LookupError)     an image, tag, revision, container or blob that is not there
    ├── ConflictError                   a name already in use, an object still in use
    ├── IntegrityError                  content that does not match its digest or size
    ├── OverlayFeatureError             an overlay upper dir that redirect_dir/metacopy made unreadable alone
    ├── UnsafeArchiveError              a tar that tries to write outside its target, or is malformed
    ├── StoreError (OSError)            the storage root cannot be read or written
    ├── ContainerSetupError (OSError)   a syscall failed while setting up a container
    ├── PrerequisiteError               a program or file dockpy needs is not installed (hint: the package)
    ├── BuildError                      a build step failed
    └── RegistryError                   a registry refused or broke a transfer

This module imports nothing else from dockpy, so every layer can use it.
Lower-level exceptions (OSError, sqlite3.Error, lark's) are translated into
these at exactly one boundary per package; the CLI only ever prints them.
"""

from __future__ import annotations


class DockpyError(Exception):
    """Base of every error dockpy reports to the user.

    ``hint`` is an optional second sentence telling the user what to do next.
    ``exit_code`` is what the command line exits with (125, like Docker).
    """

    exit_code = 125

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class InvalidInputError(DockpyError, ValueError):
    """The user gave something malformed: a flag value, a file, a reference."""


class DockerfileError(InvalidInputError):
    """A Dockerfile that cannot be parsed or is invalid, located in its source.

    Renders as ``Dockerfile:7:5: unknown instruction "RUNN"``; ``snippet`` is the
    offending source line, shown under the message by the CLI.
    """

    def __init__(
        self,
        message: str,
        *,
        filename: str = "Dockerfile",
        line: int | None = None,
        column: int | None = None,
        snippet: str | None = None,
        hint: str | None = None,
    ):
        self.reason = message
        self.filename = filename
        self.line = line
        self.column = column
        self.snippet = snippet
        location = filename
        if line is not None:
            location += f":{line}"
            if column is not None:
                location += f":{column}"
        super().__init__(f"{location}: {message}", hint=hint)


class ExpansionError(InvalidInputError):
    """A shell word whose variables cannot be expanded (``${X:?unset}``, bad syntax)."""


class InvalidReferenceError(InvalidInputError):
    """An image reference, tag, revision or digest that does not parse."""


class NotFoundError(DockpyError, LookupError):
    """An image, tag, revision, container, stage or blob that does not exist."""


class ConflictError(DockpyError):
    """A name that is already taken, or an object that is still in use."""


class IntegrityError(DockpyError):
    """Content whose digest or size differs from what was promised."""


class OverlayFeatureError(DockpyError):
    """An overlay upper directory whose entries carry ``redirect``/``metacopy`` xattrs.

    Such an upper dir does not describe its changes by itself; the caller must
    diff the layer by comparing trees instead.
    """


class UnsafeArchiveError(DockpyError):
    """A tar archive that is malformed or tries to escape its target directory."""


class naming_the_archive:
    """``with naming_the_archive(name):`` prefixes ``name: `` to an UnsafeArchiveError the block raises.

    Docker names the file it cannot read; the tar reader sees only a stream,
    while the command line knows which file the user gave. ``None``
    (standard input) leaves the message as it is. A class, not a
    ``contextlib`` generator, so that importing this module imports nothing.
    """

    def __init__(self, name: str | None):
        self.name = name

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, traceback) -> bool:
        if isinstance(error, UnsafeArchiveError) and self.name is not None:
            raise UnsafeArchiveError(f"{self.name}: {error.message}", hint=error.hint) from error
        return False


class StoreError(DockpyError, OSError):
    """The storage root cannot be read or written (permissions, disk full)."""


class ContainerSetupError(DockpyError, OSError):
    """A syscall failed while setting up a container; names the call and the path."""


class PrerequisiteError(DockpyError):
    """A program or file dockpy needs is missing; ``hint`` names the package that provides it."""


class BuildError(DockpyError):
    """A build step failed; the message names Dockerfile:line and the exit status."""


class RegistryError(DockpyError):
    """A registry refused a request or a transfer broke."""
