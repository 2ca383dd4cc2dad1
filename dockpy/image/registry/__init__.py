"""Talking to OCI distribution registries: authentication, blobs, manifests.

``client`` speaks the distribution spec's HTTP API (one repository-scoped
request at a time, with retries); ``auth`` answers its 401 challenges
(Bearer tokens and Basic) from Docker's credential files. Moving whole images
between a registry and the image store builds on these two.
"""
