"""The floor under ``dockpy push`` to an empty registry.

Python starting, importing ``http.client``, and the two requests that put one
blob into a registry on plain http (``POST`` an upload session, ``PUT`` the
file's bytes with ``sendfile``), then ending without Python's teardown. It
measures the registry more than the client: ``docker-registry`` hashes and
writes what it receives and fsyncs it before it answers the ``PUT``. No tool
written in Python with the standard library's HTTP client pushes that blob in
less; dockpy's push adds the config and the manifest, its checks and its own
start-up. ``registry_bench`` times it next to ``dockpy push``.

Run: ``python bench/upload_floor.py HOST:PORT/REPOSITORY FILE sha256:HEX``
"""

import http.client
import os
import sys
from urllib.parse import urlsplit

address, _, repository = sys.argv[1].partition("/")
path, digest = sys.argv[2], sys.argv[3]
connection = http.client.HTTPConnection(address)
connection.request("POST", f"/v2/{repository}/blobs/uploads/", headers={"Content-Length": "0"})
started = connection.getresponse()
started.read()
upload = urlsplit(started.getheader("Location"))
target = f"{upload.path}?{upload.query + '&' if upload.query else ''}digest={digest}"
with open(path, "rb") as blob:
    size = os.fstat(blob.fileno()).st_size
    connection.putrequest("PUT", target)
    connection.putheader("Content-Type", "application/octet-stream")
    connection.putheader("Content-Length", str(size))
    connection.endheaders()
    connection.sock.sendfile(blob)
stored = connection.getresponse()
print(stored.status, stored.getheader("Docker-Content-Digest"), flush=True)
os._exit(0 if started.status == 202 and stored.status == 201 else 1)
