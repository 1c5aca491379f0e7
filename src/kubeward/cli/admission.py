"""``kubeward admission serve``: the catalog as a validating admission webhook."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from kubeward.errors import UsageError
from kubeward.terminal import printable

if TYPE_CHECKING:
    from kubeward.admission.namespaces import NamespaceCache
    from kubeward.config import Config
    from kubeward.policies.loader import LoadedPolicies
    from kubeward.rules import Rule


@click.group()
def admission() -> None:
    """Admission control: deny, warn about or audit objects as the API server admits them."""


@admission.command("serve")
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on.")  # noqa: S104
@click.option("--port", default=8443, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--tls-cert", required=True, type=click.Path(dir_okay=False), help="Serving certificate (PEM)."
)
@click.option("--tls-key", required=True, type=click.Path(dir_okay=False), help="Its key (PEM).")
@click.option("--config", "config_path", metavar="FILE", help="kubeward.yaml (default: found).")
@click.option("--policies", multiple=True, metavar="PATH", help="CEL, Rego policy files, dirs.")
@click.option(
    "--kubeconfig",
    metavar="FILE",
    help="Where to read Namespaces from, for policies that read namespaceObject "
    "(default: $KUBECONFIG, ~/.kube/config, else the pod's service account).",
)
@click.option("--context", "kube_context", metavar="NAME", help="Kubeconfig context.")
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
def serve_command(
    host: str,
    port: int,
    tls_cert: str,
    tls_key: str,
    config_path: str | None,
    policies: tuple[str, ...],
    kubeconfig: str | None,
    kube_context: str | None,
    log_level: str,
) -> int:
    """Serve POST /validate (AdmissionReview v1) over HTTPS, plus /healthz, /readyz, /metrics;
    with imageSignatures rules in kubeward.yaml also /verify-images (rule I007) and /pin-images
    (a mutating webhook pinning tags to verified digests).

    \b
    Each rule's action at admission (deny, warn, audit, off) and the exempt namespaces, users,
    groups and service accounts come from the admission: section of kubeward.yaml; select,
    ignore, exceptions and rule parameters apply as in a scan. The certificate and key are
    reloaded when their files change. When a CEL policy reads namespaceObject, the server
    lists and watches the cluster's Namespaces (--kubeconfig, else in-cluster) and does not
    start without them.
    """
    import logging
    import ssl

    from kubeward.admission.review import Reviewer
    from kubeward.admission.server import serve
    from kubeward.cli.scan import resolve_config
    from kubeward.engine import EngineSettings
    from kubeward.policies.loader import isolate_leaking_policies
    from kubeward.scan import enforced_rules

    config = resolve_config(config_path, ["."], policies)
    for path in (tls_cert, tls_key):
        if not Path(path).is_file():
            raise UsageError(f"{path}: no such file")
    loaded = _custom_policies(config, policies)
    rules = enforced_rules(config, loaded)
    if not rules:  # (a policy that failed to load has already stopped the start)
        raise UsageError(
            f"no rule left to run: select/ignore in {config.path} exclude every rule (ignore "
            "wins over select); the webhook would admit everything unjudged"
        )
    isolate_leaking_policies(loaded, rules)  # a long-running server: see policies.cel_worker
    params = config.params
    readers = _namespace_readers(loaded, rules)
    if readers:
        params = replace(params, namespaces=_namespace_cache(kubeconfig, kube_context, readers))
    engine = EngineSettings(
        params=params,
        severity_overrides=config.severity_overrides,
        exceptions=config.exceptions,
        allow_inline_suppressions=config.allow_inline_suppressions,
        policies=tuple(loaded.rules),
    )
    reviewer = Reviewer(rules, engine, config.admission)
    signatures = None
    if config.signatures is not None and config.signatures.enabled:
        from kubeward.admission.signatures import SignatureReviewer
        from kubeward.signatures.verifier import ImageVerifier, client_for

        verifier = ImageVerifier(config.signatures, client_for(config.signatures))
        signatures = SignatureReviewer(verifier, engine, config.admission)
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    try:
        serve(reviewer, signatures=signatures, host=host, port=port, cert=Path(tls_cert),
              key=Path(tls_key), log_level=log_level)  # fmt: skip
    except ssl.SSLError as exc:
        raise UsageError(f"--tls-cert/--tls-key: {exc}") from None
    return 0


def _custom_policies(config: Config, policies: tuple[str, ...]) -> LoadedPolicies:
    """Users' policies; any problem stops the command (a server must not start with a
    policy silently missing), and so does an ID kubeward.yaml names that matches no rule and
    no loaded policy (nor with a setting that applies to nothing)."""
    from kubeward.scan import check_policy_ids, custom_policies

    loaded = custom_policies(config, policies)
    if loaded.problems:
        lines = [f"{p.file}:{p.line or '?'}: {p.message}" for p in loaded.problems]
        raise UsageError("policies: " + "; ".join(lines))
    check_policy_ids(config, loaded)
    return loaded


def _namespace_readers(loaded: LoadedPolicies, rules: Sequence[Rule]) -> list[str]:
    """The IDs of the CEL policies among ``rules`` that read ``namespaceObject``."""
    from kubeward.policies.loader import CelDefinition

    return sorted(
        rule.id
        for rule in rules
        if isinstance(definition := loaded.definitions.get(rule.id), CelDefinition)
        and definition.reads_namespace
    )


def _namespace_cache(
    kubeconfig: str | None, kube_context: str | None, readers: list[str]
) -> NamespaceCache:
    from kubeward.admission.namespaces import NamespaceCache
    from kubeward.cluster import kubeconfig as kubeconfigs
    from kubeward.errors import ClusterError

    try:
        connection = kubeconfigs.load(kubeconfig, kube_context)
        for warning in connection.warnings:
            click.echo(printable(f"kubeward: warning: {warning}"), err=True)
        cache = NamespaceCache(connection)
        cache.start()
    except ClusterError as exc:
        raise ClusterError(
            f"{', '.join(readers)} read namespaceObject, so the webhook needs the cluster's "
            f"Namespaces: {exc}"
        ) from None
    return cache


@admission.command("manifests")
@click.option("--image", required=True, help="kubeward's image, pinned by digest (repo@sha256:…).")
@click.option("--namespace", default="kubeward", show_default=True)
@click.option("--replicas", default=2, show_default=True, type=click.IntRange(1, 100))
@click.option(
    "--failure-policy",
    type=click.Choice(["Fail", "Ignore"]),
    default="Fail",
    show_default=True,
    help="Fail: nothing unjudged gets in, an outage blocks deploys. Ignore: fail open.",
)
@click.option("--timeout", default=5, show_default=True, type=click.IntRange(1, 30))
@click.option(
    "--signature-failure-policy",
    type=click.Choice(["Fail", "Ignore"]),
    default="Fail",
    show_default=True,
    help="The image-signature webhook's own failurePolicy (with imageSignatures in the config).",
)
@click.option(
    "--signature-timeout", default=15, show_default=True, type=click.IntRange(1, 30),
    help="The image-signature webhook's timeoutSeconds (registries can be slow).",
)  # fmt: skip
@click.option(
    "--cert-manager",
    is_flag=True,
    help="Let cert-manager issue and rotate the certificate (default: generate one now).",
)
@click.option(
    "--apiserver-cidr",
    "apiserver_cidrs",
    multiple=True,
    metavar="CIDR",
    help="Where the API server calls from: the NetworkPolicy admits only these.",
)
@click.option(
    "--namespace-lookup",
    is_flag=True,
    help="Policies read namespaceObject: let the webhook list and watch Namespaces.",
)
@click.option("--config", "config_path", metavar="FILE", help="kubeward.yaml to install.")
def manifests_command(
    image: str,
    namespace: str,
    replicas: int,
    failure_policy: str,
    timeout: int,
    signature_failure_policy: str,
    signature_timeout: int,
    cert_manager: bool,
    apiserver_cidrs: tuple[str, ...],
    namespace_lookup: bool,
    config_path: str | None,
) -> int:
    """Print the manifests that install the webhook (pipe them to kubectl apply -f -).

    \b
    Without --cert-manager the output holds a freshly generated private key (a
    kubernetes.io/tls Secret): apply it, do not commit it.
    """
    import ipaddress
    import sys

    import yaml

    from kubeward.admission.manifests import InstallOptions, render
    from kubeward.cli.scan import resolve_config
    from kubeward.scan import enforced_rules

    for cidr in apiserver_cidrs:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError as exc:
            raise UsageError(f"--apiserver-cidr: {exc}") from None
    config = resolve_config(config_path, ["."])
    text = Path(config.path).read_text(encoding="utf-8") if config.path else ""
    key_files, ports = _signature_files(config)
    loaded = _custom_policies(config, ())
    enforced = [r for r in enforced_rules(config, loaded) if r in loaded.rules]
    readers = _namespace_readers(loaded, enforced)
    if readers and not namespace_lookup:
        raise UsageError(
            f"policies {', '.join(readers)} read namespaceObject: add --namespace-lookup "
            "(the webhook does not start without it)"
        )
    resources, unregistered = _policy_resources(enforced)
    for rule_id, kinds in unregistered:
        click.echo(
            f"kubeward: warning: policy {rule_id} judges {kinds}, which the rendered webhook "
            "is not registered for: add them to its rules, or enforce the policy with "
            "export-vap or audit --watch",
            err=True,
        )
    options = InstallOptions(
        image=image, namespace=namespace, replicas=replicas, failure_policy=failure_policy,
        timeout_seconds=timeout, cert_manager=cert_manager, apiserver_cidrs=apiserver_cidrs,
        key_files=key_files, signature_failure_policy=signature_failure_policy,
        signature_timeout_seconds=signature_timeout, registry_ports=ports,
        namespace_lookup=namespace_lookup, policy_files=_policy_files(config),
        policy_resources=resources,
    )  # fmt: skip
    objects = render(options, text, config.admission)
    sys.stdout.write(yaml.safe_dump_all(objects, sort_keys=False))
    return 0


CONFIG_MAP_LIMIT = 1024 * 1024
"""Bytes a ConfigMap may hold (the API server refuses more)."""


def _policy_files(config: Config) -> tuple[tuple[str, bytes], ...]:
    """The policy files kubeward.yaml lists (to ship in the ConfigMap beside it)."""
    from kubeward.policies.loader import policy_files

    if not config.policy_paths or config.path is None:
        return ()
    base = Path(config.path).parent.resolve()
    files: dict[str, bytes] = {}
    for path in policy_files(config.policy_paths):
        try:
            relative = path.resolve().relative_to(base)
        except ValueError:
            raise UsageError(
                f"policies: {path}: keep policy files below kubeward.yaml's directory, so that "
                "they can be installed next to it"
            ) from None
        content = path.read_bytes()
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"policies: {path}: not UTF-8 text") from None
        files[relative.as_posix()] = content
    total = sum(len(c) for c in files.values())
    if total > CONFIG_MAP_LIMIT // 2:  # kubeward.yaml, keys and YAML quoting need the rest
        raise UsageError(
            f"policies: {total:,} bytes of policy files, more than a ConfigMap can carry with "
            f"the rest ({CONFIG_MAP_LIMIT // 2:,}): build them into the image instead"
        )
    return tuple(sorted(files.items()))


def _policy_resources(
    rules: Sequence[Rule],
) -> tuple[tuple[tuple[str, str], ...], list[tuple[str, str]]]:
    """Where the API serves the built-in kinds users' policies judge, for the webhook's rules,
    and the policies whose kinds it cannot register (custom resources, every kind)."""
    from kubeward.policies.kinds import KIND_RESOURCES

    resources: set[tuple[str, str]] = set()
    unregistered: list[tuple[str, str]] = []
    for rule in rules:
        if rule.target.every_kind:
            unregistered.append((rule.id, "every kind"))
            continue
        unknown = sorted(kind for kind in rule.target.kinds if kind not in KIND_RESOURCES)
        resources.update(KIND_RESOURCES[k] for k in rule.target.kinds if k in KIND_RESOURCES)
        if unknown:
            unregistered.append((rule.id, ", ".join(unknown)))
    return tuple(sorted(resources)), unregistered


def _signature_files(config: Config) -> tuple[tuple[tuple[str, bytes], ...], tuple[int, ...]]:
    """The key files kubeward.yaml names (to ship in the ConfigMap) and the registry ports."""
    policy = config.signatures
    if policy is None or not policy.enabled or config.path is None:
        return (), (443,)
    base = Path(config.path).parent
    files: dict[str, bytes] = {}
    for rule in policy.rules:
        for key in rule.keys:
            relative = Path(key.name)
            if relative.is_absolute() or ".." in relative.parts:
                raise UsageError(
                    f"imageSignatures: key {key.name}: give key paths relative to kubeward.yaml "
                    "and below it, so that they can be installed next to it"
                )
            files[relative.as_posix()] = (base / relative).read_bytes()
    ports = {443}
    for host in policy.plain_http:
        _, _, port = host.rpartition(":")
        ports.add(int(port) if port.isdigit() else 80)
    return tuple(sorted(files.items())), tuple(sorted(ports))


@admission.command("export-vap")
@click.option("--config", "config_path", metavar="FILE", help="kubeward.yaml (default: found).")
@click.option("--policies", multiple=True, metavar="PATH", help="CEL, Rego policy files, dirs.")
def export_vap_command(config_path: str | None, policies: tuple[str, ...]) -> int:
    """Print the rules CEL can express as ValidatingAdmissionPolicies and Bindings.

    \b
    Enforcement then runs inside the API server (Kubernetes 1.30+), no webhook needed; each
    binding's validationActions follow the rule's admission action (deny, warn, audit) and
    skip the exempt namespaces. The rules that are not exported are listed, with the reason,
    as comments at the top (kubectl apply ignores them).
    """
    import sys

    import yaml

    from kubeward.admission.vap import export
    from kubeward.cli.scan import resolve_config
    from kubeward.scan import enforced_rules

    config = resolve_config(config_path, ["."], policies)
    custom = _custom_policies(config, policies)
    objects, skipped = export(
        enforced_rules(config, custom), config.admission, params=config.params,
        custom=custom.definitions,
    )  # fmt: skip
    exported = sum(o["kind"] == "ValidatingAdmissionPolicy" for o in objects)
    lines = [f"# kubeward: {exported} rules exported as ValidatingAdmissionPolicies; "
             f"{len(skipped)} not exported:"]  # fmt: skip
    lines += [f"#   {rule.id} {rule.name}: {why}" for rule, why in skipped]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.write(yaml.safe_dump_all(objects, sort_keys=False, width=100))
    return 0
