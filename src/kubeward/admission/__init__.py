"""Admission control: the catalog's object-scope rules as a validating webhook.

``review`` (an AdmissionReview in, a verdict out; pure apart from JSON) and ``server`` (the
HTTPS ASGI app, certificate reloading, metrics). What each rule does at admission and who is
exempt is ``kubeward.model.enforcement`` (read from ``admission:`` in kubeward.yaml).
"""
