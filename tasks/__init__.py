"""One package per pipeline stage: pure modules (arrays in, arrays out) plus a thin Prefect task."""
