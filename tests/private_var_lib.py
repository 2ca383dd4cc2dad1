"""An argv prefix that runs a command with a private, empty /var/lib (a tmpfs in a mount namespace of its own).

containers/image (under podman 4.3) keeps a blob-info cache in
/var/lib/containers/cache whatever the storage configuration says: every
``podman load``, ``save`` and ``commit`` would write the host's copy. Run
behind this prefix, that write lands in the tmpfs and vanishes with the
namespace; the store the command is pointed at (its --root or storage.conf)
is elsewhere and unaffected.
"""

WITH_PRIVATE_VAR_LIB = ["unshare", "--mount", "--propagation", "private",
                        "sh", "-c", 'mount -t tmpfs tmpfs /var/lib && exec "$0" "$@"']
