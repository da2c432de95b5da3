package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

var (
	templateOnce sync.Once
	templateDir  string
	templateErr  error
)

// mariadbTemplate initialises one MariaDB datadir per test process; scratch servers
// start from copies of it, which is much faster than mariadb-install-db each time.
func mariadbTemplate() (string, error) {
	templateOnce.Do(func() {
		dir, err := os.MkdirTemp("", "strangler-mdb-template-")
		if err != nil {
			templateErr = err
			return
		}
		install, err := exec.LookPath("mariadb-install-db")
		if err != nil {
			templateErr = fmt.Errorf("mariadb-install-db not found (install Debian's mariadb-server): %w", err)
			return
		}
		out, err := exec.Command(install, "--no-defaults", "--datadir="+filepath.Join(dir, "data"), "--user=root",
			"--auth-root-authentication-method=normal", "--skip-test-db").CombinedOutput()
		if err != nil {
			templateErr = fmt.Errorf("mariadb-install-db: %w\n%s", err, out)
			return
		}
		templateDir = filepath.Join(dir, "data")
	})
	return templateDir, templateErr
}

// StartScratchMariaDB starts a MariaDB of the test's own, from Debian's mariadbd, with
// the given server options (say --binlog-format=MIXED to play a misconfigured source),
// and returns its root address (mysql://root@tcp(127.0.0.1:PORT)/). It is stopped and
// removed when the test ends.
func StartScratchMariaDB(t testing.TB, options ...string) string {
	t.Helper()
	mariadbd, err := exec.LookPath("mariadbd")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/mariadbd"); serr == nil {
			mariadbd = "/usr/sbin/mariadbd"
		} else {
			Unavailable(t, "mariadbd", err)
		}
	}
	tmpl, err := mariadbTemplate()
	if err != nil {
		Unavailable(t, "a scratch MariaDB", err)
	}
	dir, err := os.MkdirTemp("", "smdb-") // short: a unix socket path has a length limit
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if out, err := exec.Command("cp", "-a", tmpl, filepath.Join(dir, "data")).CombinedOutput(); err != nil {
		t.Fatalf("copy datadir: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	args := append([]string{"--no-defaults", "--datadir=" + filepath.Join(dir, "data"), "--user=root",
		fmt.Sprintf("--port=%d", port), "--bind-address=127.0.0.1", "--socket=" + filepath.Join(dir, "sock"),
		"--pid-file=" + filepath.Join(dir, "pid"), "--tmpdir=" + dir, "--skip-name-resolve", "--innodb-buffer-pool-size=32M",
		"--log-error=" + filepath.Join(dir, "error.log")}, options...)
	cmd := exec.Command(mariadbd, args...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start mariadbd: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := fmt.Sprintf("mysql://root@tcp(127.0.0.1:%d)/", port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		db, err := sql.Open("mysql", fmt.Sprintf("root@tcp(127.0.0.1:%d)/", port))
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			err = db.PingContext(ctx)
			cancel()
			_ = db.Close()
			if err == nil {
				return addr
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("scratch MariaDB did not start: %v\n%s", err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
