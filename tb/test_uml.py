"""User-Mode Linux against the project's vhost-user back end (no simulation): Linux 6.1's
virtio_uml probes the project's net device through it, virtio_net binds with its config,
and every queue arrives with its memory, addresses and file descriptors; bringing eth0 up
kicks the RX queue. (virtio_blk reads its partition table at probe, which needs a device
that answers: that is the RTL's, through the bridge of issue 18.)"""

from __future__ import annotations

import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from test_sim import selected_simulators
from virtio_ep import simrun
from virtio_ep.runconfig import RunConfig
from virtio_ep.scenarios import RUNS_MODULE
from virtio_ep.devices import net_device
from virtio_ep.layout import NET_RX_QUEUE, VHOST_USER_VERSION, VhostUserRequest, VirtioDeviceId, VirtioFeature
from virtio_ep.linux import uml
from virtio_ep.linux.vhost_user import GuestMemory, VhostUserBackend, VhostUserError, Vring

BOOT_TIMEOUT_S = 60


class ProbedDevice:
    """A device that only records what the front end set up (the vhost-user layer's test)."""

    def __init__(self, device):
        self.device = device
        self.features = device.features & (1 << 64) - 1 & ~uml.UML_NOT_OFFERED
        self.queues = device.num_queues
        self.negotiated: int | None = None
        self.enabled: dict[int, tuple[Vring, bytes]] = {}

    def config(self) -> bytes:
        return bytes(self.device.config)

    def set_features(self, features: int) -> None:
        self.negotiated = features

    def vring_enabled(self, vring: Vring, memory: GuestMemory) -> None:
        # the descriptor table must be readable through the mapped memory
        self.enabled[vring.index] = (vring, memory.read(vring.desc, 16 * vring.num))

    def vring_stopped(self, vring: Vring) -> int:
        return 0

    def kicked(self, vring: Vring) -> None:
        pass


INIT = """#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
for m in $(/bin/busybox cat /lib/modules/order); do /bin/busybox insmod /lib/modules/$m || echo "FAILED insmod $m"; done
/bin/busybox ip link set eth0 up
/bin/busybox sleep 1
echo "NET $(/bin/busybox ls /sys/class/net | /bin/busybox tr '\\n' ' ')"
echo "MAC $(/bin/busybox cat /sys/class/net/eth0/address)"
echo DONE
/bin/busybox poweroff -f
"""


@pytest.fixture(scope="module")
def uml_boots(tmp_path_factory) -> None:
    """A test that boots UML is skipped, with the reason, on a host where UML cannot boot
    (uml.cannot_boot: a CPU whose FPU state UML 6.1 cannot restore)."""
    reason = uml.cannot_boot(tmp_path_factory.mktemp("uml-probe"))
    if reason:
        pytest.skip(reason)


def test_a_host_that_cannot_boot_uml_is_named(tmp_path: Path) -> None:
    """On a host where UML cannot boot, a run says why (the FPU state it cannot restore) and
    the probe names it; elsewhere, the probe says nothing and an init that prints UP boots."""
    reason = uml.cannot_boot(tmp_path / "probe")
    initrd = tmp_path / "initrd.gz"
    uml.build_initramfs(uml.UP_INIT, [], initrd)
    with uml.UmlRun(initrd, [], tmp_path / "uml.log") as run:
        if reason:
            assert reason == uml.HOST_FPU_REASON
            with pytest.raises(uml.UmlError, match=re.escape(uml.HOST_FPU_REASON)):
                run.wait_for("UP", BOOT_TIMEOUT_S)
        else:
            assert run.wait_for("UP", BOOT_TIMEOUT_S) == "UP"


@pytest.mark.usefixtures("uml_boots")
def test_linux_probes_net_and_block_through_vhost_user(tmp_path: Path) -> None:
    net = ProbedDevice(net_device())
    backends = [VhostUserBackend(tmp_path / "net.sock", net)]
    errors: list[BaseException] = []

    def serve(b: VhostUserBackend) -> None:
        try:
            b.serve(accept_timeout_s=BOOT_TIMEOUT_S)
        except BaseException as exc:        # reported by the test below
            errors.append(exc)
    threads = [threading.Thread(target=serve, args=(b,), daemon=True) for b in backends]
    for t in threads:
        t.start()
    initrd = tmp_path / "initrd.gz"
    order = uml.build_initramfs(INIT, ["virtio_net"], initrd)
    assert order == ["failover.ko", "net_failover.ko", "virtio_net.ko"], order     # dependencies first
    devices = [(backends[0].path, VirtioDeviceId.NET)]
    with uml.UmlRun(initrd, devices, tmp_path / "uml.log") as run:
        lines = {line.split(" ", 1)[0]: line for line in (run.wait_for(p, BOOT_TIMEOUT_S) for p in
                                                          ("NET", "MAC", "DONE"))}
        log = run.tail(60)
    for b in backends:
        b.stop()
    for t in threads:
        t.join(timeout=10)
    assert not errors, f"back end failed: {errors[0]!r}\n{log}"
    assert "FAILED" not in log, log
    assert "eth0" in lines["NET"].split(), lines["NET"]
    mac = ":".join(f"{b:02x}" for b in net.device.config[:6])
    assert lines["MAC"].split()[1] == mac, (lines["MAC"], mac)
    for dev in (net,):
        assert dev.negotiated is not None and dev.negotiated >> VirtioFeature.VERSION_1 & 1, dev.negotiated
        assert sorted(dev.enabled) == list(range(dev.queues)), sorted(dev.enabled)
        for vring, _ in dev.enabled.values():
            assert vring.num and vring.desc and vring.avail and vring.used, vring
            assert vring.kick_fd is not None and vring.call_fd is not None, vring
    # eth0 up: virtio_net posted its RX buffers and kicked (the kick eventfd reached us)
    assert net.enabled[NET_RX_QUEUE][0].kicks >= 1, net.enabled[NET_RX_QUEUE][0]


@pytest.mark.usefixtures("uml_boots")
def test_uml_that_fails_to_boot_is_reported(tmp_path: Path) -> None:
    """An init that exits: Linux panics ("Attempted to kill init"), UML ends, and waiting for
    a line fails at once with UML's last console lines, the panic's reason among them (its
    stack dump, longer than the tail, left out); no UML process is left."""
    initrd = tmp_path / "initrd.gz"
    uml.build_initramfs("#!/bin/busybox sh\necho INIT-RAN\nexit 3\n", [], initrd)
    with uml.UmlRun(initrd, [], tmp_path / "uml.log") as run:
        with pytest.raises(uml.UmlError, match="exited") as err:
            run.wait_for("DONE", BOOT_TIMEOUT_S)
    assert "INIT-RAN" in str(err.value) and "Attempted to kill init" in str(err.value), err.value
    assert not uml.processes_naming(tmp_path), uml.processes_naming(tmp_path)


ORPHAN = """
import sys, time
from pathlib import Path
from virtio_ep.linux import uml
d = Path(sys.argv[1])
uml.build_initramfs(uml.UP_INIT, [], d / "initrd.gz")
run = uml.UmlRun(d / "initrd.gz", [], d / "uml.log")
run.wait_for("UP", 60)
print("UP", flush=True)
time.sleep(3600)
"""


@pytest.mark.usefixtures("uml_boots")
def test_uml_dies_with_a_killed_simulator(tmp_path: Path) -> None:
    """The process that started UML killed outright (SIGKILL: no `stop`, no finally, as when
    a simulator is killed): UML's whole process group is gone within seconds."""
    child = subprocess.Popen([sys.executable, "-c", ORPHAN, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "UP", "UML did not boot in the child"
        assert uml.processes_naming(tmp_path), "no UML process to watch"
    finally:
        child.kill()
        child.wait(timeout=10)
    deadline = time.monotonic() + 10
    while uml.processes_naming(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = uml.processes_naming(tmp_path)
    for pid in left:                # leave nothing behind for the next test either
        os.kill(pid, signal.SIGKILL)
    assert not left, f"UML processes outlived the process that started them: {left}"


def _front_end(path: Path, device, messages: list[tuple[int, bytes, list[int]]]) -> BaseException | None:
    """Serve `device` at `path` while a scripted front end sends `messages` (request,
    payload, fds); the back end's error, if any."""
    backend = VhostUserBackend(path, device)
    failure: list[BaseException] = []

    def serve() -> None:
        try:
            backend.serve(accept_timeout_s=10)
        except BaseException as exc:
            failure.append(exc)
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(str(path))
        for request, payload, fds in messages:
            head = struct.pack("<III", request, VHOST_USER_VERSION, len(payload))
            socket.send_fds(s, [head + payload], fds) if fds else s.sendall(head + payload)
        t.join(timeout=10)
    backend.stop()
    t.join(timeout=10)
    return failure[0] if failure else None


def test_a_front_end_gone_before_its_reply_has_hung_up(tmp_path: Path) -> None:
    """A front end that sends a request and closes before the reply (UML halting: the back
    end's reply met EPIPE, 2026-12-05) ends the session as a hang-up does, not as a failure."""
    backend = VhostUserBackend(tmp_path / "s", ProbedDevice(net_device()))
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(str(tmp_path / "s"))      # queued on the listener: served once it is closed
        s.sendall(struct.pack("<III", VhostUserRequest.GET_FEATURES, VHOST_USER_VERSION, 0))
    backend.serve(accept_timeout_s=10)
    assert backend.closed


def test_memory_unmapped_under_a_reader_is_a_vhost_user_error() -> None:
    """The back end's thread unmaps UML's memory when the connection closes, while the bench
    may be reading it (its stall watch): a read or write of a region found just before it was
    unmapped fails as the connection's closing (VhostUserError, which the watch expects),
    not as a ValueError of the closed map (CI, 2026-12-07: the close-socket fault's run then
    failed with "mmap closed or invalid" instead of naming the closed connection)."""
    import mmap
    from virtio_ep.linux.vhost_user import MemRegion
    memory = GuestMemory()
    region = MemRegion(0x1000, 4096, 0x7000_0000, mmap.mmap(-1, 4096))
    memory.regions.append(region)
    assert memory.read(0x1000, 4) == bytes(4)
    region.view.close()                 # closed by the other thread after the region was found
    with pytest.raises(VhostUserError, match="unmapped"):
        memory.read(0x1000, 4)
    with pytest.raises(VhostUserError, match="unmapped"):
        memory.write(0x1000, b"ab")
    memory.close()
    with pytest.raises(VhostUserError, match="in no memory region"):
        memory.read(0x1000, 4)


def test_features_beyond_the_offer_are_refused(tmp_path: Path) -> None:
    dev = ProbedDevice(net_device())
    extra = 1 << VirtioFeature.ACCESS_PLATFORM          # not offered to UML
    err = _front_end(tmp_path / "s", dev, [(VhostUserRequest.SET_FEATURES,
                                            struct.pack("<Q", dev.features | extra), [])])
    assert isinstance(err, VhostUserError) and "beyond those offered" in str(err), err
    assert dev.negotiated is None, "the device was given features it did not offer"


def test_a_ring_outside_the_memory_table_is_refused(tmp_path: Path) -> None:
    """A ring address in no region of SET_MEM_TABLE: a clear error naming the address and
    the regions, not a read of unmapped memory."""
    dev = ProbedDevice(net_device())
    fd = os.memfd_create("guest")
    os.ftruncate(fd, 1 << 16)
    table = struct.pack("<II", 1, 0) + struct.pack("<QQQQ", 0x10000, 1 << 16, 0x10000, 0)
    addr = struct.pack("<IIQQQQ", 0, 0, 0x90000, 0x10800, 0x10400, 0)      # desc outside
    err = _front_end(tmp_path / "s", dev, [(VhostUserRequest.SET_MEM_TABLE, table, [fd]),
                                           (VhostUserRequest.SET_VRING_ADDR, addr, [])])
    os.close(fd)
    assert isinstance(err, VhostUserError) and "0x90000" in str(err) and "0x10000+0x10000" in str(err), err


# frames and block writes per ring mode in the smoke run (Icarus runs the RTL about three
# times slower)
SMOKE_COUNTS = {"verilator": {"net": 200, "block": 12}, "icarus": {"net": 60, "block": 10}}


@pytest.mark.usefixtures("uml_boots")
@pytest.mark.parametrize("sim", selected_simulators())
def test_linux_through_the_rtl(sim: str) -> None:
    """make linux's smoke, on split and then packed rings: Linux's virtio_net in UML sends
    frames of 60 to 1514 bytes through the RTL's loopback (Linux's tx/rx counters and the
    device's delivered frames and bytes agree); virtio_blk writes at random offsets, flushes
    and reads back (every read's MD5 is the plan's, Linux's I/O counters are the RAM disk's,
    and the disk holds what was written). scenarios/uml.py checks; the summary lines are
    checked here."""
    summary = simrun.BUILD_ROOT / f"linux-smoke-{sim}.txt"
    summary.unlink(missing_ok=True)
    counts = SMOKE_COUNTS[sim]
    for device, count in counts.items():
        simrun.run(sim, RUNS_MODULE, name=f"linux-smoke-{device}", test_filter=f"{RUNS_MODULE}.linux_uml\\b",
                   seed=simrun.MEASUREMENT_SEED, config=RunConfig(modes=("split", "packed"), devices=(device,),
                                                                   requests=count, artifact=str(summary)))
    lines = summary.read_text().splitlines()
    assert [line.split(":")[0] for line in lines] == ["net split", "net packed", "block split", "block packed"], lines
    for line in lines[:2]:
        assert f"{counts['net']} frames sent" in line and f"{counts['net']} frames (" in line, line
    for line in lines[2:]:
        assert f"{counts['block']} writes" in line and "every read as planned" in line, line


# (fault, ring mode) -> what the failure must say (the stall is found on either ring layout)
FAULT_CASES = {("drop-kicks", "split"): "queue 0 stalled", ("drop-kicks", "packed"): "queue 0 stalled",
               ("close-socket", "split"): "vhost-user connection closed before DONE"}


@pytest.mark.usefixtures("uml_boots")
@pytest.mark.parametrize("fault, mode", sorted(FAULT_CASES))
@pytest.mark.parametrize("sim", selected_simulators())
def test_a_broken_run_fails_clearly(sim: str, fault: str, mode: str) -> None:
    """A queue that stalls (its doorbells dropped) and a back end that hangs up: the run fails
    at once (not at its 10-minute timeout) with a message naming what broke, the queues'
    state and UML's last console lines, and leaves no UML process behind."""
    device, says = "block", FAULT_CASES[fault, mode]
    log = simrun.BUILD_ROOT / f"linux-fault-{fault}-{mode}-{sim}.log"
    with pytest.raises(simrun.SimulationFailed):
        simrun.run(sim, RUNS_MODULE, name=f"linux-fault-{fault}-{mode}", test_filter=f"{RUNS_MODULE}.linux_uml\\b",
                   log_file=log, config=RunConfig(modes=(mode,), devices=(device,), requests=12, fault=fault))
    text = log.read_text()
    assert says in text, f"{log} does not say {says!r}"
    assert "kicks" in text and "completed" in text, "the failure does not give the queues' state"
    assert "virtio_uml" in text or "virtio" in text.split(says, 1)[1], "UML's console lines are missing"
    workdir = next(simrun.BUILD_ROOT.glob(f"{sim}/*/linux-fault-{fault}-{mode}/uml-{device}-{mode}"))
    assert not uml.processes_naming(workdir), f"UML processes left running: {uml.processes_naming(workdir)}"
