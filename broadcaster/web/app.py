"""The web console's application: the station it serves, logins, CSRF and Origin checks, pages
rendered in the station's language, and the server.

It is a process of its own (`loa web`): it acts on the running station only through the control
protocol, and edits the station's files through the same functions as the CLI, so a crash here
never stops the air.
"""

import functools
import hmac
import inspect
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote, urlsplit

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from broadcaster.control.channel import ask
from broadcaster.control.protocol import Refused, Status, StatusReply
from broadcaster.core.settings import Station
from broadcaster.errors import LoaError
from broadcaster.i18n import _, current_language
from broadcaster.station.station_file import load_station
from broadcaster.web.auth import Accounts, Role, Session, User
from broadcaster.web.checks import SlowChecks

COOKIE = "loa_session"
HERE = Path(__file__).parent
MAX_FORM_BYTES = 1024 * 1024
"""Every form but the upload of a recording fits in 1 MiB."""
MAX_UPLOAD_BYTES = 100 * 1024 * 1024
"""A phone recording: an hour of AAC at 128 kbit/s is about 60 MB."""

AsyncHandler = Callable[["Page"], Awaitable[Response]]
SyncHandler = Callable[["Page"], Response]
Handler = AsyncHandler | SyncHandler
"""A page's handler: a plain function (reads files, renders) runs in the thread pool, so that
a heavy page never holds up another request, the emergency button's above all; a coroutine
(one that waits for the station) runs on the event loop."""


@dataclass
class Console:
    """What every page needs: the station's folder, the accounts, the templates."""

    station_dir: Path
    accounts: Accounts
    templates: jinja2.Environment
    secure: bool = False
    slow_checks: SlowChecks = field(init=False)

    def __post_init__(self) -> None:
        self.slow_checks = SlowChecks(self.station_dir)

    def station(self) -> Station:
        """Read each time: an officer may change station.yaml while the console runs."""
        return load_station(self.station_dir)


@dataclass
class Page:
    """One request of a logged-in user, with the form already checked against CSRF."""

    request: Request
    console: Console
    session: Session
    form: FormData | None

    @property
    def user(self) -> User:
        return self.session.user

    @property
    def address(self) -> str:
        return self.request.client.host if self.request.client else ""

    def field(self, name: str) -> str:
        value = self.form.get(name, "") if self.form is not None else ""
        return unicodedata.normalize("NFC", value).strip() if isinstance(value, str) else ""

    def audit(self, action: str, subject: str, **details: Any) -> None:
        self.console.accounts.audit(self.user, action, subject, address=self.address, **details)

    def render(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return render(self.console, self.request, template, self.session, status_code, **context)


def on_air(station_dir: Path) -> tuple[StatusReply | None, str]:
    """The running station's status, or None and why not."""
    try:
        reply = ask(station_dir, Status())
    except LoaError as error:
        return None, error.message
    if reply is None:
        return None, _(
            "Loa is NOT running for this station: nothing will be broadcast. Start it with: "
            "loa run (or install it as a service: loa service install)."
        )
    if isinstance(reply, Refused):
        return None, reply.error
    return (reply, "") if isinstance(reply, StatusReply) else (None, "")


def render(
    console: Console,
    request: Request,
    template: str,
    session: Session | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    status, not_running = on_air(console.station_dir) if session else (None, "")
    emergency = bool(
        status and status.playing is not None and status.playing.priority == "emergency"
    )
    html = console.templates.get_template(template).render(
        request=request,
        session=session,
        user=session.user if session else None,
        csrf=session.csrf if session else "",
        language=current_language(),
        status=status,
        not_running=not_running,
        emergency_on_air=emergency,
        **context,
    )
    return HTMLResponse(html, status_code=status_code)


def forbidden(console: Console, request: Request, session: Session | None, why: str) -> Response:
    return render(console, request, "error.html", session, 403, message=why)


def same_origin(request: Request) -> bool:
    """A form posted from this console's own page: the Origin (when the browser sends one) names
    this host."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


def page(role: Role | None = None, max_bytes: int = MAX_FORM_BYTES) -> Callable[[Handler], Any]:
    """A handler for logged-in users (of `role` or admin, when given): anyone else is sent to the
    login page; a POST needs this site's Origin and the session's CSRF token, else 403."""

    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            console: Console = request.app.state.console
            session = await run_in_threadpool(
                console.accounts.session, request.cookies.get(COOKIE, "")
            )
            if session is None:
                target = quote(request.url.path)
                return RedirectResponse(f"/login?next={target}", status_code=303)
            form = None
            if request.method == "POST":
                if not same_origin(request):
                    return forbidden(
                        console, request, session, _("This form came from another site.")
                    )
                size = request.headers.get("content-length", "")
                if size.isdigit() and int(size) > max_bytes:
                    return render(
                        console,
                        request,
                        "error.html",
                        session,
                        413,
                        message=_("The upload is too large (at most {size} MB).").format(
                            size=max_bytes // 2**20
                        ),
                    )
                form = await request.form(max_part_size=MAX_FORM_BYTES)
                token = form.get("csrf") or request.headers.get("x-csrf-token") or ""
                if not (isinstance(token, str) and hmac.compare_digest(token, session.csrf)):
                    return forbidden(
                        console,
                        request,
                        session,
                        _("The form has expired or came from elsewhere: open the page again."),
                    )
            allowed = (
                role is None
                or session.user.is_admin()
                or (role == Role.APPROVER and session.user.may_approve())
            )
            if not allowed:
                return forbidden(console, request, session, _("Your account may not do this."))
            try:
                current = Page(request, console, session, form)
                if inspect.iscoroutinefunction(handler):
                    return await cast(AsyncHandler, handler)(current)
                return await run_in_threadpool(cast(SyncHandler, handler), current)
            finally:
                if form is not None:
                    await form.close()

        return endpoint

    return wrap


def set_session_cookie(response: Response, session_id: str, secure: bool) -> None:
    response.set_cookie(
        COOKIE, session_id, httponly=True, samesite="strict", path="/", secure=secure
    )


def role_label(role: str) -> str:
    """A role in the officer's words."""
    labels: dict[str, str] = {
        Role.OFFICER: _("officer"),
        Role.APPROVER: _("approver"),
        Role.ADMIN: _("admin"),
    }
    return labels.get(role, role)


def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda message: _(message),
        ngettext=lambda one, many, count: _(one) if count == 1 else _(many),
        newstyle=False,
    )
    env.filters["role"] = role_label
    env.filters["day"] = lambda moment: f"{moment:%d/%m/%Y}"
    env.filters["clock"] = lambda moment: f"{moment:%H:%M}"
    return env


def create_app(station_dir: Path, secure: bool = False) -> Starlette:
    from broadcaster.web.pages import ROUTES

    console = Console(station_dir, Accounts.for_station(station_dir), templates(), secure)
    app = Starlette(
        routes=[
            *ROUTES,
            Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
        ]
    )
    app.state.console = console
    return app
