"""Multi-tenancy: every tenant-owned row carries its distributor and every query runs in a scope.

- `TenantOwnedModel`: the abstract base; its manager raises when no scope is active (django-scopes).
- `TenantMiddleware`: resolves `/<tenant>/...` pages, checks the membership, renders inside the scope.
- `api.TenantApiView`: the same for `/api/v1/tenants/<tenant>/...` endpoints.
- `permissions`: which role may do what, as data, used by pages and API alike.
"""
