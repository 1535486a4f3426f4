"""Stream configs follow one table of fields: what parses, writes back, merges and patches."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from s2_local.engine.config import (
    SYSTEM_DEFAULTS,
    StreamConfig,
    Timestamping,
    parse_stream_config,
    parse_stream_patch,
)

configs = st.fixed_dictionaries(
    {},
    optional={
        "storage_class": st.none() | st.sampled_from(["standard", "express"]),
        "retention_policy": st.none()
        | st.just({"infinite": {}})
        | st.builds(lambda a: {"age": a}, st.integers(1, 2**40)),
        "timestamping": st.none()
        | st.fixed_dictionaries(
            {},
            optional={
                "mode": st.none() | st.sampled_from(["client-prefer", "client-require", "arrival"]),
                "uncapped": st.none() | st.booleans(),
            },
        ),
        "delete_on_empty": st.none()
        | st.fixed_dictionaries({}, optional={"min_age_secs": st.none() | st.integers(0, 2**40)}),
    },
)


@given(configs)
def test_a_config_writes_back_what_it_read(raw: dict[str, Any]) -> None:
    config = parse_stream_config(raw)
    assert parse_stream_config(config.to_json()) == config


@given(configs, configs)
def test_a_full_patch_sets_exactly_what_it_names(base: dict[str, Any], raw: dict[str, Any]) -> None:
    patched = parse_stream_patch(raw).apply(parse_stream_config(base))
    for key in ("storage_class", "retention_policy"):
        if key in raw:
            assert getattr(patched, key) == getattr(parse_stream_config({key: raw[key]}), key)
        else:
            assert getattr(patched, key) == getattr(parse_stream_config(base), key)
    if raw.get("timestamping", 0) is None:
        assert patched.timestamping == Timestamping()


def test_defaults_and_the_wire_form() -> None:
    config = parse_stream_config({"timestamping": {"uncapped": True}, "delete_on_empty": {}})
    assert config == StreamConfig(
        timestamping=Timestamping(uncapped=True), delete_on_empty_min_age=0
    )
    assert config.to_json() == {
        "storage_class": None,
        "retention_policy": None,
        "timestamping": {"mode": None, "uncapped": True},
        "delete_on_empty": {"min_age_secs": 0},
    }
    resolved = config.resolved(StreamConfig(retention_policy="infinite"))
    assert resolved.retention_policy == "infinite" and resolved.retention_secs is None
    assert resolved.timestamping == Timestamping(mode="client-prefer", uncapped=True)
    assert resolved.storage_class == SYSTEM_DEFAULTS.storage_class
