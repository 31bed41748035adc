"""Metadata as Prometheus-style labels: one rule for the metrics and for Alertmanager alerts."""

from __future__ import annotations

import json
import re
from typing import Any

BASE_LABELS = ("contract", "owner", "warehouse", "severity")
_LABEL_OK = re.compile(r"[^a-zA-Z0-9_]")


def label_name(key: str) -> str:
    """A metadata key as a Prometheus label name (`team-name` → `team_name`)."""
    name = _LABEL_OK.sub("_", key)
    if not name or name[0].isdigit() or name.startswith("__"):
        name = "metadata_" + name.lstrip("_")
    if name in (*BASE_LABELS, "level", "status", "replica", "le"):
        name = "metadata_" + name
    return name


def label_value(value: Any) -> str:
    """A metadata value as label text: strings as they are, the rest as JSON (`false`)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)
