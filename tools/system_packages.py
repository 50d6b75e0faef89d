"""Install Debian packages a bench or a test needs (Varnish, nginx, wrk) when they are missing.

`make install` never needs them; the Varnish tests and the benches call `ensure` and skip (tests)
or stop (benches) with the reason when apt cannot install them here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

VARNISH = ("varnishd", ("varnish", "varnish-modules"))
NGINX = ("nginx", ("nginx",))
WRK = ("wrk", ("wrk",))
# Where Debian's varnish-modules puts the xkey vmod (under the multiarch triplet).
XKEY_VMOD = Path("/usr/lib")
_SBIN = ("/usr/sbin", "/sbin")


class Unavailable(RuntimeError):
    """The packages could not be installed here; the message says why."""


def which(binary: str) -> str | None:
    path = os.pathsep.join([os.environ.get("PATH", ""), *_SBIN])
    return shutil.which(binary, path=path)


def _apt(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(
        ["apt-get", *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )


def _present(extra: Path) -> bool:
    if extra == XKEY_VMOD:
        return any(extra.glob("*/varnish/vmods/libvmod_xkey.so"))
    return extra.exists()


def ensure(binary: str, packages: tuple[str, ...], extra: Path | None = None) -> str:
    """The path of `binary`, installing `packages` with apt-get (after `apt-get update`) first
    when it (or the `extra` file it needs) is missing. Raises Unavailable with apt's reason."""
    found = which(binary)
    if found and (extra is None or _present(extra)):
        return found
    if shutil.which("apt-get") is None:
        raise Unavailable(f"{binary} is not installed and there is no apt-get to install it")
    _apt("update", "-qq")
    done = _apt("install", "-y", "-qq", "--no-install-recommends", *packages)
    found = which(binary)
    if done.returncode != 0 or not found or (extra is not None and not _present(extra)):
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise Unavailable(f"apt-get install {' '.join(packages)} failed: {' | '.join(tail)}")
    return found


def ensure_varnish() -> str:
    binary, packages = VARNISH
    return ensure(binary, packages, XKEY_VMOD)


if __name__ == "__main__":
    wanted = {"varnish": VARNISH, "nginx": NGINX, "wrk": WRK}
    for name in sys.argv[1:] or list(wanted):
        binary, packages = wanted[name]
        extra = XKEY_VMOD if name == "varnish" else None
        print(name, ensure(binary, packages, extra))
