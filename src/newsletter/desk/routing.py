"""Small helpers every page module uses: redirects with a notice, form fields."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response


def redirect(path: str, notice: str = "") -> Response:
    """After a POST: to a page (303), which shows ``notice`` once."""
    target = f"{path}?{urlencode({'hinweis': notice})}" if notice else path
    return RedirectResponse(target, status_code=303)


def notice_of(request: Request) -> str:
    return request.query_params.get("hinweis", "")[:500]


def field(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""
