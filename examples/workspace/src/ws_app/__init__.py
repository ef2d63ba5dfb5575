"""ws-app: workspace root application for uv-frontend."""

from importlib.metadata import version

from greeter import greet


def main() -> None:
    print(
        f"ws-app: {greet('workspace')} "
        f"(greeter {version('greeter')}, six {version('six')})"
    )
