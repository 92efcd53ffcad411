"""E-mail intake: .eml files and mbox archives become tickets.

Each message gives a subject, a body (HTML reduced to text when there is no plain part), the
sender and a list of its attachments (name, type, size; the content is not stored). Chinese
mail arrives as GB2312, GBK, GB18030, Big5 or UTF-8, and is often declared wrongly (GBK sent as
``iso-8859-1``, or no charset at all): text that is valid UTF-8 is taken as UTF-8, a declared
multi-byte charset is tried next (GB2312 and GBK read as their superset GB18030), and
charset-normalizer decides when the declaration is missing, unknown, single-byte western or
wrong. A malformed mbox gives one error per bad message; the good ones still load.

The sender is matched to a customer through identities (e-mail); an unknown sender gives a
ticket without a customer, keeping the address as the requester, so that spam and one-off
senders do not create customer records (an agent links the ticket later).
"""

import email
import email.header
import email.utils
import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from html.parser import HTMLParser
from typing import Any

from sqlalchemy.orm import Session
from typing_extensions import override

from kehu.core import Actor, ConflictError, KehuError
from kehu.service import MAX_MESSAGE_CHARS, TicketChannel, create_ticket

MAX_MESSAGES = 50_000
#: Charsets read as a superset that decodes everything they do (and what senders mislabel).
CHARSET_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "cp950": "big5hkscs",
}
CHINESE = ("gb18030", "big5", "utf_8")
WESTERN = {"us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1", "windows-1252", "cp1252"}
_MBOX_FROM = re.compile(rb"(?:\A|\n)From [^\n]*\n")


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip().strip('"').lower()
    name = CHARSET_ALIASES.get(name, name)
    try:
        "".encode(name)
    except LookupError:
        return None
    return name


def decode_text(raw: bytes, declared: str | None = None) -> tuple[str, str]:
    """Return ``raw`` decoded and the charset used (see the module's notes on wrong labels)."""
    if not raw:
        return "", "ascii"
    if raw.isascii():
        return raw.decode("ascii"), "ascii"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    codec = _codec(declared)
    if codec is not None and codec not in WESTERN and codec != "utf-8":
        try:
            return raw.decode(codec), codec
        except UnicodeDecodeError:
            pass
    from charset_normalizer import from_bytes

    # Chinese first: on short texts an unrestricted guess often says Korean (cp949) for GBK.
    best = from_bytes(raw, cp_isolation=list(CHINESE)).best()
    if best is None and (codec is None or codec not in WESTERN):
        best = from_bytes(raw).best()
    if best is not None:
        return str(best), _codec(best.encoding) or best.encoding
    fallback = codec or "gb18030"
    return raw.decode(fallback, errors="replace"), fallback


class _TextExtractor(HTMLParser):
    BLOCKS = frozenset(
        {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol"}
        | {"blockquote", "pre", "hr", "section", "article"}
    )
    SKIP = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    @override
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        del attrs
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    @override
    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    @override
    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Return the readable text of an HTML document (no scripts, styles or tags)."""
    parser = _TextExtractor()
    try:
        parser.feed(markup)
        parser.close()
    except (AssertionError, ValueError):  # malformed markup: keep what was read
        pass
    text = html.unescape("".join(parser.parts)).replace("\xa0", " ")
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _header(message: Message, name: str) -> str:
    # raw_items keeps undeclared 8-bit bytes (as surrogates); get() would replace them.
    text = next((str(v) for k, v in message.raw_items() if k.lower() == name.lower()), "")
    if not text:
        return ""
    if any("\udc80" <= ch <= "\udcff" for ch in text):  # raw 8-bit header (not RFC 2047)
        return decode_text(text.encode("ascii", "surrogateescape"))[0].strip()
    parts = []
    try:
        chunks = email.header.decode_header(text)
    except (ValueError, LookupError):
        return text.strip()
    for chunk, charset in chunks:
        if isinstance(chunk, bytes):
            parts.append(decode_text(chunk, charset)[0])
        else:
            parts.append(chunk)
    return "".join(parts).strip()


@dataclass
class ParsedMail:
    """One e-mail, read."""

    subject: str
    body: str
    sender: str
    sender_name: str
    sent_at: datetime | None
    message_id: str
    attachments: list[dict[str, Any]] = field(default_factory=list)
    is_html_only: bool = False
    charsets: list[str] = field(default_factory=list)


def _payload(part: Message) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except (ValueError, LookupError, AssertionError):
        payload = None
    return payload if isinstance(payload, bytes) else b""


def parse_mail(data: bytes) -> ParsedMail:
    """Read one RFC 5322 message.

    Raises
    ------
    ValueError
        When the bytes carry no e-mail headers at all.
    """
    message = email.message_from_bytes(data)
    if not any(message.get(h) for h in ("From", "Subject", "Date", "Message-ID", "To")):
        raise ValueError("it has no e-mail headers (From, Subject, Date...)")
    plain: list[str] = []
    markup: list[str] = []
    attachments: list[dict[str, Any]] = []
    charsets: list[str] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        raw_name = part.get_filename()
        name = _header_value(raw_name) if raw_name else ""
        disposition = part.get_content_disposition()
        if disposition == "attachment" or name or not content_type.startswith("text/"):
            attachments.append(
                {"name": name, "content_type": content_type, "size": len(_payload(part))}
            )
            continue
        text, used = decode_text(_payload(part), part.get_content_charset())
        charsets.append(used)
        (markup if content_type == "text/html" else plain).append(text)
    body = "\n\n".join(t.strip() for t in plain if t.strip())
    is_html_only = not body and bool(markup)
    if not body:
        body = "\n\n".join(html_to_text(m) for m in markup if m.strip())
    sender_name, sender = email.utils.parseaddr(_header(message, "From"))
    sent_at = None
    date_text = _header(message, "Date")
    if date_text:
        try:
            sent_at = email.utils.parsedate_to_datetime(date_text)
        except (TypeError, ValueError, IndexError):
            sent_at = None
        if sent_at is not None:
            sent_at = sent_at.replace(tzinfo=UTC) if sent_at.tzinfo is None else sent_at
            sent_at = sent_at.astimezone(UTC)
    return ParsedMail(
        subject=_header(message, "Subject"),
        body=body,
        sender=sender.strip().lower(),
        sender_name=sender_name,
        sent_at=sent_at,
        message_id=_header(message, "Message-ID").strip("<> ")[:240],
        attachments=attachments,
        is_html_only=is_html_only,
        charsets=charsets,
    )


def _header_value(value: str) -> str:
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        return decode_text(value.encode("ascii", "surrogateescape"))[0]
    try:
        return "".join(
            chunk if isinstance(chunk, str) else decode_text(chunk, charset)[0]
            for chunk, charset in email.header.decode_header(value)
        )
    except (ValueError, LookupError):
        return value


def is_mbox(data: bytes, filename: str = "") -> bool:
    """Tell whether ``data`` is an mbox archive (by name, or a leading ``From `` line)."""
    return filename.lower().endswith((".mbox", ".mbx")) or data.startswith(b"From ")


def split_mbox(data: bytes) -> list[tuple[int, bytes]]:
    """Return (line number, message bytes) for each message of an mbox archive.

    Text before the first ``From `` separator comes back as a message starting at line 1, so
    the caller can report it rather than lose it silently; ``>From `` escapes are undone.
    """
    data = data.replace(b"\r\n", b"\n")
    starts = [
        m.start() + (1 if m.group().startswith(b"\n") else 0) for m in _MBOX_FROM.finditer(data)
    ]
    chunks: list[tuple[int, bytes]] = []
    if not starts or starts[0] > 0:
        head = data[: starts[0]] if starts else data
        if head.strip():
            chunks.append((1, head))
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(data)
        block = data[start:end]
        line = data.count(b"\n", 0, start) + 1
        body = block.split(b"\n", 1)[1] if b"\n" in block else b""
        body = re.sub(rb"(?m)^>(>*From )", rb"\1", body)
        chunks.append((line, body))
    return chunks


@dataclass
class MailError:
    """A message that did not become a ticket, and why."""

    index: int
    line: int
    message: str


@dataclass
class MailImportReport:
    """What an e-mail import did."""

    filename: str
    n_messages: int = 0
    n_created: int = 0
    n_duplicates: int = 0
    n_matched_customers: int = 0
    ticket_ids: list[int] = field(default_factory=list)
    errors: list[MailError] = field(default_factory=list)
    warnings: list[MailError] = field(default_factory=list)


def import_mail(session: Session, data: bytes, *, filename: str, actor: Actor) -> MailImportReport:
    """Create a ticket from each message of an .eml file or an mbox archive.

    Each message loads in a savepoint of its own: a bad one is reported and skipped, the others
    load. Re-importing the same file creates nothing new (the Message-ID is the ticket's
    external id). Tickets are not routed here; :mod:`kehu.jobs.service` does that.
    """
    report = MailImportReport(filename=filename)
    if not data.strip():
        report.errors.append(MailError(1, 1, "The file is empty."))
        return report
    chunks = split_mbox(data) if is_mbox(data, filename) else [(1, data)]
    if len(chunks) > MAX_MESSAGES:
        report.errors.append(
            MailError(
                MAX_MESSAGES + 1,
                chunks[MAX_MESSAGES][0],
                f"Only the first {MAX_MESSAGES:,} messages were read; split the archive.",
            )
        )
        chunks = chunks[:MAX_MESSAGES]
    for index, (line, chunk) in enumerate(chunks, start=1):
        report.n_messages += 1
        try:
            mail = parse_mail(chunk)
        except ValueError as exc:
            report.errors.append(MailError(index, line, f"Not an e-mail message: {exc}."))
            continue
        body = mail.body
        if len(body) > MAX_MESSAGE_CHARS:
            report.warnings.append(
                MailError(
                    index,
                    line,
                    f"The body has {len(body):,} characters; only the first "
                    f"{MAX_MESSAGE_CHARS:,} were kept.",
                )
            )
            body = body[: MAX_MESSAGE_CHARS - 40] + "\n[… message truncated by kehu]"
        if not body.strip() and not mail.subject.strip():
            report.errors.append(
                MailError(index, line, "The message has neither a subject nor any text.")
            )
            continue
        external_id = f"mail:{mail.message_id}" if mail.message_id else None
        try:
            with session.begin_nested():
                ticket = create_ticket(
                    session,
                    body=body,
                    subject=mail.subject,
                    channel=TicketChannel.EMAIL,
                    requester=mail.sender,
                    external_id=external_id,
                    opened_at=mail.sent_at,
                    attachments=mail.attachments,
                    actor=actor,
                )
        except ConflictError:
            report.n_duplicates += 1
            continue
        except KehuError as exc:
            report.errors.append(MailError(index, line, exc.message))
            continue
        report.n_created += 1
        report.n_matched_customers += ticket.customer_id is not None
        report.ticket_ids.append(ticket.id)
    return report
