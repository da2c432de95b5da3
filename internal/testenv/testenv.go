// Package testenv is the one place tests find the local stack: the scratch MariaDB with
// a binlog, the Kinesis API server, PostgreSQL, the strangler binary, and fault proxies.
//
// Services come from STRANGLER_TEST_MYSQL_DSN, STRANGLER_TEST_KINESIS_ENDPOINT and
// STRANGLER_TEST_PG_DSN, defaulting to what scripts/devstack.sh starts. When a service is
// unreachable a test is skipped, except with CI=true, where it fails: CI never passes by
// skipping.
package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
)

const (
	DefaultMySQL   = "mysql://root@tcp(127.0.0.1:3307)/"
	DefaultKinesis = "http://127.0.0.1:4567"
	DefaultPG      = "postgres://postgres@127.0.0.1:5433/postgres?sslmode=disable"
)

// InCI reports whether missing services must fail tests rather than skip them.
func InCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v == "true" || v == "1" || v == "yes"
}

// Unavailable stops the test because a service it needs is missing: a failure in CI,
// a skip elsewhere.
func Unavailable(t testing.TB, service string, err error) {
	t.Helper()
	msg := service + " is not reachable (" + err.Error() + "): run scripts/devstack.sh up"
	if InCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// UniqueName returns prefix followed by random hex, safe as a database or stream name.
func UniqueName(prefix string) string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return prefix + "_" + hex.EncodeToString(b)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
