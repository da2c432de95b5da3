package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// machine is where the figures came from: they mean little without it.
type machine struct {
	Date       time.Time
	NProc      int
	CPUModel   string
	RAMGiB     float64
	Kernel     string
	LoadAvg    string // at the start of the run: a shared machine is noisy
	Go         string
	GoMySQL    string
	MariaDB    string
	Kinesalite string
	Strangler  string
}

func probeMachine(ctx context.Context, db *sql.DB, bin string) machine {
	m := machine{Date: time.Now(), NProc: runtime.NumCPU(), Go: runtime.Version(), CPUModel: "unknown", Kinesalite: "unknown", GoMySQL: "unknown", Strangler: "unknown"}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
		_ = f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) >= 2 && fields[0] == "MemTotal:" {
				kb, _ := strconv.ParseFloat(fields[1], 64)
				m.RAMGiB = kb / (1 << 20)
				break
			}
		}
		_ = f.Close()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			m.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	_ = db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&m.MariaDB)
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/go-mysql-org/go-mysql" {
				m.GoMySQL = d.Version
			}
		}
	}
	// The stack's kinesalite is the one pinned in tools/kinesalite (scripts/devstack.sh).
	if b, err := os.ReadFile(filepath.Join("tools", "kinesalite", "node_modules", "kinesalite", "package.json")); err == nil {
		var p struct{ Version string }
		if json.Unmarshal(b, &p) == nil && p.Version != "" {
			m.Kinesalite = p.Version
		}
	}
	if out, err := exec.CommandContext(ctx, bin, "version").Output(); err == nil {
		m.Strangler = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "strangler"))
	}
	return m
}
