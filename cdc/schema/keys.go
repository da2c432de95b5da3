package schema

import (
	"slices"
	"strconv"
	"strings"
)

// Key bookkeeping on a Table being built (a clone, never a Table of a Catalog).

// clone returns a deep copy of t.
func (t *Table) clone() *Table {
	n := *t
	n.Columns = make([]Column, len(t.Columns))
	for i, c := range t.Columns {
		c.Elements = slices.Clone(c.Elements)
		n.Columns[i] = c
	}
	n.PrimaryKey = slices.Clone(t.PrimaryKey)
	n.UniqueKeys = make([][]string, len(t.UniqueKeys))
	for i, k := range t.UniqueKeys {
		n.UniqueKeys[i] = slices.Clone(k)
	}
	if t.UniqueKeys == nil {
		n.UniqueKeys = nil
	}
	n.UniqueKeyNames = slices.Clone(t.UniqueKeyNames)
	n.Indexes = make([]Index, len(t.Indexes))
	for i, ix := range t.Indexes {
		ix.Columns = slices.Clone(ix.Columns)
		n.Indexes[i] = ix
	}
	if t.Indexes == nil {
		n.Indexes = nil
	}
	return &n
}

// indexNameTaken reports whether an index of t has name (compared as the server does,
// case-insensitively; PRIMARY is the primary key's).
func (t *Table) indexNameTaken(name string) bool {
	if strings.EqualFold(name, "PRIMARY") {
		return true
	}
	for _, n := range t.UniqueKeyNames {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	for _, ix := range t.Indexes {
		if strings.EqualFold(ix.Name, name) {
			return true
		}
	}
	return false
}

// generateIndexName names an unnamed key as the server does: after its first column,
// then with _2, _3, ... while that name is taken.
func (t *Table) generateIndexName(firstColumn string) string {
	if !t.indexNameTaken(firstColumn) {
		return firstColumn
	}
	for i := 2; ; i++ {
		name := firstColumn + "_" + strconv.Itoa(i)
		if !t.indexNameTaken(name) {
			return name
		}
	}
}

// addUniqueKey adds a unique key, keeping the canonical order (by lower-cased name).
func (t *Table) addUniqueKey(name string, cols []string) {
	t.UniqueKeys = append(t.UniqueKeys, cols)
	t.UniqueKeyNames = append(t.UniqueKeyNames, name)
	t.sortKeys()
}

// addIndex adds an index that gives no row identity.
func (t *Table) addIndex(name string, cols []string) {
	t.Indexes = append(t.Indexes, Index{Name: name, Columns: cols})
	t.sortKeys()
}

// sortKeys puts unique keys and indexes in their canonical order.
func (t *Table) sortKeys() {
	type uk struct {
		name string
		cols []string
	}
	u := make([]uk, len(t.UniqueKeys))
	for i := range t.UniqueKeys {
		u[i] = uk{t.UniqueKeyNames[i], t.UniqueKeys[i]}
	}
	slices.SortStableFunc(u, func(a, b uk) int { return strings.Compare(strings.ToLower(a.name), strings.ToLower(b.name)) })
	for i := range u {
		t.UniqueKeyNames[i], t.UniqueKeys[i] = u[i].name, u[i].cols
	}
	slices.SortStableFunc(t.Indexes, func(a, b Index) int {
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
}

// dropIndex drops the index or key called name and reports whether there was one.
func (t *Table) dropIndex(name string) bool {
	if strings.EqualFold(name, "PRIMARY") {
		had := len(t.PrimaryKey) > 0
		t.PrimaryKey = nil
		return had
	}
	for i, n := range t.UniqueKeyNames {
		if strings.EqualFold(n, name) {
			t.UniqueKeys = slices.Delete(t.UniqueKeys, i, i+1)
			t.UniqueKeyNames = slices.Delete(t.UniqueKeyNames, i, i+1)
			t.tidyKeys()
			return true
		}
	}
	for i, ix := range t.Indexes {
		if strings.EqualFold(ix.Name, name) {
			t.Indexes = slices.Delete(t.Indexes, i, i+1)
			t.tidyKeys()
			return true
		}
	}
	return false
}

// renameIndex renames an index or unique key and reports whether there was one.
func (t *Table) renameIndex(from, to string) bool {
	for i, n := range t.UniqueKeyNames {
		if strings.EqualFold(n, from) {
			t.UniqueKeyNames[i] = to
			t.sortKeys()
			return true
		}
	}
	for i, ix := range t.Indexes {
		if strings.EqualFold(ix.Name, from) {
			t.Indexes[i].Name = to
			t.sortKeys()
			return true
		}
	}
	return false
}

// renameColumnInKeys follows a column rename in every key.
func (t *Table) renameColumnInKeys(from, to string) {
	rename := func(cols []string) {
		for i, c := range cols {
			if strings.EqualFold(c, from) {
				cols[i] = to
			}
		}
	}
	rename(t.PrimaryKey)
	for _, k := range t.UniqueKeys {
		rename(k)
	}
	for _, ix := range t.Indexes {
		rename(ix.Columns)
	}
}

// dropColumnFromKeys follows a dropped column: it leaves every key, and a key left with
// no column goes.
func (t *Table) dropColumnFromKeys(name string) {
	without := func(cols []string) []string {
		return slices.DeleteFunc(cols, func(c string) bool { return strings.EqualFold(c, name) })
	}
	t.PrimaryKey = without(t.PrimaryKey)
	for i := range t.UniqueKeys {
		t.UniqueKeys[i] = without(t.UniqueKeys[i])
	}
	for i := 0; i < len(t.UniqueKeys); {
		if len(t.UniqueKeys[i]) == 0 {
			t.UniqueKeys = slices.Delete(t.UniqueKeys, i, i+1)
			t.UniqueKeyNames = slices.Delete(t.UniqueKeyNames, i, i+1)
			continue
		}
		i++
	}
	for i := range t.Indexes {
		t.Indexes[i].Columns = without(t.Indexes[i].Columns)
	}
	t.Indexes = slices.DeleteFunc(t.Indexes, func(ix Index) bool { return len(ix.Columns) == 0 })
	t.tidyKeys()
}

// tidyKeys keeps empty key lists nil, so that equal tables compare (and encode) equal.
func (t *Table) tidyKeys() {
	if len(t.PrimaryKey) == 0 {
		t.PrimaryKey = nil
	}
	if len(t.UniqueKeys) == 0 {
		t.UniqueKeys, t.UniqueKeyNames = nil, nil
	}
	if len(t.Indexes) == 0 {
		t.Indexes = nil
	}
}

// dropCoveredGenerated drops the indexes the server generated for foreign keys that a
// new key on cols covers (its columns start with theirs), as the server does.
func (t *Table) dropCoveredGenerated(cols []string) {
	t.Indexes = slices.DeleteFunc(t.Indexes, func(ix Index) bool {
		return ix.Generated && hasPrefix(cols, ix.Columns)
	})
	t.tidyKeys()
}

// hasPrefix reports whether key starts with cols (compared as column names are).
func hasPrefix(key, cols []string) bool {
	if len(key) < len(cols) {
		return false
	}
	for i, c := range cols {
		if !strings.EqualFold(key[i], c) {
			return false
		}
	}
	return true
}

// hasIndexPrefixedBy reports whether some key of t starts with cols, in order: the index
// a foreign key can use instead of creating its own.
func (t *Table) hasIndexPrefixedBy(cols []string) bool {
	if hasPrefix(t.PrimaryKey, cols) {
		return true
	}
	for _, k := range t.UniqueKeys {
		if hasPrefix(k, cols) {
			return true
		}
	}
	for _, ix := range t.Indexes {
		if hasPrefix(ix.Columns, cols) {
			return true
		}
	}
	return false
}
