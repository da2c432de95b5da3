package schema

import (
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/mysql"
)

// columnDef is a column definition read from DDL, with the keys it declares inline.
type columnDef struct {
	col     Column
	primary bool // PRIMARY KEY on the column
	unique  bool // UNIQUE [KEY] on the column (or SERIAL)
}

// buildColumn turns a parsed column definition into a Column, as the server would store
// it. tableCharset is the charset of the table the column is defined in.
func buildColumn(def *ast.ColumnDef, tableCharset string, server Server) (columnDef, error) {
	tp := def.Tp
	out := columnDef{col: Column{Name: def.Name.Name.O, Nullable: true}}
	c := &out.col
	if tp == nil {
		return out, fmt.Errorf("column %s has no type", c.Name)
	}
	flag := tp.GetFlag()
	c.Unsigned = mysql.HasUnsignedFlag(flag) || mysql.HasZerofillFlag(flag)

	// Character set: the column's collation decides, then its charset, then the table's.
	collate := tp.GetCollate()
	explicitNull := false
	var jsonCheck, otherCheck bool
	for _, o := range def.Options {
		switch o.Tp {
		case ast.ColumnOptionCollate:
			collate = o.StrValue
		case ast.ColumnOptionNotNull:
			c.Nullable = false
		case ast.ColumnOptionNull:
			c.Nullable = true
			explicitNull = true
		case ast.ColumnOptionPrimaryKey:
			out.primary = true
		case ast.ColumnOptionUniqKey:
			out.unique = true
		case ast.ColumnOptionCheck:
			if isJSONValidOf(o.Expr, c.Name) {
				jsonCheck = true
			} else {
				otherCheck = true
			}
		}
	}
	cs := ""
	if collate != "" {
		if x, ok := charsetOfCollation(collate); ok {
			cs = x
		}
	}
	if cs == "" && tp.GetCharset() != "" {
		cs = normCharset(tp.GetCharset())
	}
	if cs == "" {
		cs = tableCharset
	}
	binary := cs == "binary"

	flen, dec := tp.GetFlen(), tp.GetDecimal()
	fsp := func() int {
		if dec < 0 {
			return 0
		}
		return dec
	}
	switch tp.GetType() {
	case mysql.TypeTiny:
		c.Type = "tinyint"
	case mysql.TypeShort:
		c.Type = "smallint"
	case mysql.TypeInt24:
		c.Type = "mediumint"
	case mysql.TypeLong:
		c.Type = "int"
	case mysql.TypeLonglong:
		c.Type = "bigint"
	case mysql.TypeNewDecimal:
		c.Type = "decimal"
		c.Precision, c.Scale = flen, dec
		if c.Precision < 0 {
			c.Precision = 10
		}
		if c.Scale < 0 {
			c.Scale = 0
		}
	case mysql.TypeFloat:
		c.Type = "float"
	case mysql.TypeDouble:
		c.Type = "double"
	case mysql.TypeBit:
		c.Type = "bit"
		c.Precision = max(flen, 1)
	case mysql.TypeDate:
		c.Type = "date"
	case mysql.TypeDatetime:
		c.Type, c.FSP = "datetime", fsp()
	case mysql.TypeTimestamp:
		c.Type, c.FSP = "timestamp", fsp()
		if !server.ExplicitDefaultsForTimestamp && !explicitNull {
			c.Nullable = false
		}
	case mysql.TypeDuration:
		c.Type, c.FSP = "time", fsp()
	case mysql.TypeYear:
		c.Type = "year"
	case mysql.TypeString:
		c.Type, c.Charset, c.Precision = "char", cs, max(flen, 1)
		if binary {
			c.Type = "binary"
		}
	case mysql.TypeVarchar, mysql.TypeVarString:
		c.Type, c.Charset, c.Precision = "varchar", cs, flen
		if binary {
			c.Type = "varbinary"
		}
		if flen < 0 {
			return out, fmt.Errorf("column %s: VARCHAR needs a length", c.Name)
		}
	case mysql.TypeTinyBlob, mysql.TypeBlob, mysql.TypeMediumBlob, mysql.TypeLongBlob:
		size := blobSize(tp.GetType())
		if tp.GetType() == mysql.TypeBlob && flen > 0 {
			// TEXT(M) and BLOB(M) are the smallest type that holds M characters (bytes).
			size = sizeForBytes(int64(flen) * int64(charsetMaxLen(cs)))
		}
		c.Type, c.Charset = textTypes[size], cs
		if binary {
			c.Type = blobTypes[size]
		}
		if c.Type == "longtext" && jsonCheck {
			c.Type, c.Charset = "json", "" // MariaDB's JSON, spelled out
		}
	case mysql.TypeEnum:
		elems := tp.GetElems()
		if len(elems) == 1 && strings.HasPrefix(elems[0], placeholderPrefix) {
			c.Type = strings.TrimPrefix(elems[0], placeholderPrefix)
			break
		}
		c.Type, c.Charset, c.Elements = "enum", cs, append([]string(nil), elems...)
	case mysql.TypeSet:
		c.Type, c.Charset, c.Elements = "set", cs, append([]string(nil), tp.GetElems()...)
	case mysql.TypeJSON:
		// MariaDB: LONGTEXT CHARSET utf8mb4 COLLATE utf8mb4_bin CHECK (json_valid(col)),
		// MySQL: its binary JSON. Either way the decoder emits it as embedded JSON; it
		// has no charset of its own here. On MariaDB a CHECK of the column's own takes
		// the json_valid check's place, and the column is then a plain LONGTEXT.
		c.Type = "json"
		if server.MariaDB && otherCheck && !jsonCheck {
			c.Type, c.Charset = "longtext", "utf8mb4"
		}
	case mysql.TypeTiDBVectorFloat32:
		c.Type, c.Precision = "vector", max(flen, 0) // MariaDB 11.7's VECTOR(n)
	default:
		return out, fmt.Errorf("column %s: unsupported type %s", c.Name, tp.String())
	}
	if out.primary {
		c.Nullable = false
	}
	return out, nil
}

// isJSONValidOf reports whether expr is json_valid(`col`), the check MariaDB gives JSON.
func isJSONValidOf(expr ast.ExprNode, col string) bool {
	f, ok := expr.(*ast.FuncCallExpr)
	if !ok || f.FnName.L != "json_valid" || len(f.Args) != 1 {
		return false
	}
	arg, ok := f.Args[0].(*ast.ColumnNameExpr)
	return ok && strings.EqualFold(arg.Name.Name.O, col) && arg.Name.Table.O == ""
}

// Text and blob types by size class: tiny, normal, medium, long.
var (
	textTypes = [...]string{"tinytext", "text", "mediumtext", "longtext"}
	blobTypes = [...]string{"tinyblob", "blob", "mediumblob", "longblob"}
	// textMaxBytes is the most bytes each size class holds.
	textMaxBytes = [...]int64{255, 65535, 16777215, 4294967295}
)

func blobSize(tp byte) int {
	switch tp {
	case mysql.TypeTinyBlob:
		return 0
	case mysql.TypeMediumBlob:
		return 2
	case mysql.TypeLongBlob:
		return 3
	}
	return 1
}

// sizeForBytes returns the smallest size class that holds n bytes.
func sizeForBytes(n int64) int {
	for i, m := range textMaxBytes {
		if n <= m {
			return i
		}
	}
	return len(textMaxBytes) - 1
}

// textSize returns the size class of a text or blob type name, -1 for other types.
func textSize(typ string) int {
	for i := range textTypes {
		if typ == textTypes[i] || typ == blobTypes[i] {
			return i
		}
	}
	return -1
}

// isCharacterType reports whether a column of type typ has a character set of its own
// (and is converted by CONVERT TO CHARACTER SET).
func isCharacterType(typ string) bool {
	switch typ {
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set":
		return true
	}
	return false
}
