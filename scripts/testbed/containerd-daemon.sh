#!/usr/bin/env bash
# The containerd-image-store dockerd of the test bed: `side-daemon.sh containerd ...`.
exec "$(dirname "${BASH_SOURCE[0]}")/side-daemon.sh" containerd "$@"
