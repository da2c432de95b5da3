package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
	buildOut  []byte
)

// StranglerBinary builds cmd/strangler once per test process and returns the path of the
// binary. Tests that kill the daemon with SIGKILL run this real binary as a child process.
//
// It is built without the race detector even when the tests run with -race: a race-built
// daemon parses the binlog about 20 times slower, and on a server shared by many tests it
// falls minutes behind. The same code runs in-process, under -race, in the other tests.
// STRANGLER_TEST_RACE_BINARY=1 builds it with -race anyway.
func StranglerBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "strangler-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "strangler")
		args := []string{"build", "-o", buildPath}
		if raceEnabled && os.Getenv("STRANGLER_TEST_RACE_BINARY") == "1" {
			args = append(args, "-race")
		}
		args = append(args, "./cmd/strangler")
		cmd := exec.Command("go", args...)
		cmd.Dir = moduleRoot()
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("build strangler: %v\n%s", buildErr, buildOut)
	}
	return buildPath
}

// moduleRoot is the repository root, found from this source file.
func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// ModuleRoot returns the repository root.
func ModuleRoot() string { return moduleRoot() }
