from .audit import AuditChainHead, AuditCheckpoint, AuditEvent
from .caretaker import CaretakerPeriod
from .channel import Channel, ChannelGroupObjectPermission, ChannelUserObjectPermission
from .export import AtipExport
from .inbound import HoldingReply, InboundMessage, ReplyDelivery
from .lane import EscalationRule, GuidelineRule, Lane, LaneStep
from .listening import Engagement, ListeningCursor, ListeningStream
from .media import MediaKind, Medium, PostMedium
from .outbox import IdempotencyRecord, OutboxEvent, WebhookSubscription
from .outside_review import OutsideInvitation
from .post import Decision, Post, PostReview, PostRevision, PostText
from .publication import Publication

__all__ = [
    "AtipExport",
    "AuditChainHead",
    "AuditCheckpoint",
    "AuditEvent",
    "CaretakerPeriod",
    "Channel",
    "ChannelGroupObjectPermission",
    "ChannelUserObjectPermission",
    "Decision",
    "Engagement",
    "EscalationRule",
    "GuidelineRule",
    "HoldingReply",
    "IdempotencyRecord",
    "InboundMessage",
    "Lane",
    "LaneStep",
    "MediaKind",
    "Medium",
    "ListeningCursor",
    "ListeningStream",
    "OutboxEvent",
    "OutsideInvitation",
    "Post",
    "PostMedium",
    "PostReview",
    "PostRevision",
    "PostText",
    "Publication",
    "ReplyDelivery",
    "WebhookSubscription",
]
