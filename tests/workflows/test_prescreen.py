"""The accessibility pre-screen (issue 22): alt text, captions, reading level, hashtags, emoji and
link text, in English and in French, as pure guideline rules over texts and media."""
from __future__ import annotations

import pytest
from django.utils import translation

from workflows import accessibility as a11y
from workflows import guidelines as g
from workflows.constants import RuleKind, Severity
from workflows.demo import LANES

EN_MASTODON = g.ChannelInfo(slug="dpe-en", char_limit=500, languages=("en",),
                            media=g.media_limits_for(adapter="mastodon"))
FR_MASTODON = g.ChannelInfo(slug="dpe-fr", char_limit=500, languages=("fr",),
                            media=g.media_limits_for(adapter="mastodon"))
EN_BLUESKY = g.ChannelInfo(slug="bsky-en", char_limit=300, languages=("en",),
                           media=g.media_limits_for(adapter="bluesky"))

EN_PLAIN = ("We are opening a new office in Moncton next week. You can ask for help with your benefits there. "
            "Bring a piece of ID and your SIN card. The office is open from 9 to 5 on weekdays. Come and see us.")
FR_PLAIN = ("Nous ouvrons un nouveau bureau à Moncton la semaine prochaine. Vous pourrez y demander de l'aide "
            "pour vos prestations. Apportez une pièce d'identité. Le bureau est ouvert de 9 h à 17 h en semaine. "
            "Venez nous voir.")
EN_HARD = ("Notwithstanding the aforementioned considerations, the interdepartmental committee recommends a "
           "comprehensive modernization of administrative infrastructure, contingent upon parliamentary "
           "appropriations and intergovernmental consultations regarding jurisdictional responsibilities and "
           "accountability mechanisms. Implementation considerations necessitate institutional coordination.")
FR_HARD = ("Nonobstant les considérations susmentionnées, le comité interministériel recommande une modernisation "
           "exhaustive de l'infrastructure administrative, conditionnellement à l'obtention de crédits "
           "parlementaires et à la tenue de consultations intergouvernementales concernant les responsabilités "
           "juridictionnelles et les mécanismes de reddition de comptes.")

VTT = "WEBVTT\n\n00:00:00.000 --> 00:00:02.500\nHello, everyone.\n\n00:00:02.500 --> 00:00:05.000\nWelcome.\n"
VTT_FR = "WEBVTT\n\n00:00:00.000 --> 00:00:02.500\nBonjour à tous.\n"


def image(alt=None, *, language="", filename="carte.png"):
    return g.MediaInfo(kind="image", language=language, alt=alt or {}, filename=filename)


def video(captions=None, *, language="", alt=None):
    return g.MediaInfo(kind="video", language=language, captions=captions or {}, alt=alt or {}, filename="clip.mp4")


def run(kind, texts, *, params=None, severity=Severity.BLOCK, **kw):
    kw.setdefault("channels", [EN_MASTODON, FR_MASTODON])
    kw.setdefault("required_languages", ["en", "fr"])
    return g.evaluate(rules=[g.Rule(kind=kind, severity=severity, params=params)], texts=texts, **kw)


def codes(results):
    return [(r.code, r.language) for r in results if not r.ok]


def rendered(result, lang):
    with translation.override(lang):
        return result.message


BOTH = {"en": "Our new office opens Monday.", "fr": "Notre nouveau bureau ouvre lundi."}


# --- alt text ------------------------------------------------------------------------------

def test_an_image_described_in_both_languages_passes():
    results = run(RuleKind.ALT_TEXT, BOTH, media=[image({"en": "A map of the new office in Moncton",
                                                         "fr": "Une carte du nouveau bureau à Moncton"})])
    assert [(r.code, r.language, r.ok) for r in results] == [("alt_text.ok", "en", True), ("alt_text.ok", "fr", True)]
    assert results[0].field == "media.0.alt_text_en"


def test_a_missing_alt_text_blocks_in_each_language_it_is_missing():
    results = run(RuleKind.ALT_TEXT, BOTH, media=[image({"en": "A map of the new office in Moncton", "fr": "  "})])
    assert codes(results) == [("alt_text.missing", "fr")]
    bad = g.blocking(results)
    assert [(r.code, r.field, r.params) for r in bad] == [
        ("alt_text.missing", "media.0.alt_text_fr", {"language": "fr", "number": 1})]
    assert rendered(bad[0], "en") == ("Image 1 has no French alternative text: describe what it shows for people "
                                      "who cannot see it.")
    assert rendered(bad[0], "fr") == ("L'image 1 n'a pas de texte de remplacement en français\u00a0: décrivez ce "
                                      "qu'elle montre pour les personnes qui ne peuvent pas la voir.")


def test_a_french_alt_text_waits_for_the_translation_step_when_the_french_text_does_too():
    media = [image({"en": "A map of the new office in Moncton"})]
    waiting = run(RuleKind.ALT_TEXT, {"en": "Our new office opens Monday."}, media=media, translation_step=True)
    assert codes(waiting) == [("alt_text.missing_until_translation", "fr")]
    assert not g.blocking(waiting)
    assert "translation step" in rendered(waiting[1], "en")
    assert "L'étape de traduction le fournira." in rendered(waiting[1], "fr")
    # Once the French text is written (the translation step ran), the French alt text is due.
    due = run(RuleKind.ALT_TEXT, BOTH, media=media, translation_step=True)
    assert [r.code for r in g.blocking(due)] == ["alt_text.missing"]
    # Without a translation step, it is due from the start.
    assert [r.code for r in g.blocking(run(RuleKind.ALT_TEXT, {"en": "Hi"}, media=media))] == ["alt_text.missing"]


def test_a_medium_for_one_language_is_checked_in_that_language_only():
    french_infographic = image({"fr": "Infographie : les étapes pour faire une demande"}, language="fr")
    results = run(RuleKind.ALT_TEXT, BOTH, media=[french_infographic])
    assert [(r.code, r.language) for r in results] == [("alt_text.ok", "fr")]
    english_only = image({}, language="en")
    assert codes(run(RuleKind.ALT_TEXT, BOTH, media=[english_only])) == [("alt_text.missing", "en")]


def test_a_reply_checks_the_language_it_is_written_in():
    results = run(RuleKind.ALT_TEXT, {"fr": "Merci de votre question."}, media=[image({})],
                  required_languages=[], reply_language="fr", is_reply=True)
    assert codes(results) == [("alt_text.missing", "fr")]


def test_a_gif_is_an_image_and_a_video_needs_no_alt_text():
    gif = g.MediaInfo(kind="image", alt={"en": "Fireworks over Parliament"}, filename="fireworks.gif")
    results = run(RuleKind.ALT_TEXT, {"en": "Happy Canada Day"}, media=[gif, video({"en": VTT})],
                  required_languages=["en"])
    assert [(r.code, r.params["number"]) for r in results] == [("alt_text.ok", 1)]


def test_alt_text_over_each_platforms_limit_is_counted_as_that_platform_counts():
    # Mastodon: 1,500 characters (code points); Bluesky: 2,000 graphemes.
    thumbs = "👍🏽" * 1000  # 1,000 graphemes, 2,000 code points
    on_mastodon = run(RuleKind.ALT_TEXT, {"en": "Hi"}, media=[image({"en": thumbs})], required_languages=["en"])
    over = [r for r in on_mastodon if r.code == "alt_text.too_long"]
    assert [(r.params["length"], r.params["limit"], r.params["channel"]) for r in over] == [(2000, 1500, "dpe-en")]
    assert not over[0].ok and over[0].severity == Severity.BLOCK
    on_bluesky = run(RuleKind.ALT_TEXT, {"en": "Hi"}, media=[image({"en": thumbs})], required_languages=["en"],
                     channels=[EN_BLUESKY])
    assert "alt_text.too_long" not in [r.code for r in on_bluesky]
    long_en = "A very long description. " * 90  # 2,250 characters
    on_both = run(RuleKind.ALT_TEXT, {"en": "Hi"}, media=[image({"en": long_en})], required_languages=["en"],
                  channels=[EN_MASTODON, EN_BLUESKY])
    assert [(r.params["limit"], r.params["channel"]) for r in on_both if r.code == "alt_text.too_long"] == [
        (1500, "dpe-en")]  # the worst excess is reported
    with translation.override("fr"):
        assert over[0].message == ("Le texte de remplacement en anglais de l'image 1 compte 2000 caractères\u202f; "
                                   "dpe-en en accepte 1500.")


def test_a_video_alt_text_on_bluesky_has_its_own_limit():
    alt = "x" * 1200
    results = run(RuleKind.ALT_TEXT, {"en": "Hi"}, media=[video({"en": VTT}, alt={"en": alt})],
                  required_languages=["en"], channels=[EN_BLUESKY])
    assert [(r.code, r.params["limit"]) for r in results if not r.ok] == [("alt_text.too_long", 1000)]


def test_no_limit_is_known_for_a_log_or_webhook_channel_on_an_unknown_platform():
    assert g.media_limits_for(adapter="webhook", platform="") is None
    assert g.media_limits_for(adapter="log", platform="Mastodon") == g.PLATFORM_MEDIA_LIMITS["mastodon"]


@pytest.mark.parametrize(("lang", "alt", "detected"), [
    ("en", "Une carte du nouveau bureau à Moncton", "fr"),
    ("fr", "A map of the new office in Moncton", "en"),
])
def test_alt_text_in_the_other_language_is_flagged_as_advice(lang, alt, detected):
    right = {"en": "A map of our office", "fr": "Une carte de notre bureau"}
    media = [image({**right, lang: alt})]
    results = run(RuleKind.ALT_TEXT, BOTH, media=media)
    wrong = [r for r in results if r.code == "alt_text.wrong_language"]
    assert [(r.language, r.params["detected"]) for r in wrong] == [(lang, detected)]
    assert wrong[0].severity == Severity.WARN and not g.blocking(results)
    with translation.override("en"):
        assert wrong[0].message.endswith(f"reads as {'French' if detected == 'fr' else 'English'}.")
    with translation.override("fr"):
        assert wrong[0].message.endswith(f"semble rédigé en {'français' if detected == 'fr' else 'anglais'}.")


def test_a_short_alt_text_is_not_judged_for_its_language():
    results = run(RuleKind.ALT_TEXT, BOTH, media=[image({"en": "Logo", "fr": "Logo"})])
    assert codes(results) == []


@pytest.mark.parametrize(("alt", "filename"), [
    ("IMG_1234.jpg", "upload.jpg"),
    ("IMG_1234", "upload.jpg"),
    ("DSC01234", "upload.jpg"),
    ("PXL_20240101_123456", "upload.jpg"),
    ("carte-du-bureau.png", "upload.png"),
    ("carte-budget", "carte-budget.png"),
    ("Capture d’écran 2024-01-05 à 10.15.00", "x.png"),
])
def test_a_file_name_is_not_alternative_text(alt, filename):
    results = run(RuleKind.ALT_TEXT, {"en": "Hi"}, media=[image({"en": alt}, filename=filename)],
                  required_languages=["en"])
    bad = g.blocking(results)
    assert [r.code for r in bad] == ["alt_text.file_name"]
    with translation.override("fr"):
        assert "est un nom de fichier\u00a0: décrivez" in bad[0].message


@pytest.mark.parametrize(("lang", "alt", "prefix"), [
    ("en", "Image of the Prime Minister at the podium", "Image of"),
    ("en", "A PHOTO OF the new office in Moncton", "A PHOTO OF"),
    ("en", "picture of volunteers planting trees", "picture of"),
    ("en", "Photo: volunteers planting trees in the park", "Photo"),
    ("fr", "Image de la première ministre au lutrin", "Image de"),
    ("fr", "IMAGE D’UNE CARTE du nouveau bureau", "IMAGE D’"),
    ("fr", "Photo de bénévoles qui plantent des arbres", "Photo de"),
    ("fr", "illustration d'un formulaire de demande rempli", "illustration d'"),
    ("fr", "Une photo du bureau", None),  # "photo du" is not in the list: a judgement call, left alone
    ("en", "Photographer at work in the studio", None),
    ("en", "Imagery of the Arctic from the satellite", None),
])
def test_alt_text_opening_with_image_of_is_advice(lang, alt, prefix):
    results = run(RuleKind.ALT_TEXT, {lang: "Hello"}, media=[image({lang: alt})], required_languages=[lang])
    found = [r for r in results if r.code == "alt_text.redundant_prefix"]
    assert [r.params["prefix"] for r in found] == ([prefix] if prefix else [])
    if prefix:
        assert found[0].severity == Severity.WARN
        with translation.override("en"):
            assert f"starts with “{prefix}”" in found[0].message
        with translation.override("fr"):
            assert f"commence par «\u00a0{prefix}\u00a0»" in found[0].message


# --- captions ------------------------------------------------------------------------------

def test_a_video_captioned_in_both_languages_passes():
    results = run(RuleKind.CAPTIONS, BOTH, media=[video({"en": VTT, "fr": VTT_FR})])
    assert [(r.code, r.language, r.params["cues"]) for r in results] == [("captions.ok", "en", 2),
                                                                          ("captions.ok", "fr", 1)]
    assert results[0].field == "media.0.captions_en"


def test_a_video_without_french_captions_blocks_once_the_french_text_is_there():
    media = [image({"en": "A map", "fr": "Une carte"}), video({"en": VTT})]
    waiting = run(RuleKind.CAPTIONS, {"en": "Watch our video."}, media=media, translation_step=True)
    assert codes(waiting) == [("captions.missing_until_translation", "fr")] and not g.blocking(waiting)
    assert waiting[1].params == {"language": "fr", "number": 2}
    due = run(RuleKind.CAPTIONS, BOTH, media=media, translation_step=True)
    bad = g.blocking(due)
    assert [(r.code, r.field) for r in bad] == [("captions.missing", "media.1.captions_fr")]
    assert rendered(bad[0], "en") == "Video 2 has no French captions: add them (WebVTT)."
    assert rendered(bad[0], "fr") == "La vidéo 2 n'a pas de sous-titres en français\u00a0: ajoutez-les (WebVTT)."


@pytest.mark.parametrize(("vtt", "code"), [
    ("Hello there", "captions.invalid"),
    ("1\n00:00:00,000 --> 00:00:01,000\nAn SRT file\n", "captions.invalid"),
    ("WEBVTT\n\n00:00 --> soon\nBonjour\n", "captions.invalid"),
    ("WEBVTT\n", "captions.empty"),
    ("WEBVTT\n\n00:00:00.000 --> 00:00:02.000\n\n", "captions.empty"),
    ("WEBVTT\n\n00:00:02.500 --> 00:00:02.100\nBonjour\n", "captions.timing"),
])
def test_captions_must_be_webvtt_with_a_cue(vtt, code):
    results = run(RuleKind.CAPTIONS, {"fr": "Regardez."}, media=[video({"fr": vtt})], required_languages=["fr"])
    assert [r.code for r in g.blocking(results)] == [code]
    with translation.override("fr"):
        assert "vidéo 1" in results[0].message


def test_captions_on_bluesky_fit_its_caption_file_size():
    big = "WEBVTT\n\n" + "".join(f"00:00:{i % 60:02d}.000 --> 00:00:{i % 60:02d}.500\nLine {i} of the captions.\n\n"
                                for i in range(700))
    assert len(big.encode()) > 20000
    results = run(RuleKind.CAPTIONS, {"en": "Watch."}, media=[video({"en": big})], required_languages=["en"],
                  channels=[EN_BLUESKY])
    assert [(r.code, r.params["limit"]) for r in g.blocking(results)] == [("captions.too_large", 20000)]
    on_mastodon = run(RuleKind.CAPTIONS, {"en": "Watch."}, media=[video({"en": big})], required_languages=["en"])
    assert [r.code for r in on_mastodon] == ["captions.ok"]


def test_images_have_no_captions_result():
    assert run(RuleKind.CAPTIONS, BOTH, media=[image({"en": "A map", "fr": "Une carte"})]) == []


# --- reading level -------------------------------------------------------------------------

def test_plain_text_passes_in_both_languages_and_shows_its_grade():
    results = run(RuleKind.READING_LEVEL, {"en": EN_PLAIN, "fr": FR_PLAIN}, severity=Severity.WARN)
    assert [(r.code, r.language, r.ok) for r in results] == [("reading_level.ok", "en", True),
                                                            ("reading_level.ok", "fr", True)]
    en, fr = results
    assert en.params["formula"] == "flesch_kincaid" and 0 <= en.params["grade"] < 9
    assert fr.params["formula"] == "kandel_moles" and fr.params["ease"] >= 65 and fr.params["grade"] < 9
    assert en.params["max"] == 8
    with translation.override("en"):
        assert en.message == f"The English text reads at grade {en.params['grade']} (at most 8)."
    with translation.override("fr"):
        grade = str(fr.params["grade"]).replace(".", ",")
        assert fr.message == f"Le texte en français correspond au niveau scolaire {grade} (au plus 8)."


def test_hard_text_is_flagged_in_both_languages():
    results = run(RuleKind.READING_LEVEL, {"en": EN_HARD, "fr": FR_HARD}, severity=Severity.WARN)
    assert [(r.code, r.language) for r in results if not r.ok] == [("reading_level.too_hard", "en"),
                                                                  ("reading_level.too_hard", "fr")]
    en, fr = results
    assert en.params["grade"] > 12 and fr.params["grade"] > 12 and fr.params["ease"] < 30
    assert en.severity == Severity.WARN and not g.blocking(results)
    with translation.override("fr"):
        assert "visez le niveau 8 ou moins" in fr.message and "\u202f;" in fr.message


def test_the_maximum_grade_is_the_lanes_to_set():
    lenient = run(RuleKind.READING_LEVEL, {"en": EN_HARD}, params={"max_grade": 18}, required_languages=["en"])
    assert [r.code for r in lenient] == ["reading_level.ok"]
    strict = run(RuleKind.READING_LEVEL, {"fr": FR_PLAIN}, params={"max_grade": 5}, required_languages=["fr"])
    assert [r.code for r in strict] == ["reading_level.too_hard"]
    assert strict[0].params["grade"] >= 6 and strict[0].params["max"] == 5


def test_a_short_text_is_not_scored():
    results = run(RuleKind.READING_LEVEL, {"en": "Our office opens Monday.", "fr": "Le bureau ouvre lundi."})
    assert [(r.code, r.ok, r.params["words"]) for r in results] == [("reading_level.too_short", True, 4),
                                                                   ("reading_level.too_short", True, 4)]
    with translation.override("fr"):
        assert results[1].message == ("Le texte en français est trop court pour en évaluer la lisibilité "
                                      "(4 mots\u202f; il en faut 30).")


def test_links_mentions_emoji_and_closing_hashtags_are_not_read_as_words():
    assert a11y.prose("Join @dpe@mastodon.social 🎉 for #OpenGovernment day: https://canada.ca/x\nSee you #A #B") == (
        "Join for Open Government day: See you")
    assert a11y.prose("First line\n\n  second line\nthird.") == "First line. second line. third."


def test_a_long_hard_alt_text_is_scored_too():
    media = [image({"en": EN_HARD, "fr": "Une carte du bureau"})]
    results = run(RuleKind.READING_LEVEL, {"en": EN_PLAIN, "fr": FR_PLAIN}, media=media)
    assert [(r.code, r.language, r.field) for r in results if not r.ok] == [
        ("reading_level.alt_too_hard", "en", "media.0.alt_text_en")]
    assert not [r for r in run(RuleKind.READING_LEVEL, {"en": EN_PLAIN}, media=media, params={"alt_text": False},
                               required_languages=["en"]) if not r.ok]


def test_french_grade_comes_from_flesch_table():
    assert a11y.grade_from_ease(100) == 5
    assert a11y.grade_from_ease(70) == 8
    assert a11y.grade_from_ease(65) == 9
    assert a11y.grade_from_ease(60) == 10
    assert a11y.grade_from_ease(-20) == 18
    assert a11y.grade_from_ease(120) == 3
    assert not a11y.grade_exceeds(8.9, 8) and a11y.grade_exceeds(9.0, 8)


def test_reading_level_needs_no_download_and_no_shared_language(monkeypatch):
    """textstat's own English path downloads a dictionary and set_lang changes a module-wide
    language: the rule uses neither (one reader per language, made with its language)."""
    from concurrent.futures import ThreadPoolExecutor

    import nltk
    import textstat

    def refuse(*args, **kwargs):
        raise AssertionError("neither the module-wide textstat language nor a download")

    monkeypatch.setattr(textstat, "set_lang", refuse)
    monkeypatch.setattr(nltk, "download", refuse)
    a11y._reader.cache_clear()
    expected = {"en": a11y.readability(EN_PLAIN, "en").grade, "fr": a11y.readability(FR_PLAIN, "fr").grade}
    with ThreadPoolExecutor(max_workers=4) as pool:
        grades = list(pool.map(lambda lang: (lang, a11y.readability({"en": EN_PLAIN, "fr": FR_PLAIN}[lang], lang).grade),
                               ["en", "fr"] * 20))
    assert all(grade == expected[lang] for lang, grade in grades)


# --- hashtags ------------------------------------------------------------------------------

@pytest.mark.parametrize(("lang", "text", "bad"), [
    ("en", "Join us #OpenGovernment #Canada #budget #Budget2024 #COVID19", []),
    ("en", "Join us #opengovernment and #mentalhealth #canada", ["#opengovernment", "#mentalhealth"]),
    ("en", "LOUD #OPENGOVERNMENT", ["#OPENGOVERNMENT"]),
    ("fr", "Joignez-vous à nous #GouvernementOuvert #SantéMentale #budget", []),
    ("fr", "Joignez-vous à nous #gouvernementouvert #santémentale", ["#gouvernementouvert", "#santémentale"]),
    ("fr", "Le lien https://canada.ca/fr/page#sectionnumerodeux n'a pas de mot-clic", []),
])
def test_hashtags_capitalize_each_word(lang, text, bad):
    results = run(RuleKind.HASHTAGS, {lang: text}, required_languages=[lang], severity=Severity.WARN)
    assert [r.params.get("tags", []) for r in results] == [bad]
    if bad:
        with translation.override("en"):
            assert results[0].message.endswith(", ".join(bad) + ".")
        with translation.override("fr"):
            assert "mettez une majuscule au début de chaque mot" in results[0].message


def test_a_lane_can_accept_its_own_tags_as_written():
    results = run(RuleKind.HASHTAGS, {"en": "#cdnpolitics #opengovernment"}, required_languages=["en"],
                  params={"allowed": ["#CdnPolitics"]})
    assert results[0].params["tags"] == ["#opengovernment"]


# --- emoji ---------------------------------------------------------------------------------

def test_emoji_at_the_end_and_few_pass():
    results = run(RuleKind.EMOJI, {"en": "Happy Canada Day! 🇨🇦", "fr": "Bonne fête du Canada! 🎉 #FêteDuCanada"})
    assert [(r.code, r.params["count"]) for r in results] == [("emoji.ok", 1), ("emoji.ok", 1)]


def test_too_many_emoji():
    results = run(RuleKind.EMOJI, {"fr": "Bravo 🎉 à toutes 🙌 et à tous 👏 les bénévoles 🌳 du parc."},
                  required_languages=["fr"], severity=Severity.WARN)
    too_many = [r for r in results if r.code == "emoji.too_many"]
    assert [(r.params["count"], r.params["max"]) for r in too_many] == [(4, 3)]
    with translation.override("fr"):
        assert too_many[0].message == "Le texte en français contient 4 émojis\u202f; utilisez-en au plus 3."
    assert [r.code for r in run(RuleKind.EMOJI, {"fr": "Bravo 🎉"}, params={"max": 0},
                                required_languages=["fr"])] == ["emoji.too_many"]


@pytest.mark.parametrize(("lang", "text"), [("en", "We ❤️ our volunteers."), ("fr", "Nous ❤️ nos bénévoles.")])
def test_emoji_in_place_of_words(lang, text):
    results = run(RuleKind.EMOJI, {lang: text}, required_languages=[lang])
    assert [(r.code, r.params.get("emoji")) for r in results] == [("emoji.in_text", ["❤️"])]
    assert [r.code for r in run(RuleKind.EMOJI, {lang: text}, required_languages=[lang],
                                params={"position": False})] == ["emoji.ok"]


def test_consecutive_emoji():
    results = run(RuleKind.EMOJI, {"en": "Happy Canada Day 🇨🇦🎉"}, required_languages=["en"])
    assert [(r.code, r.params.get("emoji")) for r in results] == [("emoji.consecutive", ["🇨🇦🎉"])]
    with translation.override("fr"):
        assert "des émojis se suivent (🇨🇦🎉)\u00a0: les lecteurs" in results[0].message


def test_text_symbols_are_not_emoji():
    results = run(RuleKind.EMOJI, {"en": "© 2024 His Majesty the King ™ ↔ ✔ done"}, required_languages=["en"])
    assert [(r.code, r.params["count"]) for r in results] == [("emoji.ok", 0)]


# --- link text -----------------------------------------------------------------------------

@pytest.mark.parametrize(("lang", "text", "vague"), [
    ("en", "Click here: https://www.canada.ca/en/services.html", ["Click here"]),
    ("en", "Our budget is out. Read more at https://canada.ca/budget", ["Read more"]),
    ("en", "Click here to apply https://canada.ca/apply", ["Click here"]),
    ("en", "The report is here 👉 canada.ca/report", ["here"]),
    ("en", "Learn more about the 2024 budget: https://canada.ca/budget", []),
    ("en", "Apply for the Canada Child Benefit at canada.ca/ccb", []),
    ("fr", "Cliquez ici : https://www.canada.ca/fr/services.html", ["Cliquez ici"]),
    ("fr", "Le budget est publié. Pour en savoir plus : https://canada.ca/fr/budget", ["Pour en savoir plus"]),
    ("fr", "Tous les détails ici ➡️ https://canada.ca/fr", ["détails ici"]),
    ("fr", "Lien : canada.ca/fr/budget", ["Lien"]),
    ("fr", "Consultez le budget de 2024 sur canada.ca/fr/budget", []),
    ("fr", "Venez ici lundi, sans lien.", []),
])
def test_link_text_says_where_the_link_goes(lang, text, vague):
    results = run(RuleKind.LINK_TEXT, {lang: text}, required_languages=[lang], severity=Severity.WARN)
    assert [r.params.get("phrases", []) for r in results] == [vague]
    if vague:
        with translation.override("en"):
            assert f"instead of “{vague[0]}”" in results[0].message
        with translation.override("fr"):
            assert f"au lieu de «\u00a0{vague[0]}\u00a0»" in results[0].message


def test_a_lane_can_list_its_own_vague_phrases():
    params = {"phrases": {"en": ["go"], "fr": ["par là"]}}
    results = run(RuleKind.LINK_TEXT, {"en": "Go https://canada.ca", "fr": "Par là : https://canada.ca"},
                  params=params)
    assert [r.params.get("phrases") for r in results] == [["Go"], ["Par là"]]
    assert [r.code for r in run(RuleKind.LINK_TEXT, {"en": "Click here https://canada.ca"}, params=params,
                                required_languages=["en"])] == ["link_text.not_descriptive"]  # always vague


# --- the lanes' defaults -------------------------------------------------------------------

def lane_rules(lane):
    return [g.Rule(kind=kind, severity=severity, params=params) for kind, severity, params in LANES[lane]["rules"]]


def test_the_official_lane_blocks_an_image_without_french_alt_text_only_once_the_translation_is_due():
    media = [image({"en": "A map of the new office in Moncton"})]
    kw = {"channels": [EN_MASTODON, FR_MASTODON], "required_languages": ["en", "fr"], "acknowledged": True,
          "translation_step": True, "media": media}
    before = g.evaluate(rules=lane_rules("official"), texts={"en": "Our new office opens Monday."}, **kw)
    assert not g.blocking(before)
    assert ("alt_text.missing_until_translation", "fr") in codes(before)
    after = g.evaluate(rules=lane_rules("official"), texts=BOTH, **kw)
    assert [(r.code, r.language) for r in g.blocking(after)] == [("alt_text.missing", "fr")]
    described = [image({"en": "A map of the new office in Moncton", "fr": "Une carte du nouveau bureau à Moncton"})]
    assert not g.blocking(g.evaluate(rules=lane_rules("official"), texts=BOTH, **{**kw, "media": described}))


def test_the_official_lane_blocks_missing_captions_and_only_warns_on_wording():
    rules = {r.kind: r.severity for r in lane_rules("official")}
    assert rules[RuleKind.ALT_TEXT] == rules[RuleKind.CAPTIONS] == Severity.BLOCK
    assert {rules[k] for k in (RuleKind.READING_LEVEL, RuleKind.HASHTAGS, RuleKind.EMOJI, RuleKind.LINK_TEXT)} == {
        Severity.WARN}
    wordy = {"en": EN_HARD + " #opengovernment 🎉🎉🎉🎉 Click here https://canada.ca",
             "fr": FR_HARD + " #gouvernementouvert Cliquez ici https://canada.ca"}
    results = g.evaluate(rules=lane_rules("official"), texts=wordy, channels=[EN_MASTODON, FR_MASTODON],
                         required_languages=["en", "fr"], acknowledged=True, media=[video({"en": VTT})])
    assert {r.rule for r in results if not r.ok} >= {"reading_level", "hashtags", "emoji", "link_text", "captions"}
    assert [(r.code, r.language) for r in g.blocking(results)] == [("captions.missing", "fr")]


def test_the_conversation_lane_only_warns():
    results = g.evaluate(rules=lane_rules("conversation"), texts={"fr": "Merci! Cliquez ici https://canada.ca"},
                         channels=[FR_MASTODON], required_languages=[], reply_language="fr", acknowledged=True,
                         is_reply=True, media=[image({}), video({})])
    assert {r.code for r in results if not r.ok} >= {"alt_text.missing", "captions.missing",
                                                    "link_text.not_descriptive"}
    assert not [r for r in g.blocking(results) if r.rule in {k.value for k in (
        RuleKind.ALT_TEXT, RuleKind.CAPTIONS, RuleKind.READING_LEVEL, RuleKind.HASHTAGS, RuleKind.EMOJI,
        RuleKind.LINK_TEXT)}]


def test_accessibility_completeness_waits_for_submit_and_advice_never_refuses_a_draft():
    for kind in (RuleKind.ALT_TEXT, RuleKind.CAPTIONS, RuleKind.READING_LEVEL, RuleKind.HASHTAGS, RuleKind.EMOJI,
                 RuleKind.LINK_TEXT):
        assert kind not in g.CONTENT_RULES and kind in g.RULES


# --- the rules' settings -------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "params", "problems"), [
    (RuleKind.EMOJI, {"max": 2, "position": False}, []),
    (RuleKind.EMOJI, {"max": "three"}, [("rule_params.not_number", {"key": "max", "min": 0, "max": 100})]),
    (RuleKind.EMOJI, {"max": True}, [("rule_params.not_number", {"key": "max", "min": 0, "max": 100})]),
    (RuleKind.READING_LEVEL, {"max_grade": 8.5, "min_words": 20, "alt_text": False}, []),
    (RuleKind.READING_LEVEL, {"max_grade": 40}, [("rule_params.not_number", {"key": "max_grade", "min": 1,
                                                                             "max": 18})]),
    (RuleKind.READING_LEVEL, {"alt_text": "yes"}, [("rule_params.not_boolean", {"key": "alt_text"})]),
    (RuleKind.HASHTAGS, {"allowed": ["cdnpoli"], "max_letters": 12}, []),
    (RuleKind.HASHTAGS, {"allowed": "cdnpoli"}, [("rule_params.not_list", {"key": "allowed"})]),
    (RuleKind.LINK_TEXT, {"phrases": {"en": ["go"], "fr": ["par là"]}}, []),
    (RuleKind.LINK_TEXT, {"phrases": {"de": ["hier"]}}, [("rule_params.not_list", {"key": "phrases"})]),
    (RuleKind.ALT_TEXT, {"colour": "red"}, [("rule_params.unknown", {"key": "colour"})]),
    (RuleKind.CAPTIONS, [], [("rule_params.not_object", {})]),
    (RuleKind.CAPTIONS, {}, []),
    (RuleKind.LENGTH, {"max": 10}, []),  # the other kinds keep their own settings
])
def test_rule_settings_are_checked(kind, params, problems):
    assert g.params_problems(kind, params) == problems


def test_the_admin_refuses_a_bad_setting_in_the_readers_language(demo):
    from workflows.admin import GuidelineRuleForm

    lane = demo.lane("official")
    with translation.override("fr"):
        form = GuidelineRuleForm(data={"lane": lane.id, "kind": "emoji", "params": '{"max": "trois"}',
                                       "severity": "warn", "enabled": True})
        assert not form.is_valid()
        assert form.errors["params"] == ["max doit être un nombre de 0 à 100."]
    ok = GuidelineRuleForm(data={"lane": lane.id, "kind": "emoji", "params": '{"max": 2}', "severity": "warn",
                                 "enabled": True})
    assert ok.is_valid(), ok.errors


def test_long_adversarial_texts_are_read_in_linear_time():
    import time

    texts = {"en": "#a " * 1600 + "x", "fr": "🎉 ici https://canada.ca " * 200}
    media = [image({"en": "IMG_" + "1" * 1400, "fr": "Image de " + "a" * 1400}), video({"en": "WEBVTT\n\n" * 500})]
    rules = [g.Rule(kind=k) for k in (RuleKind.ALT_TEXT, RuleKind.CAPTIONS, RuleKind.READING_LEVEL,
                                      RuleKind.HASHTAGS, RuleKind.EMOJI, RuleKind.LINK_TEXT)]
    start = time.perf_counter()
    g.evaluate(rules=rules, texts=texts, channels=[EN_MASTODON, FR_MASTODON], required_languages=["en", "fr"],
               media=media)
    assert time.perf_counter() - start < 2.0


def test_the_checks_panel_names_the_rules_and_shows_the_grade_in_the_readers_language():
    from django.template.loader import render_to_string

    from workflows.messages import display_results

    results = run(RuleKind.READING_LEVEL, {"fr": FR_PLAIN}, required_languages=["fr"], severity=Severity.WARN)
    results += run(RuleKind.ALT_TEXT, {"fr": FR_PLAIN}, required_languages=["fr"], media=[image({})])
    with translation.override("fr"):
        html = render_to_string("web/partials/checks.html", {"checks": display_results(results),
                                                             "preview": {"lengths": {}}})
    grade = str(results[0].params["grade"]).replace(".", ",")
    assert "Langage clair (niveau de lecture)" in html
    assert f"correspond au niveau scolaire {grade} (au plus 8)" in html  # shown although it passed
    assert "Chaque image décrite dans chaque langue" in html
    assert "L&#x27;image 1 n&#x27;a pas de texte de remplacement en français" in html
