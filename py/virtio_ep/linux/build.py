"""Linux's drivers/virtio/virtio_ring.c as a shared library, built in user space.

Debian's `linux-source-6.1` package (installed by `make linux-source`, which `make test`
runs first) holds the kernel's sources as one tarball; only what the build needs is
extracted (the ring code, tools/virtio's stub headers, the kernel's include and UAPI
folders) into sim_build/linux/, and compiled with tools/virtio's flags together with the
project's own shim (shim/vring_shim.c) and DMA-mapping header (shim/include/). Nothing of
Linux is kept in git. The library is rebuilt when the shim or the package version changes.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
CACHE = REPO / "sim_build" / "linux"
PACKAGE = "linux-source-6.1"
TARBALL = Path("/usr/src") / f"{PACKAGE}.tar.xz"
TOP = PACKAGE                                  # the tarball's top folder
MEMBERS = ("drivers/virtio/virtio_ring.c", "tools/virtio/", "tools/include/", "include/", "usr/include/")
SHIM_FILES = ("vring_shim.c", "include/linux/dma-mapping.h")
# tools/virtio/Makefile's CFLAGS; on 6.1 its headers lack data_race()
CFLAGS = ["-O2", "-g", "-Wall", "-Wno-maybe-uninitialized", "-Wno-pointer-sign", "-fno-strict-overflow",
          "-fno-strict-aliasing", "-fno-common", "-U_FORTIFY_SOURCE", "-pthread", "-D" "data_race(x)=(x)",
          "-shared", "-fPIC"]
WRAPPED = ("malloc", "free", "calloc", "realloc")

log = logging.getLogger("virtio_ep.linux")


class LinuxBuildError(RuntimeError):
    pass


def package_version() -> str:
    """The installed linux-source package's version, or a message saying how to install it."""
    if not TARBALL.exists():
        raise LinuxBuildError(f"{TARBALL} is missing: run `make linux-source` "
                              f"(it runs `apt-get install {PACKAGE}`, a 139 MB download)")
    proc = subprocess.run(["dpkg-query", "-W", "-f=${Version}", PACKAGE], capture_output=True, text=True)
    return proc.stdout.strip() or "unknown (not installed by dpkg)"


def _extract(dest: Path) -> Path:
    """The members the build needs, extracted once per package version."""
    src = dest / TOP
    if (src / "drivers" / "virtio" / "virtio_ring.c").exists():
        return src
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    # tar with xz is four times faster than Python's tarfile on this 139 MB archive
    proc = subprocess.run(["tar", "-xJf", str(TARBALL), "-C", str(dest), *(f"{TOP}/{m}" for m in MEMBERS)],
                          capture_output=True, text=True)
    if proc.returncode:
        raise LinuxBuildError(f"extracting {TARBALL} failed: {proc.stderr[-2000:]}")
    if not (src / "drivers" / "virtio" / "virtio_ring.c").exists():
        raise LinuxBuildError(f"{TARBALL} has no drivers/virtio/virtio_ring.c")
    return src


def library() -> Path:
    """The shared library, built if needed (serialised between parallel workers)."""
    version = package_version()
    shim = HERE / "shim"
    key = hashlib.sha1((version + "".join((shim / f).read_text() for f in SHIM_FILES)).encode()).hexdigest()[:10]
    out = CACHE / f"libvring-{key}.so"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if out.exists():
            return out
        src = _extract(CACHE / f"src-{version}")
        tv = src / "tools" / "virtio"
        cmd = ["gcc", *CFLAGS, f"-I{shim / 'include'}", f"-I{tv}", f"-I{src / 'tools' / 'include'}",
               f"-I{src / 'usr' / 'include'}", "-include", str(src / "include" / "linux" / "kconfig.h"),
               str(src / "drivers" / "virtio" / "virtio_ring.c"), str(shim / "vring_shim.c"),
               *(f"-Wl,--wrap={f}" for f in WRAPPED), "-o", str(out)]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tv)
        if proc.returncode:
            raise LinuxBuildError(f"building {out.name} failed ({' '.join(cmd)}):\n{proc.stderr[-4000:]}")
        log.info("built %s from %s %s (virtio_ring.c) and the project's shim", out, PACKAGE, version)
    return out
