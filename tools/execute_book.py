"""Execute the book's notebooks on every core, into the cache that ``jupyter-book build`` reads.

The build runs each notebook its jupyter-cache lacks one after another (myst-nb's cache mode
has no parallel executor), so on a clean clone one core executes for a minute and a half while
the others wait. This fills the same cache first with jupyter-cache's own parallel executor,
with the build's timeout and ``allow_errors`` from _config.yml. The build stays the judge of
every page: it finds a notebook here only if its code is the same (the cache keys on the code
cells), and a notebook that failed here is not cached, so the build runs it again and fails on
it with its own message.

    python -m tools.execute_book CACHE_FOLDER NOTEBOOK...
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import yaml
from jupyter_cache import get_cache
from jupyter_cache.executors import load_executor

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cache", type=Path, help="the build's jupyter-cache folder")
    parser.add_argument("notebooks", type=Path, nargs="+", help="the notebooks the build executes")
    args = parser.parse_args(argv)
    execute = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["execute"]
    cache = get_cache(args.cache)
    uris = [str(notebook.resolve()) for notebook in args.notebooks]
    for uri in uris:
        cache.add_nb_to_project(uri)
    logger = logging.getLogger("tools.execute_book")
    logger.setLevel(logging.WARNING)  # the build says what it found in the cache
    result = load_executor("local-parallel", cache, logger=logger).run_and_cache(
        filter_uris=uris, timeout=execute["timeout"], allow_errors=execute["allow_errors"])
    failed = result.excepted + result.errored
    print(f"execute_book: executed {len(result.succeeded)} of {len(uris)} notebooks into {args.cache}"
          + (f"; failed (the build runs them again): {', '.join(failed)}" if failed else ""))
    return 0  # the build decides: a notebook that failed here fails it


if __name__ == "__main__":
    raise SystemExit(main())
