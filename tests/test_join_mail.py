"""An approved business's sign-in link is mailed when LOCATOR_SMTP_HOST is set (issue 20), to a
tiny SMTP server on 127.0.0.1 that keeps what it is sent; without a host nothing is mailed."""

from __future__ import annotations

import re
import socketserver
import threading
from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default

import pytest
from helpers import PASSWORD, csrf_token, login

from locator import create_app
from locator.domain.proposals import parse_proposal
from locator.services import proposals as commands


class Inbox(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: EHLO, MAIL, RCPT, DATA, QUIT."""

    received: list[bytes]

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 test")
        while line := self.rfile.readline(1000):
            verb = line[:4].upper()
            if verb == b"EHLO" or verb == b"HELO":
                self.reply("250 test")
            elif verb == b"DATA":
                self.reply("354 go on")
                body = b"".join(iter(lambda: self.rfile.readline(10_000), b".\r\n"))
                self.received.append(body)
                self.reply("250 kept")
            elif verb == b"QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


@pytest.fixture
def inbox() -> Iterator[tuple[int, list[bytes]]]:
    received: list[bytes] = []
    handler = type("Handler", (Inbox,), {"received": received})
    server = socketserver.TCPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], received
    finally:
        server.shutdown()
        server.server_close()


def approve_one(app, email: str) -> str:
    form = {
        "contact": "Ірина",
        "phone": "+380501234567",
        "email": email,
        "point-0-name": "Банк «Опора»",
        "point-0-business_type": "bank",
        "point-0-address": "вул. Центральна, 5",
        "point-0-lat": "50.45",
        "point-0-lon": "30.52",
    }
    territory = app.extensions["locator.territory"]
    proposals = app.extensions["locator.proposals"]
    proposal_id = commands.submit(proposals, territory, parse_proposal(form), "test")
    client = app.test_client()
    login(client, "admin", PASSWORD)
    token = csrf_token(client, "/operator/proposals")
    page = client.post(f"/operator/proposals/{proposal_id}/approve", data={"csrf_token": token})
    assert page.status_code == 200
    return page.get_data(as_text=True)


def test_the_link_is_mailed_when_smtp_is_set(tmp_path, inbox, password_hash):
    port, received = inbox
    smtp = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "SMTP_STARTTLS": False}
    app = create_app({"DATABASE": str(tmp_path / "db")} | smtp)
    app.extensions["locator.users"].create("admin", password_hash, "admin")
    page = approve_one(app, "owner@bank.example")
    shown = re.search(r'id="signin-link"[^>]*value="([^"]+)"', page).group(1)
    [raw] = received
    mail = message_from_bytes(raw, policy=default)
    assert mail["To"] == "owner@bank.example"
    assert shown in mail.get_content()  # the same link the reviewer was shown
    assert "owner@bank.example" in page  # the reviewer is told it was mailed
    app.extensions["locator.store"].close()


def test_nothing_is_mailed_without_a_host(tmp_path, inbox, password_hash):
    _port, received = inbox
    app = create_app({"DATABASE": str(tmp_path / "db")})
    app.extensions["locator.users"].create("admin", password_hash, "admin")
    page = approve_one(app, "owner@bank.example")
    assert 'id="signin-link"' in page and received == []
    app.extensions["locator.store"].close()
