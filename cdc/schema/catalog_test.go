package schema

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCatalogJSONRoundTrip(t *testing.T) {
	t.Parallel()
	c := catalogFrom(t,
		`CREATE TABLE b (id BIGINT UNSIGNED PRIMARY KEY, name VARCHAR(20) CHARACTER SET latin1 NOT NULL, price DECIMAL(7,2),
			at DATETIME(3), e ENUM('x''y', 'z'), j JSON, bits BIT(3), UNIQUE KEY u (name), KEY k (price))`,
		`CREATE TABLE a (x INT)`,
		`CREATE TABLE o.c (y TEXT)`,
		`CREATE TABLE p (id INT PRIMARY KEY)`,
		`CREATE TABLE ch (pid INT, FOREIGN KEY (pid) REFERENCES p (id))`,
		`CREATE DATABASE n CHARACTER SET cp1251`,
	).WithServer(Server{MariaDB: true, Charset: "latin1", ExplicitDefaultsForTimestamp: false})
	c = c.MarkUnknown([]TableName{{"d", "a"}}, "could not parse")

	data, err := json.Marshal(c)
	require.NoError(t, err)
	var back Catalog
	require.NoError(t, json.Unmarshal(data, &back))
	require.Equal(t, c.Server(), back.Server())
	require.Equal(t, c.Databases(), back.Databases())
	require.Equal(t, c.Tables(), back.Tables())
	require.Equal(t, c.Len(), back.Len())
	require.Same(t, back.Tables()[0], back.Table("d", "a"), "lookups work on a decoded catalog")
	require.True(t, back.Table("d", "ch").Indexes[0].Generated, "the generated-index mark is persisted")
	require.Equal(t, "could not parse", back.Table("d", "a").Unknown)

	again, err := json.Marshal(&back)
	require.NoError(t, err)
	require.Equal(t, string(data), string(again), "stable output")

	// The decoded catalog goes on applying DDL.
	next, _, err := back.Apply("d", `ALTER TABLE b ADD z INT`)
	require.NoError(t, err)
	require.Len(t, next.Table("d", "b").Columns, 8)
	require.Len(t, back.Table("d", "b").Columns, 7)
}

func TestCatalogJSONStableOrder(t *testing.T) {
	t.Parallel()
	// The same schema built in a different order gives the same bytes.
	c1 := catalogFrom(t, `CREATE TABLE a (x INT)`, `CREATE TABLE b (y INT, UNIQUE KEY z (y), UNIQUE KEY a (y))`, `CREATE DATABASE m`, `CREATE DATABASE n`)
	c2 := catalogFrom(t, `CREATE DATABASE n`, `CREATE TABLE b (y INT, UNIQUE KEY a (y), UNIQUE KEY z (y))`, `CREATE DATABASE m`, `CREATE TABLE a (x INT)`)
	j1, err := json.Marshal(c1)
	require.NoError(t, err)
	j2, err := json.Marshal(c2)
	require.NoError(t, err)
	require.Equal(t, string(j1), string(j2))
	require.JSONEq(t, `{"server":{"charset":"utf8mb4","explicit_defaults_for_timestamp":true},`+
		`"databases":[{"name":"d","charset":"utf8mb4"},{"name":"m","charset":"utf8mb4"},{"name":"n","charset":"utf8mb4"},{"name":"o","charset":"latin1"}],`+
		`"tables":[{"db":"d","name":"a","columns":[{"name":"x","type":"int","nullable":true}],"charset":"utf8mb4"},`+
		`{"db":"d","name":"b","columns":[{"name":"y","type":"int","nullable":true}],"unique_keys":[["y"],["y"]],"unique_key_names":["a","z"],"charset":"utf8mb4"}]}`,
		string(j1))
}

func TestCatalogJSONEmpty(t *testing.T) {
	t.Parallel()
	data, err := json.Marshal(NewCatalog())
	require.NoError(t, err)
	var back Catalog
	require.NoError(t, json.Unmarshal(data, &back))
	require.Zero(t, back.Len())
	require.Equal(t, DefaultServer, back.Server())
	next, _, err := back.Apply("d", `CREATE TABLE t (a INT)`)
	require.NoError(t, err)
	require.Equal(t, 1, next.Len())
}

func TestCatalogJSONRejectsBadInput(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]string{
		"not json":         `{`,
		"unknown field":    `{"server":{},"tables":[],"databases":[],"extra":1}`,
		"duplicate table":  `{"tables":[{"db":"d","name":"t","columns":[]},{"db":"d","name":"t","columns":[]}]}`,
		"table no name":    `{"tables":[{"db":"d","name":"","columns":[]}]}`,
		"database no name": `{"databases":[{"name":"","charset":"x"}]}`,
		"key names":        `{"tables":[{"db":"d","name":"t","columns":[{"name":"a","type":"int"}],"unique_keys":[["a"]]}]}`,
	} {
		var c Catalog
		require.Error(t, json.Unmarshal([]byte(in), &c), name)
	}
}

// TestCatalogConcurrentReads: a Catalog is read by many goroutines at once (its
// case-insensitive index is built on first need).
func TestCatalogConcurrentReads(t *testing.T) {
	t.Parallel()
	c := catalogFrom(t, `CREATE TABLE Alpha (a INT)`, `CREATE TABLE beta (b INT)`)
	done := make(chan bool)
	for range 8 {
		go func() {
			ok := c.Table("d", "alpha") != nil && c.Table("D", "BETA") != nil && c.Table("d", "nope") == nil && len(c.Tables()) == 2
			done <- ok
		}()
	}
	for range 8 {
		require.True(t, <-done)
	}
}
