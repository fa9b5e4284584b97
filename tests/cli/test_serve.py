"""Deployments: every flow registered, the nightly one on its cron in a configurable timezone."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cli.app import full_app
from flows.deployments import build_deployments
from schemas.params import NightlyParams

app = full_app()


def _schedules(deployment) -> list[tuple[str, str]]:
    return [(s.schedule.cron, s.schedule.timezone) for s in deployment.schedules]


def test_every_flow_is_a_deployment_and_nightly_runs_at_two_by_default() -> None:
    deployments = {d.name: d for d in build_deployments(NightlyParams())}
    assert set(deployments) == {"ingest", "ingest-and-gate", "build-dataset", "nightly"}
    assert _schedules(deployments["nightly"]) == [("0 2 * * *", "UTC")]
    assert not deployments["ingest"].schedules
    ingest_form = deployments["ingest"]._parameter_openapi_schema.model_dump()["properties"]
    assert {"params", "runner"} <= set(ingest_form)
    dataset_form = deployments["build-dataset"]._parameter_openapi_schema.model_dump()["properties"]
    assert {"params", "names", "runner"} <= set(dataset_form)  # every task dataset, or the ones named


def test_the_timezone_applies_to_every_schedule() -> None:
    deployments = {
        d.name: d for d in build_deployments(NightlyParams(cron="15 3 * * *", timezone="Europe/Berlin"), "30 1 * * *")
    }
    assert _schedules(deployments["nightly"]) == [("15 3 * * *", "Europe/Berlin")]
    assert _schedules(deployments["ingest"]) == [("30 1 * * *", "Europe/Berlin")]


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--timezone", "Mars/Base"], "Invalid timezone"), (["--nightly-cron", "at two"], "Invalid cron string")],
)
def test_serve_rejects_a_bad_schedule_before_starting(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["serve", *args])
    assert result.exit_code == 2
    assert message in result.output
