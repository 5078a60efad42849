"""Real DNS servers for tests: write an unbound.conf from parts, start Debian's Unbound on
127.0.0.1, wait until a server answers DNS on its port (or fail with its stderr), stop it.

Import it as `from servers import ...`: pytest puts tests/ on sys.path for tests/conftest.py,
so this works from every test folder."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import dns.exception
import dns.message
import dns.query

STARTUP_SECONDS = 15.0


def unbound_conf(port: int, directory: Path, *, server: Iterable[str] = (),
                 clauses: str = "", logfile: str = "", pidfile: str = "") -> str:
    """An unbound.conf for a server on 127.0.0.1:`port` that never daemonizes, drops
    privileges or asks the internet. `server` adds lines to the `server:` clause
    (local-zone, local-data, module-config, ...); `clauses` is appended verbatim
    (auth-zone, rpz, dnstap, ...). An empty logfile means stderr."""
    lines = ["server:", "  interface: 127.0.0.1", f"  port: {port}", "  do-daemonize: no",
             "  use-syslog: no", f'  logfile: "{logfile}"', '  username: ""', '  chroot: ""',
             f'  directory: "{directory}"', f'  pidfile: "{pidfile}"', "  do-ip6: no",
             "  access-control: 127.0.0.0/8 allow"]
    lines += [f"  {line}" for line in server]
    return "\n".join(lines) + "\n" + clauses + "remote-control:\n  control-enable: no\n"


def start_unbound(binary: str, conf: Path, port: int, *, probe: str = "ready.invalid",
                  ready: Callable[[dns.message.Message], bool] | None = None,
                  ) -> subprocess.Popen[bytes]:
    """Run `unbound -d -c conf` and return once it answers `probe` on `port`."""
    proc = subprocess.Popen([binary, "-d", "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        wait_for_dns(proc, port, probe, name="unbound", ready=ready)
    except BaseException:
        stop_server(proc)
        raise
    return proc


def wait_for_dns(proc: subprocess.Popen[bytes], port: int, probe: str, *, name: str,
                 ready: Callable[[dns.message.Message], bool] | None = None,
                 query_timeout: float = 0.3) -> None:
    """Poll 127.0.0.1:`port` with an A query for `probe` until a reply satisfies `ready`
    (any reply when None). Raise with the server's stderr if it exits meanwhile."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"{name} exited: {err}")
        try:
            reply = ask(port, probe, timeout=query_timeout)
            if ready is None or ready(reply):
                return
        except (dns.exception.DNSException, OSError):
            pass  # not listening yet
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not answer within {STARTUP_SECONDS:g} s")


def ask(port: int, name: str, rdtype: str = "A", timeout: float = 2.0) -> dns.message.Message:
    """One UDP query to the server on 127.0.0.1:`port`."""
    return dns.query.udp(dns.message.make_query(name, rdtype), "127.0.0.1", port=port,
                         timeout=timeout)


def stop_server(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM a server that is still running and reap it."""
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
