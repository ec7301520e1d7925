package main

import "runtime/debug"

// Set with -ldflags "-X main.version=... -X main.commit=... -X main.date=..."
// by `make build` and `make dist`.
var (
	version = ""
	commit  = ""
	date    = ""
)

// buildInfo fills what the linker flags left empty from the module's build
// information, so `go run` and `go install` builds still say something true.
func buildInfo() (v, c, d string) {
	v, c, d = version, commit, date
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if c == "" {
					c = s.Value
				}
			case "vcs.time":
				if d == "" {
					d = s.Value
				}
			}
		}
	}
	if v == "" {
		v = "dev"
	}
	if c == "" {
		c = "unknown"
	}
	if d == "" {
		d = "unknown"
	}
	return v, c, d
}
