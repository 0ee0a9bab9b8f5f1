"""``python -m imagex_dedup``: the command line (see :mod:`imagex_dedup.engine.cli`)."""

from imagex_dedup.engine.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
