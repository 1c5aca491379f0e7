//go:build tools

package tools

import _ "github.com/aquasecurity/kubectl-who-can/cmd/kubectl-who-can"
