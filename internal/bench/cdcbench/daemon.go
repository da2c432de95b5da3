package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// daemon is one `strangler cdc run` child process, watched through its /metrics.
type daemon struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	metrics string // http://host:port
	started time.Time
	exited  chan struct{}
	waitErr error
	wall    time.Duration

	mu       sync.Mutex
	firstAck time.Duration // start to the first acknowledged record
	scrape   string        // the last /metrics text
}

// serverIDs: replica ids the bench's binlog connections use, out of the tests' range
// (internal/testenv.RandomServerID) so that neither kicks the other off the source.
func newServerID() uint32 { return 3_000_000 + rand.Uint32N(1_000_000) }

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port for the daemon's metrics: %w", err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr, nil
}

// childEnv is the bench's environment with static AWS credentials and a region when
// missing (kinesalite checks no signature).
func childEnv() []string {
	env := os.Environ()
	for k, v := range map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"} {
		if os.Getenv(k) == "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// startDaemon runs bin with `cdc run` and args, adding a metrics address, a replica id and
// a fresh checkpoint file.
func startDaemon(ctx context.Context, name, bin, workDir string, args ...string) (*daemon, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	ckpt := fmt.Sprintf("%s/checkpoint-%s.json", workDir, name)
	_ = os.Remove(ckpt)
	full := append([]string{"cdc", "run", "--server-id", fmt.Sprint(newServerID()), "--metrics-addr", addr,
		"--checkpoint", "file:" + ckpt, "--log-level", "info"}, args...)
	d := &daemon{name: name, logPath: fmt.Sprintf("%s/daemon-%s.log", workDir, name), metrics: "http://" + addr, exited: make(chan struct{})}
	logf, err := os.Create(d.logPath)
	if err != nil {
		return nil, err
	}
	d.cmd = exec.Command(bin, full...)
	d.cmd.Env = childEnv()
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	d.started = time.Now()
	if err := d.cmd.Start(); err != nil {
		_ = logf.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		d.waitErr = d.cmd.Wait()
		d.wall = time.Since(d.started)
		_ = logf.Close()
		close(d.exited)
	}()
	go d.watch(ctx)
	return d, nil
}

// watch polls /metrics: often until the first record is acknowledged (to time it), then
// once a second, keeping the last answer.
func (d *daemon) watch(ctx context.Context) {
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		d.mu.Lock()
		seen := d.firstAck > 0
		d.mu.Unlock()
		wait := 5 * time.Millisecond
		if seen {
			wait = time.Second
		}
		select {
		case <-d.exited:
			return
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		text, err := d.get(ctx, client, "/metrics")
		if err != nil {
			continue
		}
		now := time.Since(d.started)
		d.mu.Lock()
		d.scrape = text
		if d.firstAck == 0 && metricValue(text, "strangler_cdc_sink_records_total") > 0 {
			d.firstAck = now
		}
		d.mu.Unlock()
	}
}

func (d *daemon) get(ctx context.Context, client *http.Client, path string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.metrics+path, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return string(b), nil
}

// waitReady waits for /readyz: the daemon is reading the binlog.
func (d *daemon) waitReady(ctx context.Context, timeout time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if _, err := d.get(ctx, client, "/readyz"); err == nil {
			return nil
		}
		select {
		case <-d.exited:
			return fmt.Errorf("daemon %s exited before it was ready: %v\n%s", d.name, d.waitErr, d.logTail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("daemon %s not ready within %s\n%s", d.name, timeout, d.logTail())
}

// scrapeNow fetches /metrics and returns it (and keeps it).
func (d *daemon) scrapeNow(ctx context.Context) (string, error) {
	text, err := d.get(ctx, &http.Client{Timeout: 2 * time.Second}, "/metrics")
	if err == nil {
		d.mu.Lock()
		d.scrape = text
		d.mu.Unlock()
	}
	return text, err
}

// wait waits for the daemon to exit by itself (--stop-at) and measures it.
func (d *daemon) wait(ctx context.Context, timeout time.Duration) (measurement, error) {
	select {
	case <-d.exited:
	case <-time.After(timeout):
		_ = d.cmd.Process.Kill()
		<-d.exited
		return measurement{}, fmt.Errorf("daemon %s did not finish within %s (killed)\n%s", d.name, timeout, d.logTail())
	case <-ctx.Done():
		_ = d.cmd.Process.Kill()
		<-d.exited
		return measurement{}, ctx.Err()
	}
	return d.result()
}

// terminate stops the daemon with SIGTERM (a clean stop) and measures it.
func (d *daemon) terminate(timeout time.Duration) (measurement, error) {
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(timeout):
		_ = d.cmd.Process.Kill()
		<-d.exited
		return measurement{}, fmt.Errorf("daemon %s did not stop within %s of SIGTERM (killed)\n%s", d.name, timeout, d.logTail())
	}
	return d.result()
}

func (d *daemon) result() (measurement, error) {
	m := measurement{Name: d.name, Wall: d.wall}
	if ru, ok := d.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.MaxRSSKiB = ru.Maxrss // KiB on Linux
		m.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	d.mu.Lock()
	m.FirstRow = d.firstAck
	d.mu.Unlock()
	if d.waitErr != nil {
		var ee *exec.ExitError
		if errors.As(d.waitErr, &ee) {
			return m, fmt.Errorf("daemon %s exited with %v\n%s", d.name, d.waitErr, d.logTail())
		}
		return m, d.waitErr
	}
	return m, nil
}

func (d *daemon) lastScrape() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.scrape
}

func (d *daemon) logTail() string {
	b, err := os.ReadFile(d.logPath)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return "  " + strings.Join(lines, "\n  ")
}
