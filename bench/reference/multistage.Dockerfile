# uv's Docker guide (https://docs.astral.sh/uv/guides/integration/docker/), multistage variant:
# the builder stage syncs with a cache mount, the runtime stage copies only the venv. The same
# pattern as examples/*/Dockerfile.reference, generalised with build args so that it serves every
# example. Used by bench/run; not used by uv-frontend itself.
#
# Build args (bench/run sets them per example):
#   DEPS_FLAGS  phase-1 flags: "--locked --no-install-project" (default) for a single project,
#               "--frozen --no-install-workspace" for a workspace
#   SCRIPT      the console script the image runs

FROM 127.0.0.1:5000/python:3.11-bookworm AS builder
COPY --from=127.0.0.1:5000/uv:0.13.9 /uv /bin/uv

ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=0

WORKDIR /app

# Phase 1: third-party dependencies only, keyed on uv.lock and pyproject.toml.
ARG DEPS_FLAGS="--locked --no-install-project"
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync ${DEPS_FLAGS} --no-dev

# Phase 2: the project, non-editable so that the runtime stage needs only .venv.
COPY . /app
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-editable

FROM 127.0.0.1:5000/python:3.11-bookworm
COPY --from=builder /app/.venv /app/.venv
ENV PATH="/app/.venv/bin:$PATH"
ARG SCRIPT
ENV BENCH_SCRIPT=${SCRIPT}
CMD ["/bin/sh", "-c", "exec \"$BENCH_SCRIPT\""]
