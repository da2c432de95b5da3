package dualwrite_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/dualwrite"
	"github.com/strangler/strangler/dualwrite/mirror"
	"github.com/strangler/strangler/dualwrite/outbox"
	"github.com/strangler/strangler/dualwrite/target"
	"github.com/strangler/strangler/internal/testenv"
)

// crashChild runs the crashtest program (dualwrite/internal/crashtest) on the fixture's
// database with args.
func (f *fixture) crashChild(args ...string) *testenv.Process {
	bin := testenv.BuildProgram(f.t, "./dualwrite/internal/crashtest")
	base := []string{"--db", f.db.Addr, "--table-prefix", prefix}
	if f.stream != "" {
		base = append(base, "--stream", f.stream, "--kinesis-endpoint", f.endpoint)
	}
	return testenv.StartProgram(f.t, bin, nil, append(base, args...)...)
}

var pausedRE = regexp.MustCompile(`PAUSED (\S+) (\d+)`)

// killAtPause waits for the child to stop at its pause point and kills it with SIGKILL.
func killAtPause(t *testing.T, p *testenv.Process, point string) {
	t.Helper()
	waitFor(t, 90*time.Second, "the child to pause at "+point, func() bool {
		if p.Exited() {
			t.Fatalf("the child exited before pausing at %s:\n%s", point, p.Output())
		}
		m := pausedRE.FindStringSubmatch(p.Output())
		return m != nil && m[1] == point
	})
	p.Kill()
}

// runToEnd runs a child to completion and returns its output.
func runToEnd(t *testing.T, p *testenv.Process) string {
	t.Helper()
	require.Equal(t, 0, p.Wait(90*time.Second), p.Output())
	out := p.Output()
	require.Contains(t, out, "DONE")
	return out
}

// crashCase is one crash point: where the child stops in unit 2 (of units 0..3) and
// what must be true of that unit once recovery ran.
type crashCase struct {
	name      string
	args      []string
	point     string
	committed bool // the unit's legacy write committed
	published bool // its event reached the target (then it is on the stream)
}

var mirrorCrashes = []crashCase{
	{"before the publish", nil, mirror.PointJournaled, false, false},
	{"after the publish, before the commit", nil, mirror.PointPublished, false, true},
	{"after the commit, before the journal update", nil, mirror.PointCommitted, true, true},
	{"mid-compensation, claimed, before the undo", []string{"--fail-at", dualwrite.PointBeforeCommit, "--fail-unit", "2"}, mirror.PointCompensating, false, true},
	{"mid-compensation, undone, before recording it", []string{"--fail-at", dualwrite.PointBeforeCommit, "--fail-unit", "2"}, mirror.PointCompensationSent, false, true},
}

// TestMirrorCrashMatrix kills a monolith process with SIGKILL at every boundary of a
// mirrored unit (Kinesis target), runs a second process that carries on, then recovery;
// the stream, deduplicated by id, must hold exactly the committed writes in
// per-aggregate order, and every write that did not commit but reached the stream must be
// compensated.
func TestMirrorCrashMatrix(t *testing.T) {
	t.Parallel()
	for _, tc := range mirrorCrashes {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t).withStream(2)
			args := append([]string{"--mode", "mirror", "--run", "u", "--units", "4", "--pause-at", tc.point, "--pause-unit", "2"}, tc.args...)
			killAtPause(t, f.crashChild(args...), tc.point)
			runToEnd(t, f.crashChild("--mode", "mirror", "--run", "u", "--first", "4", "--units", "2"))

			tgt := f.kinesisTarget(f.endpoint)
			rep := f.recoverAll(tgt)
			if tc.committed {
				require.Equal(t, mirror.Report{Finished: 1}, rep)
				require.Empty(t, f.journal())
			} else {
				require.Equal(t, 1, rep.Compensated, "%+v", rep)
				require.Equal(t, map[string]int{"compensated": 1}, f.journal())
			}
			committed := f.committed()
			require.Len(t, committed, map[bool]int{true: 5, false: 4}[tc.committed], "units 0, 1, 4, 5 and maybe 2 (3 never ran)")
			evs := f.readAll()
			v := checkStream(t, committed, evs)
			require.Equal(t, !tc.committed, v.compensated["u-2"], "unit 2 compensated")
			require.Equal(t, tc.published, containsID(evs, "u-2"), "unit 2's event on the stream")
		})
	}
}

// TestMirrorCrashMatrixHTTP is the crash matrix's points that reach the target, against
// the new service's HTTP API: what was applied and did not commit is undone.
func TestMirrorCrashMatrixHTTP(t *testing.T) {
	t.Parallel()
	for _, tc := range []crashCase{mirrorCrashes[1], mirrorCrashes[2], mirrorCrashes[3]} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			svc := startNewService(t)
			args := append([]string{"--mode", "mirror", "--http-url", svc.url(), "--run", "u", "--units", "4", "--pause-at", tc.point, "--pause-unit", "2"}, tc.args...)
			killAtPause(t, f.crashChild(args...), tc.point)
			runToEnd(t, f.crashChild("--mode", "mirror", "--http-url", svc.url(), "--run", "u", "--first", "4", "--units", "2"))
			tgt, err := target.NewHTTP(target.HTTPOptions{URL: svc.url()})
			require.NoError(t, err)
			f.recoverAll(tgt)

			applied, undone := svc.snapshot()
			var want []string
			for _, it := range f.committed() {
				want = append(want, it.ID)
			}
			var kept []string
			for _, id := range applied {
				if undone[id] == "" {
					kept = append(kept, id)
				}
			}
			require.ElementsMatch(t, want, kept, "applied minus undone = committed")
			require.Equal(t, !tc.committed, undone["u-2"] != "", "unit 2 undone")
			require.Equal(t, []string{"u-0", "u-1", "u-2", "u-4", "u-5"}, applied, "applied in order (unit 3 never ran)")
		})
	}
}

// TestOutboxCrash kills the monolith before and after the commit of an outbox unit: the
// relay then publishes exactly what committed.
func TestOutboxCrash(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		point     string
		committed bool
	}{{dualwrite.PointBeforeCommit, false}, {dualwrite.PointAfterCommit, true}} {
		t.Run(tc.point, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t).withStream(1)
			killAtPause(t, f.crashChild("--mode", "outbox", "--run", "u", "--units", "4", "--pause-at", tc.point, "--pause-unit", "2"), tc.point)
			runToEnd(t, f.crashChild("--mode", "outbox", "--run", "u", "--first", "4", "--units", "2"))
			stop := f.startRelay(outbox.RelayConfig{})
			waitFor(t, 90*time.Second, "the relay to drain the outbox", func() bool { return f.outboxRows() == 0 })
			require.NoError(t, stop())
			committed := f.committed()
			require.Len(t, committed, map[bool]int{true: 5, false: 4}[tc.committed], "units 0, 1, 4, 5 and maybe 2 (3 never ran)")
			evs := f.readAll()
			v := checkStream(t, committed, evs)
			require.Empty(t, v.compensated)
			require.Len(t, evs, len(committed))
		})
	}
}

func containsID(evs []streamed, id string) bool {
	for _, s := range evs {
		if s.ev.ID == id {
			return true
		}
	}
	return false
}

func init() {
	// Names must stay readable in `go test -run`.
	for _, c := range mirrorCrashes {
		if strings.ContainsAny(c.name, "/") {
			panic(fmt.Sprintf("crash case %q: no slashes", c.name))
		}
	}
}
