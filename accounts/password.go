// Package accounts holds the portal's accounts: passwords under the
// data-security policy's rules, the TOTP second factor with recovery codes,
// server-side sessions, and the single-use invitation and reset links.
// The portal's HTTP side (portal/signin.go, portal/session.go) and the CLI
// (starter users) both go through it.
package accounts

import (
	"bufio"
	_ "embed"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// BcryptCost is the work factor of every stored password: the issue asks for
// at least 12 (data-security policy: "encrypted passwords", hashed with
// bcrypt). Tests use it too, so they create their accounts once per test.
const BcryptCost = 12

// MinPasswordLength is ours: the data-security policy asks for at least 8
// characters; we ask 12.
const MinPasswordLength = 12

// bcrypt reads at most 72 bytes; a longer password would be cut silently.
const maxPasswordBytes = 72

//go:embed common_passwords.txt
var commonPasswordFile string

var commonPasswords = func() map[string]bool {
	m := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(commonPasswordFile))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			m[line] = true
		}
	}
	return m
}()

// CheckPassword says what is wrong with a new password, every reason at
// once, or nil. The rules are the data-security policy's ("at least 8
// characters ... upper case, lower case, a digit and a special character")
// with our 12-character minimum, and a check against the most common
// passwords.
func CheckPassword(pw string) error {
	var problems []string
	if utf8.RuneCountInString(pw) < MinPasswordLength {
		problems = append(problems, "at least 12 characters")
	}
	if len(pw) > maxPasswordBytes {
		problems = append(problems, "at most 72 bytes")
	}
	var upper, lower, digit, special bool
	for _, r := range pw {
		switch {
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsLower(r):
			lower = true
		case unicode.IsDigit(r):
			digit = true
		case !unicode.IsSpace(r):
			special = true
		}
	}
	for _, c := range []struct {
		ok   bool
		want string
	}{{upper, "an upper-case letter"}, {lower, "a lower-case letter"}, {digit, "a digit"}, {special, "a special character"}} {
		if !c.ok {
			problems = append(problems, c.want)
		}
	}
	if commonPasswords[strings.ToLower(pw)] {
		problems = append(problems, "not one of the most common passwords")
	}
	if len(problems) > 0 {
		return BadInput("the password needs " + strings.Join(problems, ", "))
	}
	return nil
}

// BadInput is a refusal of what the person typed, its text for them.
type BadInput string

func (b BadInput) Error() string { return string(b) }

// HashPassword checks pw against the rules and hashes it with bcrypt.
func HashPassword(pw string) (string, error) {
	if err := CheckPassword(pw); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), BcryptCost)
	return string(h), err
}

// dummyHash is compared against when no account matches, so a sign-in for
// an unknown email takes as long as one for a known one.
// It is made on first use: a start-up would otherwise pay for it.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("no account has this password"), BcryptCost)
	return h
})

func passwordMatches(hash, pw string) bool {
	if hash == "" {
		bcrypt.CompareHashAndPassword(dummyHash(), []byte(pw))
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil
}
