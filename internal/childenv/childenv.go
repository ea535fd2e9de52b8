// Package childenv builds the environment of an engine run as a child process by the
// load harness and the fault suite: the caller's environment without the variables they
// set themselves, so a developer's shell cannot redirect the run, plus theirs.
package childenv

import "strings"

// Build returns environ without the entries starting with any of strip, plus vars.
func Build(environ, strip []string, vars map[string]string) []string {
	var out []string
	for _, kv := range environ {
		keep := true
		for _, p := range strip {
			if strings.HasPrefix(kv, p) {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, kv)
		}
	}
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	return out
}
