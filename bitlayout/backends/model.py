"""The model backend: the pure Python predictions (``bitlayout.bitmap``, ``tagging``, ``layout``).

It observes nothing; its rows are each check's prediction and the hazards the
model alone can name (``checks.model_row``).  Registered so that it is listed,
ordered and selected like every other backend.
"""

from __future__ import annotations

from ..results import Backend
from .base import Observer, Observes, register


@register
class ModelBackend(Observer):
    name = Backend.MODEL
    observes = Observes.NOTHING
    order = 0
