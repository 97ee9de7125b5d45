"""Plain Django-client tests of the web views: permissions, CSRF, error summaries, language."""
from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from workflows.constants import PostState
from workflows.services import posts as post_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_user(demo):
    def login(name):
        client = Client()
        client.force_login(getattr(demo, name))
        return client

    return login


def official_draft(demo, text="Our offices reopen on Monday at 9:00."):
    return post_services.post_create(author=demo.dana, kind="post", channels=["dpe-en", "dpe-fr"],
                                     texts={"en": text}, rules_acknowledged=True)


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", ["home", "web-inbox", "web-compose", "web-queue", "web-metrics"])
def test_pages_render_for_dana(as_user, name):
    response = as_user("dana").get(reverse(name))
    assert response.status_code == 200
    assert b'<html lang="en">' in response.content


def test_omar_gets_404_on_danas_post_and_sees_none_of_it(demo, as_user, citizen_message):
    post = official_draft(demo)
    msg = citizen_message()
    omar = as_user("omar")
    assert omar.get(reverse("web-post", args=[post.id])).status_code == 404
    assert omar.post(reverse("web-post-action", args=[post.id, "withdraw"]), {"version": post.version}).status_code == 404
    assert omar.get(reverse("web-inbound", args=[msg.id])).status_code == 404
    assert omar.post(reverse("web-inbound-claim", args=[msg.id])).status_code == 404
    inbox = omar.get(reverse("web-inbox") + "?status=all").content.decode()
    assert "@citizen" not in inbox and "@DPE_en" not in inbox
    home = omar.get(reverse("home")).content.decode()
    assert f"Post {post.id}" not in home
    post.refresh_from_db()
    assert post.state == PostState.DRAFT


def test_csrf_is_enforced(demo):
    client = Client(enforce_csrf_checks=True)
    client.force_login(demo.dana)
    post = official_draft(demo)
    response = client.post(reverse("web-post-action", args=[post.id, "withdraw"]), {"version": post.version})
    assert response.status_code == 403
    post.refresh_from_db()
    assert post.state == PostState.DRAFT


def test_compose_shows_error_summary_linked_to_fields(as_user):
    response = as_user("dana").post(reverse("web-compose"), {"text_en": "", "text_fr": "", "submit": "1"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="error-summary"' in html
    assert 'role="alert"' in html
    # The summary links to a field that exists and shows the message next to it.
    links = re.findall(r'<li><a href="#(id_[a-z_]+)">', html)
    assert links
    for target in links:
        assert f'id="{target}"' in html


def test_blocking_guideline_on_submit_is_shown_and_nothing_is_created(demo, as_user):
    from workflows.models import Post

    before = Post.objects.count()
    response = as_user("dana").post(reverse("web-compose"), {
        "text_en": "Write to jane@example.com for help.", "channels": ["dpe-en", "dpe-fr"], "submit": "1",
        "rules_acknowledged": "on",
    })
    html = response.content.decode()
    assert "error-summary" in html
    assert "personal data" in html
    assert 'aria-describedby="id_text_en_error"' in html
    assert Post.objects.count() == before


def test_stale_version_gives_a_clear_message(demo, as_user):
    post = official_draft(demo)
    stale = post.version
    post_services.post_edit(post_id=post.id, by=demo.dana, texts={"en": "Offices reopen Monday."}, version=stale)
    response = as_user("dana").post(reverse("web-post-action", args=[post.id, "withdraw"]), {"version": stale})
    assert response.status_code == 400
    assert "changed since you loaded it" in response.content.decode()
    # The language toggle on this error page returns to the post page, not to the POST-only URL.
    assert f'name="next" value="/posts/{post.id}/"' in response.content.decode()
    post.refresh_from_db()
    assert post.state == PostState.DRAFT


def test_request_changes_needs_a_comment_shown_on_the_field(demo, as_user):
    post = official_draft(demo)
    post = post_services.post_submit(post_id=post.id, by=demo.dana)
    response = as_user("rami").post(reverse("web-post-action", args=[post.id, "request-changes"]),
                                    {"version": post.version, "comment": ""})
    html = response.content.decode()
    assert response.status_code == 400
    assert '<a href="#id_comment">' in html
    post.refresh_from_db()
    assert post.state == PostState.IN_REVIEW


def test_post_page_shows_only_allowed_actions(demo, as_user):
    post = post_services.post_submit(post_id=official_draft(demo).id, by=demo.dana)
    rami = as_user("rami").get(reverse("web-post", args=[post.id])).content.decode()
    dana = as_user("dana").get(reverse("web-post", args=[post.id])).content.decode()
    tess = as_user("tess").get(reverse("web-post", args=[post.id])).content.decode()
    assert "request-changes" in rami and "Approve" in rami
    assert "request-changes" not in dana and "Withdraw this post" in dana
    assert "request-changes" not in tess and "Withdraw this post" not in tess


def test_language_toggle_saves_the_preference(demo, as_user):
    client = as_user("dana")
    response = client.post(reverse("web-language"), {"language": "fr", "next": reverse("home")})
    assert response.status_code == 302
    demo.dana.refresh_from_db()
    assert demo.dana.preferred_language == "fr"
    page = client.get(reverse("home")).content.decode()
    assert '<html lang="fr">' in page
    assert "Boîte de réception" in page or "Accueil" in page


def test_language_toggle_does_nothing_on_get(as_user, demo):
    """A GET of the toggle's address changes nothing; it goes back instead of a blank 405 (issue 21)."""
    response = as_user("dana").get(reverse("web-language"), {"language": "fr"})
    assert response.status_code == 302 and response["Location"] == "/"
    demo.dana.refresh_from_db()
    assert demo.dana.preferred_language == ""


def test_live_checks_endpoint_counts_and_checks(demo, as_user, citizen_message):
    msg = citizen_message()
    response = as_user("dana").post(reverse("web-checks"), {
        "kind": "reply", "in_reply_to": msg.id, "reply_language": "en", "text": "x" * 501,
    })
    html = response.content.decode()
    assert response.status_code == 200
    assert "501 of 500 characters" in html
    assert "Blocks submission" in html


def test_inbox_counts_messages_by_channel_and_status(demo, as_user, citizen_message):
    citizen_message(external_id="a")
    citizen_message(external_id="b")
    html = as_user("dana").get(reverse("web-inbox")).content.decode()
    assert re.search(r'<th scope="row">@DPE_en</th><td>2</td><td>0</td>', html)


def test_claim_with_htmx_returns_the_row(demo, as_user, citizen_message):
    msg = citizen_message()
    response = as_user("dana").post(reverse("web-inbound-claim", args=[msg.id]), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert f'id="inbound-{msg.id}"' in html
    assert "claimed by you" in html
    msg.refresh_from_db()
    assert msg.status == "claimed" and msg.assignee_id == demo.dana.id


def test_bulk_approve_reports_each_post(demo, as_user):
    ok = post_services.post_submit(post_id=official_draft(demo, "First notice for Monday.").id, by=demo.dana)
    stale = post_services.post_submit(post_id=official_draft(demo, "Second notice for Tuesday.").id, by=demo.dana)
    client = as_user("rami")
    response = client.post(reverse("web-queue-approve"), {
        "post": [ok.id, stale.id], f"version_{ok.id}": ok.version, f"version_{stale.id}": stale.version - 1,
    }, follow=True)
    html = response.content.decode()
    assert "Bulk approval results" in html
    assert "not approved" in html
    ok.refresh_from_db()
    stale.refresh_from_db()
    assert ok.current_step.kind == "translation"
    assert stale.current_step.kind == "review"


def test_metrics_render_svg_charts_and_tables(as_user):
    html = as_user("cora").get(reverse("web-metrics")).content.decode()
    assert html.count("<svg") == 4
    assert "<table" in html


def test_metrics_svg_numbers_are_not_localised_in_french(demo, as_user):
    client = as_user("cora")
    client.cookies["django_language"] = "fr"
    html = client.get(reverse("web-metrics")).content.decode()
    assert '<html lang="fr">' in html
    coords = re.findall(r' (?:x|y|width|height)="([^"]*)"', html)
    assert coords and all("," not in c for c in coords)


def test_gcds_css_has_no_external_hosts(client):
    css = client.get(reverse("web-gcds-css")).content.decode()
    assert "--gcds-color" in css
    assert "googleapis" not in css and "cdn.design-system" not in css
    assert css.lstrip().startswith(":root{")  # the design tokens survive the rewrite


def test_axes_locks_out_after_failures(settings, demo):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    for _ in range(3):
        client.post(reverse("login"), {"username": "dana", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "dana", "password": "parley-demo"})
    assert response.status_code in (403, 429)
    assert "Account locked" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_claimed_messages_are_listed_on_home(demo, as_user, citizen_message):
    from workflows.services.inbound import inbound_claim

    msg = citizen_message(external_id="home-1")
    inbound_claim(inbound_id=msg.id, by=demo.dana)
    html = as_user("dana").get(reverse("home")).content.decode()
    assert f'href="/inbox/{msg.id}/"' in html
    assert f'href="/inbox/{msg.id}/"' not in as_user("rami").get(reverse("home")).content.decode()


def test_user_set_language_ignores_unknown_languages(demo):
    from accounts.services import user_set_language

    user_set_language(user=demo.rami, language="de")
    demo.rami.refresh_from_db()
    assert demo.rami.preferred_language == ""  # never chosen (issue 21)
    user_set_language(user=demo.rami, language="fr")
    demo.rami.refresh_from_db()
    assert demo.rami.preferred_language == "fr"
