"""The `emulator_faults` and `emulator_log` management commands."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from flowadmin.emulator.models import FaultRule
from flowadmin.emulator.services import request_log_record

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_emulator_faults_adds_lists_and_clears_rules():
    added = json.loads(
        run("emulator_faults", "add", '{"action": "respond", "method": "PUT", "status": 503, "times": 1}')
    )
    assert (added["action"], added["method"], added["status"], added["times"]) == ("respond", "PUT", 503, 1)
    listed = [json.loads(line) for line in run("emulator_faults", "list").splitlines()]
    assert listed == [added]
    assert "Removed 1 fault rule(s)." in run("emulator_faults", "clear")
    assert run("emulator_faults", "list") == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add",), "needs the rule"),
        (("add", "{nope"), "not valid JSON"),
        (("add", '{"action": "explode"}'), "'action' must be one of"),
    ],
)
def test_emulator_faults_refuses_a_bad_rule_and_adds_nothing(args, message):
    with pytest.raises(CommandError, match=message):
        run("emulator_faults", *args)
    assert not FaultRule.objects.exists()


def test_emulator_log_prints_filters_and_clears_the_log():
    request_log_record(
        method="GET", path="/data/foundation/flowservice/flowSpecs", sandbox="dev", status=200, request_id="a"
    )
    request_log_record(
        method="PUT",
        path="/data/foundation/flowservice/flowSpecs/x",
        sandbox="prod",
        status=None,
        request_id="b",
        fault="drop",
    )
    lines = run("emulator_log").splitlines()
    assert len(lines) == 2
    assert "GET" in lines[0] and "200" in lines[0] and "dev" in lines[0]
    assert "[fault: drop]" in lines[1]
    assert [json.loads(line)["sandbox"] for line in run("emulator_log", "--json", "--method", "put").splitlines()] == [
        "prod"
    ]
    assert run("emulator_log", "--sandbox", "dev", "--path", "*/flowSpecs").count("\n") == 1
    assert "Removed 2 log entries." in run("emulator_log", "--clear")
    assert run("emulator_log") == ""
