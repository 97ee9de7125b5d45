"""A real morning's work for `make run` (issue 11): citizen messages in English and French (some
overdue), posts in every state, a publication that failed. Reached as a person would: each person's
action through its object (workflows/actions.py: the check, then the work), the system's steps
(publishing, a spot check) through their services; idempotent (it runs once per database). Not loaded by the test suite's fixtures.

No trap (issue 21): every channel a person can pick works. The failed publication is made on
purpose, on an alerts account whose server never answers (a valid configuration pointing at a
reserved `.invalid` name), and that account is closed afterwards, so nobody picks it again."""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from guardian.shortcuts import assign_perm, get_perms

from accounts.models import Team, User

from . import actions as A
from .models import Channel, InboundMessage, Post
from .services import delivery, publishing, reviews

MARKER = "demo-morning-1"
BROKEN_CHANNEL = "dpe-alerts-fr"

MESSAGES = [
    # (external id, channel, author, text, minutes ago)
    (MARKER, "dpe-en", "@sam_citizen", "Is the passport office on Main Street open this Saturday?", 150),
    ("demo-morning-2", "dpe-fr", "@julie_qc", "Bonjour, est-ce que je peux renouveler mon passeport en ligne?", 95),
    ("demo-morning-3", "dpe-en", "@renter42", "My benefit payment is late again. Who can I talk to?", 40),
    ("demo-morning-4", "dpe-fr", "@marc_o", "Le formulaire de demande ne s'affiche pas sur mon téléphone.", 12),
    ("demo-morning-5", "dpe-en", "@alex_b", "Thanks for the quick answer yesterday!", 300),
    ("demo-morning-6", "dpe-en", "@pat_k", "What are your hours on the holiday Monday?", 25),
]


def _user(name: str) -> User:
    return User.objects.get(username=name)


def _official(author, en: str, fr: str | None = None, channels=("dpe-en", "dpe-fr"), **kw):
    texts = {"en": en, **({"fr": fr} if fr else {})}
    return A.CREATE.execute(author=author, kind="post", channels=list(channels), texts=texts,
                             rules_acknowledged=True, **kw)


#: A valid webhook configuration whose server never answers (RFC 2606 reserves ".invalid").
UNREACHABLE = {"url": "https://alerts.dpe.invalid/parley", "info_url": "https://alerts.dpe.invalid/parley/info"}


def _broken_channel() -> Channel:
    """A French alerts account whose server is gone: publishing to it fails (on purpose)."""
    ref = Channel.objects.get(slug="dpe-fr")
    chan, _ = Channel.objects.update_or_create(
        slug=BROKEN_CHANNEL,
        defaults={"organisation": ref.organisation, "name": "DPE alerts (French, closed)",
                  "name_en": "DPE alerts (French, closed)", "name_fr": "Alertes MEP (français, fermé)",
                  "platform": "webhook", "handle": "alertes-mep", "is_active": True,
                  "languages": ["fr"], "adapter": "webhook", "adapter_config": UNREACHABLE, "char_limit": 500},
    )
    # The same team permissions as the organisation's French account.
    for team in Team.objects.filter(organisation=ref.organisation).select_related("group"):
        for perm in get_perms(team.group, ref):
            assign_perm(f"workflows.{perm}", team.group, chan)
    return chan


def _publish_now(post_id: int) -> None:
    publishing.post_publish_start(post_id=post_id)
    delivery.post_deliver(post_id=post_id)
    delivery.post_settle(post_id=post_id)


def _publish_until_given_up(post_id: int) -> None:
    """Publish, then let each retry come due at once (a demo clock) until delivery gives up."""
    publishing.post_publish_start(post_id=post_id)
    at = timezone.now()
    for _attempt in range(settings.PUBLISH_MAX_ATTEMPTS + 1):
        if delivery.post_deliver(post_id=post_id, now=at) != "publishing":
            break
        at += timedelta(days=1)


def _back_in_time(post_id: int, *, hours: int) -> None:
    """The demo clock: this post entered its step `hours` ago, so the queue shows it overdue."""
    Post.objects.filter(id=post_id).update(step_entered_at=timezone.now() - timedelta(hours=hours))


def seed_morning() -> bool:
    """Create the morning's work once. Returns False when it is already there."""
    if InboundMessage.objects.filter(external_id=MARKER).exists():
        return False
    dana, rami, tess, cora, uma = (_user(n) for n in ("dana", "rami", "tess", "cora", "uma"))
    now = timezone.now()
    msgs = {}
    for ext, chan, author, text, minutes in MESSAGES:
        msgs[ext], _ = A.INGEST.execute(by=dana, channel=chan, external_id=ext, author=author, text=text,
                                              received_at=now - timedelta(minutes=minutes))
    A.CLAIM.execute(inbound_id=msgs["demo-morning-3"].id, by=dana)
    A.DISMISS.execute(inbound_id=msgs["demo-morning-5"].id, by=dana, reason="no_reply_needed",
                            comment="A thank-you; nothing to answer.")
    A.LOG_MANUAL.execute(by=dana, channel="dpe-fr", medium="phone", author="Mme Tremblay", contact="613-555-0199",
                                      text="Elle demande si le bureau de Gatineau est accessible en fauteuil roulant.",
                                      received_at=now - timedelta(minutes=70), language="fr")
    # A reply sent and published; sampled for a spot-check by the communications team.
    reply = A.CREATE.execute(author=dana, kind="reply", in_reply_to=msgs["demo-morning-2"].id, rules_acknowledged=True,
                              texts={"fr": "Oui! Vous pouvez le renouveler en ligne sur https://www.canada.ca/fr.html."})
    reply = A.SUBMIT.execute(post_id=reply.id, by=dana)
    _publish_now(reply.id)
    reviews.review_open_spot_check(post_id=reply.id)

    # Posts in every state.
    A.CREATE.execute(author=dana, kind="post", channels=["dpe-en", "dpe-fr"], rules_acknowledged=False,
                      texts={"en": "Draft: our winter hours start on December 1."})
    at_review = _official(dana, "The Main Street office closes at noon on Friday for maintenance.")
    A.SUBMIT.execute(post_id=at_review.id, by=dana)
    _back_in_time(at_review.id, hours=6)  # the review step's time is 4 hours: overdue
    at_translation = _official(dana, "New: book your passport appointment online.")
    A.SUBMIT.execute(post_id=at_translation.id, by=dana)
    A.APPROVE.execute(post_id=at_translation.id, by=rami, comment="Clear and short.")
    at_sign_off = _official(dana, "Benefit payments go out on the 20th this month.")
    A.SUBMIT.execute(post_id=at_sign_off.id, by=dana)
    A.APPROVE.execute(post_id=at_sign_off.id, by=rami)
    A.TRANSLATE.execute(post_id=at_sign_off.id, by=tess, language="fr",
                                     text="Les prestations seront versées le 20 ce mois-ci.")
    A.APPROVE.execute(post_id=at_sign_off.id, by=tess)
    # Approved at review by someone from outside (legal counsel, through a link for English).
    legal = _official(dana, "Notice: the privacy statement for online appointments has changed.")
    A.SUBMIT.execute(post_id=legal.id, by=dana)
    _inv, token = A.INVITE.execute(post_id=legal.id, by=rami, email="counsel@justice.example",
                                                   languages=["en"])
    A.OUTSIDE_DECIDE.execute(token=token, verdict="approve", comment="Fine from a legal standpoint.")
    # A reply that mentions the minister: moved to the official lane for approval.
    touchy = A.CREATE.execute(author=dana, kind="reply", in_reply_to=msgs["demo-morning-6"].id, rules_acknowledged=True,
                               texts={"en": "The minister announced holiday hours: we open at 10 on Monday."})
    A.SUBMIT.execute(post_id=touchy.id, by=dana)
    changes = _official(dana, "We are changing how you apply.")
    A.SUBMIT.execute(post_id=changes.id, by=dana)
    A.REQUEST_CHANGES.execute(post_id=changes.id, by=rami, comment="Say what changes and from when, please.")
    rejected = _official(dana, "Our office is the best in the country!")
    A.SUBMIT.execute(post_id=rejected.id, by=dana)
    A.REJECT.execute(post_id=rejected.id, by=rami, comment="Boastful; not something we can say.")
    withdrawn = _official(dana, "Reminder: the survey closes Friday.")
    A.SUBMIT.execute(post_id=withdrawn.id, by=dana)
    A.WITHDRAW.execute(post_id=withdrawn.id, by=dana, comment="The survey was extended.")
    broken = _broken_channel()
    for en, fr, scheduled, channels in (
        ("The office reopens on Monday at 9:00.", "Le bureau rouvre lundi à 9 h.", None, ("dpe-en", "dpe-fr")),
        ("Flu clinics open next week.", "Les cliniques de vaccination ouvrent la semaine prochaine.",
         now + timedelta(days=2), ("dpe-en", "dpe-fr")),
        ("Road closure on Bank Street tonight.", "Fermeture de la rue Bank ce soir.", None,
         ("dpe-en", broken.slug)),
    ):
        post = _official(dana, en, channels=channels, scheduled_at=scheduled)
        A.SUBMIT.execute(post_id=post.id, by=dana)
        A.APPROVE.execute(post_id=post.id, by=rami)
        A.TRANSLATE.execute(post_id=post.id, by=tess, language="fr", text=fr)
        A.APPROVE.execute(post_id=post.id, by=tess)
        A.APPROVE.execute(post_id=post.id, by=cora)
        if broken.slug in channels:
            _publish_until_given_up(post.id)  # the deliberate failure: nothing was sent anywhere
        else:
            _publish_now(post.id)
    # The alerts account is closed: nobody can pick it for a new post (no trap).
    Channel.objects.filter(id=broken.id).update(is_active=False)
    # Official posts with images described in both languages, and one whose French description is
    # missing: the pre-screen blocks it at submit (issue 22, workflows/demo_media.py).
    from .demo_media import seed_media_posts

    seed_media_posts(dana=dana, rami=rami, tess=tess)
    # An urgent publication awaiting its retrospective review.
    urgent = A.CREATE.execute(author=uma, kind="post", channels=["dpe-en", "dpe-fr"], rules_acknowledged=True,
                               texts={"en": "Boil-water advisory lifted in the east end.",
                                      "fr": "L'avis d'ébullition d'eau est levé dans l'est de la ville."})
    A.PUBLISH_URGENT.execute(post_id=urgent.id, by=uma, reason="Public health: residents need to know now.")
    _publish_now(urgent.id)
    return True
