"""A small handler that uses a native dependency (pydantic) and numpy."""

import numpy as np
from pydantic import BaseModel


class Event(BaseModel):
    values: list[float]


def lambda_handler(event, context):
    e = Event.model_validate(event)
    return {"mean": float(np.mean(e.values)) if e.values else None}
