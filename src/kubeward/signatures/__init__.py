"""Cosign image signatures: who signed the image a Pod is about to run.

``cosign`` checks signature objects (both formats cosign writes) against public keys, with no
I/O; ``registry`` talks the OCI distribution API; ``verifier`` finds an image's signatures,
applies the configured policy and caches verdicts by digest; ``policy`` is that configuration.
"""
