# A library module: no METADATA, no deny/violation; every .rego policy here may import it.
package lib.names

import rego.v1

display(obj) := sprintf("%s %s/%s", [obj.kind, object.get(obj.metadata, "namespace", "-"), obj.metadata.name])
