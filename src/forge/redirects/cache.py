"""Compiled rule sets kept per process, keyed by (environment, version).

A set is compiled once per version and process; a newer version replaces the older one on its
first use (nothing to restart), and the least recently used environments are dropped past a
bound so a process serving many sites keeps its memory in check.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from forge.redirects.engine import CompiledRules, Rule, compile_rules

MAX_ENVIRONMENTS = 4096


class CompiledCache:
    def __init__(self, max_environments: int = MAX_ENVIRONMENTS) -> None:
        self._max = max_environments
        self._lock = threading.Lock()
        self._sets: OrderedDict[str, tuple[int, CompiledRules]] = OrderedDict()

    def get(self, env_id: str, version: int) -> CompiledRules | None:
        with self._lock:
            found = self._sets.get(env_id)
            if found is None or found[0] != version:
                return None
            self._sets.move_to_end(env_id)
            return found[1]

    def put(self, env_id: str, version: int, rules: Sequence[Rule]) -> CompiledRules:
        """Compile `rules` as `version` of the environment's set and keep it (unless a newer
        version is kept already, which a slow loader must not replace)."""
        compiled = compile_rules(rules)
        with self._lock:
            kept = self._sets.get(env_id)
            if kept is not None and kept[0] > version:
                return compiled
            self._sets[env_id] = (version, compiled)
            self._sets.move_to_end(env_id)
            while len(self._sets) > self._max:
                self._sets.popitem(last=False)
        return compiled

    def clear(self) -> None:
        with self._lock:
            self._sets.clear()


COMPILED = CompiledCache()
