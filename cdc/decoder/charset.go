package decoder

import (
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/encoding/unicode/utf32"
)

// charsetBinary is the pseudo character set of binary strings and blobs.
const charsetBinary = "binary"

// textDecoder turns the bytes of a character column, in the column's character set, into
// a UTF-8 string of its own (never sharing memory with the input). It is safe for
// concurrent use.
type textDecoder struct {
	charset string
	// asciiSafe: bytes below 0x80 always stand for themselves (and never belong to a
	// multi-byte character), so text made of them alone is copied as is.
	asciiSafe bool
	utf8      bool              // utf8mb3 / utf8mb4: copied, invalid sequences replaced
	table     *[256]rune        // single-byte character sets
	enc       encoding.Encoding // multi-byte character sets, through golang.org/x/text
	// Where the server decodes some characters otherwise than golang.org/x/text: the
	// length of the character a byte starts, the differing characters, and the
	// user-defined area (mapped to Unicode's private use area).
	charLen     func(lead byte) int
	fixes       map[string]rune
	userDefined func(seq []byte) (rune, bool)
}

// multiByteCharsets are the character sets golang.org/x/text decodes. Where MariaDB's
// (and MySQL's) tables differ from the WHATWG/Unicode ones x/text follows, the server's
// characters win: multiByteFixes lists them, and the user-defined areas are computed.
var multiByteCharsets = map[string]struct {
	enc         encoding.Encoding
	asciiSafe   bool
	charLen     func(lead byte) int
	userDefined func(seq []byte) (rune, bool)
}{
	"sjis":    {japanese.ShiftJIS, true, sjisCharLen, nil},
	"cp932":   {japanese.ShiftJIS, true, sjisCharLen, cp932UserDefined}, // WHATWG Shift_JIS is Windows-31J
	"ujis":    {japanese.EUCJP, true, eucjpCharLen, eucjpUserDefined},
	"eucjpms": {japanese.EUCJP, true, eucjpCharLen, eucjpUserDefined},
	"euckr":   {korean.EUCKR, true, nil, nil},
	"gbk":     {simplifiedchinese.GBK, true, nil, nil},
	"gb2312":  {simplifiedchinese.GBK, true, dbcsCharLen, nil}, // GBK is a superset of GB2312
	"gb18030": {simplifiedchinese.GB18030, true, nil, nil},     // MySQL 8 only
	"big5":    {traditionalchinese.Big5, true, dbcsCharLen, nil},
	// MySQL stores UCS-2 and UTF-16 big-endian and without a byte order mark: a leading
	// FE FF is the character U+FEFF, kept.
	"ucs2":    {unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM), false, nil, nil},
	"utf16":   {unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM), false, nil, nil},
	"utf16le": {unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), false, nil, nil},
	"utf32":   {utf32.UTF32(utf32.BigEndian, utf32.IgnoreBOM), false, nil, nil},
}

// sjisCharLen: Shift_JIS lead bytes start two-byte characters.
func sjisCharLen(c byte) int {
	if (c >= 0x81 && c <= 0x9F) || (c >= 0xE0 && c <= 0xFC) {
		return 2
	}
	return 1
}

// eucjpCharLen: EUC-JP has two-byte characters, half-width kana after 0x8E and JIS X
// 0212 characters in three bytes after 0x8F.
func eucjpCharLen(c byte) int {
	switch {
	case c == 0x8F:
		return 3
	case c == 0x8E || c >= 0xA1 && c <= 0xFE:
		return 2
	}
	return 1
}

// dbcsCharLen: Big5 and GB2312 lead bytes start two-byte characters.
func dbcsCharLen(c byte) int {
	if c >= 0x81 && c <= 0xFE {
		return 2
	}
	return 1
}

// cp932UserDefined maps cp932's user-defined area, F040 to F9FC, to U+E000..U+E757, as
// the server does (x/text has no character for it).
func cp932UserDefined(seq []byte) (rune, bool) {
	if len(seq) != 2 || seq[0] < 0xF0 || seq[0] > 0xF9 || seq[1] < 0x40 || seq[1] > 0xFC || seq[1] == 0x7F {
		return 0, false
	}
	trail := int(seq[1]) - 0x40
	if seq[1] > 0x7F {
		trail--
	}
	return rune(0xE000 + int(seq[0]-0xF0)*188 + trail), true
}

// eucjpUserDefined maps EUC-JP's user-defined areas, F5A1..FEFE and 8FF5A1..8FFEFE, to
// U+E000..U+E3AB and U+E3AC..U+E757, as the server does.
func eucjpUserDefined(seq []byte) (rune, bool) {
	base := rune(0xE000)
	if len(seq) == 3 && seq[0] == 0x8F {
		base, seq = 0xE3AC, seq[1:]
	}
	if len(seq) != 2 || seq[0] < 0xF5 || seq[0] > 0xFE || seq[1] < 0xA1 || seq[1] > 0xFE {
		return 0, false
	}
	return base + rune(int(seq[0]-0xF5)*94+int(seq[1]-0xA1)), true
}

// singleByteTables holds the decoded tables of singleByteCharsets, built on first use
// and read-only afterwards.
var singleByteTables = sync.OnceValue(func() map[string]*textDecoder {
	m := make(map[string]*textDecoder, len(singleByteCharsets))
	for name, text := range singleByteCharsets {
		var table [256]rune
		i := 0
		for _, r := range text {
			table[i] = r
			i++
		}
		if i != 256 {
			panic(fmt.Sprintf("decoder: table of %s has %d characters, not 256", name, i))
		}
		safe := true
		for b := 0; b < 0x80; b++ {
			if table[b] != rune(b) {
				safe = false
			}
		}
		m[name] = &textDecoder{charset: name, asciiSafe: safe, table: &table}
	}
	return m
})

// newTextDecoder returns the decoder of a character set, by its MySQL name.
func newTextDecoder(charset string) (*textDecoder, error) {
	switch charset {
	case "utf8mb4", "utf8mb3", "utf8":
		return &textDecoder{charset: charset, asciiSafe: true, utf8: true}, nil
	}
	if d, ok := singleByteTables()[charset]; ok {
		return d, nil
	}
	if m, ok := multiByteCharsets[charset]; ok {
		return &textDecoder{charset: charset, asciiSafe: m.asciiSafe, enc: m.enc,
			charLen: m.charLen, fixes: multiByteFixes[charset], userDefined: m.userDefined}, nil
	}
	return nil, fmt.Errorf("character set %q is not supported", charset)
}

// decode converts b to a new UTF-8 string.
func (d *textDecoder) decode(b []byte) (string, error) {
	switch {
	case d.utf8:
		if utf8.Valid(b) {
			return string(b), nil
		}
		// Only a server bug or a binary write into a utf8 column gets here; keep the text
		// readable and the output valid.
		return strings.ToValidUTF8(string(b), "\uFFFD"), nil
	case d.asciiSafe && isASCII(b):
		return string(b), nil
	case d.table != nil:
		var sb strings.Builder
		sb.Grow(len(b) + len(b)/2)
		for _, c := range b {
			r := d.table[c]
			if r < utf8.RuneSelf {
				sb.WriteByte(byte(r))
			} else {
				sb.WriteRune(r)
			}
		}
		return sb.String(), nil
	case d.charLen == nil:
		out, err := d.enc.NewDecoder().Bytes(b)
		if err != nil {
			return "", fmt.Errorf("decode %s text: %w", d.charset, err)
		}
		return unsafe.String(unsafe.SliceData(out), len(out)), nil
	default:
		return d.decodeWithFixes(b)
	}
}

// decodeWithFixes hands runs of characters to x/text and decodes the characters where
// the server differs itself.
func (d *textDecoder) decodeWithFixes(b []byte) (string, error) {
	out := make([]byte, 0, len(b)*3/2)
	dec := d.enc.NewDecoder()
	flush := func(run []byte) error {
		if len(run) == 0 {
			return nil
		}
		dec.Reset()
		text, err := dec.Bytes(run)
		if err != nil {
			return fmt.Errorf("decode %s text: %w", d.charset, err)
		}
		out = append(out, text...)
		return nil
	}
	start := 0
	for i := 0; i < len(b); {
		n := min(d.charLen(b[i]), len(b)-i)
		if n > 1 {
			seq := b[i : i+n]
			r, ok := d.fixes[string(seq)]
			if !ok && d.userDefined != nil {
				r, ok = d.userDefined(seq)
			}
			if ok {
				if err := flush(b[start:i]); err != nil {
					return "", err
				}
				out = utf8.AppendRune(out, r)
				start = i + n
			}
		}
		i += n
	}
	if err := flush(b[start:]); err != nil {
		return "", err
	}
	return unsafe.String(unsafe.SliceData(out), len(out)), nil
}

// decodeString is decode for a string (go-mysql hands CHAR and VARCHAR values as
// strings): it is read, never kept.
func (d *textDecoder) decodeString(s string) (string, error) {
	return d.decode(unsafe.Slice(unsafe.StringData(s), len(s)))
}

func isASCII(b []byte) bool {
	// Eight bytes at a time: this runs for every character value of every row.
	i := 0
	for ; i+8 <= len(b); i += 8 {
		v := uint64(b[i]) | uint64(b[i+1])<<8 | uint64(b[i+2])<<16 | uint64(b[i+3])<<24 |
			uint64(b[i+4])<<32 | uint64(b[i+5])<<40 | uint64(b[i+6])<<48 | uint64(b[i+7])<<56
		if v&0x8080808080808080 != 0 {
			return false
		}
	}
	for ; i < len(b); i++ {
		if b[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// collationCharset returns the character set of a collation id as the binlog's
// optional metadata carries it, for MySQL and MariaDB alike (their ids do not clash).
func collationCharset(id uint64) (string, bool) {
	// MariaDB 10.10+ numbers its UCA 14.0.0 collations 2048 + charset<<8 + tailoring<<3
	// + flags (e.g. utf8mb4_uca1400_ai_ci is 2304).
	if id >= 2048 && id < 2048+5<<8 {
		return [...]string{"utf8mb3", "utf8mb4", "ucs2", "utf16", "utf32"}[(id-2048)>>8], true
	}
	cs, ok := collationCharsets()[id]
	return cs, ok
}

var collationCharsets = sync.OnceValue(func() map[uint64]string {
	m := make(map[uint64]string, 400)
	for cs, ids := range collationIDs {
		for _, id := range ids {
			m[uint64(id)] = cs
		}
	}
	return m
})
