"""`mf`, the command-line client of the Forge API (built on forge-sdk)."""

import sys

# httpx imports its own optional command-line client when its dependencies are installed (they
# are: Rich, click and pygments come with Typer). mf never runs it, and that import costs about
# a fifth of mf's start-up; an entry of None makes httpx fall back to its stub.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
