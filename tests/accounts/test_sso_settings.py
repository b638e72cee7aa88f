"""Single sign-on settings as a deployment gives them: a separate process with the variables set."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from tests.project.test_health_and_security import _production_env

ROOT = Path(django_settings.BASE_DIR)
SSO = {
    "OIDC_ISSUER": "https://login.example.com/realms/acme/",
    "OIDC_CLIENT_ID": "flowadmin",
    "OIDC_CLIENT_SECRET": "a-secret-from-the-environment",
    "OIDC_ROLE_MAP": "aep-onboarding=staff,aep-approvers=approver,aep-auditors=auditor",
    "LOCAL_LOGIN": "superusers",
}


def environment(**extra) -> dict:
    """Production variables (and none of the developer's own OIDC_* or LOCAL_LOGIN), then ``extra``."""
    env = {key: value for key, value in _production_env().items() if not key.startswith(("OIDC_", "LOCAL_LOGIN"))}
    return {**env, **extra}


def run(*args, **extra) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=environment(**extra), capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_single_sign_on_configured():
    result = run("manage.py", "check", "--deploy", "--fail-level", "WARNING", **SSO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_about_a_provider_reached_over_plain_http():
    result = run(
        "manage.py", "check", "--deploy", "--fail-level", "WARNING", **{**SSO, "OIDC_ISSUER": "http://idp:8080"}
    )
    assert result.returncode != 0
    assert "flowadmin.W101" in result.stderr + result.stdout


def test_the_settings_keep_the_issuer_the_map_and_a_policy_that_lets_logout_reach_the_provider():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.OIDC_ISSUER); print(s.OIDC_PROVIDER_NAME); print(sorted(s.OIDC_ROLE_MAP['aep-approvers'])); "
        "print(s.CONTENT_SECURITY_POLICY['DIRECTIVES']['form-action']); print(s.LOCAL_LOGIN)"
    )
    result = run("-c", code, **SSO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "https://login.example.com/realms/acme",
        "login.example.com",
        "['Approvers']",
        "[\"'self'\", 'https://login.example.com']",
        "superusers",
    ]


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"OIDC_CLIENT_SECRET": ""}, "OIDC_CLIENT_ID and OIDC_CLIENT_SECRET are required"),
        ({"OIDC_ROLE_MAP": "aep-admins=Admins"}, "OIDC_ROLE_MAP: 'Admins' (for 'aep-admins') is not a role"),
        ({"LOCAL_LOGIN": "sometimes"}, "LOCAL_LOGIN must be one of on, off, superusers"),
        ({"OIDC_TOKEN_AUTH": "jwt"}, "OIDC_TOKEN_AUTH must be basic or post"),
        ({"OIDC_ISSUER": "", "LOCAL_LOGIN": "off"}, "LOCAL_LOGIN=off needs single sign-on (OIDC_ISSUER)"),
    ],
)
def test_a_server_with_unusable_sso_settings_refuses_to_start_and_says_why(variables, message):
    result = run("manage.py", "check", **{**SSO, **variables})
    assert result.returncode != 0
    assert message in result.stderr
    assert SSO["OIDC_CLIENT_SECRET"] not in result.stderr + result.stdout


def test_without_sso_settings_password_login_stays_on_and_false_switches_it_off():
    code = "import django; django.setup(); from django.conf import settings as s; print(s.LOCAL_LOGIN)"
    assert run("-c", code).stdout.split() == ["on"]
    assert run("-c", code, **{**SSO, "LOCAL_LOGIN": "false"}).stdout.split() == ["off"]
