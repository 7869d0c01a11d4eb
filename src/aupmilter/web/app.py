"""Review UI for IT and safeguarding staff: Starlette + Jinja2, no JavaScript.

Security model (issues 12 and 23 / policies 002, 004):

* every route but /login needs a session.  The signed cookie (``HttpOnly``,
  ``SameSite=Strict``, ``Secure`` unless disabled for a plain-HTTP test rig) carries only the
  token of a *server-side* session (:mod:`aupmilter.quarantine.accounts`), looked up on every
  request: logging out, a password change, disabling or deleting the account, and the idle and
  absolute timeouts end it for real — a copied cookie is then worthless;
* every POST carries a per-session CSRF token; a POST without it is refused (403);
* roles are checked per action and per item (auditor: metadata only — no subject, no evidence
  text; reviewer: content of non-sealed items, release, delete with a reason; dpo: unseal with
  a written reason, audit log);
* ``trusted_header`` sign-in is believed only with the proxy's shared secret header, or when
  the UI listens on a unix socket only the proxy can reach — never because a client is on
  loopback (every local user is);
* handlers run store, SMTP and password work in the thread pool: a slow release must not
  freeze the event loop and every other reviewer with it;
* item ids are random and validated by the store, so they can be neither guessed nor used to
  reach the file system;
* a quarantined message is *never rendered as HTML*: the UI shows headers and the visible text
  (HTML converted to text by :mod:`aupmilter.htmltext`) inside an auto-escaped ``<pre>``, so
  scripts, event handlers, remote images and ``javascript:`` links are inert text; the CSP
  forbids scripts and remote loads as a second wall;
* failed logins are rate-limited per username and per client address, the address taken from
  ``client_address_header`` only when the peer is a configured trusted proxy (behind a proxy
  every client would otherwise share one address, and one attacker would lock everyone out).
"""

from __future__ import annotations

import datetime as dt
import hmac
import ipaddress
import secrets
import threading
import time
import zoneinfo
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from aupmilter import sender_exceptions
from aupmilter.checks.phishing import Domains, load_rules
from aupmilter.config import Config
from aupmilter.errors import ConfigError
from aupmilter.quarantine import (
    Accounts,
    Item,
    QuarantineStore,
    ReleaseResult,
    StoreError,
    User,
    open_store,
)
from aupmilter.quarantine.access import allowed, require
from aupmilter.quarantine.store import retention_for
from aupmilter.release import Releaser
from aupmilter.secretfile import ensure_secret, read_secret
from aupmilter.sender_exceptions import SenderException
from aupmilter.web import preview
from aupmilter.web.explain import explain_item
from aupmilter.web.triage import DIRECTIONS, PERIODS, STATUSES, Filters, Paging

HERE = Path(__file__).parent
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
LOGIN_WINDOW = 300.0
LOGIN_MAX_FAILURES = 5
#: Most items one bulk action takes (a page is at most 500).
MAX_BULK = 500
#: How long "Release and allow sender" exceptions may last, in days (the form offers these).
ALLOW_DAYS = (30, 90, 180, 365)


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
    """The cookie signing secret: created 0600 with O_EXCL if missing (never readable by others,
    not even briefly), and refused if group or others can read it (a planted or leaked key)."""
    return ensure_secret(Path(config.web.secret_key_file))


def create_app(config: Config, store: QuarantineStore | None = None, listen: str | None = None) -> Starlette:
    """The review UI.  ``listen`` is where it is served (default ``web.listen``): a ``unix:``
    socket is the one case where ``trusted_header`` needs no shared secret."""
    store = store or open_store(config.quarantine)
    accounts = Accounts(store)
    web = config.web
    on_unix_socket = (listen or web.listen).startswith("unix:")
    proxy_secret = read_secret(Path(web.trusted_proxy_secret_file)).strip() if web.trusted_proxy_secret_file else ""
    if web.trusted_proxy_secret_file and len(proxy_secret) < 32:
        raise ConfigError(web.trusted_proxy_secret_file, "", "the proxy secret needs at least 32 characters")
    trusted_proxies = {ipaddress.ip_address(p) for p in web.trusted_proxies}
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    limiter = LoginLimiter()
    releaser = Releaser(config)  # released mail gets the transforms it would have had (disclaimer, DKIM)
    tz = zoneinfo.ZoneInfo(config.web.timezone)
    templates.env.filters["local"] = lambda when: local_time(when, tz)
    school_names = {s.domain: s.name for s in config.schools}
    domains = _redirector_domains(config)

    def proxy_header_user(request: Request) -> User | None:
        if not web.trusted_header:
            return None
        name = request.headers.get(web.trusted_header)
        if not name:
            return None
        if not on_unix_socket:
            given = request.headers.get(web.trusted_proxy_secret_header, "")
            if not proxy_secret or not hmac.compare_digest(given.encode(), proxy_secret.encode()):
                return None
        return accounts.get(name)

    def current_user(request: Request) -> User | None:
        """The proxy's user, or the live server-side session's (runs in the thread pool)."""
        user = proxy_header_user(request)
        if user is not None:
            return user
        token = request.session.get("sid")
        if not isinstance(token, str):
            return None
        session = accounts.session(token, web.session_idle_seconds, web.session_max_seconds)
        if session is None:
            request.session.clear()
            return None
        return session.user

    def client_address(request: Request) -> str:
        """The peer, or the address a configured trusted proxy says it forwarded for."""
        peer = request.client.host if request.client else "unix"
        try:
            from_proxy = ipaddress.ip_address(peer) in trusted_proxies
        except ValueError:
            from_proxy = False
        if from_proxy:
            forwarded = request.headers.get(web.client_address_header, "").split(",")[-1].strip()
            try:
                return str(ipaddress.ip_address(forwarded))
            except ValueError:
                pass
        return peer

    def csrf_token(request: Request) -> str:
        token = request.session.get("csrf")
        if not isinstance(token, str):
            token = secrets.token_urlsafe(32)
            request.session["csrf"] = token
        return token

    async def check_csrf(request: Request) -> FormData:
        form = await request.form()
        expected = request.session.get("csrf")
        if not expected or not secrets.compare_digest(str(form.get("csrf", "")), str(expected)):
            raise PermissionError("missing or wrong CSRF token")
        return form

    def flash(request: Request, kind: str, text: str) -> None:
        """A one-time message for the page after a redirect (post/redirect/get: reload is safe)."""
        messages = list(request.session.get("flash", []))[-4:]
        messages.append([kind, text[:600]])
        request.session["flash"] = messages

    def page(request: Request, name: str, user: User | None, status: int = 200, **ctx: Any) -> Response:
        ctx.update(
            user=user,
            csrf=csrf_token(request),
            can=lambda p: user is not None and allowed(user.role, p),
            flashes=request.session.pop("flash", []),
            school_names=school_names,
            zone=config.web.timezone,
        )
        return templates.TemplateResponse(request, name, ctx, status_code=status)

    Handler = Callable[[Request, User], Awaitable[Response]]

    def authed(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def wrapper(request: Request) -> Response:
            user = await run_in_threadpool(current_user, request)
            if user is None:
                target = "/login"
                if request.method == "GET" and request.url.path != "/":
                    wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                    target += "?" + urlencode({"next": wanted})
                elif request.method == "GET" and request.url.query:
                    target += "?" + urlencode({"next": f"/?{request.url.query}"})
                return RedirectResponse(target, status_code=303)
            try:
                return await handler(request, user)
            except PermissionError as exc:
                return page(request, "error.html", user, status=403, message=str(exc))
            except StoreError as exc:
                return page(request, "error.html", user, status=404, message=str(exc))

        return wrapper

    def filters_of(request: Request) -> Filters:
        return Filters.parse(request.query_params, config)

    def next_item(item: Item, f: Filters) -> Item | None:
        """The item after ``item`` in the reviewer's current filter (older, same order as the list)."""
        kw = f.store_filters(tz, dt.datetime.now(dt.UTC))
        until = kw["until"]
        kw["until"] = item.record.received_at if until is None else min(until, item.record.received_at)
        return next((i for i in store.list(**kw, limit=2) if i.id != item.id), None)

    def after_action(item: Item, f: Filters) -> RedirectResponse:
        """Straight on to the next item of the filter, or back to the list when none is left."""
        following = next_item(item, f)
        query = f.query()
        if following is None:
            return RedirectResponse("/" + (f"?{query}" if query else ""), status_code=303)
        return RedirectResponse(f"/item/{following.id}" + (f"?{query}" if query else ""), status_code=303)

    async def login_form(request: Request) -> Response:
        return page(request, "login.html", None, next=_safe_next(request.query_params.get("next", "")))

    async def login(request: Request) -> Response:
        form = await request.form()
        username = str(form.get("username", ""))[:64]
        wanted = _safe_next(str(form.get("next", "")))
        keys = (f"ip:{client_address(request)}", f"user:{username.lower()}")
        if limiter.blocked(*keys):
            return page(
                request,
                "login.html",
                None,
                status=429,
                error="Too many failed attempts; wait five minutes.",
                next=wanted,
            )
        user = await run_in_threadpool(accounts.verify, username, str(form.get("password", "")))
        if user is None:
            limiter.fail(*keys)
            return page(request, "login.html", None, status=401, error="Wrong username or password.", next=wanted)
        token, csrf = await run_in_threadpool(accounts.start_session, user)
        request.session.clear()
        request.session["sid"] = token
        request.session["csrf"] = csrf
        await run_in_threadpool(store.record_access, user.username, user.role, "login", None)
        return RedirectResponse(wanted or "/", status_code=303)

    async def logout(request: Request) -> Response:
        await check_csrf(request)
        user = await run_in_threadpool(current_user, request)
        token = request.session.get("sid")
        if isinstance(token, str):
            await run_in_threadpool(accounts.end_session, token)
        if user is not None:
            await run_in_threadpool(store.record_access, user.username, user.role, "logout", None)
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    @authed
    async def index(request: Request, user: User) -> Response:
        f = filters_of(request)
        kw = f.store_filters(tz, dt.datetime.now(dt.UTC))

        def load() -> tuple[Paging, list[Item], dict[str, dict[str, int]]]:
            paging = Paging(f.page, config.web.page_size, store.count(**kw))
            items = store.list(**kw, limit=paging.size, offset=paging.offset)
            # Each dimension counted with the *other* filters applied: the numbers say what a
            # click on them will show.
            by_category = store.facets(**{**kw, "category": None})
            facets = {
                "top": by_category["top"],
                "category": by_category["category"],
                "school": store.facets(**{**kw, "school": None})["school"],
                "direction": store.facets(**{**kw, "direction": None})["direction"],
            }
            return paging, items, facets

        paging, items, facets = await run_in_threadpool(load)
        items = [i.for_role(user.role) for i in items]
        return page(
            request,
            "list.html",
            user,
            items=items,
            f=f,
            paging=paging,
            facets=facets,
            periods=PERIODS,
            statuses=STATUSES,
            directions=DIRECTIONS,
            schools=config.schools,
            query=f.query(),
        )

    async def show_item(
        request: Request, user: User, found: Item, raw: bytes | None = None, unsealed: bool = False
    ) -> Response:
        f = filters_of(request)

        def load() -> tuple[Any, Item | None]:
            body = raw
            if body is None and found.status != "deleted" and allowed(user.role, "content") and not found.record.sealed:
                body = store.read_content(found.id, user.username, user.role)
            return (preview.build(body, domains) if body is not None else None), next_item(found, f)

        content, following = await run_in_threadpool(load)
        days = retention_for(
            found.record.categories, config.quarantine.retention_days, config.quarantine.default_retention_days
        )
        return page(
            request,
            "item.html",
            user,
            item=found.for_role(user.role),
            content=content,
            unsealed=unsealed,
            why=explain_item(config, found.for_role(user.role)),
            kept_until=found.record.received_at + dt.timedelta(days=days),
            f=f,
            query=f.query(),
            following=following,
            top_categories=list(dict.fromkeys(c.split(".")[0] for c in found.record.categories)),
            allow_days=ALLOW_DAYS,
        )

    @authed
    async def item(request: Request, user: User) -> Response:
        found = await run_in_threadpool(store.get, request.path_params["id"])
        await run_in_threadpool(store.record_access, user.username, user.role, "show", found.id)
        return await show_item(request, user, found)

    @authed
    async def unseal(request: Request, user: User) -> Response:
        form = await check_csrf(request)
        found = await run_in_threadpool(store.get, request.path_params["id"])
        raw = await run_in_threadpool(store.unseal, found.id, user.username, user.role, str(form.get("reason", "")))
        return await show_item(request, user, found, raw=raw, unsealed=True)

    @authed
    async def release(request: Request, user: User) -> Response:
        require(user.role, "release")
        form = await check_csrf(request)
        found = await run_in_threadpool(store.get, request.path_params["id"])
        f = Filters.from_query(str(form.get("back", "")), config)
        chosen = [r for r in found.record.recipients if form.get(f"rcpt:{r}")]
        here = f"/item/{found.id}" + (f"?{f.query()}" if f.query() else "")
        if not chosen:
            # An empty selection is "nobody", never "everybody".
            flash(request, "error", "Tick at least one recipient: nothing was released.")
            return RedirectResponse(here, status_code=303)
        result = await run_in_threadpool(store.release, found.id, user.username, user.role, chosen, prepare=releaser)
        _flash_release(flash, request, result)
        after = await run_in_threadpool(store.get, found.id)
        if after.status == "held":
            return RedirectResponse(here, status_code=303)
        return await run_in_threadpool(after_action, found, f)

    @authed
    async def allow_sender(request: Request, user: User) -> Response:
        """Release to every recipient not yet served and add a narrow, expiring sender exception."""
        require(user.role, "release")
        form = await check_csrf(request)
        found = await run_in_threadpool(store.get, request.path_params["id"])
        f = Filters.from_query(str(form.get("back", "")), config)
        here = f"/item/{found.id}" + (f"?{f.query()}" if f.query() else "")
        check = str(form.get("check", ""))
        school = str(form.get("school", ""))
        reason = " ".join(str(form.get("reason", "")).split())[:300]
        try:
            days = int(str(form.get("days", "")))
        except ValueError:
            days = 0
        problems = []
        if check not in {c.split(".")[0] for c in found.record.categories}:
            problems.append("choose one of this message's checks")
        if school not in found.record.schools:
            problems.append("choose one of this message's schools")
        if days not in ALLOW_DAYS:
            problems.append("choose how long the exception lasts")
        if len(reason) < 3:
            problems.append("give a reason")
        if found.status != "held":
            problems.append("only a held message can be released")
        if problems:
            flash(request, "error", "Sender not allowed: " + "; ".join(problems) + ".")
            return RedirectResponse(here, status_code=303)
        now = dt.datetime.now(dt.UTC)
        exception = SenderException(
            sender=found.record.sender.lower(),
            check=check,
            school=school,
            expires=(now + dt.timedelta(days=days)).astimezone(tz).date(),
            added_by=user.username,
            added_at=now.isoformat(),
            reason=reason,
        )
        try:
            await run_in_threadpool(
                sender_exceptions.append,
                config.quarantine.sender_exceptions_path,
                exception,
                {d for s in config.schools for d in s.domains},
            )
        except (ConfigError, ValueError, OSError) as exc:
            flash(request, "error", f"Sender not allowed: the exceptions file could not be written ({exc}).")
            return RedirectResponse(here, status_code=303)
        await run_in_threadpool(
            store.record_access,
            user.username,
            user.role,
            "allow-sender",
            found.id,
            f"{exception.sender} for {check} at {school} until {exception.expires.isoformat()}: {reason}",
        )
        flash(
            request,
            "ok",
            f"{exception.sender} may send {check} mail to {school_names.get(school, school)}"
            f" until {exception.expires:%d %b %Y}.",
        )
        result = await run_in_threadpool(store.release, found.id, user.username, user.role, None, prepare=releaser)
        _flash_release(flash, request, result)
        return await run_in_threadpool(after_action, found, f)

    @authed
    async def bulk(request: Request, user: User) -> Response:
        """Release or delete the ticked items: a confirmation page first, one reason for all."""
        form = await check_csrf(request)
        action = str(form.get("action", ""))
        require(user.role, "delete" if action == "delete" else "release")
        f = Filters.from_query(str(form.get("back", "")), config)
        back = "/" + (f"?{f.query()}" if f.query() else "")
        ids = list(dict.fromkeys(str(i) for i in form.getlist("id")))[:MAX_BULK]
        from_item = str(form.get("from_item", ""))
        reason = " ".join(str(form.get("reason", "")).split())[:500]
        if action not in ("release", "delete"):
            flash(request, "error", "Choose Release or Delete.")
            return RedirectResponse(back, status_code=303)
        if not ids:
            flash(request, "error", "Tick at least one message first: nothing was done.")
            return RedirectResponse(back, status_code=303)
        items = await run_in_threadpool(lambda: [store.get(i).for_role(user.role) for i in ids])
        needs_reason = action == "delete"
        if not form.get("confirm") or (needs_reason and len(reason) < 3):
            return page(
                request,
                "confirm.html",
                user,
                items=items,
                action=action,
                reason=reason,
                reason_missing=bool(form.get("confirm")) and needs_reason and len(reason) < 3,
                back=f.query(),
                from_item=from_item,
                query=f.query(),
            )

        def perform() -> list[tuple[str, str]]:
            out: list[tuple[str, str]] = []
            delivered = 0
            for it in items:
                try:
                    if action == "delete":
                        store.delete(it.id, user.username, user.role, reason)
                        continue
                    if it.status != "held":
                        out.append(("error", f"Not released ({it.status}): message from {it.record.sender}."))
                        continue
                    if reason:
                        store.record_access(user.username, user.role, "release-requested", it.id, reason)
                    result = store.release(it.id, user.username, user.role, None, prepare=releaser)
                    delivered += 1 if result.delivered else 0
                    for rcpt, err in result.refused.items():
                        out.append(("error", f"Not released to {rcpt}: {err}"))
                except StoreError as exc:
                    out.append(("error", f"Message from {it.record.sender}: {exc}"))
            done = len(items) - len(out) if action == "delete" else delivered
            verb = "Deleted" if action == "delete" else "Released"
            out.insert(0, ("ok", f"{verb} {done} of {len(items)} message{'s' if len(items) != 1 else ''}."))
            return out

        for kind, text in await run_in_threadpool(perform):
            flash(request, kind, text)
        if from_item and len(items) == 1:
            return await run_in_threadpool(after_action, items[0], f)
        return RedirectResponse(back, status_code=303)

    @authed
    async def audit(request: Request, user: User) -> Response:
        records = await run_in_threadpool(store.audit_log, user.role)
        result = await run_in_threadpool(store.verify_audit)
        return page(
            request, "audit.html", user, records=records[-500:], chain_ok=result.ok, chain_message=result.message
        )

    async def to_item(request: Request) -> Response:
        """A reload or a bookmark of an action URL lands on the item, not on an error."""
        return RedirectResponse(f"/item/{request.path_params['id']}", status_code=303)

    async def to_list(request: Request) -> Response:
        return RedirectResponse("/", status_code=303)

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
        Route("/item/{id}/allow", allow_sender, methods=["POST"]),
        Route("/item/{id}/{action:str}", to_item, methods=["GET"]),
        Route("/bulk", bulk, methods=["POST"]),
        Route("/bulk", to_list, methods=["GET"]),
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
                max_age=web.session_max_seconds,
            ),
        ],
    )


def local_time(when: dt.datetime, tz: zoneinfo.ZoneInfo) -> str:
    """``03 Dec 2026 09:14 GMT``: the school's clock, with its zone, never bare UTC."""
    return when.astimezone(tz).strftime("%d %b %Y %H:%M %Z")


def _safe_next(target: str) -> str:
    """Where to go after sign-in: a path on this site only (no scheme, no //host, no backslash)."""
    if (
        not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 32 for c in target)
        or len(target) > 2000
        or target.startswith("/login")
    ):
        return ""
    return target


def _redirector_domains(config: Config) -> Domains:
    try:
        return load_rules(config.rules_dir).domains
    except ConfigError:
        return Domains(frozenset(), frozenset(), frozenset(), ())


def _flash_release(flash: Callable[[Request, str, str], None], request: Request, result: ReleaseResult) -> None:
    if result.delivered:
        flash(request, "released", f"Delivered to {', '.join(result.delivered)} (the mail server answered 250).")
    for rcpt, err in result.refused.items():
        flash(request, "error", f"Not released to {rcpt}: {err}")
