"""Imports and uploads as URLs name them (see stratify.tenancy.lookups)."""

from stratify.tenancy.lookups import ObjectLookup

from .selectors import import_get
from .services import upload_get

IMPORT = ObjectLookup(
    kwarg="pk",
    attr="job",
    find=lambda *, distributor, membership, key: import_get(distributor=distributor, number=int(key)),
    not_found="No such import.",
)
# An upload waiting for its mapping step: (metadata, path).
UPLOAD = ObjectLookup(
    kwarg="upload",
    attr="upload",
    find=lambda *, distributor, membership, key: (key, *upload_get(distributor=distributor, upload_id=key)),
    not_found="No such upload.",
)
