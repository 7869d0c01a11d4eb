"""``aupmilter run``: start the milter, reload on SIGHUP, stop cleanly on SIGTERM.

libmilter runs its accept loop in C; it is started in a worker thread so Python signal handlers
(which only run in the main thread) stay in charge: SIGHUP builds a *new* ruleset and swaps it
in only if it is valid (otherwise the running policy is kept and the failure is logged and
exported as a metric); SIGTERM asks libmilter to stop, which lets connections in flight finish.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from types import FrameType

import Milter
import milter as libmilter

from aupmilter import metrics
from aupmilter.config import Config, load_config
from aupmilter.engine import Ruleset, build_ruleset
from aupmilter.errors import ConfigError
from aupmilter.milter import FLAGS, AupMilter, MilterState, current_state, install_state

log = logging.getLogger("aupmilter.daemon")


def libmilter_socket(spec: str) -> str:
    """Our ``unix:PATH`` / ``inet:PORT@HOST`` (libmilter syntax) with relative paths resolved."""
    if spec.startswith("unix:"):
        path = Path(spec[5:]).expanduser().resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"unix:{path}"
    if spec.startswith("inet:"):
        rest = spec[5:]
        if "@" not in rest:
            rest = f"{rest}@127.0.0.1"
        return f"inet:{rest}"
    raise ConfigError("--socket", "", "must start with unix: or inet:")


def _nodelay_on_listener(port: int) -> bool:
    """Set TCP_NODELAY on libmilter's listening socket (accepted sockets inherit it on Linux).

    Milter replies are tiny packets; with Nagle's algorithm on one side and delayed ACKs on the
    other, each round trip can stall for tens of milliseconds.  libmilter does not set the
    option and gives us no hook between accept() and the first read, so we find its listening
    socket among our file descriptors and set it there.  Measured effect: bench/run.py
    (aupmilter_inet vs aupmilter_unix)."""
    done = False
    for name in os.listdir("/proc/self/fd"):
        try:
            fd = int(name)
            sock = socket.socket(fileno=os.dup(fd))
        except (ValueError, OSError):
            continue
        try:
            inet_stream = sock.type == socket.SOCK_STREAM and sock.family in (socket.AF_INET, socket.AF_INET6)
            if inet_stream and sock.getsockname()[1] == port:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                done = True
        except OSError:
            pass
        finally:
            sock.close()
    return done


def _install_nodelay_hook(socket_spec: str) -> None:
    if not socket_spec.startswith("inet"):
        return
    port = int(socket_spec.split(":", 1)[1].split("@", 1)[0])
    original = libmilter.opensocket

    def opensocket(rmsock: bool) -> object:
        result = original(rmsock)
        if not _nodelay_on_listener(port):
            log.warning("could not set TCP_NODELAY on the milter listener (port %d)", port)
        return result

    libmilter.opensocket = opensocket


def _open_store(config: Config) -> object:
    """Open (and so validate) the quarantine store at start-up, not at the first quarantine.

    In ``hold`` mode Postfix's hold queue is the store and ours is not needed."""
    if config.quarantine.mode == "hold":
        return None
    from aupmilter.quarantine import open_store

    return open_store(config.quarantine)


def load_ruleset(config_path: str | None, generation: int) -> Ruleset:
    config = load_config(config_path)
    return build_ruleset(config, generation)


def _start_workers(config_path: str | None, ruleset: Ruleset) -> object | None:
    workers = ruleset.config.milter.workers
    if workers == 0:
        return None
    from aupmilter.workers import EvaluatorPool

    return EvaluatorPool(config_path, ruleset.generation, workers if workers > 0 else (os.cpu_count() or 1))


def reload(config_path: str | None) -> bool:
    """Swap in a new ruleset if the files are valid; keep the old one otherwise."""
    state = current_state()
    metrics.RELOAD_TIME.set(time.time())
    try:
        ruleset = load_ruleset(config_path, state.ruleset.generation + 1)
    except ConfigError as exc:
        log.error("reload failed, keeping policy generation %d: %s", state.ruleset.generation, exc)
        metrics.RELOAD_SUCCESS.set(0)
        return False
    if state.notifier is not None:
        try:
            state.notifier.update(ruleset.config)
        except ConfigError as exc:
            log.error("reload failed, keeping policy generation %d: %s", state.ruleset.generation, exc)
            metrics.RELOAD_SUCCESS.set(0)
            return False
    old_evaluator = state.evaluator
    if old_evaluator is not None:
        state.evaluator = _start_workers(config_path, ruleset)
        old_evaluator.shutdown(terminate=False)
    state.ruleset = ruleset
    metrics.CONFIG_GENERATION.set(ruleset.generation)
    metrics.RELOAD_SUCCESS.set(1)
    log.info("reloaded policy: generation %d", ruleset.generation)
    return True


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def serve(config_path: str | None, socket_override: str | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    try:
        ruleset = load_ruleset(config_path, 1)
        socket_spec = libmilter_socket(socket_override or ruleset.config.milter.socket)
    except ConfigError as exc:
        print(f"aupmilter: refusing to start: config error: {exc}", file=sys.stderr)
        return 2
    store = _open_store(ruleset.config)
    from aupmilter.notify import Notifier

    try:
        notifier = Notifier(ruleset.config, store)
    except ConfigError as exc:
        print(f"aupmilter: refusing to start: config error: {exc}", file=sys.stderr)
        return 2
    evaluator = _start_workers(config_path, ruleset)
    install_state(MilterState(ruleset, store, notifier=notifier, evaluator=evaluator))
    if store is not None:
        metrics.register_backlog(store)
    metrics.CONFIG_GENERATION.set(1)
    metrics.RELOAD_SUCCESS.set(1)
    if ruleset.config.metrics_listen:
        metrics.serve(ruleset.config.metrics_listen)

    Milter.factory = AupMilter
    Milter.set_flags(FLAGS)
    if ruleset.config.milter.tcp_nodelay:
        _install_nodelay_hook(socket_spec)
    stopping = threading.Event()

    def on_term(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        stopping.set()
        libmilter.stop()

    def on_hup(signum: int, frame: FrameType | None) -> None:
        reload(config_path)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.signal(signal.SIGHUP, on_hup)

    errors: list[BaseException] = []

    def run_libmilter() -> None:
        old_umask = os.umask(0o117)  # socket 0660: Postfix's group, nobody else
        try:
            Milter.runmilter("aupmilter", socket_spec, timeout=300)
        except BaseException as exc:
            errors.append(exc)
        finally:
            os.umask(old_umask)
            stopping.set()

    worker = threading.Thread(target=run_libmilter, name="libmilter", daemon=True)
    worker.start()
    log.info(
        "listening on %s (policy generation 1, checks: %s)",
        socket_spec,
        ", ".join(c.name for c in ruleset.checks),
    )
    # The review UI's "Release and allow sender" writes the exceptions file: a change to it is
    # picked up like a SIGHUP (a bad file keeps the old ruleset), so the next message sees it.
    watched = _stamp(ruleset.config.quarantine.sender_exceptions_path)
    while not stopping.wait(1.0):
        stamp = _stamp(current_state().ruleset.config.quarantine.sender_exceptions_path)
        if stamp != watched:
            watched = stamp
            reload(config_path)
    worker.join(timeout=30)
    if current_state().evaluator is not None:
        current_state().evaluator.shutdown()
    if errors:
        print(f"aupmilter: milter stopped with error: {errors[0]}", file=sys.stderr)
        return 1
    return 0
