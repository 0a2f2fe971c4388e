"""Deleting template images from an OCI registry (push and pull go through the engine's CLI).

The registry's HTTP API, as the OCI distribution specification defines it
(github.com/opencontainers/distribution-spec, spec.md, "Deleting manifests"): the tag's manifest
digest is read with ``HEAD /v2/<name>/manifests/<tag>`` (header ``Docker-Content-Digest``), then
``DELETE /v2/<name>/manifests/<digest>`` answers 202. A manifest already gone answers 404, which
is success here, so a gc interrupted half-way can simply run again.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ..provider import ProviderError

# Both manifest kinds an engine may push (OCI, and Docker's schema 2 that Docker still pushes).
MANIFEST_TYPES = ", ".join((
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
))
TIMEOUT = (5, 30)  # connect, read (seconds)


class RegistryError(ProviderError):
    """The registry refused or failed a request."""


@dataclass(frozen=True)
class ImageRef:
    registry: str  # host[:port]
    repository: str
    tag: str

    @classmethod
    def parse(cls, ref: str) -> ImageRef:
        host, _, rest = ref.partition("/")
        repository, _, tag = rest.rpartition(":")
        if not (host and repository and tag) or "/" in tag:
            raise RegistryError(f"{ref!r} is not an image reference with a registry and a tag")
        return cls(host, repository, tag)

    def __str__(self) -> str:
        return f"{self.registry}/{self.repository}:{self.tag}"


class Registry:
    """``insecure``: plain HTTP (a registry on loopback), as the engine's ``--tls-verify=false``."""

    def __init__(self, insecure: bool = False, retries: int = 3):
        self.scheme = "http" if insecure else "https"
        self.session = requests.Session()
        # Bounded retries with backoff on connection errors and 5xx; HEAD and DELETE are idempotent.
        retry = Retry(total=retries, backoff_factor=0.5, status_forcelist=(500, 502, 503, 504),
                      allowed_methods=frozenset({"HEAD", "GET", "DELETE"}))
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))

    def _url(self, ref: ImageRef, reference: str) -> str:
        return f"{self.scheme}://{ref.registry}/v2/{ref.repository}/manifests/{reference}"

    def _request(self, method: str, url: str, what: str, **options) -> requests.Response:
        try:
            return self.session.request(method, url, timeout=TIMEOUT, **options)
        except requests.RequestException as exc:
            raise RegistryError(f"registry unreachable while {what}: {type(exc).__name__}") from None

    def delete(self, image: str) -> bool:
        """Delete the tag's manifest; False when it was already gone."""
        ref = ImageRef.parse(image)
        what = f"deleting {ref}"
        head = self._request("HEAD", self._url(ref, ref.tag), what, headers={"Accept": MANIFEST_TYPES})
        if head.status_code == 404:
            return False
        digest = head.headers.get("Docker-Content-Digest")
        if head.status_code != 200 or not digest:
            raise RegistryError(f"registry answered {head.status_code} to HEAD of {ref} while {what}")
        gone = self._request("DELETE", self._url(ref, digest), what)
        if gone.status_code in (200, 202):
            return True
        if gone.status_code == 404:
            return False
        hint = " (the registry has deletion disabled: storage.delete.enabled)" if gone.status_code == 405 else ""
        raise RegistryError(f"registry answered {gone.status_code} to DELETE of {ref}{hint}")

    def exists(self, image: str) -> bool:
        ref = ImageRef.parse(image)
        head = self._request("HEAD", self._url(ref, ref.tag), f"looking up {ref}",
                             headers={"Accept": MANIFEST_TYPES})
        return head.status_code == 200

    def close(self) -> None:
        self.session.close()
