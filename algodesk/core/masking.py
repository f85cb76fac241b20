"""One masking function for every text that leaves the app: syslog, DHCP, history, logs, events.

A secret is the value after a key the catalog calls secret (``sip.u1.pwd=…``, ``sip.pwd2: …``,
``"password": "…"``, ``password is …``) or the password in a URL's user part
(``ftp://user:****@host``, ``sip:alice:****@pbx``, a static server's ``user:****@host``). Over-masking is the safe side: a URL password
holding ``/`` or ``@`` is masked up to the last ``@`` of the word.

Text arrives from the network (a syslog datagram, a DHCP host name), so the work is linear in its
length: every pattern here matches at a fixed place or over maximal runs, never retrying a long
prefix from each start position (``a.a.a.…`` once cost seconds per 16 KB, with the GIL held).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from algodesk.core.catalog import is_secret

MASK = "****"

# Maximal runs of key characters: ``[\w.\-]+`` cannot backtrack into itself when it fails.
_KEY_RUN = re.compile(r"[\w.\-]+")
# What may sit between a secret key and its value, matched only at the key's end: a closing
# quote (JSON), then "=", ":" or the word "is" (free text), with blanks around.
_SEPARATOR = re.compile(r"""["']?[ \t]*(?:[=:]|is\b[ \t]*:?)[ \t]*""", re.IGNORECASE)
# A quoted value (JSON escapes skipped; an unclosed quote runs to the end), or a bare word.
_VALUE = re.compile(r""""(?:[^"\\]|\\.)*"?|'[^']*'?|\S+""", re.DOTALL)
_WORD = re.compile(r"\S+")
# Where a URL's user part begins: after "scheme://", or after "sip:" / "sips:" (RFC 3261 §19.1).
_USER_START = re.compile(r"://|(?<![\w.+\-])sips?:", re.IGNORECASE)
_USER = re.compile(r"[^:/@\s]*")


def mask_secrets(text: str) -> str:
    """``text`` with every secret value replaced by ``****`` (linear in ``len(text)``)."""
    if not text:
        return text
    return _mask_assignments(_mask_url_passwords(text))


def mask_fields(value: Any) -> Any:
    """``value`` (a JSON-able dict, list or str) with :func:`mask_secrets` applied to every string.

    A dict entry whose key is secret (``{"prov.auth.pwd": "x"}``) has its whole value masked.
    Used on an event's dict before it becomes a JSON line, so the line stays valid JSON.
    """
    if isinstance(value, str):
        return mask_secrets(value)
    if isinstance(value, Mapping):
        return {
            key: (MASK if value and _is_secret_key(str(key)) else mask_fields(value))
            for key, value in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask_fields(item) for item in value]
    return value


class MaskingFilter(logging.Filter):
    """Masks each record's message (arguments included) in place, for every later handler too.

    A handler's level is checked before its filters run, so the level this handler prints from is
    ``min_level`` here: every record passes the filter (and gets masked) first.
    """

    def __init__(self, min_level: int = logging.NOTSET) -> None:
        """Let records of ``min_level`` and above through to the handler holding this filter."""
        super().__init__()
        self._min_level = min_level

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask ``record``; True when its level reaches ``min_level``."""
        message = record.getMessage()
        masked = mask_secrets(message)
        if masked != message:
            record.msg, record.args = masked, None
        return record.levelno >= self._min_level


def _is_secret_key(word: str) -> bool:
    """Whether ``word`` names a secret: a catalog key or a free-text one (``db_password``)."""
    word = word.strip(".-")
    if not word:
        return False
    return is_secret(word) or is_secret(re.split(r"[_\-]", word)[-1])


def _mask_assignments(text: str) -> str:
    out: list[str] = []
    done = 0  # text[:done] is already in out
    position = 0
    while (key := _KEY_RUN.search(text, position)) is not None:
        position = key.end()
        if not _is_secret_key(key.group()):
            continue
        separator = _SEPARATOR.match(text, position)
        if separator is None:
            continue
        value = _VALUE.match(text, separator.end())
        if value is None:
            continue
        out.append(text[done : separator.end()])
        out.append(_masked_value(value.group()))
        done = position = value.end()
    if not out:
        return text
    out.append(text[done:])
    return "".join(out)


def _masked_value(value: str) -> str:
    quote = value[0]
    if quote in "\"'":
        closed = len(value) > 1 and value.endswith(quote)
        return f"{quote}{MASK}{quote if closed else ''}"
    return MASK


def _mask_url_passwords(text: str) -> str:
    if "@" not in text:
        return text
    out: list[str] = []
    done = 0
    for word in _WORD.finditer(text):
        start, end = word.span()
        last_at = text.rfind("@", start, end)
        if last_at < 0:
            continue
        colon = _password_colon(text, start, last_at)
        if colon is not None:
            out.append(text[done : colon + 1])
            out.append(MASK)
            done = last_at
    if not out:
        return text
    out.append(text[done:])
    return "".join(out)


def _password_colon(text: str, start: int, last_at: int) -> int | None:
    """The ``:`` before the password in the word ``text[start:last_at]``, or None.

    A user part starts after ``scheme://`` or ``sip:``; in a word with neither, at the word's
    start (a static server as the guide writes one, ``user:pwd@192.168.1.1``, guide §2).
    """
    begin = _USER_START.search(text, start, last_at)
    user_at = start if begin is None else begin.end()
    while True:
        user = _USER.match(text, user_at, last_at)
        assert user is not None  # "[^…]*" always matches
        colon = user.end()
        if colon < last_at and text[colon] == ":":
            return colon
        if begin is None:
            return None
        # past this start (and its user part): the search moves on, never back
        begin = _USER_START.search(text, max(colon, begin.end()), last_at)
        if begin is None:
            return None
        user_at = begin.end()
