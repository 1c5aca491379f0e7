# An OPA unit test (opa test): kubeward leaves *_test.rego files alone.
package kubeward.team_test

import rego.v1

test_no_team if {
	count(data.kubeward.team.violation) == 1 with input as {"review": {"object": {"kind": "Pod", "metadata": {"name": "p"}}}}
}
