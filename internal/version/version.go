// Package version tells which build of strangler is running; events carry it.
package version

import "runtime/debug"

// Version is set at build time with -ldflags "-X github.com/strangler/strangler/internal/version.Version=v1.2.3".
var Version = ""

// String returns the build's version, falling back to the module version or "dev".
func String() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
