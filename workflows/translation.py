"""Bilingual names (django-modeltranslation): each registered field gets `<field>_en` and
`<field>_fr` columns; reading `<field>` gives the active language's value, falling back to the
other official language when that one is blank."""
from modeltranslation.translator import TranslationOptions, register

from .models import Channel, EscalationRule, HoldingReply, Lane, LaneStep


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
