package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	programsMu sync.Mutex
	programs   = map[string]*builtProgram{}
)

type builtProgram struct {
	once sync.Once
	path string
	out  []byte
	err  error
}

// BuildProgram builds the main package pkg (a path from the repository root, e.g.
// "./compensate/internal/testdata/crashsaga") once per test process, with -race when the
// tests run with it, and returns the binary's path. Test programs live under testdata
// directories so that ./... skips them.
func BuildProgram(t testing.TB, pkg string) string {
	t.Helper()
	programsMu.Lock()
	b := programs[pkg]
	if b == nil {
		b = &builtProgram{}
		programs[pkg] = b
	}
	programsMu.Unlock()
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "strangler-prog-")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, filepath.Base(strings.TrimSuffix(pkg, "/")))
		args := []string{"build", "-o", b.path}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, pkg)...)
		cmd.Dir = moduleRoot()
		b.out, b.err = cmd.CombinedOutput()
	})
	if b.err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, b.err, b.out)
	}
	return b.path
}

// StartProgram runs a binary (from BuildProgram) as a child of the test, like
// StartStrangler: Kill sends SIGKILL, Output returns what it wrote.
func StartProgram(t testing.TB, bin string, env []string, args ...string) *Process {
	t.Helper()
	p := &Process{t: t, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout = &lockedWriter{p}
	p.cmd.Stderr = &lockedWriter{p}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s %v: %v", bin, args, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s %v output:\n%s", filepath.Base(bin), args, p.Output())
		}
	})
	return p
}
