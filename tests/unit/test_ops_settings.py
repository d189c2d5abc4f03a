"""The operator's settings: log format, networks and token for metrics and readiness."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from app.settings import load_settings
from config import ConfigError


def test_production_logs_json_and_other_environments_readable_lines():
    assert load_settings("testing").log_format == "console"
    assert load_settings("testing", {"LOG_FORMAT": "json"}).log_format == "json"
    with pytest.raises(ConfigError, match="ASSENSO_LOG_FORMAT must be one of json, console"):
        load_settings("testing", {"LOG_FORMAT": "xml"})


def test_metrics_networks_default_to_this_machine_and_read_lists():
    assert load_settings("testing").ops_networks == (
        ip_network("127.0.0.0/8"),
        ip_network("::1/128"),
    )
    listed = load_settings("testing", {"OPS_NETWORKS": "10.0.0.0/8, 192.168.1.7"})
    assert listed.ops_networks == (ip_network("10.0.0.0/8"), ip_network("192.168.1.7/32"))
    assert load_settings("testing", {"OPS_NETWORKS": "none"}).ops_networks == ()
    with pytest.raises(ConfigError, match=r"ASSENSO_OPS_NETWORKS .*'10\.0\.0\.300/8'"):
        load_settings("testing", {"OPS_NETWORKS": "10.0.0.0/8,10.0.0.300/8"})


def test_the_token_is_long_and_never_shown():
    with pytest.raises(ConfigError, match="ASSENSO_OPS_TOKEN must be at least 16") as refused:
        load_settings("testing", {"OPS_TOKEN": "short-secret"})
    assert "short-secret" not in str(refused.value)
    settings = load_settings("testing", {"OPS_TOKEN": "x" * 32})
    assert "x" * 32 not in repr(settings)
