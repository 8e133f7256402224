"""prodcon's reference producer-consumer implementation: the known-good answer.

The conformance suite uses it for whatever role a module under test does not
provide, and it is meant to be read as a worked example.
"""

from .bounded_queue import Empty, Full, Queue, ShutDown
from .pipeline import run_pipeline
from .workers import SENTINEL, consumer, producer

__version__ = "0.1.0"

__all__ = [
    "Empty",
    "Full",
    "Queue",
    "SENTINEL",
    "ShutDown",
    "consumer",
    "producer",
    "run_pipeline",
]
