"""Bilingual names (django-modeltranslation): each registered field gets `<field>_en` and
`<field>_fr` columns; reading `<field>` gives the active language's value, falling back to the
other official language when that one is blank."""
from modeltranslation.translator import TranslationOptions, register

from .models import Channel, EscalationRule, HoldingReply, Lane, LaneStep, PostMedium


@register(Lane)
class LaneTranslation(TranslationOptions):
    fields = ("name",)


@register(LaneStep)
class LaneStepTranslation(TranslationOptions):
    fields = ("name",)


@register(Channel)
class ChannelTranslation(TranslationOptions):
    fields = ("name",)


@register(HoldingReply)
class HoldingReplyTranslation(TranslationOptions):
    fields = ("name",)


@register(EscalationRule)
class EscalationRuleTranslation(TranslationOptions):
    """The reason shown to an author whose reply was escalated, in each official language."""

    fields = ("reason",)


@register(PostMedium)
class PostMediumTranslation(TranslationOptions):
    """A medium's alternative text and captions, one per official language. No fallback: a
    missing French description is missing (the pre-screen says so), never the English one."""

    fields = ("alt_text", "captions")
    fallback_languages = {"default": ()}
