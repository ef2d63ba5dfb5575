"""hello-uv: tiny example package for uv-frontend."""

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
        f"hello from hello-uv {version('hello-uv')} "
        f"(idna {version('idna')}) dev={_dev_status()}"
    )
