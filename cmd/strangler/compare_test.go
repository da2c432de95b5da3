package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/internal/testenv"
)

// Exit codes are the contract of a cut-over gate: 0 match, 1 differences, 2 error.
func TestCompareDataExitCodesAndReports(t *testing.T) {
	t.Parallel()
	db := testenv.NewMySQLDatabase(t)
	db.Exec(t, "CREATE TABLE a (id INT PRIMARY KEY, v VARCHAR(10))", "CREATE TABLE b LIKE a", "CREATE TABLE c LIKE a",
		"CREATE TABLE nokey (v INT)",
		"INSERT INTO a SELECT seq, CONCAT('v', seq) FROM seq_1_to_500", "INSERT INTO b SELECT * FROM a", "INSERT INTO c SELECT * FROM a",
		"UPDATE c SET v = 'x' WHERE id = 3")
	dir := t.TempDir()
	base := []string{"compare", "data", "--source", db.Addr, "--target", db.Addr, "--recheck-times", "0", "--log-level", "error"}
	args := func(extra ...string) []string { return append(append([]string{}, base...), extra...) }

	require.Equal(t, 0, run(args("--table", "a=b")))
	js := filepath.Join(dir, "r.json")
	md := filepath.Join(dir, "r.md")
	html := filepath.Join(dir, "r.html")
	fix := filepath.Join(dir, "fix.sql")
	store := db.Addr
	require.Equal(t, 1, run(args("--table", "a=b", "--table", "a=c", "--store", store, "--report-json", js, "--report-md", md,
		"--report-html", html, "--fix-sql", fix)))
	require.Equal(t, 2, run(args("--table", "nokey")))
	require.Equal(t, 2, run(args("--table", "doesnotexist")))
	require.Equal(t, 2, run([]string{"compare", "data", "--table", "a"}), "missing --source/--target")
	require.Equal(t, 2, run(args("--table", "a", "--no-such-flag")))
	require.Equal(t, 2, run(args("--table", "a", "--resume")), "--resume needs --store")

	raw, err := os.ReadFile(js)
	require.NoError(t, err)
	var doc struct {
		Verdict string `json:"verdict"`
		Tables  []struct {
			Source, Target, Verdict string
			Changed                 []struct {
				Key     map[string]any            `json:"key"`
				Columns map[string]map[string]any `json:"columns"`
			} `json:"changed"`
		} `json:"tables"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	require.Equal(t, "mismatch", doc.Verdict)
	require.Equal(t, "match", doc.Tables[0].Verdict)
	require.Equal(t, "mismatch", doc.Tables[1].Verdict)
	require.Equal(t, map[string]any{"id": float64(3)}, doc.Tables[1].Changed[0].Key)
	require.Equal(t, map[string]any{"source": "v3", "target": "x"}, doc.Tables[1].Changed[0].Columns["v"])
	validateReport(t, raw)

	m, err := os.ReadFile(md)
	require.NoError(t, err)
	require.Contains(t, string(m), "# Parity report")
	require.Contains(t, string(m), "| a → c | ❌ no | 1 row differs in the latest run (1 with different values): unresolved")
	require.Contains(t, string(m), "| a → b | ❌ no | only 1 of the 3 runs the policy asks for")

	h, err := os.ReadFile(html)
	require.NoError(t, err)
	requireSelfContained(t, string(h))
	require.Contains(t, string(h), "<svg")

	f, err := os.ReadFile(fix)
	require.NoError(t, err)
	require.Contains(t, string(f), "UPDATE `c` SET `v` = 'v3' WHERE `id` = '3';")

	// Two more matching runs of a=b make it ready under the default policy (3 runs).
	for i := 0; i < 2; i++ {
		require.Equal(t, 0, run(args("--table", "a=b", "--store", store)))
	}
	out := filepath.Join(dir, "report.md")
	require.Equal(t, 0, run([]string{"compare", "report", "--store", store, "--md", out, "--json", js}))
	m, err = os.ReadFile(out)
	require.NoError(t, err)
	require.Contains(t, string(m), "| a → b | ✅ yes | parity at least 99.99% in each of the last 3 runs")
	raw, err = os.ReadFile(js)
	require.NoError(t, err)
	validateReport(t, raw)
	require.Equal(t, 1, run([]string{"compare", "report", "--store", store, "--md", out, "--fail-unready", "--window", "5"}), "only 3 runs of 5")
	require.Equal(t, 2, run([]string{"compare", "report"}))
}

func validateReport(t *testing.T, raw []byte) {
	t.Helper()
	sch, err := jsonschema.NewCompiler().Compile(filepath.Join(testenv.ModuleRoot(), "docs", "compare-report.schema.json"))
	require.NoError(t, err)
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(string(raw)))
	require.NoError(t, err)
	require.NoError(t, sch.Validate(inst))
}

// requireSelfContained checks an HTML page loads nothing from elsewhere.
func requireSelfContained(t *testing.T, page string) {
	t.Helper()
	for _, re := range []string{`<script`, `<link`, `<img`, `src=`, `url\(`, `@import`} {
		require.NotRegexp(t, regexp.MustCompile(re), page)
	}
}
