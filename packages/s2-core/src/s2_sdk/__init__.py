"""S2 for Python: the client for S2, the durable streams API.

The low-level wire codec shared with s2-local lives in :mod:`s2_sdk.protocol`.
"""

from importlib.metadata import version as _version

__version__ = _version("s2-core")

__all__ = ["__version__"]
