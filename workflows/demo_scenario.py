"""A real morning's work for `make run` (issue 11): citizen messages in English and French (some
overdue), posts in every state, a publication that failed. Reached through the services, like a
person would; idempotent (it runs once per database). Not loaded by the test suite's fixtures."""
from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from guardian.shortcuts import assign_perm, get_perms

from accounts.models import Team, User

from .models import Channel, InboundMessage
from .services import delivery, inbound, inbound_manual, posts, publishing, reviews, translations

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
    return posts.post_create(author=author, kind="post", channels=list(channels), texts=texts,
                             rules_acknowledged=True, **kw)


def _broken_channel() -> Channel:
    """A French alerts account whose webhook address is removed while a post to it waits for
    sign-off (a channel that cannot publish is refused at draft: issue 21): publishing to it
    fails, each channel with its own reason, and Retry waits until a manager fixes it."""
    ref = Channel.objects.get(slug="dpe-fr")
    chan, _ = Channel.objects.update_or_create(
        slug=BROKEN_CHANNEL,
        defaults={"organisation": ref.organisation, "name": "DPE alerts (French)", "name_en": "DPE alerts (French)",
                  "name_fr": "Alertes MEP (français)", "platform": "webhook", "handle": "alertes-mep",
                  "languages": ["fr"], "adapter": "webhook",
                  "adapter_config": {"url": "https://alerts.dpe.example/publish"}, "char_limit": 500},
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


def seed_morning() -> bool:
    """Create the morning's work once. Returns False when it is already there."""
    if InboundMessage.objects.filter(external_id=MARKER).exists():
        return False
    dana, rami, tess, cora, uma = (_user(n) for n in ("dana", "rami", "tess", "cora", "uma"))
    now = timezone.now()
    msgs = {}
    for ext, chan, author, text, minutes in MESSAGES:
        msgs[ext], _ = inbound.inbound_ingest(by=dana, channel=chan, external_id=ext, author=author, text=text,
                                              received_at=now - timedelta(minutes=minutes))
    inbound.inbound_claim(inbound_id=msgs["demo-morning-3"].id, by=dana)
    inbound.inbound_dismiss(inbound_id=msgs["demo-morning-5"].id, by=dana, reason="no_reply_needed",
                            comment="A thank-you; nothing to answer.")
    inbound_manual.inbound_log_manual(by=dana, channel="dpe-fr", medium="phone", author="Mme Tremblay (613-555-0199)",
                                      text="Elle demande si le bureau de Gatineau est accessible en fauteuil roulant.",
                                      received_at=now - timedelta(minutes=70), language="fr")
    # A reply sent and published; sampled for a spot-check by the communications team.
    reply = posts.post_create(author=dana, kind="reply", in_reply_to=msgs["demo-morning-2"].id, rules_acknowledged=True,
                              texts={"fr": "Oui! Vous pouvez le renouveler en ligne sur https://www.canada.ca/fr.html."})
    reply = posts.post_submit(post_id=reply.id, by=dana)
    _publish_now(reply.id)
    reviews.review_open_spot_check(post_id=reply.id)

    # Posts in every state.
    posts.post_create(author=dana, kind="post", channels=["dpe-en", "dpe-fr"], rules_acknowledged=False,
                      texts={"en": "Draft: our winter hours start on December 1."})
    at_review = _official(dana, "The Main Street office closes at noon on Friday for maintenance.")
    posts.post_submit(post_id=at_review.id, by=dana)
    at_translation = _official(dana, "New: book your passport appointment online.")
    posts.post_submit(post_id=at_translation.id, by=dana)
    reviews.post_approve(post_id=at_translation.id, by=rami, comment="Clear and short.")
    at_sign_off = _official(dana, "Benefit payments go out on the 20th this month.")
    posts.post_submit(post_id=at_sign_off.id, by=dana)
    reviews.post_approve(post_id=at_sign_off.id, by=rami)
    translations.translation_provide(post_id=at_sign_off.id, by=tess, language="fr",
                                     text="Les prestations seront versées le 20 ce mois-ci.")
    reviews.post_approve(post_id=at_sign_off.id, by=tess)
    changes = _official(dana, "We are changing how you apply.")
    posts.post_submit(post_id=changes.id, by=dana)
    reviews.post_request_changes(post_id=changes.id, by=rami, comment="Say what changes and from when, please.")
    rejected = _official(dana, "Our office is the best in the country!")
    posts.post_submit(post_id=rejected.id, by=dana)
    reviews.post_reject(post_id=rejected.id, by=rami, comment="Boastful; not something we can say.")
    withdrawn = _official(dana, "Reminder: the survey closes Friday.")
    posts.post_submit(post_id=withdrawn.id, by=dana)
    posts.post_withdraw(post_id=withdrawn.id, by=dana, comment="The survey was extended.")
    for en, fr, scheduled, channels in (
        ("The office reopens on Monday at 9:00.", "Le bureau rouvre lundi à 9 h.", None, ("dpe-en", "dpe-fr")),
        ("Flu clinics open next week.", "Les cliniques de vaccination ouvrent la semaine prochaine.",
         now + timedelta(days=2), ("dpe-en", "dpe-fr")),
        ("Road closure on Bank Street tonight.", "Fermeture de la rue Bank ce soir.", None,
         ("dpe-en", _broken_channel().slug)),
    ):
        post = _official(dana, en, channels=channels, scheduled_at=scheduled)
        posts.post_submit(post_id=post.id, by=dana)
        reviews.post_approve(post_id=post.id, by=rami)
        translations.translation_provide(post_id=post.id, by=tess, language="fr", text=fr)
        reviews.post_approve(post_id=post.id, by=tess)
        if BROKEN_CHANNEL in channels:
            # Its address was removed while the post waited for sign-off: publishing (at once in
            # embedded mode, when cora approves) fails at preflight, nothing sent.
            Channel.objects.filter(slug=BROKEN_CHANNEL).update(adapter_config={})
        reviews.post_approve(post_id=post.id, by=cora)
        _publish_now(post.id)
    # An urgent publication awaiting its retrospective review.
    urgent = posts.post_create(author=uma, kind="post", channels=["dpe-en", "dpe-fr"], rules_acknowledged=True,
                               texts={"en": "Boil-water advisory lifted in the east end.",
                                      "fr": "L'avis d'ébullition d'eau est levé dans l'est de la ville."})
    posts.post_publish_urgent(post_id=urgent.id, by=uma, reason="Public health: residents need to know now.")
    _publish_now(urgent.id)
    return True
