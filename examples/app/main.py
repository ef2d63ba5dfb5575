"""hello-app: runs from its project directory, as `uv init` applications do; uv installs
only its dependencies, so the image needs these files beside the venv."""

from importlib.metadata import version
from pathlib import Path

from greeting import greet


def main() -> None:
    import idna  # noqa: F401  (prove the runtime dependency imports)

    template = (Path(__file__).parent / "templates" / "greeting.txt").read_text().strip()
    print(greet(template, f"idna {version('idna')}"))


if __name__ == "__main__":
    main()
