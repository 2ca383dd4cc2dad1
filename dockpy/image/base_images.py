"""What a FROM line or ``dockpy run`` starts from: ``scratch``, a local image, or an offline template.

``FROM busybox`` and ``dockpy run debian:<suite>`` work without any registry:
when the store has no such image, the template (``dockpy.image.templates``)
builds the root filesystem, which is stored as a one-layer image and tagged
(operation ``import``), so the next build or run finds it like any local image.
The template's config is what Docker's images of the same name carry (PATH,
and ``sh``/``bash`` as the command). With ``SOURCE_DATE_EPOCH`` the
template image is reproducible too (file times are clamped, and it is dated
at the epoch); busybox is, without it, dated and clamped at the time its
binary was built.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dockpy.errors import NotFoundError
from dockpy.image.config_defaults import DEFAULT_PATH
from dockpy.image.oci import ContainerConfig, Descriptor, HistoryEntry, ImageConfig, Platform, RootFS, format_timestamp
from dockpy.image.reference import ImageReference, parse_reference
from dockpy.image.store import Image, ImageStore
from dockpy.layers.compression import Compression, commit_layer
from dockpy.layers.tarwriter import write_layer_tar

SCRATCH = "scratch"
DEBIAN_REPOSITORY = "docker.io/library/debian"
BUSYBOX_REPOSITORY = "docker.io/library/busybox"


@dataclass(frozen=True)
class TemplateRecipe:
    """How to make one template image: fill a directory, then the command it runs by default.

    ``release_time`` dates the image when no ``SOURCE_DATE_EPOCH`` does: a
    template made from one package version then gives the same image on
    every machine (so a build cache shared by CI runners matches). None
    where the content differs anyway (debootstrap's logs and keys).
    """

    name_tag: str
    fill: Callable[[Path], None]
    cmd: tuple[str, ...]
    release_time: Callable[[], int] | None = None


def find_base_image(store: ImageStore, reference: str, *, epoch: int | None,
                    compression: Compression = Compression.ZSTD) -> Image:
    """The local image ``reference`` names, made from a template the first time if it is one."""
    try:
        return store.resolve(reference)
    except NotFoundError as error:
        recipe = template_recipe(reference)
        if recipe is None:
            raise NotFoundError(error.message, hint=_pull_hint(reference) or error.hint) from None
    return _make_template_image(store, recipe, epoch, compression)


def _pull_hint(reference: str) -> str | None:
    """What to do about a missing image a registry could have (a name, not a revision or an id)."""
    parsed = parse_reference(reference)
    if not isinstance(parsed, ImageReference) or parsed.revision is not None or parsed.id_prefix is not None:
        return None
    return (f"dockpy does not pull on its own: 'dockpy pull {reference}' first "
            "(busybox and debian:<suite> are made offline, from templates).")


def template_recipe(reference: str) -> TemplateRecipe | None:
    """The template a reference names, if any (``busybox[:latest]``, ``debian:<suite>``)."""
    from dockpy.image import templates  # here: it starts programs (subprocess), and the image is usually stored

    parsed = parse_reference(reference)
    if not isinstance(parsed, ImageReference) or parsed.digest is not None or parsed.revision is not None:
        return None
    tag = parsed.tag_or_default
    if parsed.repository == BUSYBOX_REPOSITORY and tag == "latest":
        return TemplateRecipe(f"busybox:{tag}", templates.build_busybox_rootfs, ("sh",), templates.busybox_release_time)
    if parsed.repository == DEBIAN_REPOSITORY and templates.is_debian_suite(tag):
        return TemplateRecipe(f"debian:{tag}", lambda target: templates.build_debian_rootfs(target, tag), ("bash",))
    return None


def _make_template_image(store: ImageStore, recipe: TemplateRecipe, epoch: int | None,
                         compression: Compression) -> Image:
    if epoch is None and recipe.release_time is not None:
        epoch = recipe.release_time()
    # The write lease from the start: gc takes a build-* directory in <root>/tmp that no writer holds for
    # a killed build's leftover.
    with store.writing():
        scratch = Path(tempfile.mkdtemp(prefix="build-template-", dir=store.root.tmp))
        try:
            recipe.fill(scratch)
            layer = commit_layer(store.content, lambda out: write_layer_tar(scratch, out, source_date_epoch=epoch),
                                 compression)
            image = store.put_image(_template_config(layer.diff_id, recipe, epoch),
                                    [Descriptor(layer.media_type, layer.digest, layer.size)])
            store.add_revision(recipe.name_tag, image, operation="import",
                               message=f"created by the {recipe.name_tag.split(':')[0]} template")
            return image
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def _template_config(diff_id, recipe: TemplateRecipe, epoch: int | None) -> ImageConfig:
    platform = Platform.host()
    created = format_timestamp(epoch)
    return ImageConfig(
        architecture=platform.architecture, os=platform.os, variant=platform.variant, created=created,
        rootfs=RootFS((diff_id,)),
        config=ContainerConfig(env=(f"PATH={DEFAULT_PATH}",), cmd=recipe.cmd),
        history=(HistoryEntry(created=created, created_by=f"dockpy template {recipe.name_tag}"),),
    )
