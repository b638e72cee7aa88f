"""`make bench`: pages, preview, audit search, sync, load and memory of flowadmin, measured in one run.

Run with ``python -m bench`` (``--help`` for the options). Not part of the test suite.
"""
