"""Users' own policies, run like built-in rules at every enforcement point.

``cel`` holds the CEL engine (expressions in the dialect of ValidatingAdmissionPolicy:
``object``, ``oldObject``, ``request``, ``params``, ``namespaceObject``); ``loader`` reads
policy files into ``Rule`` values with file:line errors.
"""
