"""Fixtures shared by the whole suite."""

import pytest
from django.contrib.auth.models import Group

from flowadmin.accounts.roles import APPROVERS_GROUP, AUDITORS_GROUP, STAFF_GROUP, ensure_roles
from tests.fixtures.emulator import emulator, emulator_quick  # noqa: F401


def make_user(django_user_model, username: str, group_name: str | None = None, **extra):
    user = django_user_model.objects.create_user(username=username, password="pw-" + username, **extra)
    if group_name:
        group = Group.objects.filter(name=group_name).first()
        if group is None:  # migrate made the roles; a test that removed them gets them back
            ensure_roles()
            group = Group.objects.get(name=group_name)
        user.groups.add(group)
    return user


@pytest.fixture(autouse=True)
def _tasks_run_in_process(settings):
    """Background tasks run at once in the test's own process (django-q2's sync mode), so a test of a
    service or a view sees their effect when the call returns. The tests of the worker itself
    (tests/tasks, tests/reliability/test_worker_crash.py) start real `manage.py qcluster` processes."""
    settings.FLOWADMIN_TASKS_SYNC = True


@pytest.fixture(autouse=True)
def _no_live_lookup(settings):
    """No Flow Service answers outside the tests that run the emulator (its fixture turns live lookups of
    uncached connection spec ids back on): an unknown id is refused as the cache alone judges it."""
    settings.FLOWADMIN_LOOKUP_MAX = 0


@pytest.fixture(autouse=True)
def _empty_process_cache():
    """What one test kept in the process's cache (ids a lookup found unknown, ...) is not the next one's."""
    from django.core.cache import cache, caches

    cache.clear()
    caches["documents"].clear()
    yield
    cache.clear()
    caches["documents"].clear()


@pytest.fixture
def staff_user(db, django_user_model):
    return make_user(django_user_model, "staff", STAFF_GROUP)


@pytest.fixture
def other_staff_user(db, django_user_model):
    return make_user(django_user_model, "staff2", STAFF_GROUP)


@pytest.fixture
def approver_user(db, django_user_model):
    return make_user(django_user_model, "approver", APPROVERS_GROUP)


@pytest.fixture
def second_approver(db, django_user_model):
    return make_user(django_user_model, "approver2", APPROVERS_GROUP)


@pytest.fixture
def superuser(db, django_user_model):
    return django_user_model.objects.create_superuser("root", email="root@example.com", password="pw-root")


@pytest.fixture
def auditor_user(db, django_user_model):
    return make_user(django_user_model, "auditor", AUDITORS_GROUP)


@pytest.fixture
def viewer_user(db, django_user_model):
    return make_user(django_user_model, "viewer")


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def approver_client(client, approver_user):
    client.force_login(approver_user)
    return client


@pytest.fixture
def auditor_client(client, auditor_user):
    client.force_login(auditor_user)
    return client


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker, django_db_modify_db_settings):
    """pytest-django's, with each process's test database copied from the migrated template the servers
    copy (`tests.fixtures.databases.test_databases_copied`) rather than migrated from nothing."""
    from django.test.utils import setup_databases, teardown_databases

    from tests.fixtures.databases import test_databases_copied

    verbosity = request.config.option.verbose
    with django_db_blocker.unblock(), test_databases_copied():
        # No test asks for serialized_rollback: nothing to serialize.
        config = setup_databases(verbosity=verbosity, interactive=False, serialized_aliases=set())
    yield
    with django_db_blocker.unblock():
        teardown_databases(config, verbosity=verbosity)


@pytest.fixture(autouse=True, scope="session")
def _audit_development_paths(tmp_path_factory):
    """The suite never writes checkpoint files or a development key into the project's folder."""
    from django.conf import settings

    kept = settings.AUDIT_CHECKPOINT_DIR, settings.AUDIT_DEV_KEY_FILE
    settings.AUDIT_CHECKPOINT_DIR = ""
    settings.AUDIT_DEV_KEY_FILE = tmp_path_factory.mktemp("audit-dev") / "signing-key"
    yield
    settings.AUDIT_CHECKPOINT_DIR, settings.AUDIT_DEV_KEY_FILE = kept


@pytest.fixture(autouse=True)
def _audit_log_emptied_before_flush(request):
    """Transactional tests end with a flush, a TRUNCATE, which PostgreSQL's append-only triggers
    refuse while the audit log holds events or checkpoints: empty them first, triggers off for that moment."""
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")))
    transactional = transactional or any(name in request.fixturenames for name in ("transactional_db", "live_server"))
    if transactional:
        request.getfixturevalue("transactional_db")  # set up inside this fixture, so flushed after its teardown
    yield
    from django.db import connection, transaction

    if transactional and connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cursor:
            for table in ("audit_event", "audit_checkpoint"):
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - constant table names
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def pytest_collection_modifyitems(config, items):
    """The order files are handed out to the parallel workers (see `pytest_xdist_make_scheduler`): first
    the browser journeys; then the reliability tests, which mostly wait on processes of their own
    (timeouts, redeliveries, a load run), so their waits overlap the others' work; then the rest, so the
    many short files fill in at the end."""
    items.sort(key=lambda item: {BROWSER: 0, RELIABILITY: 1}.get(_package(item.nodeid), 2))


BROWSER, RELIABILITY = "tests/e2e/", "tests/reliability/"
BROWSERS_AT_ONCE = 2


def _package(nodeid: str) -> str:
    return next((package for package in (BROWSER, RELIABILITY) if nodeid.startswith(package)), "")


def pytest_xdist_make_scheduler(config, log):
    """With `-n N --dist loadfile`: a file's tests stay together, files are handed out in the order given
    above, and browser journeys run in at most two workers at a time (one with `-n 2`); the others take
    the next file that needs no browser. Each journey drives a live server and Chromium; three of them
    at once on a two-core machine starve each other's timing (a keystroke's debounce, a download, a
    layout measured mid-paint). A worker closes its Chromium when it leaves the browser tests' package."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class FewBrowsersAtOnce(LoadFileScheduling):
        def _assign_work_unit(self, node) -> None:
            limit = max(1, min(BROWSERS_AT_ONCE, len(self.nodes) - 1))
            others = sum(
                1
                for other, scopes in self.assigned_work.items()
                if other is not node
                and any(scope.startswith(BROWSER) and not all(tests.values()) for scope, tests in scopes.items())
            )
            if others >= limit and next(iter(self.workqueue)).startswith(BROWSER):
                plain = next((scope for scope in self.workqueue if not scope.startswith(BROWSER)), None)
                if plain is not None:  # none left: the browser file goes on (only near the end)
                    self.workqueue.move_to_end(plain, last=False)
            super()._assign_work_unit(node)

    return FewBrowsersAtOnce(config, log)


def pytest_sessionfinish(session):
    """At the end of the run (in its main process): drop the migrated PostgreSQL template the servers copied."""
    import os

    from tests.fixtures.databases import postgres_template_drop

    if not os.environ.get("PYTEST_XDIST_WORKER"):
        postgres_template_drop(os.environ.get("DATABASE_URL", ""))
