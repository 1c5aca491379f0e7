"""Benchmark: the cost of one CEL evaluation, plain and with the Kubernetes CEL libraries.

    python bench/cel_bench.py

Each expression is compiled once and evaluated on a Pod with two containers (or a Service, a
ConfigMap) in a loop; the best of 5 rounds of 3,000 evaluations is reported, in µs.
"""

from __future__ import annotations

import platform
import time
from typing import Any

from kubeward.policies.cel import Expression

POD = {
    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"team": "a"}},
    "spec": {
        "containers": [
            {"name": "a", "image": "registry.example/app:1", "ports": [{"containerPort": 8080}],
             "resources": {"limits": {"memory": "512Mi", "cpu": "1"}}},
            {"name": "b", "image": "nginx:1.27", "resources": {"limits": {"memory": "1Gi"}}},
        ],
        "initContainers": [{"name": "i", "image": "busybox:1"}],
    },
}  # fmt: skip
SERVICE = {
    "kind": "Service",
    "spec": {"externalIPs": ["203.0.113.10", "203.0.113.11"],
             "loadBalancerSourceRanges": ["192.168.0.0/16"]},
}  # fmt: skip
CONFIG_MAP = {"kind": "ConfigMap", "data": {"endpoint": "https://api.example.com/v1?x=1"}}
CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("baseline: a label is present",
     "has(object.metadata.labels) && 'team' in object.metadata.labels", POD),
    ("quantity: memory limits <= 4Gi",
     "object.spec.containers.all(c, quantity(c.?resources.?limits.?memory.orValue('0'))"
     ".compareTo(quantity('4Gi')) <= 0)", POD),
    ("regex: find a tag or digest on each image",
     "object.spec.containers.all(c, c.image.find('(:[A-Za-z0-9_.-]+|@sha256:[0-9a-f]+)$') != '')",
     POD),
    ("lists: sum of ports", "object.spec.containers.map(c, c.?ports.orValue([]).size()).sum() <= 1",
     POD),
    ("cidr: externalIPs in 203.0.113.0/24",
     "object.spec.externalIPs.all(a, cidr('203.0.113.0/24').containsIP(a))", SERVICE),
    ("url: an https endpoint",
     "isURL(object.data.endpoint) && url(object.data.endpoint).getScheme() == 'https'", CONFIG_MAP),
]  # fmt: skip


def main() -> None:
    print(f"{platform.machine()}, Python {platform.python_version()}")
    for name, source, obj in CASES:
        expression = Expression(source)
        data = {"object": obj}
        for _ in range(200):
            expression.holds(data)
        rounds = []
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(3000):
                expression.holds(data)
            rounds.append((time.perf_counter() - started) / 3000 * 1e6)
        print(f"{min(rounds):7.1f} us  {name}")


if __name__ == "__main__":
    main()
