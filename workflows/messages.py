"""The message catalogue: every stable code → the words, in English and (via gettext) French.

Services and guideline rules speak in codes with parameters (``{"code": "personal_data.phone",
"params": {"language": "fr"}}``); nothing below the edges writes a sentence. The edges (the API's
problem details and serializers, the web pages) render a code here in the reader's language:
the active Django language, set from the user's saved language, ``?lang=`` or Accept-Language.

Parameters are data (language codes, state slugs, numbers, lists); `render` turns the ones with
known names into words in the active language: ``language``/``detected`` → "English"/"anglais",
``languages`` → a list of those, ``state``/``from_state``/``to_state`` → the state's name,
``action`` → the verb, ``permission`` → the permission's name, lists → "a, b", a decimal number
→ written the reader's way ("8.5", "8,5"). The codes are
documented in docs/api.md; tests/workflows/test_messages.py checks every code has French words.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils import formats
from django.utils.functional import Promise
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from .formats import number as format_number

#: code → message template (gettext_lazy; %(name)s placeholders take the rendered parameters).
CATALOGUE: dict[str, Promise] = {
    # --- guideline results --------------------------------------------------------------
    "length.ok": _("Length within the channel limit."),
    "length.over": _("The %(language)s text is %(length)s characters long; the limit is %(limit)s."),
    "personal_data.ok": _("No personal data found."),
    "personal_data.email": _("The %(language)s text seems to contain an email address."),
    "personal_data.phone": _("The %(language)s text seems to contain a phone number."),
    "personal_data.sin": _("The %(language)s text seems to contain a social insurance number."),
    "personal_data.postal_code": _("The %(language)s text seems to contain a postal code."),
    "forbidden_terms.ok": _("No forbidden terms."),
    "forbidden_terms.found": _("The %(language)s text uses forbidden terms: %(terms)s."),
    "link_domains.ok": _("Links only to allowed domains."),
    "link_domains.not_allowed": _("The %(language)s text links to domains that are not allowed: %(links)s."),
    "languages_present.ok": _("Every required language is present."),
    "languages_present.missing": _("Text missing in: %(languages)s."),
    "languages_present.missing_until_translation": _(
        "Text missing in: %(languages)s. The translation step will provide it."),
    "languages_present.no_channel": _("None of the target channels publishes in: %(languages)s."),
    "reply_language.ok": _("The reply is written in %(language)s, the citizen's language."),
    "reply_language.missing": _("The citizen wrote in %(language)s: write the reply in %(language)s."),
    "reply_language.mismatch": _("The citizen wrote in %(language)s, but the reply reads as %(detected)s."),
    "four_rules.ok": _("The author acknowledged the four rules."),
    "four_rules.missing": _(
        "Acknowledge the four rules: don't embarrass yourself, don't embarrass the government, "
        "don't be untrue, don't be boring."),
    # --- accessibility pre-screen (issue 22, docs/media.md) -------------------------------
    "alt_text.ok": _("Image %(number)s is described in %(language)s."),
    "alt_text.missing": _("Image %(number)s has no %(language)s alternative text: describe what it shows for "
                          "people who cannot see it."),
    "alt_text.missing_until_translation": _(
        "Image %(number)s has no %(language)s alternative text yet. The translation step will provide it."),
    "alt_text.too_long": _("The %(language)s alternative text of image %(number)s is %(length)s characters long; "
                           "%(channel)s accepts %(limit)s."),
    "alt_text.wrong_language": _("The %(language)s alternative text of image %(number)s reads as %(detected)s."),
    "alt_text.file_name": _("The %(language)s alternative text of image %(number)s is a file name: describe what "
                            "the image shows."),
    "alt_text.redundant_prefix": _("The %(language)s alternative text of image %(number)s starts with "
                                   "“%(prefix)s”: screen readers already say it is an image. Describe what it "
                                   "shows."),
    "captions.ok": _("Video %(number)s is captioned in %(language)s."),
    "captions.missing": _("Video %(number)s has no %(language)s captions: add them (WebVTT)."),
    "captions.missing_until_translation": _(
        "Video %(number)s has no %(language)s captions yet. The translation step will provide them."),
    "captions.invalid": _("The %(language)s captions of video %(number)s are not valid WebVTT."),
    "captions.empty": _("The %(language)s captions of video %(number)s have no cue with text."),
    "captions.timing": _("Cue %(cue)s of the %(language)s captions of video %(number)s does not end after it "
                         "starts."),
    "captions.too_large": _("The %(language)s captions of video %(number)s are %(size)s bytes; %(channel)s accepts "
                            "%(limit)s."),
    "reading_level.ok": _("The %(language)s text reads at grade %(grade)s (at most %(max)s)."),
    "reading_level.too_hard": _("The %(language)s text reads at grade %(grade)s; aim for grade %(max)s or lower "
                                "with shorter sentences and everyday words."),
    "reading_level.too_short": _("The %(language)s text is too short to score its reading level (%(words)s words; "
                                 "%(min_words)s needed)."),
    "reading_level.alt_too_hard": _("The %(language)s alternative text of image %(number)s reads at grade "
                                    "%(grade)s; aim for grade %(max)s or lower."),
    "hashtags.ok": _("Hashtags capitalize each word."),
    "hashtags.not_camel_case": _("In the %(language)s text, capitalize each word of these hashtags so screen "
                                 "readers can read them (#OpenGovernment): %(tags)s."),
    "emoji.ok": _("Emoji used sparingly."),
    "emoji.too_many": _("The %(language)s text has %(count)s emoji; use at most %(max)s."),
    "emoji.in_text": _("In the %(language)s text, put emoji at the end of a sentence, not in place of words: "
                       "%(emoji)s."),
    "emoji.consecutive": _("In the %(language)s text, emoji follow one another (%(emoji)s): screen readers read out "
                           "the name of each."),
    "link_text.ok": _("Link text says where each link goes."),
    "link_text.not_descriptive": _("In the %(language)s text, say where the link goes instead of “%(phrases)s”."),
    # --- lane rule settings (admin) -------------------------------------------------------
    "rule_params.not_object": _("Give the settings as an object, such as {\"max\": 3}."),
    "rule_params.unknown": _("Unknown setting for this rule: %(key)s."),
    "rule_params.not_number": _("%(key)s must be a number from %(min)s to %(max)s."),
    "rule_params.not_boolean": _("%(key)s must be true or false."),
    "rule_params.not_list": _("%(key)s must be a list of words, or an object of language → list."),
    # --- escalation (conversation lane → official lane) ----------------------------------
    "escalation.terms": _("The %(language)s text mentions %(terms)s."),
    "escalation.regex": _("The %(language)s text matches “%(match)s”."),
    "escalation.link_domain": _("The %(language)s text links to %(links)s."),
    "escalation.length_over": _("The %(language)s text is %(length)s characters long, over %(limit)s."),
    "escalation.with_reason": _("%(reason)s: %(detail)s"),
    # --- caretaker (election) periods ----------------------------------------------------
    "caretaker.official_only": _("Caretaker period “%(period)s”: every reply needs approval."),
    "caretaker.topic": _("Caretaker period “%(period)s”: replies about %(terms)s need approval."),
    "caretaker.channel_paused": _("Caretaker period “%(period)s”: broadcasts to %(channels)s are paused."),
    "caretaker.not_permitted": _("You may not manage caretaker periods."),
    "caretaker.not_found": _("No such caretaker period."),
    "caretaker.invalid": _("The period is not valid."),
    "caretaker.needs_timezone": _("Give times with a time zone."),
    "caretaker.ends_before_start": _("The end must come after the start."),
    "caretaker.topics_not_list": _("Give a list of terms."),
    "caretaker.too_many_topics": _("At most 100 terms."),
    "caretaker.review_lane_without_steps": _("A caretaker period needs a review lane with at least one step."),
    "channel.personal": _("%(channel)s is someone's personal account: only they post on it."),
    "signature.invalid": _("The signature is not valid."),
    "signature.one_line": _("A signature fits on one line."),
    "dismiss.invalid_reason": _("Choose a reason: spam, no reply needed or handled elsewhere."),
    "inbound.invalid_medium": _("Choose phone or e-mail."),
    "inbound.future_time": _("The time is in the future."),
    "reply.nothing_to_publish": _("Nothing would be published: no channel of this post takes %(languages)s. "
                                  "Choose a channel that does."),
    "reply.extra_language": _("The citizen wrote in %(language)s: a reply goes out in %(language)s only, on the "
                              "account they wrote to. Remove the %(languages)s text."),
    "reply.other_channel": _("A reply goes out on the account the citizen wrote to (%(channel)s), not on another."),
    "reply.contact_email": _("Give the e-mail address to send the reply to."),
    "reply.contact_phone": _("Give the phone number to call back, such as 613-555-0199."),
    "reply.callback_closed": _("This call-back is already done, or is not waiting for a call."),
    "not_found.callback": _("There is no such call-back."),
    "retract.nothing_live": _("Nothing of this post is live."),
    "retract.failed": _("Some publications could not be retracted: %(problems)s"),
    "review.invalid_verdict": _("Choose “fine” or “needs follow-up”."),
    "engage.invalid_action": _("Choose like or boost."),
    "engage.dismissed": _("This message was closed without a reply: it cannot be liked or boosted."),
    "engage.unsupported": _("This channel cannot like or boost."),
    "engage.not_public": _("Only public messages can be boosted, not direct or followers-only ones."),
    "listening.invalid_query": _("Give a hashtag or a search of 1 to 200 characters."),
    "caretaker.held": _("Held for review: approved before caretaker period “%(period)s” and due to publish inside it."),
    # --- access-to-information (ATIP) exports ------------------------------------------------
    "atip.not_permitted": _("You may not export records for access-to-information requests."),
    "atip.not_found": _("No such export."),
    "atip.invalid": _("The export request is not valid."),
    "atip.organisation_unknown": _("Choose an organisation you may export from."),
    "atip.dates_order": _("The start date must come before the end date."),
    "atip.post_unknown": _("There is no such post in this organisation."),
    "atip.inbound_unknown": _("There is no such citizen message in this organisation."),
    "atip.too_many_patterns": _("At most %(limit)s redaction patterns."),
    "atip.pattern_too_long": _("A redaction pattern has at most %(limit)s characters."),
    "atip.pattern_invalid": _("“%(pattern)s” is not a valid pattern."),
    "atip.pattern_unclosed": _("“%(pattern)s” is not a valid pattern: a bracket [ or a parenthesis ( is not "
                               "closed, or one is closed that was never opened. Put \\ before it to find it "
                               "as a character."),
    "atip.pattern_unsupported": _("“%(pattern)s” is not a valid pattern here: look-around ((?=a), (?<=a)) and "
                                  "back-references (\\1, (?P=name)) are not supported, so that every pattern "
                                  "runs in linear time."),
    "atip.pattern_escape": _("“%(pattern)s” is not a valid pattern: a backslash \\ is followed by a character "
                             "it cannot escape, or ends the pattern."),
    "atip.pattern_repetition": _("“%(pattern)s” is not a valid pattern: a repetition (*, +, ?, {n,m}) has "
                                 "nothing to repeat, is repeated twice, or its numbers are out of order or "
                                 "above 1000."),
    "atip.pattern_class": _("“%(pattern)s” is not a valid pattern: a range in brackets goes backwards "
                            "(write [a-z], not [z-a])."),
    "atip.pattern_matches_empty": _("“%(pattern)s” matches empty text: it would redact nothing useful."),
    "atip.not_ready": _("The export is not ready yet."),
    "atip.expired": _("This export's download link has expired. Request a new export."),
    "atip.failed": _("The export could not be prepared. Request it again; if it fails again, tell your administrator."),
    # --- outside approvers and translation bureaus (signed links) ------------------------
    "outside.not_permitted": _("You may not invite people from outside to act on a step."),
    "outside.not_found": _("There is no such invitation."),
    "outside.invalid_email": _("Give a valid e-mail address."),
    "outside.has_account": _("This address belongs to someone with an account: they act through their team."),
    "outside.invalid_languages": _("Choose one or more languages: English, French."),
    "outside.edit_needs_translation_step": _("Only at a translation step may someone from outside write a text."),
    "outside.invalid_hours": _("A link lasts from 1 to %(limit)s hours."),
    "outside.closed": _("This invitation is already used or revoked."),
    "outside.link_invalid": _("This link is not valid. Check that you copied all of it, or ask for a new one."),
    "outside.link_used": _("This link has been used already: each link works once."),
    "outside.link_expired": _("This link has expired. Ask the person who sent it for a new one."),
    "outside.link_revoked": _("This link was withdrawn by the person who sent it."),
    "outside.link_stale": _("This link no longer applies: the text changed or the post has moved on from this step."),
    "outside.out_of_scope": _("This link does not let you do that."),
    "outside.invalid_verdict": _("Choose to approve or to request changes."),
    "outside.rate_limited": _("Too many attempts. Wait a few minutes and try again."),
    "outside.staff_domain": _("This address is at your organisation's own mail domain: people there act through their accounts."),
    "outside.contributor": _("This address belongs to someone who wrote or changed this post: they may not review it."),
    # --- four eyes across steps (issue 20) ------------------------------------------------
    "security.one_step_per_person": _("You approved another step of this post: in this lane a different person approves each step."),
    "security.step_moved": _("The post is no longer at the step you approved (it is at “%(step)s” now). Reload it and decide again."),
    # --- text limits -------------------------------------------------------------------
    "text.too_long": _("This text is %(length)s characters long; at most %(limit)s are accepted."),
    "text.too_long_to_check": _("The text is too long to check: at most %(limit)s characters."),
    "text.blank": _("This text may not be blank."),
    "text.nul": _("The text may not contain NUL characters."),
    "text.not_string": _("Expected text."),
    "texts.not_object": _("Give the texts as an object of language → text, such as {\"en\": \"…\"}."),
    "texts.unsupported_language": _("Unsupported language: use en or fr."),
    "texts.invalid": _("Some texts are not valid."),
    "texts.none": _("Write at least one text."),
    "field.required": _("This field is required."),
    # --- creating and editing ------------------------------------------------------------
    "kind.invalid": _("The kind must be “reply” or “post”."),
    "organisation.none": _("You belong to no organisation."),
    "in_reply_to.not_reply": _("Only a reply answers a citizen message."),
    "in_reply_to.unknown": _("There is no such citizen message."),
    "channels.none": _("Choose at least one channel."),
    "channels.not_slugs": _("Give the channels by their short names (slugs)."),
    "channels.unknown": _("Unknown channels: %(channels)s."),
    "lane.unknown": _("There is no lane “%(lane)s”."),
    "lane.conversation_for_post": _("A post (not a reply) goes through an official lane."),
    "lane.none": _("Your organisation has no lane of this kind to route to."),
    "schedule.invalid": _("Give the publication time as an ISO 8601 date and time with a time zone offset."),
    "schedule.past": _("The publication time must be in the future."),
    "urgent.reason_required": _("Give the reason for publishing urgently."),
    "urgent_not_allowed": _("This lane does not allow urgent publishing."),
    "comment.required": _("Say what should change."),
    # --- media on posts and replies (issue 22, docs/media.md "Media on posts") --------------
    "media.attach.invalid": _(
        "Each medium must be an object with “medium” (its id) and, if needed, “language”, “alt_text”, "
        "“captions” and “focus”."),
    "media.attach.not_list": _("Give the media as a list, in order."),
    "media.attach.unknown_field": _("Unknown field."),
    "media.attach.unknown": _("There is no such medium."),
    "media.attach.duplicate": _("This medium is already on the post: attach it once."),
    "media.attach.language_not_in_post": _(
        "This post has no %(language)s version: a medium can be only for the post's languages."),
    "media.attach.texts_not_object": _("Give these texts per language: an object with “en” and “fr”."),
    "media.attach.text_other_language": _(
        "This medium is only in the %(language)s post: give its texts in %(language)s only."),
    "media.attach.alt_text_too_long": _(
        "This alternative text is %(length)s characters long; at most %(limit)s are accepted."),
    "media.attach.captions_too_long": _("These captions are %(length)s characters long; at most %(limit)s are accepted."),
    "media.attach.captions_invalid": _(
        "The %(language)s captions are not valid WebVTT (they start with “WEBVTT”, then cues such as "
        "“00:00.000 --> 00:02.000”)."),
    "media.attach.captions_not_video": _("Only a video has captions."),
    "media.attach.focus_invalid": _("Give the focal point as [x, y], each between -1 and 1."),
    "media.attach.too_many": _("Too many media: %(count)s; at most %(limit)s are accepted on one post."),
    "media.attach.too_many_images": _(
        "%(channel)s accepts at most %(limit)s images on one post; the %(language)s post has %(count)s."),
    "media.attach.too_many_videos": _(
        "%(channel)s accepts at most %(limit)s video on one post; the %(language)s post has %(count)s."),
    "media.attach.mixed": _(
        "%(channel)s does not take images and a video on the same post (the %(language)s post has both)."),
    "media.attach.no_position": _("There is no medium at this position in the %(language)s post."),
    # --- who may act, and when -----------------------------------------------------------
    "not_found.post": _("There is no such post."),
    "not_found.review": _("There is no such review."),
    "not_found.publication": _("There is no such publication."),
    "not_found.message": _("There is no such message."),
    "not_found.resource": _("There is no such resource."),
    "not_found.webhook": _("There is no such webhook."),
    "invalid_transition": _("A post that is %(from_state)s cannot become %(to_state)s."),
    "invalid_state": _("You cannot %(action)s a post that is %(state)s."),
    "no_current_step": _("The post is not waiting on any step."),
    "not_translation_step": _("The post is not at a translation step."),
    "stale_version": _("The post changed since you loaded it (you had version %(given)s; it is now "
                       "version %(current)s). Reload it and try again."),
    "not_on_team": _("Only the %(team)s team acts at this step."),
    "channel_permission": _("You need the “%(permission)s” permission on every channel of this post."),
    "self_approval": _("Authors never approve their own posts."),
    "four_eyes.contributed": _("You wrote or changed the %(languages)s text: someone else must approve it."),
    "self_translation": _("Authors do not translate their own posts at the translation step."),
    "already_approved": _("You already approved this step."),
    "translation.missing": _("Provide every translation before completing the step: text missing in "
                             "%(languages)s."),
    "languages.missing_for_approval": _("Every required language must be present before approval: text "
                                        "missing in %(languages)s."),
    "review_done": _("This review is already done."),
    "self_review": _("Someone else must do this review."),
    "not_review_team": _("Only the review's team does this review."),
    "not_unknown": _("Only a publication whose outcome is unknown can be resolved."),
    "inbound_taken": _("This message is already %(status)s."),
    "inbound_closed": _("This message is already %(status)s."),
    "manage_webhooks": _("Managing webhooks needs the “manage” permission on a channel of your organisation."),
    "idempotency_key.invalid": _("The Idempotency-Key must be 1 to 200 printable ASCII characters, such as a UUID."),
    "idempotency_key_reused": _("This Idempotency-Key was already used for a different request."),
    "idempotency_in_progress": _("A request with this Idempotency-Key is still in progress; retry shortly."),
    "if_match.invalid": _("If-Match must be an ETag this API gave you, such as W/\"3\"."),
    "channel.unknown": _("Unknown channel."),
    "channel.unusable": _("%(channels)s cannot publish now: a channel manager must fix the channel's "
                          "setup first. Choose another channel or ask them."),
    "channel.unusable_title": _("Channel cannot publish"),
    "channel.unusable_inactive": _("This channel is switched off."),
    "channel.unusable_config": _("This channel's configuration is incomplete or wrong."),
    "fields.invalid": _("Some fields are not valid."),
    "guideline_violation": _("The text breaks a blocking guideline rule; nothing was changed."),
    "guideline_violation.publish": _("The approved text now breaks guideline rules: it was not published."),
    # --- problem titles (by HTTP status) ---------------------------------------------------
    "problem.invalid_input": _("Invalid input"),
    "problem.not_authenticated": _("Not authenticated"),
    "problem.not_permitted": _("Not permitted"),
    "problem.not_found": _("Not found"),
    "problem.method_not_allowed": _("Method not allowed"),
    "problem.not_acceptable": _("Not acceptable"),
    "problem.conflict": _("Conflict"),
    "problem.gone": _("Gone"),
    "problem.precondition_failed": _("Precondition failed"),
    "problem.too_large": _("Request too large"),
    "problem.unsupported_media_type": _("Unsupported media type"),
    "problem.guideline_violation": _("Guideline violation"),
    "problem.text_too_long": _("Text too long"),
    "problem.unpublishable": _("Nothing would be published"),
    "problem.precondition_required": _("Precondition required"),
    "problem.throttled": _("Too many requests"),
    "problem.server_error": _("Server error"),
    "problem.error": _("Error"),
    "problem.fields_invalid": _("Some fields are not valid."),
    "request.not_understood": _("The request could not be understood."),
    "request.forbidden": _("You are not allowed to do this."),
    "request.server_error": _("Something went wrong on our side; it has been logged."),
    # --- media uploads (issue 22, docs/media.md) ----------------------------------------------
    "problem.media_refused": _("File refused"),
    "request.too_large": _("The request is larger than the limit of %(limit_mb)s MB."),
    "media.upload.not_permitted": _("You may not upload images or videos: it takes the draft permission on a "
                                    "channel of your organisation."),
    "media.upload.no_file": _("Attach one file, in the field “file”."),
    "media.upload.empty": _("The file is empty."),
    "media.upload.svg": _("SVG images are not accepted: they can carry scripts. Export the image as PNG and "
                          "upload that."),
    "media.upload.unsupported": _("This kind of file (%(found)s) is not accepted. Upload a JPEG, PNG, GIF or WebP "
                                  "image, or an MP4 video."),
    "media.upload.unrecognised": _("This is not a file Parley accepts. Upload a JPEG, PNG, GIF or WebP image, "
                                   "or an MP4 video."),
    "media.upload.corrupted": _("The %(format)s file is damaged or incomplete: it cannot be read. Save or export "
                                "it again and upload the new file."),
    "media.upload.polyglot": _("This %(format)s file also holds other data, so it could be read as another kind "
                               "of file. It is refused: save or export the image again and upload the new file."),
    "media.upload.too_large": _("The %(format)s file is %(size_mb)s MB; at most %(limit_mb)s MB are accepted."),
    "media.upload.too_many_pixels": _("The image has more than %(limit_mp)s megapixels, the most accepted. Make "
                                      "it smaller and upload it again."),
    "media.upload.animation_too_big": _("The animation is too big: %(frames)s frames; at most %(limit_frames)s "
                                        "frames and %(limit_mp)s megapixels in all are accepted."),
    "media.upload.too_long": _("The video lasts %(length_s)s seconds; at most %(limit_s)s seconds are accepted."),
    "media.upload.no_video_track": _("The MP4 file has no video in it."),
    "media.upload.video_fragmented": _("This MP4 video is in streaming form (fragments), which cannot be checked. "
                                       "Export it again as a regular MP4 and upload that."),
    "not_found.medium": _("There is no such image or video."),
    # --- platforms (issue 19) ---------------------------------------------------------------
    "platform.limits_assumed": _(
        "The platform did not tell its limits: its documented defaults are used (%(limit)s characters, "
        "every link counted as %(url_length)s). They are asked again at the next check."),
    "platform.parent_deleted": _(
        "Held: the message this reply answers was deleted on the platform before the reply was sent. "
        "Nothing was published. Retry if it is back, or reach the citizen another way."),
    "platform.reply_unthreaded": _(
        "Held: the platform published the reply outside the citizen's thread (it did not know the message it "
        "answers). Parley deleted it: nothing is live. Retry if the message is back, or reach the citizen "
        "another way."),
    "platform.reply_unthreaded_live": _(
        "The platform published the reply outside the citizen's thread (status %(id)s) and Parley could not "
        "delete it: delete it on the platform, then mark the publication failed."),
    # --- publishing media (issue 22; found at preflight: nothing of the post was sent) --------
    "publish.media.too_many": _(
        "%(platform)s takes at most %(limit)s media per post; the %(language)s post has %(count)s."),
    "publish.media.type": _("%(platform)s does not take %(content_type)s (medium %(position)s of the %(language)s "
                            "post)."),
    "publish.media.too_large": _("Medium %(position)s of the %(language)s post is %(size)s bytes; %(platform)s "
                                 "takes at most %(limit)s."),
    "publish.media.alt_too_long": _("The alternative text of medium %(position)s of the %(language)s post is "
                                    "%(length)s characters long; %(platform)s takes at most %(limit)s."),
    "publish.media.captions_too_large": _("The captions of medium %(position)s of the %(language)s post are "
                                          "%(size)s bytes; %(platform)s takes at most %(limit)s."),
    "publish.media.video_alone": _("%(platform)s takes a video on its own: the %(language)s post has a video and "
                                   "other media."),
    "publish.media.no_public_url": _("This webhook receives links to the media, and Parley's public address "
                                     "(PUBLIC_URL) is not set."),
    "publish.media.refused": _("%(platform)s refused medium %(position)s (%(content_type)s)."),
    "publish.media.generic": _("the platform did not take the post's media"),
}

#: Verbs for the `action` parameter, as they fit "You cannot %(action)s a post…".
ACTIONS: dict[str, Promise] = {
    "edit": pgettext_lazy("you cannot … a post", "edit"),
    "submit": pgettext_lazy("you cannot … a post", "submit"),
    "approve": pgettext_lazy("you cannot … a post", "approve"),
    "request_changes": pgettext_lazy("you cannot … a post", "request changes on"),
    "reject": pgettext_lazy("you cannot … a post", "reject"),
    "translate": pgettext_lazy("you cannot … a post", "translate"),
    "publish_urgent": pgettext_lazy("you cannot … a post", "urgently publish"),
    "retry": pgettext_lazy("you cannot … a post", "retry publishing"),
    "withdraw": pgettext_lazy("you cannot … a post", "withdraw"),
    "invite": pgettext_lazy("you cannot … a post", "invite someone from outside to act on"),
    "retract": pgettext_lazy("you cannot … a post", "retract"),
}

#: Names for the `permission` parameter (channel permission codenames).
PERMISSIONS: dict[str, Promise] = {
    "draft_channel": pgettext_lazy("permission", "draft"),
    "review_channel": pgettext_lazy("permission", "review"),
    "translate_channel": pgettext_lazy("permission", "translate"),
    "publish_channel": pgettext_lazy("permission", "publish"),
    "publish_urgent_channel": pgettext_lazy("permission", "publish urgently"),
    "manage_channel": pgettext_lazy("permission", "manage"),
}

LANGUAGES_INLINE: dict[str, Promise] = {
    "en": pgettext_lazy("language in a sentence", "English"),
    "fr": pgettext_lazy("language in a sentence", "French"),
}


def language_inline(code: str) -> str:
    return str(LANGUAGES_INLINE.get(code, code))


def _state(slug: str) -> str:
    from .constants import PostState

    try:
        return str(PostState(slug).label).lower()
    except ValueError:
        return slug


def _inbound_status(slug: str) -> str:
    from .constants import InboundStatus

    try:
        return str(InboundStatus(slug).label).lower()
    except ValueError:
        return slug


def _join(values) -> str:
    return ", ".join(str(v) for v in values)


def _bilingual(value: Any) -> Any:
    """A bilingual name ({"en": ..., "fr": ...}: a caretaker period's, a channel's) in the reader's
    language; anything else as it is."""
    if not (isinstance(value, Mapping) and "en" in value):
        return value
    from django.utils.translation import get_language

    lang = "fr" if (get_language() or "en").startswith("fr") else "en"
    return value.get(lang) or value.get("en")


def display_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The parameters as words in the active language (see the module docstring)."""
    out: dict[str, Any] = {}
    for key, value in (params or {}).items():
        if key in ("language", "detected"):
            out[key] = language_inline(str(value))
        elif key == "languages":
            out[key] = _join(language_inline(str(v)) for v in (value or []))
        elif key in ("state", "from_state", "to_state"):
            out[key] = _state(str(value))
        elif key == "status":
            out[key] = _inbound_status(str(value))
        elif key == "action":
            out[key] = str(ACTIONS.get(str(value), value))
        elif key == "permission":
            out[key] = str(PERMISSIONS.get(str(value), value))
        elif key.endswith(("_mb", "_mp", "_s")) and isinstance(value, (int, float)):
            # Sizes, megapixels, seconds: the reader's separators, no ".0" ("1.5" / "1,5", "40").
            out[key] = format_number(value, 0 if float(value).is_integer() else 1)
        elif isinstance(value, float):
            out[key] = formats.number_format(value)  # 8,5 in French
        elif isinstance(value, (list, tuple)):
            out[key] = _join(_bilingual(v) for v in value)
        elif isinstance(value, Mapping) and "en" in value:
            out[key] = _bilingual(value)
        else:
            out[key] = value
    return out


class _Missing(dict):
    """A template never fails on a parameter an old stored result lacks."""

    def __missing__(self, key):
        return "…"


def render(code: str, params: Mapping[str, Any] | None = None, *, fallback: str = "") -> str:
    """`code` in the active language; `fallback` (or the code) when the catalogue lacks it."""
    template = CATALOGUE.get(code)
    if template is None:
        return fallback or code
    text = str(template) % _Missing(display_params(params))
    reason = None
    if code.startswith("escalation."):
        # The administrator's reason, in the reader's language when they gave it (issue 21).
        lang = (get_language() or "en")[:2]
        reason = (params or {}).get(f"reason_{lang}") or (params or {}).get("reason")
    if reason and code != "escalation.with_reason":
        return str(CATALOGUE["escalation.with_reason"]) % {"reason": reason, "detail": text}
    return text


def known(code: str) -> bool:
    return code in CATALOGUE


@dataclass(frozen=True)
class Message:
    """A code with parameters, rendered in the active language when turned into text."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return render(self.code, self.params)

    def as_data(self) -> dict:
        return {"code": self.code, "params": dict(self.params)}


def render_stored(item: Mapping[str, Any] | None) -> str:
    """A stored result ({"code", "params"} or an older {"message"} without a code) as text."""
    if not item:
        return ""
    code = item.get("code") or ""
    return render(code, item.get("params") or {}, fallback=str(item.get("message") or "")) if code else str(
        item.get("message") or "")


def display_results(results) -> list[dict]:
    """Guideline results (CheckResult objects or their stored dicts) ready for a template, each
    with `text` in the active language. A stored result from before codes (English words, no
    code) is shown as stored, with `text_lang` "en" so screen readers pronounce it right."""
    out = []
    for r in results or []:
        d = r.as_data() if hasattr(r, "as_data") else dict(r)
        if d.get("code") and known(d["code"]):
            d["text"], d["text_lang"] = render(d["code"], d.get("params") or {}), ""
        else:
            d["text"], d["text_lang"] = str(d.get("message") or ""), "en"
        out.append(d)
    return out
