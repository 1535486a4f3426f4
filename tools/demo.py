"""The README's first command: show S2 for Python working end to end."""

from __future__ import annotations

from importlib.metadata import version

PACKAGES = ["s2-core", "s2-local", "s2-logging", "s2-otel", "s2-celery"]


def main() -> None:
    for package in PACKAGES:
        print(f"{package:12} {version(package)}")


if __name__ == "__main__":
    main()
