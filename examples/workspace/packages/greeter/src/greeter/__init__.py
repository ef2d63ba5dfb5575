"""greeter: workspace member library."""

import six


def greet(name: str) -> str:
    return six.ensure_str(f"Hello, {name}!")
