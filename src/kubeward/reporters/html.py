"""A single self-contained HTML file (no external resources), safe to attach to a ticket.

Everything from the scan is escaped by Jinja2's autoescaping; the page works offline and has a
small script for filtering by severity and text. Rule IDs link to the rule's page (``helpUri``)
when there is one; the rules table gives each rule's remediation.
"""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape

from kubeward.model import ScanResult, Severity

_env = Environment(
    loader=PackageLoader("kubeward.reporters", "templates"),
    autoescape=select_autoescape(["html", "j2"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(result: ScanResult) -> str:
    template = _env.get_template("report.html.j2")
    severities = [s.value for s in reversed(Severity)]
    # a finding links to its rule's page when the rule has one (users' policies have none)
    help_uris = {rule.id: rule.help_uri for rule in result.rules if rule.help_uri}
    return template.render(r=result, severities=severities, help_uris=help_uris)
