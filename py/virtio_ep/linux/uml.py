"""User-Mode Linux runs: Debian's `user-mode-linux` (Linux 6.1 as an ordinary process, no KVM)
booted from a busybox initramfs built here, its virtio devices reached through vhost-user
sockets (`virtio_uml.device=SOCKET:ID`).

The initramfs is written in the kernel's `newc` cpio format by this module (no cpio tool):
busybox, the kernel modules the workload needs (with their dependencies, from the
package's modules.dep) and an init script. UML's console goes to a log file line by line;
`UmlRun.wait_for` watches for a line, and `stop` kills UML's whole process group (it may
panic at power-off, so a run is stopped after its DONE line rather than left to halt).
"""

from __future__ import annotations

import gzip
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

from ..layout import VirtioFeature

UML_BINARY = Path("/usr/bin/linux.uml")
BUSYBOX = Path("/bin/busybox")
MODULES_ROOT = Path("/usr/lib/uml/modules")
APT_PACKAGES = ("user-mode-linux", "busybox-static")
# UML has no DMA API (its buffers' physical addresses are what a device uses): with
# ACCESS_PLATFORM negotiated, Linux's vring allocation goes through dma_alloc_coherent,
# which UML cannot serve, and the probe fails with ENOMEM. A back end for UML offers the
# device's features without it.
UML_NOT_OFFERED = 1 << VirtioFeature.ACCESS_PLATFORM
PT_INTERP = 3                   # ELF program header type: the dynamic loader's path
STACK_LINE = re.compile(r"^\s*(\[<[0-9a-f]+>\]|([0-9a-f]{8,16}\s*)+$)")     # a kernel stack frame or hex dump
# UML 6.1 restores a process's FPU state with PTRACE_SETREGSET (NT_X86_XSTATE) from a buffer
# sized for x87, SSE and AVX; the host kernel takes only a buffer of its whole XSAVE area, which
# on a CPU with AVX-512 or AMX is larger, and refuses it (EFAULT): init dies at its first switch.
# Seen on a host with AMX (2026-12-06, host kernel 6.18): "userspace - ptrace set fp regs failed,
# errno = 14", then "Kernel panic - not syncing: Attempted to kill init!".
HOST_FPU_TOO_LARGE = "ptrace set fp regs failed"
HOST_FPU_REASON = ("this host's CPU keeps more FPU state (XSAVE: AVX-512 or AMX) than Debian's UML 6.1 can "
                   "restore: UML's init dies at its first context switch (\"ptrace set fp regs failed, errno = "
                   "14\"); UML cannot boot on this host")


class UmlError(RuntimeError):
    """UML is missing, failed to boot, or did not print what a run waited for."""


def require() -> None:
    missing = [str(p) for p in (UML_BINARY, BUSYBOX) if not p.exists()]
    if missing:
        raise UmlError(f"{', '.join(missing)} missing: install {' and '.join(APT_PACKAGES)} (make test does)")
    if is_dynamic(BUSYBOX):
        raise UmlError(f"{BUSYBOX} is dynamically linked (Debian's busybox): an initramfs has no C library; "
                       "install busybox-static")


def is_dynamic(elf: Path) -> bool:
    """Whether a 64-bit ELF executable asks for a program interpreter (PT_INTERP)."""
    raw = elf.read_bytes()
    phoff, phentsize, phnum = (int.from_bytes(raw[a:a + n], "little") for a, n in ((0x20, 8), (0x36, 2), (0x38, 2)))
    return any(int.from_bytes(raw[phoff + k * phentsize:][:4], "little") == PT_INTERP for k in range(phnum))


def kernel_release() -> str:
    releases = sorted(p.name for p in MODULES_ROOT.iterdir()) if MODULES_ROOT.is_dir() else []
    if len(releases) != 1:
        raise UmlError(f"expected one UML kernel under {MODULES_ROOT}, found {releases or 'none'}")
    return releases[0]


def modules_in_load_order(names: list[str]) -> list[Path]:
    """The modules named (by file stem, e.g. virtio_net) and those they depend on, each
    after its dependencies, as paths under the UML kernel's module folder."""
    root = MODULES_ROOT / kernel_release()
    deps: dict[str, list[str]] = {}
    for line in (root / "modules.dep").read_text().splitlines():
        mod, _, needs = line.partition(":")
        deps[mod] = needs.split()
    by_stem = {Path(m).name.removesuffix(".ko"): m for m in deps}
    order: list[str] = []

    def visit(mod: str) -> None:
        for d in deps[mod]:
            visit(d)
        if mod not in order:
            order.append(mod)
    for name in names:
        if name not in by_stem:
            raise UmlError(f"module {name} is not in {root / 'modules.dep'}")
        visit(by_stem[name])
    return [root / m for m in order]


def _newc_entry(name: str, mode: int, data: bytes, ino: int) -> bytes:
    fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name) + 1, 0]
    head = b"070701" + b"".join(f"{v:08X}".encode() for v in fields) + name.encode() + b"\0"
    pad = lambda n: b"\0" * (-n % 4)                                   # noqa: E731
    return head + pad(len(head)) + data + pad(len(data))


def newc_archive(files: dict[str, tuple[int, bytes]]) -> bytes:
    """A cpio archive (newc) of `files`: path -> (mode, bytes); a mode with the directory
    bit makes a folder. Ends with the TRAILER!!! entry."""
    out = b"".join(_newc_entry(name, mode, data, k + 1) for k, (name, (mode, data)) in enumerate(files.items()))
    return out + _newc_entry("TRAILER!!!", 0, b"", 0)


DIR, EXEC, FILE = 0o040755, 0o100755, 0o100644


def build_initramfs(script: str, modules: list[str], out: Path, data: dict[str, bytes] | None = None) -> list[str]:
    """A gzipped initramfs at `out`: busybox, `modules` with their dependencies under
    /lib/modules (their load order in /lib/modules/order), `script` as /init (a busybox sh
    script) and `data` (file name -> bytes) under /data. Returns the load order."""
    require()
    paths = modules_in_load_order(modules)
    files: dict[str, tuple[int, bytes]] = {d: (DIR, b"") for d in ("bin", "dev", "proc", "sys", "tmp", "lib",
                                                                    "lib/modules")}
    files["bin/busybox"] = (EXEC, BUSYBOX.read_bytes())
    for p in paths:
        files[f"lib/modules/{p.name}"] = (FILE, p.read_bytes())
    order = [p.name for p in paths]
    files["lib/modules/order"] = (FILE, ("\n".join(order) + "\n").encode())
    files["init"] = (EXEC, script.encode())
    if data:
        files["data"] = (DIR, b"")
        files.update((f"data/{name}", (FILE, raw)) for name, raw in data.items())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(gzip.compress(newc_archive(files), compresslevel=1))
    return order


def processes_naming(folder: Path) -> list[int]:
    """Processes whose command line names `folder` (a UML run's: uml_dir=<folder>)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and f"uml_dir={folder}" in (proc / "cmdline").read_bytes().decode(errors="replace"):
                found.append(int(proc.name))
        except OSError:             # it ended while we looked
            continue
    return found


class UmlRun:
    """One UML boot: its console in `log`, line by line."""

    def __init__(self, initrd: Path, devices: list[tuple[Path, int]], log: Path, mem_mb: int = 128,
                 extra_args: tuple[str, ...] = ()):
        require()
        self.log_path = log
        self.lines: list[str] = []
        self._cond = threading.Condition()
        # uml_dir: UML's mconsole folder beside the log, not in $HOME
        args = [str(UML_BINARY), f"mem={mem_mb}M", f"initrd={initrd}", "rdinit=/init", "console=tty0",
                "con0=null,fd:1", "con=null", f"uml_dir={log.parent}", "quiet", *extra_args]
        args += [f"virtio_uml.device={sock}:{device_id}" for sock, device_id in devices]
        self.args = args
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log = log.open("w")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        # a guard outside UML's group kills it when this process is gone: a simulator
        # killed outright (no `stop`) leaves no UML behind (UML's helpers outlive its main
        # process, so the whole group goes)
        self._guard = subprocess.Popen(
            ["/bin/sh", "-c", f"while kill -0 {os.getpid()} 2>/dev/null; do sleep 0.5; done; kill -9 -{self.proc.pid}"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    def _read(self) -> None:
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").rstrip("\r\n")
            self._log.write(line + "\n")
            self._log.flush()
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def tail(self, n: int = 30) -> str:
        """The console's last `n` lines that say something: a panic's stack frames and hex
        dumps left out, so its reason stays in view."""
        with self._cond:
            return self._tail_locked(n)

    def _tail_locked(self, n: int = 30) -> str:
        return "\n".join([line for line in self.lines if not STACK_LINE.match(line)][-n:])

    def wait_for(self, prefix: str, timeout_s: float) -> str:
        """The first console line starting with `prefix`; UmlError with the console's last
        lines if UML exits or `timeout_s` passes first."""
        deadline = time.monotonic() + timeout_s
        seen = 0
        with self._cond:
            while True:
                for line in self.lines[seen:]:
                    if line.startswith(prefix):
                        return line
                seen = len(self.lines)
                if self.proc.poll() is not None and not self._reader.is_alive():
                    cause = f" ({HOST_FPU_REASON})" if any(HOST_FPU_TOO_LARGE in x for x in self.lines) else ""
                    raise UmlError(f"UML exited ({self.proc.returncode}) before printing {prefix!r}{cause}; "
                                   f"last lines of {self.log_path}:\n" + self._tail_locked())
                left = deadline - time.monotonic()
                if left <= 0:
                    raise UmlError(f"UML printed no {prefix!r} in {timeout_s} s; last lines of {self.log_path}:\n"
                                   + self._tail_locked())
                self._cond.wait(min(left, 0.5))

    def stop(self) -> None:
        """Kill UML's process group (it leaves helper processes) and wait for it; then any
        process still naming this run's folder on its command line (a UML process is
        never left behind)."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(timeout=30)
        self._guard.kill()
        self._guard.wait(timeout=10)
        for pid in processes_naming(self.log_path.parent):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._reader.join(timeout=10)
        self.proc.stdout.close()
        self._log.close()

    def __enter__(self) -> "UmlRun":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


UP_INIT = "#!/bin/busybox sh\necho UP\n/bin/busybox sleep 3600\n"     # an init that says it runs, then waits
_host: list[str | None] = []        # cannot_boot's answer, once asked


def cannot_boot(folder: Path) -> str | None:
    """Why UML cannot boot on this host (HOST_FPU_REASON), from one boot of UP_INIT (console
    in `folder`); None if it boots, or fails for another reason (which the run that needs it
    reports). Asked once a process."""
    if not _host:
        initrd = folder / "initrd.gz"
        build_initramfs(UP_INIT, [], initrd)
        try:
            with UmlRun(initrd, [], folder / "uml.log") as run:
                run.wait_for("UP", 60)
            _host.append(None)
        except UmlError as exc:
            _host.append(HOST_FPU_REASON if HOST_FPU_REASON in str(exc) else None)
    return _host[0]
