"""Signing in to the 电子监察 console from a browser: the key kept in a cookie that only the console's reads accept."""

from __future__ import annotations

from pathlib import Path

from approvalflow.service.app import create_app
from approvalflow.service.auth import CONSOLE_COOKIE

from .service_support import TestClient, make_service


def test_a_browser_signs_in_reads_the_console_and_cannot_write_with_the_cookie(tmp_path: Path) -> None:
    made = make_service("memory", tmp_path)
    client = TestClient(create_app(made.context), raise_server_exceptions=False, follow_redirects=False)
    # without a key a person is sent to the sign-in form, not given a JSON problem; the live part gets a 401
    first = client.get("/console/")
    assert first.status_code == 303 and first.headers["location"] == "/console/login"
    assert client.get("/console/live").status_code == 401
    assert "访问密钥" in client.get("/console/login").text
    # a wrong key and an applicant's key are refused, no cookie set
    for key in ("af_nope_nope", made.applicant_key("c1")):
        refused = client.post("/console/login", content=f"key={key}",
                              headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
        assert refused.status_code == 401 and CONSOLE_COOKIE not in refused.cookies
    signed = client.post("/console/login", content=f"key={made.keys['supervisor']}",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert signed.status_code == 303 and signed.headers["location"] == "/console/"
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    client.cookies.set(CONSOLE_COOKIE, made.keys["supervisor"])
    assert client.get("/console/").status_code == 200
    # the cookie is never a key for the API (a page of another site cannot make the browser act)
    assert client.get("/api/v1/processes").status_code == 401
    assert client.post("/api/v1/cases", json={"process": "permit", "case_id": "x"}).status_code == 401
    out = client.post("/console/logout")
    assert out.status_code == 303 and CONSOLE_COOKIE in out.headers["set-cookie"]
    made.store.close()
