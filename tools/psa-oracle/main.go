// psa-oracle evaluates pods with the Kubernetes Pod Security admission library
// (k8s.io/pod-security-admission/policy), check by check. kubeward's tests use it as the
// authority for the Pod Security Standards rules; it is test infrastructure, not product code.
//
// Input (stdin): one JSON object per line, {"id": "...", "pod": {<a v1 Pod>}}.
// Output (stdout): one JSON object per line, {"id": "...", "failed": ["checkID", ...]}.
// Usage: psa-oracle [-version v1.35]
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

type input struct {
	ID  string     `json:"id"`
	Pod corev1.Pod `json:"pod"`
}

type output struct {
	ID     string   `json:"id"`
	Failed []string `json:"failed"`
	Error  string   `json:"error,omitempty"`
}

func main() {
	versionFlag := flag.String("version", "v1.35", "Pod Security Standards version")
	flag.Parse()
	version, err := api.ParseVersion(*versionFlag)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// One evaluator per check, so that each check's verdict is reported on its own (the
	// combined evaluator lets restricted checks override their baseline counterparts).
	type single struct {
		id        string
		evaluator policy.Evaluator
	}
	var singles []single
	for _, check := range policy.DefaultChecks() {
		evaluator, err := policy.NewEvaluator([]policy.Check{check}, nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		singles = append(singles, single{string(check.ID), evaluator})
	}
	level := api.LevelVersion{Level: api.LevelRestricted, Version: version}
	scanner := bufio.NewScanner(os.Stdin)
	scanner.Buffer(make([]byte, 1024*1024), 64*1024*1024)
	writer := bufio.NewWriter(os.Stdout)
	defer writer.Flush()
	encoder := json.NewEncoder(writer)
	for scanner.Scan() {
		var in input
		out := output{Failed: []string{}}
		if err := json.Unmarshal(scanner.Bytes(), &in); err != nil {
			out.Error = err.Error()
		} else {
			out.ID = in.ID
			for _, s := range singles {
				for _, result := range s.evaluator.EvaluatePod(level, &in.Pod.ObjectMeta, &in.Pod.Spec) {
					if !result.Allowed {
						out.Failed = append(out.Failed, s.id)
						break
					}
				}
			}
			sort.Strings(out.Failed)
		}
		if err := encoder.Encode(out); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	if err := scanner.Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}
