// Package auth checks the gateway's credentials: the uplink, admin and
// viewer tokens, viewers' passwords, and the per-address bookkeeping that
// slows down guessing (Guard) and caps connections (Conns). It knows
// net/http requests but nothing of the gateway's routes.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// TokenHashPrefix starts a stored token hash: "sha256:" and 64 hex digits.
// Tokens are long random strings, so one round of SHA-256 is enough: there
// is no dictionary to try against it, unlike a password (bcrypt).
const TokenHashPrefix = "sha256:"

// ErrBadHash is returned for a token or password hash that cannot be read.
var ErrBadHash = errors.New("bad hash")

// Token is a secret compared in constant time. It holds only the SHA-256
// of the secret, so a Token made from a hash and one made from the plain
// text behave the same. The zero Token is unset and matches nothing.
// Safe for concurrent use.
type Token struct {
	sum [sha256.Size]byte
	set bool
}

// NewToken returns the Token of plain; an empty plain gives the unset Token.
func NewToken(plain string) Token {
	if plain == "" {
		return Token{}
	}
	return Token{sum: sha256.Sum256([]byte(plain)), set: true}
}

// ParseTokenHash reads "sha256:<64 hex digits>" as written by HashToken.
func ParseTokenHash(s string) (Token, error) {
	hexSum, ok := strings.CutPrefix(strings.TrimSpace(s), TokenHashPrefix)
	if !ok {
		return Token{}, fmt.Errorf("%w: a token hash starts with %q (make one with: camrelay hash token)", ErrBadHash, TokenHashPrefix)
	}
	b, err := hex.DecodeString(hexSum)
	if err != nil || len(b) != sha256.Size {
		return Token{}, fmt.Errorf("%w: %q must be followed by %d hex digits", ErrBadHash, TokenHashPrefix, 2*sha256.Size)
	}
	var t Token
	copy(t.sum[:], b)
	t.set = true
	return t, nil
}

// TokenFrom returns the Token of a plain secret or of its hash, whichever is
// set; both empty give the unset Token.
func TokenFrom(plain, hash string) (Token, error) {
	switch {
	case plain != "" && hash != "":
		return Token{}, errors.New("both a token and its hash are set (keep one)")
	case hash != "":
		return ParseTokenHash(hash)
	}
	return NewToken(plain), nil
}

// HashToken returns the stored form of a token: "sha256:<hex>".
func HashToken(plain string) string {
	sum := sha256.Sum256([]byte(plain))
	return TokenHashPrefix + hex.EncodeToString(sum[:])
}

// IsSet reports whether t holds a secret.
func (t Token) IsSet() bool { return t.set }

// Match reports whether offered is the secret. Both sides are hashed, so the
// comparison takes the same time whatever the offered length or content.
func (t Token) Match(offered string) bool {
	got := sha256.Sum256([]byte(offered))
	eq := subtle.ConstantTimeCompare(got[:], t.sum[:]) == 1
	return eq && t.set
}

// HashPassword returns the bcrypt hash of a viewer's password, the value of
// password_hash in the config.
func HashPassword(password string) (string, error) {
	if len(password) > 72 {
		// bcrypt reads at most 72 bytes; a longer password would be
		// silently cut, so refuse it instead.
		return "", errors.New("password longer than 72 bytes (bcrypt's limit)")
	}
	b, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(b), nil
}

// CheckPasswordHash reports whether s reads as a bcrypt hash.
func CheckPasswordHash(s string) error {
	if _, err := bcrypt.Cost([]byte(s)); err != nil {
		return fmt.Errorf("%w: not a bcrypt hash (make one with: camrelay hash password)", ErrBadHash)
	}
	return nil
}

// RandomToken returns a new random token: 32 bytes from crypto/rand as hex.
func RandomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand documents it)
	return hex.EncodeToString(b)
}
