"""The content-addressed artifact store: keys, atomic Zarr publishing, checksums and lineage.

Import the modules (artifacts.store, artifacts.remote ...): this package imports nothing, so a
light one (artifacts.files) does not pull in zarr."""
