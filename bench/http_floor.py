"""The floor under ``dockpy push`` of an image the registry already has.

Python starting, importing ``http.client`` and making the one request such a
push needs (HEAD the tag's manifest) on a plain-http registry, then ending
without Python's teardown as dockpy does: no tool written in Python with the
standard library's HTTP client does it in less. ``registry_bench`` times it
next to ``dockpy push``.

Run: ``python bench/http_floor.py HOST:PORT/REPOSITORY:TAG``
"""

import http.client
import os
import sys

ACCEPT = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"

address, _, name = sys.argv[1].partition("/")
repository, _, tag = name.rpartition(":")
connection = http.client.HTTPConnection(address)
connection.request("HEAD", f"/v2/{repository}/manifests/{tag}", headers={"Accept": ACCEPT})
response = connection.getresponse()
print(response.status, response.getheader("Docker-Content-Digest"), flush=True)
os._exit(0 if response.status == 200 else 1)
