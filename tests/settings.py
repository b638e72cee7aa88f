"""The test suite's settings: the project's, with what only tests want, in one place.

pytest reads them (``DJANGO_SETTINGS_MODULE`` in pyproject.toml); servers and commands the tests start
in processes of their own run with ``flowadmin.settings``, as users run them.
"""

import atexit
import shutil
import tempfile

from flowadmin.settings import *  # noqa: F403

# Tests create many users; hashing their passwords the production way costs most of a test's time and
# proves nothing (the login tests check what a login accepts, not how slowly).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# `manage.py flush` after each transactional test runs in one transaction (tests/flushing).
INSTALLED_APPS = ["tests.flushing", *INSTALLED_APPS]  # noqa: F405 - first, so that its command wins

# The cache of what pages derive from documents: files, as by default, but this test process's own.
_documents_cache = tempfile.mkdtemp(prefix="flowadmin-documents-")
atexit.register(shutil.rmtree, _documents_cache, ignore_errors=True)
CACHES = {
    **CACHES,  # noqa: F405
    "documents": {**CACHES["documents"], "LOCATION": _documents_cache},  # noqa: F405
}
