package filter

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFilter(t *testing.T) {
	tests := []struct {
		name             string
		include, exclude []string
		db, table        string
		want             bool
	}{
		{"no patterns streams everything", nil, nil, "shop", "orders", true},
		{"system databases never", nil, nil, "mysql", "user", false},
		{"system databases even when included", []string{"mysql.*"}, nil, "mysql", "user", false},
		{"include exact", []string{"shop.orders"}, nil, "shop", "orders", true},
		{"include exact, other table", []string{"shop.orders"}, nil, "shop", "items", false},
		{"include db.*", []string{"shop.*"}, nil, "shop", "items", true},
		{"include db.*, other db", []string{"shop.*"}, nil, "crm", "items", false},
		{"exclude wins", []string{"shop.*"}, []string{"shop.audit_*"}, "shop", "audit_log", false},
		{"exclude only", nil, []string{"shop.tmp?"}, "shop", "tmp1", false},
		{"exclude only, no match", nil, []string{"shop.tmp?"}, "shop", "tmp12", true},
		{"comma separated", []string{"a.x,b.y"}, nil, "b", "y", true},
		{"case sensitive like the default lower_case_table_names=0", []string{"shop.Orders"}, nil, "shop", "orders", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := New(tt.include, tt.exclude)
			require.NoError(t, err)
			require.Equal(t, tt.want, f.Match(tt.db, tt.table))
		})
	}
}

func TestFilterRejectsAmbiguousPatterns(t *testing.T) {
	for _, p := range []string{"orders", ".orders", "shop.", "shop.[x"} {
		_, err := New([]string{p}, nil)
		require.Error(t, err, p)
		require.Contains(t, err.Error(), "--include")
	}
}

func TestMatchDB(t *testing.T) {
	f, err := New([]string{"shop.*", "crm_?.contacts"}, nil)
	require.NoError(t, err)
	require.True(t, f.MatchDB("shop"))
	require.True(t, f.MatchDB("crm_1"))
	require.False(t, f.MatchDB("billing"))
	require.False(t, f.MatchDB("mysql"))
}
