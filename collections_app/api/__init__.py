"""The integration API, v1: `v1.api` is the NinjaAPI (mounted at /api/v1/ by config.urls), `auth` its bearer
tokens, `errors` its one error body, `schemas` the shared request and response types, `lookups` the reference
lookups the area routers share. Each area's endpoints live in its own `api.py` router, which `v1` mounts."""
