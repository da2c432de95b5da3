package cliconfig

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"
)

func newCmd(out *struct {
	source  string
	id      uint32
	include []string
}) *cobra.Command {
	root := &cobra.Command{Use: "strangler"}
	root.PersistentFlags().String("config", "", "")
	cmd := &cobra.Command{Use: "run", RunE: func(*cobra.Command, []string) error { return nil }}
	cmd.Flags().StringVar(&out.source, "source", "default-source", "")
	cmd.Flags().Uint32Var(&out.id, "server-id", 0, "")
	cmd.Flags().StringArrayVar(&out.include, "include", nil, "")
	root.AddCommand(cmd)
	return cmd
}

func TestPrecedenceFlagsOverEnvOverFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	require.NoError(t, os.WriteFile(path, []byte("source: from-file\nserver-id: 7\ninclude: [a.*, b.x]\n"), 0o644))

	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		source  string
		id      uint32
		include []string
	}{
		{"file only", nil, nil, "from-file", 7, []string{"a.*", "b.x"}},
		{"env beats file", nil, map[string]string{"STRANGLER_SOURCE": "from-env", "STRANGLER_INCLUDE": "c.*, d.y"}, "from-env", 7, []string{"c.*", "d.y"}},
		{"flag beats env", []string{"--source", "from-flag", "--server-id", "9"}, map[string]string{"STRANGLER_SOURCE": "from-env", "STRANGLER_SERVER_ID": "8"}, "from-flag", 9, []string{"a.*", "b.x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var out struct {
				source  string
				id      uint32
				include []string
			}
			cmd := newCmd(&out)
			require.NoError(t, cmd.Flags().Parse(tt.args))
			require.NoError(t, Apply(cmd, path))
			require.Equal(t, tt.source, out.source)
			require.Equal(t, tt.id, out.id)
			require.Equal(t, tt.include, out.include)
		})
	}
}

func TestUnknownKeysAndBadValuesAreRefused(t *testing.T) {
	dir := t.TempDir()
	var out struct {
		source  string
		id      uint32
		include []string
	}
	typo := filepath.Join(dir, "typo.yaml")
	require.NoError(t, os.WriteFile(typo, []byte("sourec: x\n"), 0o644))
	err := Apply(newCmd(&out), typo)
	require.ErrorContains(t, err, "unknown settings sourec")

	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("server-id: lots\n"), 0o644))
	err = Apply(newCmd(&out), bad)
	require.ErrorContains(t, err, "server-id")

	t.Setenv("STRANGLER_SERVER_ID", "-1")
	err = Apply(newCmd(&out), "")
	require.ErrorContains(t, err, "STRANGLER_SERVER_ID")
}

// A section a command reads itself (declared in its annotations) is accepted in the file
// and left alone; the same key is still unknown where no command declares it.
func TestDeclaredSectionsAreKnown(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	require.NoError(t, os.WriteFile(path, []byte("source: s\ntables:\n  - source: a\n    target: b\n"), 0o644))
	var out struct {
		source  string
		id      uint32
		include []string
	}
	cmd := newCmd(&out)
	require.ErrorContains(t, Apply(cmd, path), "unknown settings tables")

	cmd.Annotations = map[string]string{SectionsAnnotation: "tables"}
	require.NoError(t, Apply(cmd, path))
	require.Equal(t, "s", out.source)
}
