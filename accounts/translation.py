"""Bilingual organisation and team names (django-modeltranslation): `name_en` / `name_fr`; `name` reads the
active language's, falling back to the other."""
from modeltranslation.translator import TranslationOptions, register

from .models import Organisation, Team


@register(Team)
class TeamTranslation(TranslationOptions):
    fields = ("name",)


@register(Organisation)
class OrganisationTranslation(TranslationOptions):
    fields = ("name",)
