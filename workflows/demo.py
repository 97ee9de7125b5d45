"""Demo data (`manage.py seed_demo`): idempotent, declared as data so it is easy to extend."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from guardian.shortcuts import assign_perm

from accounts.models import Organisation, Team, User

from .constants import ChannelPerm, EscalationKind, LaneKind, RuleKind, Severity, StepKind
from .models import Channel, EscalationRule, GuidelineRule, HoldingReply, Lane, LaneStep

DEFAULT_PASSWORD = "parley-demo"

ORGANISATIONS = [
    {"slug": "dpe", "name": "Department of Public Examples", "name_fr": "Ministère des Exemples publics"},
    {"slug": "other", "name": "Other Agency", "name_fr": "Autre agence"},
]

CHANNELS = [
    {"org": "dpe", "slug": "dpe-en", "name": "DPE (English)", "name_fr": "MEP (anglais)", "platform": "mastodon", "handle": "@DPE_en", "languages": ["en"], "char_limit": 500},
    {"org": "dpe", "slug": "dpe-fr", "name": "DPE (French)", "name_fr": "MEP (français)", "platform": "mastodon", "handle": "@MEP_fr", "languages": ["fr"], "char_limit": 500},
    {"org": "other", "slug": "other-en", "name": "Other Agency (English)", "name_fr": "Autre agence (anglais)", "platform": "mastodon", "handle": "@OtherAgency", "languages": ["en"], "char_limit": 500},
    {"org": "other", "slug": "other-fr", "name": "Other Agency (French)", "name_fr": "Autre agence (français)", "platform": "mastodon", "handle": "@AutreAgence", "languages": ["fr"], "char_limit": 500},
]

#: team slug -> ((English name, French name), channel permissions on every channel of its organisation)
TEAMS = {
    "dpe": {
        "authors": (("Authors", "Rédaction"), [ChannelPerm.DRAFT]),
        "managers": (("Managers", "Gestionnaires"), [ChannelPerm.REVIEW]),
        "translators": (("Translators", "Équipe de traduction"), [ChannelPerm.TRANSLATE]),  # not "Traduction (Traduction)"
        "communications": (("Communications", "Communications"), [ChannelPerm.REVIEW, ChannelPerm.PUBLISH]),
        "urgent": (("Duty officers", "Agents de service"), [ChannelPerm.DRAFT, ChannelPerm.PUBLISH_URGENT]),
    },
    "other": {
        "authors": (("Authors", "Rédaction"), [ChannelPerm.DRAFT]),
        "managers": (("Managers", "Gestionnaires"), [ChannelPerm.REVIEW, ChannelPerm.PUBLISH]),
    },
}

USERS = [
    {"username": "dana", "org": "dpe", "teams": ["authors"], "lang": "", "first": "Dana", "role": "author"},
    {"username": "rami", "org": "dpe", "teams": ["managers"], "lang": "", "first": "Rami", "role": "manager"},
    {"username": "tess", "org": "dpe", "teams": ["translators"], "lang": "fr", "first": "Tess", "role": "translator"},
    {"username": "cora", "org": "dpe", "teams": ["communications"], "lang": "", "first": "Cora", "role": "communications"},
    {"username": "uma", "org": "dpe", "teams": ["urgent"], "lang": "", "first": "Uma", "role": "may publish urgent"},
    {"username": "omar", "org": "other", "teams": ["authors", "managers"], "lang": "", "first": "Omar", "role": "another organisation"},
]

SENSITIVE_TERMS = {"en": ["minister", "election", "lawsuit"], "fr": ["ministre", "élection", "poursuite"]}
FORBIDDEN_TERMS = {"en": ["stupid", "idiot", "damn"], "fr": ["stupide", "idiot", "merde"]}
ALLOWED_DOMAINS = ["canada.ca", "gc.ca", "dpe.example"]

BASE_RULES = [
    (RuleKind.LENGTH, Severity.BLOCK, {}),
    (RuleKind.PERSONAL_DATA, Severity.BLOCK, {"postal_codes": True}),
    (RuleKind.FORBIDDEN_TERMS, Severity.BLOCK, {"terms": FORBIDDEN_TERMS}),
    (RuleKind.LINK_DOMAINS, Severity.BLOCK, {"allowed": ALLOWED_DOMAINS}),
    (RuleKind.FOUR_RULES, Severity.BLOCK, {}),
]

#: The accessibility pre-screen (issue 22, docs/media.md), per lane kind: the official lane blocks
#: an image without alternative text and a video without captions; the rest is advice (warn).
#: The conversation lane warns only: a reply should not wait on its wording.
ACCESSIBILITY_KINDS = (RuleKind.ALT_TEXT, RuleKind.CAPTIONS, RuleKind.READING_LEVEL, RuleKind.HASHTAGS,
                       RuleKind.EMOJI, RuleKind.LINK_TEXT)
OFFICIAL_ACCESSIBILITY = [
    (RuleKind.ALT_TEXT, Severity.BLOCK, {}),
    (RuleKind.CAPTIONS, Severity.BLOCK, {}),
    (RuleKind.READING_LEVEL, Severity.WARN, {"max_grade": 8}),
    (RuleKind.HASHTAGS, Severity.WARN, {}),
    (RuleKind.EMOJI, Severity.WARN, {"max": 3}),
    (RuleKind.LINK_TEXT, Severity.WARN, {}),
]
CONVERSATION_ACCESSIBILITY = [(kind, Severity.WARN, params) for kind, _severity, params in OFFICIAL_ACCESSIBILITY]

LANES = {
    "conversation": {
        "name": ("Conversation", "Conversation"), "kind": LaneKind.CONVERSATION, "required_languages": [],
        "response_sla": timedelta(hours=1), "spot_check_rate": Decimal("0.200"), "allow_urgent": False,
        "rules": [*BASE_RULES, (RuleKind.REPLY_LANGUAGE, Severity.BLOCK, {}), *CONVERSATION_ACCESSIBILITY],
        "escalations": [
            (EscalationKind.TERMS, {"terms": SENSITIVE_TERMS}, ("Sensitive topic", "Sujet délicat")),
            (EscalationKind.REGEX, {"pattern": r"https?://\S*/(polic(y|ies)|politiques?)\b"},
             ("Links to a policy page", "Lien vers une page de politique")),
            (EscalationKind.LENGTH_OVER, {"length": 400}, ("Long reply", "Réponse longue")),
        ],
        "steps": [],
    },
    "official": {
        "name": ("Official", "Officielle"), "kind": LaneKind.OFFICIAL, "required_languages": ["en", "fr"],
        "response_sla": None, "spot_check_rate": Decimal("0"), "allow_urgent": True,
        "rules": [*BASE_RULES, (RuleKind.LANGUAGES_PRESENT, Severity.BLOCK, {}), *OFFICIAL_ACCESSIBILITY],
        "escalations": [],
        "steps": [
            (("Review", "Examen"), StepKind.REVIEW, "managers", 1, timedelta(hours=4)),
            (("Translation", "Traduction"), StepKind.TRANSLATION, "translators", 1, timedelta(hours=8)),
            (("Sign-off", "Approbation finale"), StepKind.SIGN_OFF, "communications", 1, timedelta(hours=4)),
        ],
    },
}
#: Organisation -> the lanes it gets (omar's agency runs a shorter official chain).
ORG_LANES = {"dpe": ["conversation", "official"], "other": ["conversation", "official"]}
OTHER_STEPS = [(("Review", "Examen"), StepKind.SIGN_OFF, "managers", 1, timedelta(hours=4))]

#: ((English name, French name), English text, French text)
HOLDING_REPLIES = [
    (("Thanks, we are looking into it", "Merci, nous nous renseignons"),
     "Thank you for your question. We are looking into it and will reply here soon.",
     "Merci de votre question. Nous nous renseignons et vous répondrons ici sous peu."),
    (("Contact us privately", "Écrivez-nous en privé"),
     "Thank you. To protect your privacy, please contact us at https://www.canada.ca/en/contact.html.",
     "Merci. Pour protéger vos renseignements personnels, écrivez-nous à https://www.canada.ca/fr/contact.html."),
]


CARETAKER_PERMS = ("add_caretakerperiod", "change_caretakerperiod", "view_caretakerperiod")
#: Access-to-information exports (docs/atip.md): the communications team answers ATIP requests.
EXPORT_PERMS = ("export_records",)
OUTSIDE_PERMS = ("add_outsideinvitation", "change_outsideinvitation", "view_outsideinvitation")


@transaction.atomic
def seed_demo(*, password: str | None = None) -> dict:
    """Create or update the demo organisation, channels, teams, users, lanes and rules.

    Passwords are set for new users, and for every demo user when `password` is given."""
    orgs = {}
    for o in ORGANISATIONS:
        orgs[o["slug"]], _ = Organisation.objects.update_or_create(
            slug=o["slug"], defaults={"name": o["name"], "name_en": o["name"], "name_fr": o["name_fr"]})
    channels: dict[str, list[Channel]] = {slug: [] for slug in orgs}
    for c in CHANNELS:
        chan, _ = Channel.objects.update_or_create(
            slug=c["slug"],
            defaults={"organisation": orgs[c["org"]], "name": c["name"], "name_en": c["name"],
                      "name_fr": c["name_fr"], "platform": c["platform"],
                      "handle": c["handle"], "languages": c["languages"], "char_limit": c["char_limit"]},
        )
        channels[c["org"]].append(chan)
    teams: dict[tuple[str, str], Team] = {}
    for org_slug, spec in TEAMS.items():
        for team_slug, ((name_en, name_fr), perms) in spec.items():
            group, _ = Group.objects.get_or_create(name=f"{org_slug}:{team_slug}")
            team, _ = Team.objects.update_or_create(
                organisation=orgs[org_slug], slug=team_slug, defaults={"name": name_en, "name_en": name_en, "name_fr": name_fr, "group": group}
            )
            teams[(org_slug, team_slug)] = team
            for chan in channels[org_slug]:
                for perm in perms:
                    assign_perm(f"workflows.{perm}", group, chan)
    created_users = []
    for u in USERS:
        user, created = User.objects.update_or_create(
            username=u["username"],
            defaults={"organisation": orgs[u["org"]], "preferred_language": u["lang"],
                      "first_name": u["first"], "email": f"{u['username']}@{u['org']}.example"},
        )
        if created or password:
            user.set_password(password or DEFAULT_PASSWORD)
            user.save(update_fields=["password"])
        if created:
            created_users.append(user.username)
        user.groups.set([teams[(u["org"], t)].group for t in u["teams"]])
    admin, created = User.objects.update_or_create(
        username="admin",
        defaults={"is_staff": True, "is_superuser": True, "organisation": orgs["dpe"], "email": "admin@dpe.example"},
    )
    if created or password:
        admin.set_password(password or DEFAULT_PASSWORD)
        admin.save(update_fields=["password"])
    if created:
        created_users.append("admin")
    for org_slug, lane_slugs in ORG_LANES.items():
        for lane_slug in lane_slugs:
            _seed_lane(orgs[org_slug], lane_slug, teams, org_slug)
    for (name_en, name_fr), en, fr in HOLDING_REPLIES:
        HoldingReply.objects.update_or_create(organisation=orgs["dpe"], name_en=name_en,
                                              defaults={"name": name_en, "name_fr": name_fr, "body_en": en, "body_fr": fr})
    # Communications leads declare caretaker (election) periods.
    teams[("dpe", "communications")].group.permissions.add(*Permission.objects.filter(
        content_type__app_label="workflows", codename__in=CARETAKER_PERMS + EXPORT_PERMS))
    # Managers and communications leads invite outside approvers and translation bureaus.
    for org_slug in orgs:
        for team_slug in ("managers", "communications"):
            if (org_slug, team_slug) in teams:
                teams[(org_slug, team_slug)].group.permissions.add(*Permission.objects.filter(
                    content_type__app_label="workflows", codename__in=OUTSIDE_PERMS))
    return {"organisations": list(orgs), "created_users": created_users}


def _seed_lane(org: Organisation, slug: str, teams, org_slug: str) -> Lane:
    spec = LANES[slug]
    retro = teams.get((org_slug, "communications")) or teams.get((org_slug, "managers"))
    lane, _ = Lane.objects.update_or_create(
        organisation=org, slug=slug,
        defaults={"name": spec["name"][0], "name_en": spec["name"][0], "name_fr": spec["name"][1], "kind": spec["kind"], "required_languages": spec["required_languages"],
                  "response_sla": spec["response_sla"], "spot_check_rate": spec["spot_check_rate"],
                  "allow_urgent": spec["allow_urgent"], "retrospective_team": retro},
    )
    steps = spec["steps"] if org_slug == "dpe" or not spec["steps"] else OTHER_STEPS
    for order, ((name_en, name_fr), kind, team_slug, quorum, sla) in enumerate(steps, start=1):
        LaneStep.objects.update_or_create(
            lane=lane, order=order,
            defaults={"name": name_en, "name_en": name_en, "name_fr": name_fr, "kind": kind, "team": teams[(org_slug, team_slug)], "quorum": quorum, "sla": sla},
        )
    if not lane.guidelines.exists():
        for kind, severity, params in spec["rules"]:
            GuidelineRule.objects.create(lane=lane, kind=kind, severity=severity, params=params)
    elif not lane.guidelines.filter(kind__in=ACCESSIBILITY_KINDS).exists():
        # A demo seeded before the accessibility pre-screen gets its rules once (issue 22).
        for kind, severity, params in spec["rules"]:
            if kind in ACCESSIBILITY_KINDS:
                GuidelineRule.objects.create(lane=lane, kind=kind, severity=severity, params=params)
    if not lane.escalations.exists():
        for kind, params, (reason_en, reason_fr) in spec["escalations"]:
            EscalationRule.objects.create(lane=lane, kind=kind, params=params, reason=reason_en,
                                          reason_en=reason_en, reason_fr=reason_fr)
    else:  # a demo seeded before the reasons were bilingual gets their French (issue 21)
        for kind, _params, (reason_en, reason_fr) in spec["escalations"]:
            EscalationRule.objects.filter(lane=lane, kind=kind, reason_en=reason_en, reason_fr__isnull=True).update(
                reason_fr=reason_fr)
    return lane
