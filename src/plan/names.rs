//! The names the plan's stages, mounts and scripts go by, shared by the builder and runtime
//! stages' planning.

pub const DEPS_STAGE: &str = "deps";
pub const PROJECT_STAGE: &str = "project";
pub const RUNTIME_STAGE: &str = "runtime";
/// `[build] run`'s commands, on top of the project phase.
pub const BUILD_STAGE: &str = "build";
/// The runtime image without the project's own files: what the interpreter check runs in.
pub const RUNTIME_DEPS_STAGE: &str = "runtime-deps";
/// What uv's build backend leaves out of a wheel by default: bytecode a developer's checkout
/// may hold, never copied with the modules (Python writes none in the image either).
pub const STALE_BYTECODE: [&str; 3] = ["**/__pycache__", "**/*.pyc", "**/*.pyo"];
/// Where phase 2 collects the files it wrote, where DiffOp is missing.
pub const WRITTEN_MOUNT: &str = "/uv-frontend/written";

/// The interpreter check's script (a file of the frontend's scripts), run by the venv's
/// `bin/python` in the runtime image: the interpreter starts with its standard library and is
/// the Python version the venv was made with, or it exits non-zero saying which it is.
pub const INTERPRETER_CHECK_SCRIPT: &str = "interpreter-check.py";

/// Where the kept venv is mounted during phase 1.
pub const VENV_CACHE_MOUNT: &str = "/uv-frontend/venv-cache";
