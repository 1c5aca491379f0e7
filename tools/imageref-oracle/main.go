// imageref-oracle parses image references with github.com/distribution/reference, the library
// containerd, CRI-O, the kubelet and Docker use. kubeward's tests use it as the authority for
// its own parser (src/kubeward/rules/_common/images.py); it is test infrastructure, not product
// code.
//
// Input (stdin): one JSON string per line, the reference exactly as written in a pod spec.
// Output (stdout): one JSON object per line, flushed per line so that a test can hold the
// process open and ask one reference at a time.
package main

import (
	"bufio"
	// Linked in by every runtime (containerd, CRI-O, the kubelet): without them go-digest
	// reports sha256/sha384/sha512 as unavailable and rejects every digest.
	_ "crypto/sha256"
	_ "crypto/sha512"
	"encoding/json"
	"fmt"
	"os"

	"github.com/distribution/reference"
)

type result struct {
	Valid  bool   `json:"valid"`
	Error  string `json:"error,omitempty"`
	Domain string `json:"domain,omitempty"` // reference.Domain of ParseNormalizedNamed
	Path   string `json:"path,omitempty"`   // reference.Path
	Tag    string `json:"tag,omitempty"`
	Digest string `json:"digest,omitempty"`
	// What the runtime pulls: ParseDockerRef (a digest wins over a tag; no tag means latest).
	DockerRef string `json:"dockerRef,omitempty"`
	// FamiliarName and TrimNamed, as the kubelet and Docker show and compare names.
	Familiar string `json:"familiar,omitempty"`
	Trimmed  string `json:"trimmed,omitempty"`
}

func parse(text string) result {
	named, err := reference.ParseNormalizedNamed(text)
	if err != nil {
		return result{Error: err.Error()}
	}
	out := result{
		Valid:    true,
		Domain:   reference.Domain(named),
		Path:     reference.Path(named),
		Familiar: reference.FamiliarName(named),
		Trimmed:  reference.TrimNamed(named).String(),
	}
	if tagged, ok := named.(reference.Tagged); ok {
		out.Tag = tagged.Tag()
	}
	if digested, ok := named.(reference.Digested); ok {
		out.Digest = digested.Digest().String()
	}
	docker, err := reference.ParseDockerRef(text)
	if err != nil {
		// ParseNormalizedNamed accepted it: the two must agree.
		return result{Error: "ParseDockerRef disagrees: " + err.Error()}
	}
	out.DockerRef = docker.String()
	return out
}

func main() {
	scanner := bufio.NewScanner(os.Stdin)
	scanner.Buffer(make([]byte, 1024*1024), 64*1024*1024)
	writer := bufio.NewWriter(os.Stdout)
	encoder := json.NewEncoder(writer)
	for scanner.Scan() {
		var text string
		if err := json.Unmarshal(scanner.Bytes(), &text); err != nil {
			fmt.Fprintln(os.Stderr, "imageref-oracle: each line must be a JSON string:", err)
			os.Exit(2)
		}
		if err := encoder.Encode(parse(text)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if err := writer.Flush(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	if err := scanner.Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}
