package seal

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
)

func newBox(t *testing.T) *Box {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	b, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	b := newBox(t)
	s, err := b.Seal([]byte("tiihtNczf5v6AKRyjwEUhQ=="), "o-user-1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s, "tiihtNczf5v6AKRyjwEUhQ==") {
		t.Fatal("sealed value contains the plaintext")
	}
	got, err := b.Open(s, "o-user-1")
	if err != nil || !bytes.Equal(got, []byte("tiihtNczf5v6AKRyjwEUhQ==")) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	s2, _ := b.Seal([]byte("tiihtNczf5v6AKRyjwEUhQ=="), "o-user-1")
	if s == s2 {
		t.Fatal("two seals of the same value are identical: nonce reused")
	}
}

func TestOpenRefuses(t *testing.T) {
	b := newBox(t)
	s, _ := b.Seal([]byte("secret"), "o-user-1")
	other := newBox(t)
	flipped := []byte(s)
	flipped[len(flipped)-3] ^= 1
	cases := map[string]struct {
		box     *Box
		sealed  string
		context string
	}{
		"other context": {b, s, "o-user-2"},
		"other key":     {other, s, "o-user-1"},
		"tampered":      {b, string(flipped), "o-user-1"},
		"no version":    {b, strings.TrimPrefix(s, "v1:"), "o-user-1"},
		"truncated":     {b, s[:10], "o-user-1"},
		"empty":         {b, "", "o-user-1"},
	}
	for name, c := range cases {
		if _, err := c.box.Open(c.sealed, c.context); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: err = %v, want ErrOpen", name, err)
		}
	}
}

func TestNewRejectsShortKey(t *testing.T) {
	if _, err := New(make([]byte, 16)); err == nil {
		t.Fatal("16-byte key accepted")
	}
}
