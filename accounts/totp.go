package accounts

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// The TOTP parameters (RFC 6238): the authenticator apps' defaults.
const (
	totpPeriod = 30
	// totpSkew accepts the step before and after the current one: a phone's
	// clock a little off, or a code typed as it turned over.
	totpSkew = 1
	// Issuer is the name authenticator apps show for the account.
	Issuer = "complyflow"
)

// NewTOTPSecret is a fresh TOTP key for the account named email; its
// Secret() goes in the database, its URL() in the authenticator app.
func NewTOTPSecret(email string) (*otp.Key, error) {
	return totp.Generate(totp.GenerateOpts{Issuer: Issuer, AccountName: email, Period: totpPeriod})
}

// TOTPKey is the key of an existing secret, for its authenticator-app URL.
func TOTPKey(email, secret string) (*otp.Key, error) {
	return otp.NewKeyFromURL("otpauth://totp/" + url.PathEscape(Issuer+":"+email) + "?" +
		url.Values{"secret": {secret}, "issuer": {Issuer}, "period": {"30"}, "digits": {"6"}, "algorithm": {"SHA1"}}.Encode())
}

// TOTPCode is the code for secret at t (the demo and tests type it).
func TOTPCode(secret string, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, t, totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}

// totpStep is the step (t / 30 s) code was made for, within the skew of
// now, or 0 when it matches none. The caller accepts the code only for a
// step later than the last one accepted: a code is used once.
func totpStep(secret, code string, now time.Time) int64 {
	code = strings.TrimSpace(code)
	if len(code) != 6 {
		return 0
	}
	step := now.Unix() / totpPeriod
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		want, err := TOTPCode(secret, time.Unix((step+d)*totpPeriod, 0))
		if err == nil && want == code {
			return step + d
		}
	}
	return 0
}

// recoveryCodeCount is how many recovery codes an enrolment gives.
const recoveryCodeCount = 10

// newRecoveryCodes are codes to use once each when the phone is lost,
// shown once, and their hashes to store.
func newRecoveryCodes() (codes, hashes []string) {
	for range recoveryCodeCount {
		b := make([]byte, 5)
		rand.Read(b)
		c := hex.EncodeToString(b)
		c = c[:5] + "-" + c[5:]
		codes, hashes = append(codes, c), append(hashes, hashRecoveryCode(c))
	}
	return codes, hashes
}

func hashRecoveryCode(c string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(c))))
	return hex.EncodeToString(sum[:])
}
