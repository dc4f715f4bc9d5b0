"""Mail a business its one-time sign-in link (issue 20), when LOCATOR_SMTP_HOST is set.

Mail is a convenience, never needed: the reviewer is always shown the link to pass on, so a
mail server that is down or refuses costs a note in the log, not an approval.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

log = logging.getLogger(__name__)
SMTP_TIMEOUT_S = 10


def send_link(config: Mapping[str, Any], to: str, subject: str, body: str) -> bool:
    """Mail the link (in body) to the business; True when the server took it."""
    if not config.get("SMTP_HOST") or not to:
        return False
    message = EmailMessage()
    message["From"] = config["SMTP_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    try:
        with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=SMTP_TIMEOUT_S) as smtp:
            if config.get("SMTP_STARTTLS"):
                smtp.starttls()
            if config.get("SMTP_USER"):
                smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"])
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        log.warning("sign-in link not mailed to a business: %s", error)
        return False
    return True
