from tests.pages.conftest import _clear_cache  # noqa: F401  (per-run caches emptied around each test)
