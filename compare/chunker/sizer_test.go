package chunker

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Chunks grow by a quarter while they match and halve after one differs, within min and
// max, whatever rate the previous chunks were read at.
func TestSizerFollowsDifferences(t *testing.T) {
	tests := []struct {
		name     string
		compared []bool // outcomes of the chunks so far
		want     int
	}{
		{"start", nil, 1000},
		{"one match grows by a quarter", []bool{false}, 1250},
		{"matches grow up to max", repeat(false, 40), 50000},
		{"a difference halves", []bool{false, false, true}, 781},
		{"differences shrink down to min", repeat(true, 20), 100},
		{"growth resumes after a difference", append(repeat(true, 2), false), 312},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSizer(100*time.Millisecond, 1000, 100, 50000)
			// A fast reader: the rate alone would allow max-sized chunks.
			for range 30 {
				s.Observe(1000, time.Millisecond)
			}
			for _, differed := range tt.compared {
				s.Compared(differed)
			}
			require.Equal(t, tt.want, s.Rows())
		})
	}
}

func repeat(v bool, n int) []bool {
	out := make([]bool, n)
	for i := range out {
		out[i] = v
	}
	return out
}
