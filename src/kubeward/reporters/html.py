"""A single self-contained HTML file (no external resources), safe to attach to a ticket.

Everything from the scan is escaped by Jinja2's autoescaping (control characters, bidi
overrides and invisible characters shown as escapes first, as on the terminal); the page works
offline and has a small script for filtering by severity and text. Rule IDs link to the rule's
page (``helpUri``) when there is one; the rules table gives each rule's remediation.
"""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape

from kubeward.model import ScanResult, Severity
from kubeward.terminal import printable


def _visible(value: object) -> object:
    """Every interpolated string with its control, bidi and invisible characters shown as
    escapes (a NUL or ESC from an object's name reaches the page raw otherwise, and an
    override would show text in another order than the object holds); then autoescaped."""
    if value is None or isinstance(value, (bool, int, float)) or hasattr(value, "__html__"):
        return value  # numbers, and markup the template built itself
    return printable(str(value), multiline=True)  # strings, and objects shown by str()


_env = Environment(
    loader=PackageLoader("kubeward.reporters", "templates"),
    autoescape=select_autoescape(["html", "j2"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
    finalize=_visible,
)


def render(result: ScanResult) -> str:
    template = _env.get_template("report.html.j2")
    severities = [s.value for s in reversed(Severity)]
    # a finding links to its rule's page when the rule has one (users' policies have none)
    help_uris = {rule.id: rule.help_uri for rule in result.rules if rule.help_uri}
    return template.render(r=result, severities=severities, help_uris=help_uris)
