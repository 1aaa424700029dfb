"""The content-addressed artifact store: keys, atomic Zarr publishing, checksums and lineage."""

from artifacts.keys import file_sha256, stage_key
from artifacts.store import ArtifactRef, Store

__all__ = ["ArtifactRef", "Store", "file_sha256", "stage_key"]
