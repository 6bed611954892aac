"""Telling customers their new tier after a published run: one e-mail per customer user of each
customer whose tier changed, through the configured e-mail backend; every message sent is recorded
(`TierNotice`)."""

from __future__ import annotations

from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.urls import reverse

from ..models import StratificationRun, TierNotice
from ..selectors import tier_changes
from ..tier_text import notice_message


class NoticeSendFailed(Exception):
    """The mail server refused a message: `sent` are the notices of the messages that went out before
    it (recorded: they are not sent again), `error` the refusal."""

    def __init__(self, sent, error):
        super().__init__(str(error))
        self.sent, self.error = sent, error


class NoticeAlreadySent(Exception):
    """The customers asked for were already told about this run (and no resend was asked for):
    `notices` are the messages sent then."""

    def __init__(self, notices):
        super().__init__("already sent")
        self.notices = notices


def tier_notices_send(
    *, distributor, run, actor, customer_ids: list[str] | None = None, request=None, resend: bool = False
) -> list:
    """E-mail the customers of `run` whose tier changed (`customer_ids`: only those accounts; None:
    every one not yet told about this run). A customer already told about this run is told again
    only with `resend` (the page's "Send again"): a second "Send" would mail the same message twice;
    when every customer asked for was already told, raises NoticeAlreadySent. Returns the notices
    recorded, one per message sent."""
    path = reverse("scorecard", kwargs={"tenant": distributor.slug})
    link = request.build_absolute_uri(path) if request is not None else path
    sent, failure = [], None
    with transaction.atomic():
        # One sender at a time per run (a double click: two requests), the notices read under the lock.
        StratificationRun.objects.select_for_update().filter(distributor=distributor, pk=run.pk).first()
        changes = tier_changes(distributor=distributor, run=run)
        if customer_ids is not None:
            wanted = set(customer_ids)
            changes = [c for c in changes if c["customer"].customer_id in wanted]
            if not resend:
                told = [n for c in changes for n in c["notices"]]
                changes = [c for c in changes if not c["notices"]]
                if told and not changes:
                    raise NoticeAlreadySent(told)
        else:
            changes = [c for c in changes if not c["notices"]]
        with get_connection() as connection:
            for change, email, subject, body in _messages(distributor, run, changes, link):
                try:
                    EmailMessage(subject, body, to=[email], connection=connection).send()
                except Exception as error:  # the mail server's refusal: what went out stays recorded
                    failure = error
                    break
                sent.append(
                    TierNotice.objects.create(
                        distributor=distributor,
                        run=run,
                        customer=change["customer"],
                        email=email,
                        tier_name=change["to"].tier_name,
                        subject=subject,
                        body=body,
                        sent_by=actor,
                    )
                )
    if failure is not None:
        raise NoticeSendFailed(sent, failure)
    return sent


def _messages(distributor, run, changes, link):
    """(change, e-mail address, subject, body) of each message to send."""
    for change in changes:
        subject, body = notice_message(
            distributor=distributor,
            customer=change["customer"],
            before=change["from"],
            after=change["to"],
            link=link,
            as_of=run.as_of,
        )
        for email in change["emails"]:
            yield change, email, subject, body
