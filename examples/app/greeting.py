"""A module beside main.py, imported from the project directory."""


def greet(template: str, detail: str) -> str:
    return template.format(detail=detail)
