"""python -m simvoip: the simvoip command."""

from simvoip.cli import main

raise SystemExit(main())
