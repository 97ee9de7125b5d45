"""The demo morning's images (issue 22): small PNG infographics drawn with Pillow at seed time
(no binary file in the repository), attached to official posts through the same services a person
uses (their action objects) — uploaded (services.media.medium_upload: type read from the content, re-encoded), described
in both languages, reviewed. One post's French description is missing: the pre-screen blocks its
submission, and its page says so."""
from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw

from . import actions
from .exceptions import GuidelineViolation
from .services.media import medium_upload

#: (file name, title, bars: (label, value)), drawn as a bar chart.
CHARTS = {
    "wait-times": ("passport-wait-times.png", [("2023", 20), ("2024", 14), ("2025", 8)]),
    "visits": ("office-visits.png", [("Mon", 42), ("Tue", 35), ("Wed", 30), ("Thu", 38), ("Fri", 25)]),
    "clinics": ("flu-clinics.png", [("East", 6), ("West", 4), ("North", 3)]),
}

POSTS = [
    # (chart, English text, French text, English alt, French alt or "" (missing), what happens)
    ("wait-times",
     "Good news: passport wait times are down to 8 days. Apply online at https://www.canada.ca/en.html",
     "Bonne nouvelle : l'attente pour un passeport est passée à 8 jours. Faites votre demande en ligne sur "
     "https://www.canada.ca/fr.html",
     "Bar chart of passport wait times: 20 days in 2023, 14 days in 2024 and 8 days in 2025.",
     "Graphique à barres de l'attente pour un passeport : 20 jours en 2023, 14 jours en 2024 et 8 jours en 2025.",
     "review"),
    ("visits",
     "Plan your visit: our offices are quietest on Fridays.",
     "Planifiez votre visite : nos bureaux sont plus calmes le vendredi.",
     "Bar chart of visits to our offices by weekday: busiest on Monday with 42 visits, quietest on Friday with 25.",
     "Graphique à barres des visites dans nos bureaux selon le jour : le lundi est le plus occupé avec 42 visites, "
     "le vendredi le plus calme avec 25.",
     "sign_off"),
    ("clinics",
     "Flu clinics this week: six in the east end, four in the west end and three in the north end.",
     "Cliniques de vaccination cette semaine : six dans l'est, quatre dans l'ouest et trois dans le nord.",
     "Bar chart of flu clinics this week: six in the east end, four in the west end, three in the north end.",
     "",  # the French description is missing: the pre-screen blocks the submission
     "blocked"),
]


def chart_png(bars: list[tuple[str, int]], *, size: tuple[int, int] = (480, 270)) -> bytes:
    """A small bar chart (PNG), drawn with Pillow's built-in font."""
    width, height = size
    img = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(img)
    top = max(v for _label, v in bars) or 1
    slot = (width - 40) // len(bars)
    for i, (label, value) in enumerate(bars):
        x0 = 30 + i * slot + slot // 6
        x1 = 30 + (i + 1) * slot - slot // 6
        y0 = height - 40 - int((height - 80) * value / top)
        draw.rectangle((x0, y0, x1, height - 40), fill=(38, 55, 74))
        draw.text((x0, height - 32), label, fill=(0, 0, 0))
        draw.text((x0, y0 - 14), str(value), fill=(0, 0, 0))
    draw.line((20, height - 40, width - 10, height - 40), fill=(0, 0, 0), width=2)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def seed_media_posts(*, dana, rami, tess) -> dict[str, int]:
    """Official posts with images: one waiting at review, one at sign-off (French written at the
    translation step), one draft whose French alternative text is missing (blocked at submit).
    Returns {what happens: post id}."""
    out = {}
    for chart, en, fr, alt_en, alt_fr, fate in POSTS:
        name, bars = CHARTS[chart]
        medium = medium_upload(by=dana, upload=SimpleUploadedFile(name, chart_png(bars), content_type="image/png"))
        texts = {"en": en, "fr": fr} if fate != "sign_off" else {"en": en}
        post = actions.CREATE.execute(
            author=dana, kind="post", channels=["dpe-en", "dpe-fr"], texts=texts, rules_acknowledged=True,
            media=[{"medium": medium.id, "language": "", "alt_text": {"en": alt_en, **({"fr": alt_fr} if alt_fr and
                                                                                      fate != "sign_off" else {})}}])
        out[fate] = post.id
        if fate == "blocked":
            try:
                actions.SUBMIT.execute(post_id=post.id, by=dana)
            except GuidelineViolation:
                pass  # the demo's point: it stays a draft, its page shows why
            continue
        actions.SUBMIT.execute(post_id=post.id, by=dana)
        if fate == "sign_off":
            actions.APPROVE.execute(post_id=post.id, by=rami, comment="Useful for planning.")
            actions.TRANSLATE.execute(post_id=post.id, by=tess, language="fr", text=fr,
                                      media=[{"position": 0, "alt_text": alt_fr}])
            actions.APPROVE.execute(post_id=post.id, by=tess)
    return out
