"""What an image's config means where it says nothing: shared by the image builder and the runtime.

It imports nothing, so ``dockpy.runtime`` (above ``dockpy.image`` in the
layering) reads it on ``run``'s hot path without loading the OCI types.
"""

# The PATH of an image that sets none: Docker's (moby's oci/defaults.go) and BuildKit's.
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
