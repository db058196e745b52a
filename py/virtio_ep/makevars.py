"""The make variables a user sets, checked before a target runs: a bad value gives one line
naming the variable, the value and the valid values, and exit status 2 (no traceback, nothing
started). `python -m virtio_ep.makevars [--given 'NAME ...'] NAME=value ...`; empty values are
unset ones; `--given` names the variables set on make's command line, and one the Makefile
does not read (a typo: HOST= for PROFILE=) is an error too, not a run at the defaults.
The valid values come from where each is defined (simulators, transports, host profiles,
regression tests), not from a copy."""

from __future__ import annotations

import difflib
import re
import sys
from collections.abc import Callable

from . import regress, simrun
from .demo import CHOICES as TRANSPORT_CHOICES
from .layout import HOST_PROFILES, EndpointParams, LATENCY_SETTINGS, MODE_NAMES, host_profile


def _one_of(choices) -> Callable[[str], str | None]:
    names = list(choices)
    return lambda v: None if v in names else f"use one of {', '.join(names)}"


def _some_of(choices) -> Callable[[str], str | None]:
    names = list(choices)
    return lambda v: (None if v and all(x in names for x in v.split(",")) else
                      f"a comma-separated list of {', '.join(names)}")


def _whole(minimum: int) -> Callable[[str], str | None]:
    return lambda v: None if re.fullmatch(r"-?\d+", v) and int(v) >= minimum else f"a whole number of at least {minimum}"


def _params(v: str) -> str | None:
    """RTL parameters as name=value,... (EndpointParams' fields, whole numbers)."""
    try:
        EndpointParams.parse(v)
    except ValueError as e:
        return str(e)
    return None


def _profile(v: str) -> str | None:
    """A host profile by name, or one varied from it (`ideal@mps=128`: the sensitivity bench's
    Max_Payload_Size knobs; `make trace` and `make model` take it, `make bench` names only)."""
    try:
        host_profile(v)
    except ValueError as e:
        return str(e)
    return None


def _address(v: str) -> str | None:
    return None if re.fullmatch(r"(tcp|tls)://[\w.\-\[\]:]+:\d+", v) else "a Dask scheduler address, tcp://host:8786"


CHECKS: dict[str, Callable[[str], str | None]] = {
    "SIM": _one_of(simrun.SIMULATORS),
    "TRANSPORT": _one_of(TRANSPORT_CHOICES),
    "PROFILE": _profile,
    "PROFILES": _some_of(HOST_PROFILES),
    "SEEDS": _whole(1),
    "SEED_BASE": _whole(0),
    "JOBS": _whole(1),
    "REQUESTS": _whole(1),
    "SOAK_REQUESTS": _whole(1),
    "WRITES": _whole(1),
    "TESTS": _some_of(regress.TESTS),
    "CLUSTER": _one_of(("local",)),
    "SCHEDULER": _address,
    "WAVES": _one_of(("0", "1")),
    "LATENCIES": _one_of(LATENCY_SETTINGS),
    "PARAMS": _params,
    "MODE": _one_of(MODE_NAMES),
    "SIZE": _whole(1),
    "DEPTH": _whole(1),
    "TURN": _whole(0),
}


# read by the Makefile or by the programs it runs (from the environment make passes them),
# with no value to check here
PASSED = ("PYTHON", "MUTANTS", "UVM_VARIANT", "UVM_DEVICE", "COCOTB_LOG_LEVEL", "LINUX_RING_REQUESTS",
          "LINUX_RING_SEEDS")


def unknown(given: list[str]) -> list[str]:
    """One line per variable set on make's command line that nothing reads."""
    known = [*CHECKS, *PASSED]
    out = []
    for name in given:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            out.append(f"make: {name} is not a variable this Makefile reads{hint}; they are {', '.join(known)}")
    return out


def problems(assignments: list[str]) -> list[str]:
    """One line per bad NAME=value."""
    out = []
    for a in assignments:
        name, sep, value = a.partition("=")
        if not sep or name not in CHECKS:
            raise ValueError(f"makevars: {a!r} is not NAME=value for one of {', '.join(CHECKS)}")
        if value:
            why = CHECKS[name](value)
            if why:
                out.append(f"make: {name}={value} is not valid: {why}")
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    given: list[str] = []
    if args[:1] == ["--given"]:
        given, args = args[1].split(), args[2:]
    bad = unknown(given) + problems(args)
    for line in bad:
        print(line, file=sys.stderr)
    return 2 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
