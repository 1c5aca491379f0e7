"""Logic shared by several rule families (image references, secret detectors)."""
