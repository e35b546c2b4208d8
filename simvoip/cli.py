"""The ``simvoip`` command (placeholder until the CLI work of issue 8 lands)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("simvoip: command line not built yet", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
