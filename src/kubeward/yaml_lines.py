"""Lines of paths in composed YAML, for messages that point at the right line.

Shared by everything that validates a YAML document it reads itself (kubeward.yaml, policy
files, policy tests).
"""

from __future__ import annotations

from collections.abc import Sequence

import yaml


def node_line(root: yaml.Node | None, path: Sequence[str | int]) -> int | None:
    """Line of a path in a composed YAML tree (for error messages)."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == part:
                    node, line = value, key.start_mark.line + 1
                    break
            else:
                return line
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line
