package decoder

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/strangler/strangler/internal/testenv"
)

// TestCharsetDecode converts text of every supported character set, byte by byte as
// MySQL stores it, to UTF-8.
func TestCharsetDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		charset string
		in      string
		want    string
	}{
		{"utf8mb4", "emoji \xf0\x9f\x98\x80", "emoji 😀"},
		{"utf8mb4", "bad \xff byte", "bad \uFFFD byte"},
		{"utf8mb3", "\xc5\xbc\xc3\xb3\xc5\x82w", "żółw"},
		{"utf8", "caf\xc3\xa9", "café"},
		{"latin1", "caf\xe9 \x80 \x81 \x9f \xff", "café € \u0081 Ÿ ÿ"}, // MySQL's latin1 is cp1252, with 0x81 kept
		{"ascii", "plain ~", "plain ~"},
		{"ascii", "x\x80", "x\uFFFD"},
		{"cp1251", "\xcf\xf0\xe8\xe2\xe5\xf2 \xa8\xb8", "Привет Ёё"},
		{"greek", "\xc1\xe8\xde\xed\xe1", "Αθήνα"},
		{"latin2", "\xbf\xf3\xb3w \xae", "żółw Ž"},
		{"latin5", "\xddstanbul \xfe", "İstanbul ş"},
		{"latin7", "\xc0\xfeuolas", "Ąžuolas"},
		{"hebrew", "\xf9\xec\xe5\xed", "שלום"},
		{"koi8r", "\xf0\xd2\xc9\xd7\xc5\xd4", "Привет"},
		{"koi8u", "\xeb\xc9\xa7\xd7", "Київ"},
		{"cp1250", "\xa3\xf3d\x9f", "Łódź"},
		{"cp1256", "\xe3\xd1\xcd\xc8\xc7", "مرحبا"},
		{"cp1257", "\xc0\xfeuolas", "Ąžuolas"},
		{"cp850", "caf\x82 \xa4", "café ñ"},
		{"cp852", "\x9d\xa2d\xab", "Łódź"},
		{"cp866", "\x8f\xe0\xa8\xa2\xa5\xe2", "Привет"},
		{"macroman", "caf\x8e \xc4", "café ƒ"},
		{"tis620", "\xc0\xd2\xc9\xd2", "ภาษา"},
		{"swe7", "[\\]{|}", "ÄÖÅäöå"}, // swe7 puts the Swedish letters where ASCII has brackets
		{"sjis", "\x93\xfa\x96\x7b\x8c\xea", "日本語"},
		{"cp932", "\x87\x40\x93\xfa\x96\x7b", "①日本"},
		{"ujis", "\xc6\xfc\xcb\xdc\xb8\xec", "日本語"},
		{"eucjpms", "\xc6\xfc\xcb\xdc", "日本"},
		{"gbk", "\xd6\xd0\xce\xc4", "中文"},
		{"gb2312", "\xd6\xd0\xce\xc4", "中文"},
		{"gb18030", "\xd6\xd0\x94\x39\xfc\x36", "中😀"},
		{"big5", "\xa4\xa4\xa4\xe5", "中文"},
		{"euckr", "\xc7\xd1\xb1\xdb", "한글"},
		{"ucs2", "\x00a\x00\xe9\x27\x13", "aé✓"},
		{"utf16", "\xd8\x3d\xde\x00\x00!", "😀!"},
		{"utf16", "\xfe\xff\x00a", "\ufeffa"}, // no byte order mark in MySQL: U+FEFF is a character
		{"utf16le", "\x3d\xd8\x00\xde!\x00", "😀!"},
		{"utf32", "\x00\x01\xf6\x00\x00\x00\x00a", "😀a"},
		{"sjis", "\x93\xfa\x81\x5f\x96\x7b", "日\\本"},           // MySQL's sjis is JIS: 815F is the backslash, not U+FF3C
		{"cp932", "\x81\x5f\xf0\x40\xf9\xfc", "＼\ue000\ue757"}, // user-defined area -> private use
		{"ujis", "\xa1\xc0\x8f\xf5\xa1\xf5\xa1", "\\\ue3ac\ue000"},
		{"big5", "\xa1\x45\xa4\xa4\xc6\xa1", "•中ヾ"}, // ETEN extensions as MySQL maps them
		{"sjis", "", ""},
		{"utf32", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.charset+"/"+tt.want, func(t *testing.T) {
			d, err := newTextDecoder(tt.charset)
			require.NoError(t, err)
			in := []byte(tt.in)
			got, err := d.decode(in)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			require.True(t, utf8.ValidString(got))
			// The result owns its memory.
			for i := range in {
				in[i] = 'X'
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestCharsetUnsupported(t *testing.T) {
	t.Parallel()
	for _, cs := range []string{"klingon", "", "binary"} {
		_, err := newTextDecoder(cs)
		require.ErrorContains(t, err, "is not supported", cs)
	}
}

func TestCharsetCollationIDs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id   uint64
		want string
	}{
		{8, "latin1"}, {33, "utf8mb3"}, {45, "utf8mb4"}, {46, "utf8mb4"}, {63, "binary"}, {83, "utf8mb3"},
		{255, "utf8mb4"}, {309, "utf8mb4"}, {323, "utf8mb4"}, // MySQL 8's utf8mb4_0900_*
		{248, "gb18030"}, {95, "cp932"}, {1032, "latin1"}, {1070, "utf8mb4"}, // MariaDB's nopad collations
		{2048, "utf8mb3"}, {2304, "utf8mb4"}, {2375, "utf8mb4"}, {2560, "ucs2"}, {2819, "utf16"}, {3140, "utf32"}, // MariaDB's uca1400
	}
	for _, tt := range tests {
		got, ok := collationCharset(tt.id)
		require.True(t, ok, "collation %d", tt.id)
		require.Equal(t, tt.want, got, "collation %d", tt.id)
	}
	for _, id := range []uint64{0, 400, 2048 + 5<<8, 100000} {
		_, ok := collationCharset(id)
		require.False(t, ok, "collation %d", id)
	}
}

// TestCharsetMatchesServer checks the collation ids and character sets against the
// server's own catalog, and the single-byte tables against the server's conversion of
// every byte.
func TestCharsetMatchesServer(t *testing.T) {
	t.Parallel()
	db := testenv.OpenMySQL(t, testenv.MySQLAddr(t))

	t.Run("collations", func(t *testing.T) {
		rows, err := db.Query("SELECT ID, CHARACTER_SET_NAME, COLLATION_NAME FROM information_schema.COLLATIONS WHERE ID IS NOT NULL")
		require.NoError(t, err)
		defer rows.Close()
		n := 0
		for rows.Next() {
			var id uint64
			var cs, name string
			require.NoError(t, rows.Scan(&id, &cs, &name))
			got, ok := collationCharset(id)
			require.True(t, ok, "collation %s (%d)", name, id)
			require.Equal(t, cs, got, "collation %s (%d)", name, id)
			n++
		}
		require.NoError(t, rows.Err())
		require.Greater(t, n, 200)
	})

	t.Run("charsets", func(t *testing.T) {
		rows, err := db.Query("SELECT CHARACTER_SET_NAME FROM information_schema.CHARACTER_SETS")
		require.NoError(t, err)
		defer rows.Close()
		for rows.Next() {
			var cs string
			require.NoError(t, rows.Scan(&cs))
			if cs == charsetBinary {
				continue
			}
			_, err := newTextDecoder(cs)
			require.NoError(t, err, "character set %s", cs)
		}
		require.NoError(t, rows.Err())
	})

	t.Run("single-byte", func(t *testing.T) {
		for cs := range singleByteCharsets {
			exprs := make([]string, 256)
			for b := range exprs {
				exprs[b] = fmt.Sprintf("HEX(CONVERT(_%s X'%02X' USING utf8mb4))", cs, b)
			}
			var list string
			require.NoError(t, db.QueryRow("SELECT CONCAT_WS(',', "+strings.Join(exprs, ", ")+")").Scan(&list))
			server := strings.Split(list, ",")
			require.Len(t, server, 256, cs)
			d, err := newTextDecoder(cs)
			require.NoError(t, err)
			for b, h := range server {
				want, err := hex.DecodeString(h)
				require.NoError(t, err)
				if string(want) == "?" && b != '?' {
					want = []byte("\uFFFD") // the server has no character for the byte
				}
				got, err := d.decode([]byte{byte(b)})
				require.NoError(t, err)
				require.Equal(t, string(want), got, "%s byte %#02x", cs, b)
			}
		}
	})

	t.Run("multi-byte", func(t *testing.T) {
		// The server encodes a text of each language into the character set; the decoder
		// must give the text back.
		samples := map[string]string{
			"sjis": "日本語のテキスト、カタカナ。ｶﾅ", "cp932": "①②㈱髙﨑 日本語", "ujis": "日本語のテキスト、カタカナ。",
			"eucjpms": "日本語①", "gbk": "中文字符，简体与繁體", "gb2312": "中文字符，简体",
			"big5": "中文字元，繁體", "euckr": "한국어 텍스트 漢字", "ucs2": "Grüße ✓ Ω", "utf16": "emoji 😀 𝄞",
			"utf16le": "emoji 😀 𝄞", "utf32": "emoji 😀 𝄞",
		}
		for cs, text := range samples {
			var h string
			require.NoError(t, db.QueryRow(fmt.Sprintf("SELECT HEX(CONVERT(? USING %s))", cs), text).Scan(&h), cs)
			b, err := hex.DecodeString(h)
			require.NoError(t, err)
			d, err := newTextDecoder(cs)
			require.NoError(t, err)
			got, err := d.decode(b)
			require.NoError(t, err)
			require.Equal(t, text, got, cs)
		}
	})
	t.Run("multi-byte-every-character", func(t *testing.T) {
		// Every two-byte sequence (and three-byte, for EUC-JP) the server decodes must
		// decode to the same text here; what the server rejects cannot be stored.
		for _, cs := range []string{"sjis", "cp932", "ujis", "eucjpms", "gbk", "gb2312", "big5", "euckr"} {
			var seqs []string
			for lead := 0x81; lead <= 0xFE; lead++ {
				for trail := 0x40; trail <= 0xFE; trail++ {
					seqs = append(seqs, fmt.Sprintf("%02X%02X", lead, trail))
				}
			}
			if cs == "ujis" || cs == "eucjpms" {
				for lead := 0xA1; lead <= 0xFE; lead++ {
					for trail := 0xA1; trail <= 0xFE; trail++ {
						seqs = append(seqs, fmt.Sprintf("8F%02X%02X", lead, trail))
					}
				}
			}
			d, err := newTextDecoder(cs)
			require.NoError(t, err)
			valid := 0
			for i := 0; i < len(seqs); i += 2000 {
				chunk := seqs[i:min(i+2000, len(seqs))]
				exprs := make([]string, len(chunk))
				for j, seq := range chunk {
					exprs[j] = fmt.Sprintf("HEX(CONVERT(CONVERT(X'%s' USING %s) USING utf8mb4))", seq, cs)
				}
				var list string
				require.NoError(t, db.QueryRow("SELECT CONCAT_WS(',', "+strings.Join(exprs, ",")+")").Scan(&list))
				for j, h := range strings.Split(list, ",") {
					want, err := hex.DecodeString(h)
					require.NoError(t, err)
					if strings.Contains(string(want), "?") {
						continue // not a character of cs for the server
					}
					valid++
					in, err := hex.DecodeString(chunk[j])
					require.NoError(t, err)
					got, err := d.decode(in)
					require.NoError(t, err)
					require.Equal(t, string(want), got, "%s sequence %s", cs, chunk[j])
				}
			}
			require.Greater(t, valid, 7000, cs)
		}
	})
}
