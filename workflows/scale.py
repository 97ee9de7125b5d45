"""Data at scale for `make bench` and the index tests: 100k posts, ~10k permission rows, several
organisations — inserted with INSERT … SELECT generate_series (PostgreSQL only), so seeding takes
seconds, not minutes. Needs the demo data (`seed_demo`) first: the demo organisation gets
`visible` posts waiting in rami's review queue, `visible` new inbox messages and published posts
over the last 60 days; every other row belongs to other organisations (invisible to dpe users,
but in the same tables and indexes)."""
# ruff: noqa: S608 - only integer ids and constants are formatted into the SQL below.
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import Group, Permission
from django.db import connection, transaction

from accounts.models import Organisation, Team, User

from .constants import ChannelPerm, LaneKind, PostState, StepKind
from .models import Channel, Lane, LaneStep


@dataclass
class Scale:
    posts: int = 100_000
    visible: int = 1000
    organisations: int = 4
    users: int = 2000
    perms_per_user: int = 5
    inbound: int = 20_000


def _q(sql: str, params=()) -> None:
    with connection.cursor() as cur:
        cur.execute(sql, params)


def _one(sql: str, params=()):
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()[0]


@transaction.atomic
def seed_scale(scale: Scale | None = None) -> dict:
    """Insert the rows; returns what was made. Run once on a fresh database (after seed_demo)."""
    scale = scale or Scale()
    # PostgreSQL only: the benchmark data (100k posts) is written with generate_series in raw SQL
    # (_q), and the benchmarks it serves measure the production database.
    assert connection.vendor == "postgresql", "seed_scale needs PostgreSQL"
    dpe = Organisation.objects.get(slug="dpe")
    dana = User.objects.get(username="dana")
    official = Lane.objects.get(organisation=dpe, slug="official")
    conversation = Lane.objects.get(organisation=dpe, slug="conversation")
    review = LaneStep.objects.get(lane=official, order=1)
    dpe_en, dpe_fr = Channel.objects.get(slug="dpe-en"), Channel.objects.get(slug="dpe-fr")

    # Other organisations: a channel, a team, an official lane with one review step, an author.
    orgs = []
    for i in range(scale.organisations):
        org, _ = Organisation.objects.get_or_create(slug=f"scale-{i}", defaults={"name": f"Scale agency {i}"})
        group, _ = Group.objects.get_or_create(name=f"scale-{i}:staff")
        team, _ = Team.objects.get_or_create(organisation=org, slug="staff", defaults={"name": "Staff", "group": group})
        chan, _ = Channel.objects.get_or_create(
            slug=f"scale-{i}-en", defaults={"organisation": org, "name": f"Scale {i}", "platform": "mastodon",
                                            "handle": f"@scale{i}", "languages": ["en"], "char_limit": 500})
        lane, _ = Lane.objects.get_or_create(organisation=org, slug="official",
                                             defaults={"name": "Official", "kind": LaneKind.OFFICIAL,
                                                       "required_languages": ["en"]})
        step, _ = LaneStep.objects.get_or_create(lane=lane, order=1, defaults={
            "name": "review", "kind": StepKind.REVIEW, "team": team, "quorum": 1, "sla": timedelta(hours=4)})
        author, _ = User.objects.get_or_create(username=f"scale-author-{i}", defaults={"organisation": org})
        orgs.append((org.id, chan.id, lane.id, step.id, author.id))
    org_ids = "ARRAY[" + ",".join(str(o[0]) for o in orgs) + "]::bigint[]"
    chan_ids = "ARRAY[" + ",".join(str(o[1]) for o in orgs) + "]::bigint[]"
    lane_ids = "ARRAY[" + ",".join(str(o[2]) for o in orgs) + "]::bigint[]"
    step_ids = "ARRAY[" + ",".join(str(o[3]) for o in orgs) + "]::bigint[]"
    author_ids = "ARRAY[" + ",".join(str(o[4]) for o in orgs) + "]::bigint[]"
    k = len(orgs)

    # Users of the other organisations, each with object permissions on their channel.
    first_user = _one("SELECT COALESCE(MAX(id), 0) FROM accounts_user")
    _q(f"""INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email, is_staff,
               is_active, date_joined, preferred_language, signature_en, signature_fr, organisation_id)
           SELECT '!', false, 'scale-user-' || g, '', '', '', false, true, now(), 'en', '', '',
                  ({org_ids})[1 + g %% {k}]
           FROM generate_series(1, %s) g""", [scale.users])
    perm_ids = list(
        Permission.objects.filter(codename__in=ChannelPerm.ALL, content_type__app_label="workflows").values_list("id", flat=True)
    )[: scale.perms_per_user]
    perm_array = "ARRAY[" + ",".join(map(str, perm_ids)) + "]::int[]"
    _q(f"""INSERT INTO workflows_channeluserobjectpermission (content_object_id, permission_id, user_id)
           SELECT ({chan_ids})[1 + u.organisation_idx], p, u.id
           FROM (SELECT id, (row_number() OVER (ORDER BY id) - 1) %% {k} AS organisation_idx
                 FROM accounts_user WHERE id > %s) u,
                unnest({perm_array}) p""", [first_user])
    # Re-point each user at the organisation whose channel they were given.
    _q(f"""UPDATE accounts_user u SET organisation_id = ({org_ids})[1 + x.idx]
           FROM (SELECT id, (row_number() OVER (ORDER BY id) - 1) %% {k} AS idx FROM accounts_user WHERE id > %s) x
           WHERE u.id = x.id""", [first_user])

    first_post = _one("SELECT COALESCE(MAX(id), 0) FROM workflows_post")
    common_cols = ("version, revision, rules_acknowledged, escalation_reason, urgent, urgent_reason, checks, "
                   "audit_seq, audit_head, updated_at, submitted_at, approved_at, escalation, partly_published, "
                   "spoken_as_person")
    common_vals = "1, 1, true, '', false, '', '[]'::jsonb, 0, '', now(), now(), NULL, '{}'::jsonb, false, false"
    # 1. dpe: `visible` official posts waiting on the review step (rami's queue), due times spread.
    _q(f"""INSERT INTO workflows_post (organisation_id, lane_id, kind, author_id, state, current_step_id,
               step_entered_at, created_at, published_at, {common_cols})
           SELECT %s, %s, 'post', %s, %s, %s, now() - (g %% 500) * interval '1 minute',
                  now() - g * interval '1 minute', NULL, {common_vals}
           FROM generate_series(1, %s) g""",
       [dpe.id, official.id, dana.id, PostState.IN_REVIEW, review.id, scale.visible])
    first_published = _one("SELECT MAX(id) FROM workflows_post")
    # 2. dpe: published replies over the last 60 days (metrics, dana's recent posts).
    dpe_published = max(scale.visible, scale.posts // 10)
    _q(f"""INSERT INTO workflows_post (organisation_id, lane_id, kind, author_id, state, current_step_id,
               step_entered_at, created_at, published_at, {common_cols})
           SELECT %s, %s, 'reply', %s, %s, NULL, NULL, now() - g * interval '50 seconds',
                  now() - g * interval '50 seconds' + interval '20 seconds', {common_vals}
           FROM generate_series(1, %s) g""",
       [dpe.id, conversation.id, dana.id, PostState.PUBLISHED, dpe_published])
    last_dpe = _one("SELECT MAX(id) FROM workflows_post")
    # 3. Everything else: other organisations, in every state.
    rest = max(0, scale.posts - scale.visible - dpe_published)
    _q(f"""INSERT INTO workflows_post (organisation_id, lane_id, kind, author_id, state, current_step_id,
               step_entered_at, created_at, published_at, {common_cols})
           SELECT ({org_ids})[1 + g %% {k}], ({lane_ids})[1 + g %% {k}], 'post', ({author_ids})[1 + g %% {k}],
                  (ARRAY['published','published','published','draft','in_review','approved'])[1 + g %% 6],
                  CASE WHEN g %% 6 = 4 THEN ({step_ids})[1 + g %% {k}] END,
                  CASE WHEN g %% 6 = 4 THEN now() END,
                  now() - g * interval '30 seconds',
                  CASE WHEN g %% 6 < 3 THEN now() - g * interval '30 seconds' END, {common_vals}
           FROM generate_series(1, %s) g""", [rest])
    _q("""INSERT INTO workflows_posttext (language, body, version, updated_at, post_id, updated_by_id)
          SELECT 'en', 'Scale post number ' || id || ': the office opens at nine on weekdays.', 1, now(), id,
                 author_id FROM workflows_post WHERE id > %s""", [first_post])
    _q("""INSERT INTO workflows_posttext (language, body, version, updated_at, post_id, updated_by_id)
          SELECT 'fr', 'Publication ' || id || ' : le bureau ouvre à neuf heures en semaine.', 1, now(), id,
                 author_id FROM workflows_post WHERE id > %s AND id <= %s""", [first_post, first_published])
    _q("""INSERT INTO workflows_post_channels (post_id, channel_id)
          SELECT id, %s FROM workflows_post WHERE id > %s AND id <= %s""", [dpe_en.id, first_post, last_dpe])
    _q("""INSERT INTO workflows_post_channels (post_id, channel_id)
          SELECT id, %s FROM workflows_post WHERE id > %s AND id <= %s""", [dpe_fr.id, first_post, first_published])
    _q(f"""INSERT INTO workflows_post_channels (post_id, channel_id)
           SELECT p.id, ({chan_ids})[array_position({org_ids}, p.organisation_id)]
           FROM workflows_post p WHERE p.id > %s""", [last_dpe])

    # Inbox: `visible` new messages for dpe, the rest answered, in other organisations.
    _q("""INSERT INTO workflows_inboundmessage (external_id, author, body, language, url, received_at, status,
               first_response_at, created_at, audit_seq, audit_head, channel_id, organisation_id,
               author_handle, kind, source, visibility, thread)
          SELECT 'scale-' || g, '@citizen' || g, 'When does the office open? (' || g || ')', 'en', '',
                 now() - g * interval '1 minute', 'new', NULL, now(), 0, '', %s, %s,
                 'citizen' || g, 'mention', 'platform', 'public', '{}'::jsonb
          FROM generate_series(1, %s) g""", [dpe_en.id, dpe.id, scale.visible])
    _q(f"""INSERT INTO workflows_inboundmessage (external_id, author, body, language, url, received_at, status,
               first_response_at, created_at, audit_seq, audit_head, channel_id, organisation_id,
               author_handle, kind, source, visibility, thread)
           SELECT 'scale-o-' || g, '@citizen' || g, 'A question (' || g || ')', 'en', '',
                  now() - g * interval '1 minute', 'answered', now() - g * interval '1 minute' + interval '5 minutes',
                  now(), 0, '', ({chan_ids})[1 + g %% {k}], ({org_ids})[1 + g %% {k}],
                  'citizen' || g, 'mention', 'platform', 'public', '{{}}'::jsonb
           FROM generate_series(1, %s) g""", [max(0, scale.inbound - scale.visible)])
    for table in ("workflows_post", "workflows_posttext", "workflows_post_channels", "workflows_inboundmessage",
                  "workflows_channeluserobjectpermission", "accounts_user", "workflows_decision"):
        _q(f"ANALYZE {table}")
    return {
        "posts": _one("SELECT COUNT(*) FROM workflows_post"),
        "permission_rows": _one("SELECT COUNT(*) FROM workflows_channeluserobjectpermission")
        + _one("SELECT COUNT(*) FROM workflows_channelgroupobjectpermission"),
        "organisations": Organisation.objects.count(),
        "inbound": _one("SELECT COUNT(*) FROM workflows_inboundmessage"),
        "visible": scale.visible,
    }
