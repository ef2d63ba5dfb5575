"""hello-hatch: a package hatchling builds, for uv-frontend."""

from importlib.metadata import version


def _dev_status() -> str:
    try:
        import iniconfig  # noqa: F401  (dev-only dependency)
    except ImportError:
        return "absent"
    return "present"


def main() -> None:
    import idna  # noqa: F401  (prove the runtime dependency imports)

    print(
        f"hello from hello-hatch {version('hello-hatch')} "
        f"(idna {version('idna')}) dev={_dev_status()}"
    )
