"""Per-connection settings of an ``h2`` connection, for the client and for s2-local alike."""

from __future__ import annotations

from typing import Any

import h2.connection
from h2.frame_buffer import FrameBuffer
from hyperframe.frame import FRAMES, Frame

__all__ = ["H2_MAX_FRAME_SIZE", "quiet_frames"]

H2_MAX_FRAME_SIZE = 256 * 1024
"""The largest HTTP/2 frame to accept (advertised as SETTINGS_MAX_FRAME_SIZE): a 1 MiB
read batch travels in 4 frames instead of 64."""


def _quiet_class(cls: type[Frame]) -> type[Frame]:
    def __repr__(self: Frame) -> str:
        return f"{type(self).__name__}(stream_id={self.stream_id})"

    return type(cls.__name__, (cls,), {"__repr__": __repr__, "__module__": __name__})


_QUIET: dict[type[Frame], type[Frame]] = {cls: _quiet_class(cls) for cls in FRAMES.values()}


class _QuietFrameBuffer(FrameBuffer):
    """Yields frames whose ``repr`` does not hex-encode their payload."""

    def __next__(self) -> Frame:
        frame = super().__next__()
        quiet = _QUIET.get(frame.__class__)
        if quiet is not None:
            frame.__class__ = quiet
        return frame


def quiet_frames(conn: h2.connection.H2Connection) -> None:
    """Spare ``conn`` the ``repr`` h2 builds of every frame it receives for its trace log
    (a hex dump of each DATA payload, built even when nothing logs it: a tenth of a read's
    CPU). Call it on a new connection, before it receives anything; nothing global changes.
    """
    buffer = _QuietFrameBuffer(server=not conn.config.client_side)
    buffer.max_frame_size = conn.incoming_buffer.max_frame_size
    conn.incoming_buffer = buffer
    table: dict[type[Frame], Any] = conn._frame_dispatch_table
    for cls, quiet in _QUIET.items():
        if cls in table:
            table[quiet] = table[cls]
