"""Persistence: in memory (:class:`Store`) or a write-ahead log on disk (:class:`DiskStore`)."""

from s2_local.storage.memory import AppendEntry, Store
from s2_local.storage.wal import CorruptLog, DataDirInUse, DiskStore

__all__ = ["AppendEntry", "CorruptLog", "DataDirInUse", "DiskStore", "Store"]
