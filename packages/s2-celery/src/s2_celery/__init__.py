"""s2-celery: a Celery result backend on S2 streams.

Example::

    app = Celery("tasks", broker="redis://localhost:6379/0",
                 backend="s2://:<token>@my-basin/celery-results")

The backend is also registered as ``s2`` in the ``celery.result_backends`` entry points.
"""

from importlib.metadata import version as _version

from s2_celery.backend import S2Backend
from s2_celery.events import S2EventDispatcher, S2EventReceiver, S2Events

__version__ = _version("s2-celery")

__all__ = ["S2Backend", "S2EventDispatcher", "S2EventReceiver", "S2Events", "__version__"]
