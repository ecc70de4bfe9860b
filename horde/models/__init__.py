"""ORM tables only. Importing this package registers every table on Base.metadata."""

from horde.models.cache_entry import CacheEntry
from horde.models.horde_state import HORDE_STATE_ID, HordeState
from horde.models.interrogation import Interrogation
from horde.models.job import Job
from horde.models.kudos import KudosEvent, KudosRollup
from horde.models.message import WorkerMessage
from horde.models.moderation import IPTimeout, PromptFilter, Suspicion
from horde.models.request import GenerationRequest, QueuedModel
from horde.models.retention import RetentionCursor
from horde.models.sharedkey import SharedKey
from horde.models.stats import DailyStat, GenerationStat, StatsCursor, TotalStat
from horde.models.style import Collection, CollectionStyle, Style, StyleExample
from horde.models.team import Team
from horde.models.user import ANONYMOUS_USER_ID, User
from horde.models.webhook import WebhookDelivery
from horde.models.worker import Worker

__all__ = [
    "CacheEntry",
    "ANONYMOUS_USER_ID",
    "Collection",
    "CollectionStyle",
    "SharedKey",
    "Style",
    "StyleExample",
    "DailyStat",
    "GenerationStat",
    "StatsCursor",
    "Suspicion",
    "TotalStat",
    "GenerationRequest",
    "HORDE_STATE_ID",
    "HordeState",
    "IPTimeout",
    "Interrogation",
    "Job",
    "KudosEvent",
    "KudosRollup",
    "PromptFilter",
    "QueuedModel",
    "RetentionCursor",
    "Team",
    "User",
    "WebhookDelivery",
    "Worker",
    "WorkerMessage",
]
