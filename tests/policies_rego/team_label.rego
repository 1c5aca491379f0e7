# METADATA
# title: Workload names no team
# description: Every workload names the team that answers for it (label `team`).
# custom:
#   id: ACME101
#   severity: medium
#   remediation: Add a `team` label to the workload.
#   workloads: true
package kubeward.team

import data.lib.names
import rego.v1

violation contains {"msg": msg} if {
	not input.review.object.metadata.labels.team
	msg := sprintf("%s names no team", [names.display(input.review.object)])
}
