package message

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateID(t *testing.T) {
	for _, ok := range []string{"a", "stocks-3f9a-17", strings.Repeat("x", MaxIDLen), "~!#$%&'()*+,-./:;<=>?@[]^_`{|}"} {
		if err := ValidateID(ok); err != nil {
			t.Errorf("ValidateID(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", strings.Repeat("x", MaxIDLen+1), "a b", "a\r\nb", "a\x00", "é", "a\x7f"} {
		if err := ValidateID(bad); !errors.Is(err, ErrBadID) {
			t.Errorf("ValidateID(%q) = %v, want ErrBadID", bad, err)
		}
	}
}
