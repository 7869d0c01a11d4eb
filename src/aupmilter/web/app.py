"""Review UI for IT and safeguarding staff: Starlette + Jinja2, no JavaScript.

Security model (issue 12 / policies 002, 004):

* every route but /login needs a session; sessions are signed cookies (``HttpOnly``,
  ``SameSite=Strict``, ``Secure`` unless disabled for a plain-HTTP test rig);
* every POST carries a per-session CSRF token; a POST without it is refused (403);
* roles are checked per action and per item (auditor: metadata; reviewer: content of
  non-sealed items, release, delete; dpo: unseal with a written reason, audit log);
* item ids are random and validated by the store, so they can be neither guessed nor used to
  reach the file system;
* a quarantined message is *never rendered as HTML*: the UI shows headers and the visible text
  (HTML converted to text by :mod:`aupmilter.htmltext`) inside an auto-escaped ``<pre>``, so
  scripts, event handlers, remote images and ``javascript:`` links are inert text; the CSP
  forbids scripts and remote loads as a second wall;
* failed logins are rate-limited per client address and per username.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from aupmilter.config import Config
from aupmilter.fsmodes import create_file, make_dirs
from aupmilter.message import MessageView
from aupmilter.policy import effective_entries
from aupmilter.quarantine import (
    Accounts,
    QuarantineStore,
    StoreError,
    User,
    open_store,
)
from aupmilter.quarantine.access import allowed
from aupmilter.release import Releaser

HERE = Path(__file__).parent
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
LOGIN_WINDOW = 300.0
LOGIN_MAX_FAILURES = 5


class LoginLimiter:
    """At most N failures per key in a sliding window (client address, and username)."""

    def __init__(self, limit: int = LOGIN_MAX_FAILURES, window: float = LOGIN_WINDOW) -> None:
        self.limit = limit
        self.window = window
        self.failures: dict[str, deque[float]] = defaultdict(deque)
        self.lock = threading.Lock()

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        with self.lock:
            for key in keys:
                q = self.failures[key]
                while q and now - q[0] > self.window:
                    q.popleft()
                if len(q) >= self.limit:
                    return True
        return False

    def fail(self, *keys: str) -> None:
        with self.lock:
            for key in keys:
                self.failures[key].append(time.monotonic())


def secret_key(config: Config) -> str:
    path = Path(config.web.secret_key_file)
    if not path.exists():
        make_dirs(path.parent)
        # Never readable by others, not even briefly; a second UI process may have written it first.
        create_file(path, secrets.token_urlsafe(48).encode(), 0o600, exist_ok=True)
    return path.read_text().strip()


def create_app(config: Config, store: QuarantineStore | None = None) -> Starlette:
    store = store or open_store(config.quarantine)
    accounts = Accounts(store)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    limiter = LoginLimiter()
    releaser = Releaser(config)  # released mail gets the transforms it would have had (disclaimer, DKIM)

    def current_user(request: Request) -> User | None:
        if config.web.trusted_header and request.client and request.client.host in ("127.0.0.1", "::1"):
            name = request.headers.get(config.web.trusted_header)
            if name:
                return accounts.get(name)
        name = request.session.get("user")
        return accounts.get(name) if isinstance(name, str) else None

    def csrf_token(request: Request) -> str:
        token = request.session.get("csrf")
        if not isinstance(token, str):
            token = secrets.token_urlsafe(32)
            request.session["csrf"] = token
        return token

    async def check_csrf(request: Request) -> dict[str, Any]:
        form = dict(await request.form())
        expected = request.session.get("csrf")
        if not expected or not secrets.compare_digest(str(form.get("csrf", "")), str(expected)):
            raise PermissionError("missing or wrong CSRF token")
        return form

    def page(request: Request, name: str, user: User | None, status: int = 200, **ctx: Any) -> Response:
        ctx.update(
            user=user,
            csrf=csrf_token(request),
            can=lambda p: user is not None and allowed(user.role, p),
        )
        return templates.TemplateResponse(request, name, ctx, status_code=status)

    Handler = Callable[[Request, User], Awaitable[Response]]

    def authed(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def wrapper(request: Request) -> Response:
            user = current_user(request)
            if user is None:
                return RedirectResponse("/login", status_code=303)
            try:
                return await handler(request, user)
            except PermissionError as exc:
                return page(request, "error.html", user, status=403, message=str(exc))
            except StoreError as exc:
                return page(request, "error.html", user, status=404, message=str(exc))

        return wrapper

    async def login_form(request: Request) -> Response:
        return page(request, "login.html", None)

    async def login(request: Request) -> Response:
        form = dict(await request.form())
        username = str(form.get("username", ""))[:64]
        address = request.client.host if request.client else "?"
        if limiter.blocked(f"ip:{address}", f"user:{username}"):
            return page(
                request,
                "login.html",
                None,
                status=429,
                error="Too many failed attempts; wait five minutes.",
            )
        user = accounts.verify(username, str(form.get("password", "")))
        if user is None:
            limiter.fail(f"ip:{address}", f"user:{username}")
            return page(request, "login.html", None, status=401, error="Wrong username or password.")
        request.session.clear()
        request.session["user"] = user.username
        request.session["csrf"] = secrets.token_urlsafe(32)
        store.record_access(user.username, user.role, "login", None)
        return RedirectResponse("/", status_code=303)

    async def logout(request: Request) -> Response:
        await check_csrf(request)
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    @authed
    async def index(request: Request, user: User) -> Response:
        q = request.query_params
        items = store.list(
            category=q.get("category") or None,
            school=q.get("school") or None,
            direction=q.get("direction") or None,
            status=q.get("status", "held") or None,
            limit=500,
        )
        return page(request, "list.html", user, items=items, filters=dict(q))

    @authed
    async def item(request: Request, user: User) -> Response:
        found = store.get(request.path_params["id"])
        store.record_access(user.username, user.role, "show", found.id)
        content = None
        if allowed(user.role, "content") and not found.record.sealed:
            content = _readable(store.read_content(found.id, user.username, user.role))
        return page(request, "item.html", user, item=found, content=content, clauses=_clauses(config, found))

    @authed
    async def unseal(request: Request, user: User) -> Response:
        form = await check_csrf(request)
        found = store.get(request.path_params["id"])
        raw = store.unseal(found.id, user.username, user.role, str(form.get("reason", "")))
        return page(
            request,
            "item.html",
            user,
            item=found,
            content=_readable(raw),
            unsealed=True,
            clauses=_clauses(config, found),
        )

    @authed
    async def release(request: Request, user: User) -> Response:
        form = await check_csrf(request)
        found = store.get(request.path_params["id"])
        chosen = [r for r in found.record.recipients if form.get(f"rcpt:{r}")] or None
        result = store.release(found.id, user.username, user.role, chosen, prepare=releaser)
        return page(
            request,
            "released.html",
            user,
            item=store.get(found.id),
            result=result,
            status=200 if result.ok else 502,
        )

    @authed
    async def delete(request: Request, user: User) -> Response:
        form = await check_csrf(request)
        store.delete(request.path_params["id"], user.username, user.role, str(form.get("reason", "")))
        return RedirectResponse("/", status_code=303)

    @authed
    async def audit(request: Request, user: User) -> Response:
        records = store.audit_log(user.role)
        ok, message = store.verify_audit()
        return page(request, "audit.html", user, records=records[-500:], chain_ok=ok, chain_message=message)

    async def headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def metrics_page(request: Request) -> Response:
        """The UI's own metrics (release outcomes...), for a Prometheus on the same host only."""
        if not request.client or request.client.host not in ("127.0.0.1", "::1"):
            return PlainTextResponse("forbidden", status_code=403)
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        from aupmilter import metrics

        return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)

    routes = [
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/", index),
        Route("/item/{id}", item),
        Route("/item/{id}/unseal", unseal, methods=["POST"]),
        Route("/item/{id}/release", release, methods=["POST"]),
        Route("/item/{id}/delete", delete, methods=["POST"]),
        Route("/audit", audit),
        Route("/healthz", health),
        Route("/metrics", metrics_page),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(BaseHTTPMiddleware, dispatch=headers),
            Middleware(
                SessionMiddleware,
                secret_key=secret_key(config),
                session_cookie="aup_session",
                https_only=config.web.secure_cookies,
                same_site="strict",
                max_age=8 * 3600,
            ),
        ],
    )


def _readable(raw: bytes) -> dict[str, Any]:
    """What a reviewer sees: a few headers, the visible text, attachment names.  Never HTML."""
    view = MessageView(raw)
    return {
        "headers": [(n, view.header(n) or "") for n in ("From", "To", "Cc", "Date", "Subject")],
        "texts": [(p.location, p.content_type, p.text) for p in view.text_parts],
        "attachments": [(a.filename or "(unnamed)", a.declared_type, len(a.data)) for a in view.attachments],
    }


def _clauses(config: Config, found: Any) -> dict[str, str]:
    school = config.school_for_domain(found.record.schools[0]) if found.record.schools else None
    entries = effective_entries(config, school)
    out: dict[str, str] = {}
    for f in found.record.findings:
        matches = [e for e in entries if e.matches(f.rule, f.category) and e.clause]
        if matches:
            out[f.rule] = max(matches, key=lambda e: len(e.match)).clause
    return out
