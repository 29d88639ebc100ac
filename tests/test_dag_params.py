"""The trigger form's params: what Airflow 3.3 validates and how its UI draws them (no scheduler).

The UI (airflow/ui, FlexibleForm) marks a param required when its schema's type does not include "null",
draws a "boolean" as an on/off toggle and a string with an enum as a choice. Param validation is
jsonschema with a format checker, in the SDK (Param.resolve) and on the server (SerializedParamsDict,
which validates a triggered run's conf).
"""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import ParamValidationError
from airflow.serialization.serialized_objects import DagSerialization

from seedlib.config import load_config
from seedlib.run import split_params
from tests.test_dag import load_bag


@pytest.fixture
def dag():  # a fresh DAG per test: Param.resolve(value) keeps the value it validated
    return load_bag().dags["seed_snapshot"]


def test_snapshot_date_must_be_a_real_date(dag):
    param = dag.params.get_param("snapshot_date")
    for bad in ("2026-13-40", "2026-02-30", "2026-5-1", "yesterday"):
        with pytest.raises(ParamValidationError):
            param.resolve(bad)
    assert param.resolve("2026-05-01") == "2026-05-01"
    assert param.resolve(None) is None
    # The API server validates a triggered run's conf with the serialized DAG's params: the same schema.
    served = DagSerialization.from_dict(DagSerialization.to_dict(dag)).params
    with pytest.raises(Exception, match="is not a 'date'"):
        served.deep_merge({"snapshot_date": "2026-13-40"}).validate()
    assert served.deep_merge({"snapshot_date": "2026-05-01"}).validate()["snapshot_date"] == "2026-05-01"


@pytest.mark.parametrize("name", ["sources", "languages"])
def test_list_params_are_optional(dag, name):
    param = dag.params.get_param(name)
    assert "null" in param.schema["type"]  # not marked required in the form
    assert param.resolve(None) is None and param.resolve([]) == [] and param.resolve(["x"]) == ["x"]


def test_no_param_is_falsely_required(dag):
    """A param whose empty value means "the default" must not be marked required, as the UI decides it."""

    def required(schema: dict) -> bool:
        kind = schema.get("type")
        return bool(kind) and (isinstance(kind, str) or "null" not in kind)

    empty_by_default = [name for name in dag.params if dag.params.get_param(name).value in (None, "", [])]
    assert {"snapshot_date", "sources", "languages", "max_file_bytes", "storage"} <= set(empty_by_default)
    assert [name for name in empty_by_default if required(dag.params.get_param(name).schema)] == []


def test_dedup_choice_maps_to_the_nullable_boolean(dag):
    param = dag.params.get_param("dedup_against_published")
    assert param.schema["type"] == "string"  # a choice, not a toggle
    assert param.schema["enum"] == ["configured", "true", "false"]
    assert set(param.schema["values_display"]) == set(param.schema["enum"])
    assert param.resolve() == "configured"
    with pytest.raises(ParamValidationError):
        param.resolve("maybe")

    for choice, expected in {"configured": None, "true": True, "false": False}.items():
        overrides, _ = split_params({"dedup_against_published": choice, "sources": [], "languages": None})
        assert overrides.get("dedup_against_published", None) is expected
        assert "sources" not in overrides and "languages" not in overrides  # empty = configured default
        config = load_config(overrides, {"SEED_DEDUP_AGAINST_PUBLISHED": "false"})
        assert config.dedup.against_published is (False if expected is None else expected)
