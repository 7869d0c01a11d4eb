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

from aupmilter import logsetup, metrics
from aupmilter.config import Config, demo_notice, is_demo, load_config
from aupmilter.engine import Ruleset
from aupmilter.errors import ConfigError
from aupmilter.fsmodes import describe, make_dirs, unusable_folder
from aupmilter.milter import FLAGS, AupMilter, MilterState, current_state, install_state
from aupmilter.ruleset import build_ruleset

log = logging.getLogger("aupmilter.daemon")


def libmilter_socket(spec: str) -> str:
    """Our ``unix:PATH`` / ``inet:PORT@HOST`` (libmilter syntax) with relative paths resolved.

    A socket folder we have to create gets 0750; one that exists (the deployed setgid-postfix
    folder from aupmilter.tmpfiles) is left as its admin made it."""
    if spec.startswith("unix:"):
        path = Path(spec[5:]).expanduser().resolve()
        make_dirs(path.parent)
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


def _install_open_hook(socket_spec: str, mode: int, nodelay: bool) -> None:
    """Run our set-up right after libmilter binds its listener, before the first accept.

    A unix socket gets ``milter.socket_mode`` by chmod after bind: the process umask is the
    admin's (systemd ``UMask=``) and is never changed, so whatever mode bind() gave the socket
    is only ever narrower than the one we then set."""
    original = libmilter.opensocket
    unix_path = Path(socket_spec[5:]) if socket_spec.startswith("unix:") else None
    port = int(socket_spec.split(":", 1)[1].split("@", 1)[0]) if socket_spec.startswith("inet") else None

    def opensocket(rmsock: bool) -> object:
        result = original(rmsock)
        if unix_path is not None:
            os.chmod(unix_path, mode)
        if port is not None and nodelay and not _nodelay_on_listener(port):
            log.warning("could not set TCP_NODELAY on the milter listener (port %d)", port)
        return result

    libmilter.opensocket = opensocket


def _check_store_folders(config: Config) -> tuple[str | None, str | None]:
    """(fatal, warning): why the file store cannot work at all, or cannot take this month's mail.

    Checked at start-up so the admin reads it in the log before the first message is held,
    naming the exact folder, its owner and mode; nothing is repaired (it may not be ours).  An
    unusable store folder is fatal; an unusable year/month folder only tempfails the messages
    that would be quarantined, so clean mail keeps flowing while the admin fixes it."""
    if config.quarantine.mode == "hold" or config.quarantine.database.startswith(("postgres://", "postgresql://")):
        return None, None
    root = Path(config.quarantine.path).resolve()
    blocked = unusable_folder(root)
    if blocked is not None:
        return f"quarantine folder not writable: {describe(blocked)}", None
    now = time.gmtime()
    month = root / f"{now.tm_year:04d}" / f"{now.tm_mon:02d}"
    # The deepest folder that exists must take a write (a new file, or the next folder down).
    deepest = next((f for f in (month, month.parent) if f.exists()), None)
    blocked = unusable_folder(deepest) if deepest is not None else None
    if blocked is not None:
        return None, f"quarantine folder not writable: {describe(blocked)}; quarantined mail will be tempfailed"
    return None, None


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


def _report_antivirus(config: Config) -> None:
    """Say at start whether mail is virus-scanned, and whether the scanner answers now (mail
    waits with 451 while it does not: the admin should hear of it before the first message)."""
    av = config.antivirus
    if not av.enabled:
        log.warning("antivirus disabled: mail is not scanned for viruses ([antivirus] enabled = false)")
        return
    from aupmilter.antivirus import connect

    scanner = connect(av.scanner, av.socket, av.connect_timeout_seconds, av.scan_timeout_seconds)
    if scanner.ping():
        log.info("antivirus: %s answers at %s", av.scanner, av.socket)
    else:
        log.error(
            "antivirus: %s does not answer at %s; messages get failure_action=%s until it does",
            av.scanner,
            av.socket,
            av.failure_action,
        )


def serve(config_path: str | None, socket_override: str | None = None) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format=logsetup.FORMAT)
    try:
        ruleset = load_ruleset(config_path, 1)
        socket_spec = libmilter_socket(socket_override or ruleset.config.milter.socket)
    except ConfigError as exc:
        print(f"aupmilter: refusing to start: config error: {exc}", file=sys.stderr)
        return 2
    try:
        logsetup.configure(ruleset.config.logging)  # from here on, lines go where [logging] says
    except OSError as exc:
        print(f"aupmilter: refusing to start: cannot log to {ruleset.config.logging.target}: {exc}", file=sys.stderr)
        return 2
    log.info("configuration: %s", ruleset.config.source)
    if is_demo(ruleset.config):
        log.warning("%s", demo_notice(ruleset.config).removeprefix("aupmilter: "))
    mode = int(ruleset.config.milter.socket_mode, 8)  # validated by the config loader
    if ruleset.marker_key is not None:
        try:
            ruleset.marker_key.ensure()  # before the first message, and before worker processes
        except OSError as exc:
            log.error("refusing to start: cannot create %s: %s", describe(ruleset.marker_key.path), exc.strerror)
            return 1
    fatal, warning = _check_store_folders(ruleset.config)
    if fatal is not None:
        log.error("refusing to start: %s", fatal)
        return 1
    if warning is not None:
        log.error("%s", warning)
    try:
        store = _open_store(ruleset.config)
    except OSError as exc:
        where = Path(exc.filename) if exc.filename else Path(ruleset.config.quarantine.path)
        log.error("refusing to start: cannot open the quarantine store: %s: %s", describe(where), exc.strerror)
        return 1
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
    _install_open_hook(socket_spec, mode, ruleset.config.milter.tcp_nodelay)
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
        try:
            Milter.runmilter("aupmilter", socket_spec, timeout=300)
        except BaseException as exc:
            errors.append(exc)
        finally:
            stopping.set()

    worker = threading.Thread(target=run_libmilter, name="libmilter", daemon=True)
    worker.start()
    _report_antivirus(ruleset.config)
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
