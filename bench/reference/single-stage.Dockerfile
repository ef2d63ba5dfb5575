# uv's Docker guide (https://docs.astral.sh/uv/guides/integration/docker/), single-stage variant
# with intermediate layers, pinned to the test bed's images. Used by bench/run as a reference for
# every example; not used by uv-frontend itself.
#
# Build args (bench/run sets them per example):
#   DEPS_FLAGS  phase-1 flags: "--locked --no-install-project" (default) for a single project,
#               "--frozen --no-install-workspace" for a workspace (the members' pyproject.toml
#               files are not there yet, so --locked cannot check the lock)
#   SCRIPT      the console script the image runs

FROM 127.0.0.1:5000/python:3.11-bookworm
COPY --from=127.0.0.1:5000/uv:0.13.9 /uv /bin/uv

# Compile bytecode at install time; copy out of the cache mount instead of hard-linking;
# use the image's interpreter.
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=0

WORKDIR /app

# Phase 1: third-party dependencies only, keyed on uv.lock and pyproject.toml.
ARG DEPS_FLAGS="--locked --no-install-project"
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync ${DEPS_FLAGS} --no-dev

# Phase 2: the project itself (editable, as in the guide's single-stage example).
COPY . /app
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev

ENV PATH="/app/.venv/bin:$PATH"
ARG SCRIPT
ENV BENCH_SCRIPT=${SCRIPT}
CMD ["/bin/sh", "-c", "exec \"$BENCH_SCRIPT\""]
