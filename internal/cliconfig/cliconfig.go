// Package cliconfig gives every strangler command three sources of configuration: flags,
// STRANGLER_* environment variables and a YAML file (--config), flags winning over the
// environment and the environment over the file. Settings are named after flags:
// --server-id is STRANGLER_SERVER_ID and `server-id:` in the file.
package cliconfig

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// EnvName is the environment variable for a flag.
func EnvName(flag string) string {
	return "STRANGLER_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// Apply fills every flag of cmd that was not given on the command line from the
// environment, then from the YAML file at path (if not empty). A key of the file that no
// command of the program knows is refused, as a typo would otherwise go unnoticed.
func Apply(cmd *cobra.Command, path string) error {
	file := map[string]any{}
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("--config %s: %w", path, err)
		}
		if err := yaml.Unmarshal(raw, &file); err != nil {
			return fmt.Errorf("--config %s is not valid YAML: %w", path, err)
		}
		known := allFlags(cmd.Root())
		var unknown []string
		for k := range file {
			if !known[k] {
				unknown = append(unknown, k)
			}
		}
		if len(unknown) > 0 {
			sort.Strings(unknown)
			return fmt.Errorf("--config %s: unknown settings %s: settings are named like the flags (see --help)", path, strings.Join(unknown, ", "))
		}
	}
	var errs []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Name == "config" || f.Name == "help" {
			return
		}
		if v, ok := os.LookupEnv(EnvName(f.Name)); ok {
			if err := set(cmd, f, splitList(f, v)); err != nil {
				errs = append(errs, fmt.Sprintf("%s=%q: %v", EnvName(f.Name), v, err))
			}
			return
		}
		if v, ok := file[f.Name]; ok {
			vals, err := yamlValues(v)
			if err == nil {
				err = set(cmd, f, vals)
			}
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: %s: %v", path, f.Name, err))
			}
		}
	})
	if len(errs) > 0 {
		return fmt.Errorf("configuration: %s", strings.Join(errs, "; "))
	}
	return nil
}

func isList(f *pflag.Flag) bool {
	t := f.Value.Type()
	return strings.HasSuffix(t, "Slice") || strings.HasSuffix(t, "Array")
}

func splitList(f *pflag.Flag, v string) []string {
	if !isList(f) {
		return []string{v}
	}
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func yamlValues(v any) ([]string, error) {
	switch x := v.(type) {
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out, nil
	case map[string]any:
		return nil, fmt.Errorf("expected a value or a list, got a mapping")
	case nil:
		return nil, nil
	default:
		return []string{fmt.Sprint(x)}, nil
	}
}

func set(cmd *cobra.Command, f *pflag.Flag, vals []string) error {
	for _, v := range vals {
		if err := cmd.Flags().Set(f.Name, v); err != nil {
			return err
		}
	}
	return nil
}

// SectionsAnnotation names, in a command's Annotations, the keys of the --config file
// the command reads itself (comma-separated), rather than through a flag: compare's
// tables: list of mappings, for instance. Apply then knows them and leaves them alone.
const SectionsAnnotation = "strangler.config-sections"

func allFlags(root *cobra.Command) map[string]bool {
	known := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, k := range strings.Split(c.Annotations[SectionsAnnotation], ",") {
			if k = strings.TrimSpace(k); k != "" {
				known[k] = true
			}
		}
		c.Flags().VisitAll(func(f *pflag.Flag) { known[f.Name] = true })
		c.PersistentFlags().VisitAll(func(f *pflag.Flag) { known[f.Name] = true })
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return known
}
