#!/usr/bin/env python3
"""Pushes a manifest list (Docker schema 2 list) to the test bed registry.

    manifest-list.py REGISTRY INDEX REF...

INDEX and every REF are `REGISTRY/repo:tag` in the same repository; the list holds each REF's
manifest with the platform its image config names. Plain HTTP (the loopback registry).
"""

import json
import sys
import urllib.request

ACCEPT = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
    ]
)
LIST = "application/vnd.docker.distribution.manifest.list.v2+json"


def main() -> None:
    registry, index, refs = sys.argv[1], sys.argv[2], sys.argv[3:]

    def split(ref: str) -> tuple[str, str]:
        repo, tag = ref[len(registry) + 1 :].rsplit(":", 1)
        return repo, tag

    def get(url: str, accept: str):
        req = urllib.request.Request(url, headers={"Accept": accept})
        with urllib.request.urlopen(req) as r:
            return r.read(), r.headers

    index_repo, index_tag = split(index)
    manifests = []
    for ref in refs:
        repo, tag = split(ref)
        if repo != index_repo:
            sys.exit(f"{ref} is not in the repository of {index}")
        body, headers = get(f"http://{registry}/v2/{repo}/manifests/{tag}", ACCEPT)
        manifest = json.loads(body)
        config, _ = get(
            f"http://{registry}/v2/{repo}/blobs/{manifest['config']['digest']}", "*/*"
        )
        config = json.loads(config)
        manifests.append(
            {
                "mediaType": headers["Content-Type"],
                "digest": headers["Docker-Content-Digest"],
                "size": len(body),
                "platform": {"architecture": config["architecture"], "os": config["os"]},
            }
        )
    doc = json.dumps({"schemaVersion": 2, "mediaType": LIST, "manifests": manifests}).encode()
    req = urllib.request.Request(
        f"http://{registry}/v2/{index_repo}/manifests/{index_tag}",
        data=doc,
        method="PUT",
        headers={"Content-Type": LIST},
    )
    urllib.request.urlopen(req).read()
    platforms = " ".join(f"{m['platform']['os']}/{m['platform']['architecture']}" for m in manifests)
    print(f"{index}: {platforms}")


if __name__ == "__main__":
    main()
