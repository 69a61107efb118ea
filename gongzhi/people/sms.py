"""Pluggable SMS senders for one-time codes (like Django's e-mail backends). Set ``SMS_SENDER`` to a dotted path."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("gongzhi.sms")


class LogSender:
    """Writes the message to the log: for development and intranets without an SMS gateway."""

    def send(self, phone: str, message: str) -> None:
        logger.info("SMS to %s: %s", phone, message)


class MemorySender:
    """Keeps messages in memory: for tests."""

    outbox: list[tuple[str, str]] = []

    def send(self, phone: str, message: str) -> None:
        MemorySender.outbox.append((phone, message))


def get_sender():
    return import_string(str(settings.SMS_SENDER))()
