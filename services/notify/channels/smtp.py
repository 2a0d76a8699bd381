"""The e-mail sender: one multipart message per notice (a report's with its files), over SMTP."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import smtplib
import ssl
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.utils import formatdate

from services.notify import render, render_report
from services.notify.channels.config import EmailChannel, describe
from services.notify.channels.delivery import DeliveryError, scrub
from services.notify.notice import Notice, ReportNotice

logger = logging.getLogger(__name__)


class EmailSender:
    """One multipart (text/plain + text/html) message per notice, over SMTP."""

    def __init__(self, config: EmailChannel, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.channel = describe(config)
        self._clock = clock

    def send(self, notice: Notice) -> None:
        self._deliver(self.message(notice), notice.idempotency_key)

    def send_report(self, notice: ReportNotice) -> None:
        self._deliver(self.report_message(notice), notice.idempotency_key)

    def _deliver(self, message: EmailMessage, key: str) -> None:
        try:
            with self._connect() as smtp:
                refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            retryable = any(400 <= code < 500 for code in codes)
            raise self._error(f"all recipients refused (SMTP {codes})", retryable) from None
        except smtplib.SMTPResponseException as exc:
            code = exc.smtp_code
            raise self._error(
                f"SMTP {code} {smtp_text(exc.smtp_error)}", 400 <= code < 500
            ) from None
        except smtplib.SMTPNotSupportedError:
            raise self._error("server does not support STARTTLS or AUTH", False) from None
        except ssl.SSLCertVerificationError as exc:
            raise self._error(f"certificate not trusted ({exc.verify_message})", False) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise self._error(f"connection failed ({type(exc).__name__})", True) from None
        if refused:
            # Delivered to the others: a retry would send them the notice twice.
            logger.warning("%s: %s refused %s", self.channel, key, sorted(refused))
        logger.debug("%s: delivered %s", self.channel, key)

    def message(self, notice: Notice) -> EmailMessage:
        message = self._headed(render.title(notice), notice.idempotency_key)
        message.set_content(render.plain(notice))
        message.add_alternative(render.html(notice), subtype="html")
        return message

    def report_message(self, notice: ReportNotice) -> EmailMessage:
        """The headline as text and HTML, each file attached."""
        message = self._headed(render_report.title(notice), notice.idempotency_key)
        message.set_content(render_report.plain(notice))
        message.add_alternative(render_report.html(notice), subtype="html")
        for f in notice.files:
            maintype, _, subtype = f.media_type.partition(";")[0].partition("/")
            message.add_attachment(
                f.content, maintype=maintype, subtype=subtype, filename=f.filename
            )
        return message

    def _headed(self, subject: str, key: str) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = self.config.sender
        message["To"] = ", ".join(self.config.to)
        message["Date"] = formatdate(self._clock(), localtime=False)
        message["Message-ID"] = message_id(key)
        return message

    @contextlib.contextmanager
    def _connect(self) -> Iterator[smtplib.SMTP]:
        c = self.config
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if c.ssl:
            smtp = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout_s, context=context)
        else:
            smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout_s)
        with smtp:
            if c.starttls:
                smtp.starttls(context=context)
            if c.username is not None and c.password is not None:
                smtp.login(c.username, c.password.get_secret_value())
            yield smtp

    def _error(self, detail: str, retryable: bool) -> DeliveryError:
        return DeliveryError(self.channel, detail, retryable=retryable)


def message_id(idempotency_key: str) -> str:
    """The same key gives the same Message-ID, so a re-sent mail threads as a duplicate."""
    return f"<{hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]}@envmon>"


def smtp_text(error: bytes | str) -> str:
    text = error.decode(errors="replace") if isinstance(error, bytes) else error
    return scrub(" ".join(text.split()))[:120]
