"""The state of one stage while it is built: its image config so far, variables, layers.

A stage starts from its base image's config (``StageState.from_base``); each
instruction changes the state, and the finished state becomes the image
config (``StageState.image_config``). History entries are collected with
the time their layer was first made (a cache hit keeps the original time),
so rebuilding an unchanged Dockerfile gives the same config, hence the same
image id; empty-layer entries take the time of the layer below them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dockpy.build.stages import Stage
from dockpy.build.variables import StageVariables
from dockpy.image.config_defaults import DEFAULT_PATH
from dockpy.image.oci import (
    ContainerConfig,
    Descriptor,
    HistoryEntry,
    ImageConfig,
    Platform,
    RootFS,
    format_timestamp,
    parse_timestamp,
)
from dockpy.layers.digests import ChainID, DiffID, chain_ids

DEFAULT_SHELL = ("/bin/sh", "-c")


@dataclass(frozen=True)
class PendingHistory:
    """A history entry whose ``created`` is decided when the image is assembled."""

    created_by: str
    empty_layer: bool
    layer_created: float | None = None


@dataclass
class StageState:
    """A stage under construction (mutable; one per stage being built)."""

    stage: Stage
    base_config: ImageConfig
    container: ContainerConfig
    variables: StageVariables
    layers: list[Descriptor] = field(default_factory=list)
    diff_ids: list[DiffID] = field(default_factory=list)
    history: list[PendingHistory] = field(default_factory=list)
    author: str | None = None
    cmd_set: bool = False

    @classmethod
    def from_base(cls, stage: Stage, base: ImageConfig, layers: list[Descriptor]) -> "StageState":
        container = base.config or ContainerConfig()
        return cls(
            stage=stage,
            base_config=base,
            container=container,
            variables=StageVariables.from_config_env(container.env),
            layers=list(layers),
            diff_ids=list(base.rootfs.diff_ids),
            author=base.author,
        )

    @property
    def shell(self) -> tuple[str, ...]:
        return tuple(self.container.shell or DEFAULT_SHELL)

    @property
    def working_dir(self) -> str:
        return self.container.working_dir or "/"

    @property
    def top_chain(self) -> ChainID | None:
        """The chain id of the top layer: the snapshot the next step runs on."""
        return chain_ids(self.diff_ids)[-1] if self.diff_ids else None

    def configure(self, **changes) -> None:
        """Change fields of the container config (``env``, ``cmd``, ...)."""
        self.container = self.container.replace(**changes)

    def set_env(self, name: str, value: str) -> None:
        self.variables.env[name] = value
        self.configure(env=self.variables.config_env())

    def add_layer(self, layer: Descriptor, diff_id: DiffID, created_by: str, created: float) -> None:
        self.layers.append(layer)
        self.diff_ids.append(diff_id)
        self.history.append(PendingHistory(created_by, False, created))

    def add_empty_history(self, created_by: str) -> None:
        self.history.append(PendingHistory(created_by, True))

    def image_config(self, platform: Platform, fixed_time: float | None = None) -> ImageConfig:
        """The finished config; ``fixed_time`` (SOURCE_DATE_EPOCH) dates every entry the same."""
        base_history = list(self.base_config.history or ())
        latest = _base_time(self.base_config, fixed_time)
        entries = []
        for pending in self.history:
            when = fixed_time if fixed_time is not None else (pending.layer_created or latest)
            latest = when if when is not None else latest
            entries.append(HistoryEntry(
                created=format_timestamp(when) if when is not None else None,
                created_by=pending.created_by, empty_layer=pending.empty_layer,
            ))
        return ImageConfig(
            architecture=platform.architecture, os=platform.os, variant=platform.variant,
            rootfs=RootFS(tuple(self.diff_ids)), created=format_timestamp(latest) if latest is not None else None,
            author=self.author, config=self.container, history=tuple(base_history + entries),
        )


def scratch_config(platform: Platform) -> ImageConfig:
    """What ``FROM scratch`` starts from: no layers, BuildKit's default PATH and working dir."""
    container = ContainerConfig(env=(f"PATH={DEFAULT_PATH}",), working_dir="/")
    return ImageConfig(architecture=platform.architecture, os=platform.os, variant=platform.variant,
                       rootfs=RootFS(()), config=container)


def _base_time(base: ImageConfig, fixed_time: float | None) -> float | None:
    return fixed_time if fixed_time is not None else parse_timestamp(base.created)
