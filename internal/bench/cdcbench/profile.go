package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/strangler/strangler/cdc"
)

// profileRun runs the daemon's pipeline (cdc.Run, the code behind `strangler cdc run`)
// in this process over the batched range into the -profile-sink, under a CPU profile:
// the binary has no profiling flag, and this is the same code.
func (b *bench) profileRun(ctx context.Context, res *results) error {
	o, ds := b.o, res.ds
	cfg := cdc.Defaults()
	cfg.Source = o.source
	cfg.ServerID = newServerID()
	cfg.Include = []string{benchDB + "." + tableBatched}
	cfg.Sink = o.profileSink
	if o.profileSink == "file" {
		cfg.Sink = "file:" + filepath.Join(o.workDir, "profile-events.jsonl")
	}
	cfg.Checkpoint = "file:" + filepath.Join(o.workDir, "checkpoint-profile.json")
	cfg.Start = fmt.Sprintf("file:%s:%d", ds.BatchedStart.File, ds.BatchedStart.Pos)
	end, rows := ds.BatchedEnd, o.rows
	if o.profileSink == "kinesis" {
		stream, err := createStream(ctx, b.kc, "bench-cdc-profile", o.shards)
		if err != nil {
			return err
		}
		b.streams = append(b.streams, stream)
		cfg.Stream, cfg.KinesisEndpoint, cfg.Region = stream, o.kinesisEndpoint, benchRegion
		end, rows = ds.TxEnds[o.kinesisRows/o.txRows-1], o.kinesisRows
	}
	cfg.StopAt = fmt.Sprintf("file:%s:%d", end.File, end.Pos)
	progress("profiling the pipeline in process (cdc.Run → %s) over %d rows of the batched range", o.profileSink, rows)

	path := o.profileOut
	if path == "" {
		path = filepath.Join(o.workDir, "daemon.cpu.pprof")
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	cpu0 := cpuSelf()
	start := time.Now()
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return err
	}
	runErr := cdc.Run(ctx, cfg)
	pprof.StopCPUProfile()
	_ = f.Close()
	m := measurement{Name: "daemon pipeline in process → " + o.profileSink + " (profiled)", Rows: int64(rows), Wall: time.Since(start), CPU: cpuSelf() - cpu0}
	if runErr != nil {
		return fmt.Errorf("profile run: %w", runErr)
	}
	res.profileRan, res.profileRate, res.profilePath = true, m, path
	progress("  %-45s %9d rows %7.2fs %9.0f rows/s  cpu %6.2fs", m.Name, m.Rows, m.Wall.Seconds(), m.rate(), m.CPU.Seconds())

	top, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-nodecount=20", path).Output()
	if err != nil {
		res.profileTop = fmt.Sprintf("(go tool pprof failed: %v)", err)
		return nil
	}
	res.profileTop = strings.TrimSpace(string(top))
	cum, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-cum", "-nodecount=100000", path).Output()
	if err == nil {
		res.profileCum, res.profileTotal = parsePprofCum(string(cum))
	}
	return nil
}

// parsePprofCum reads `go tool pprof -top -cum` output: each function's cumulative share
// of the samples, and the samples' total CPU time.
func parsePprofCum(out string) (map[string]float64, time.Duration) {
	shares := map[string]float64{}
	var total time.Duration
	for _, line := range strings.Split(out, "\n") {
		if _, rest, ok := strings.Cut(line, "Total samples = "); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				total, _ = time.ParseDuration(f[0])
			}
			continue
		}
		f := strings.Fields(line)
		if len(f) < 6 || !strings.HasSuffix(f[4], "%") {
			continue
		}
		pct, err := strconv.ParseFloat(strings.TrimSuffix(f[4], "%"), 64)
		if err != nil {
			continue
		}
		name := strings.TrimSuffix(strings.Join(f[5:], " "), " (inline)")
		shares[name] = max(shares[name], pct)
	}
	return shares, total
}
