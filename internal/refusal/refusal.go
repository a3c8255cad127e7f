// Package refusal is how complyflow says no to bad input: a non-retryable
// Temporal application error of type BadInput whose message tells the person
// who asked what was wrong. Activities return it, workflows pass it on, and
// the portal and the starter show its reason (Reason) instead of a failure.
package refusal

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"
)

// Type is the application error type of a refusal, for retry policies'
// NonRetryableErrorTypes.
const Type = "BadInput"

// New is a refusal whose message says what was wrong.
func New(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), Type, nil)
}

// Reason is the reason a refusal gives, for the person who asked; ok is
// false for any other error (or none).
func Reason(err error) (reason string, ok bool) {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) && ae.Type() == Type {
		return ae.Message(), true
	}
	return "", false
}
