#!/bin/sh
# What the service runs before it starts, as its own Dockerfile would: the migrations.
set -e
alembic upgrade head
