"""The JSON body: the direct rendering of common records matches the JSON encoder's."""

from __future__ import annotations

import json
from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st
from s2_logging._format import _render_full, render_event

optional_text = st.none() | st.text()
optional_int = st.none() | st.integers(min_value=0, max_value=2**64)
trace = st.none() | st.tuples(
    st.integers(1, 2**128 - 1), st.integers(1, 2**64 - 1), st.integers(0, 255)
)


@given(
    created=st.floats(min_value=0, max_value=4e9),
    level=st.text(),
    logger=st.text(),
    message=st.text(),
    process=optional_int,
    thread=optional_int,
    thread_name=optional_text,
    active=trace,
)
def test_direct_rendering_matches_the_encoder(
    created: float,
    level: str,
    logger: str,
    message: str,
    process: int | None,
    thread: int | None,
    thread_name: str | None,
    active: tuple[int, int, int] | None,
) -> None:
    event = (
        created,
        level,
        logger,
        message,
        None,
        None,
        None,
        process,
        thread,
        thread_name,
        active,
    )
    direct = render_event(event)
    assert direct == _render_full(event)
    parsed = json.loads(direct)
    assert parsed["message"] == message and parsed["thread_name"] == thread_name
    assert abs(datetime.fromisoformat(parsed["timestamp"]).timestamp() - created) < 1e-5
